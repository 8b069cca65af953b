/* ListObjectsV2, one page per call: the caller pages with the token (or
 * start-after), so no listing is ever held whole in memory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "registry/s3/s3-internal.h"

int
s3_list(struct s3_client *c, const struct s3_list_opts *opts, struct s3_list_page **ret_page, struct err **err)
{
        static const struct s3_list_opts none = {0};
        struct s3_query q = {0};
        struct s3_req rq = {.op = "ListObjectsV2", .method = "GET", .query = &q, .body_cap = S3_XML_BODY_MAX};
        _cleanup_free_ char *prefix = NULL, *after = NULL;
        struct s3_resp resp;
        char max[16];
        int r;

        if (!opts)
                opts = &none;
        if (opts->max_keys > 1000)
                return err_set(err, EINVAL, "S3 ListObjectsV2 in bucket '%s' at %s: max-keys %u over 1000", c->bucket,
                               c->endpoint, opts->max_keys);
        prefix = xasprintf("%s%s", c->prefix, opts->prefix ? opts->prefix : "");
        s3_query_add(&q, "list-type", "2");
        if (prefix[0])
                s3_query_add(&q, "prefix", prefix);
        if (opts->delimiter && opts->delimiter[0])
                s3_query_add(&q, "delimiter", opts->delimiter);
        if (opts->start_after && opts->start_after[0]) {
                after = xasprintf("%s%s", c->prefix, opts->start_after);
                s3_query_add(&q, "start-after", after);
        }
        if (opts->token && opts->token[0])
                s3_query_add(&q, "continuation-token", opts->token);
        if (opts->max_keys) {
                snprintf(max, sizeof(max), "%u", opts->max_keys);
                s3_query_add(&q, "max-keys", max);
        }
        r = s3_request(c, &rq, &resp, err);
        s3_query_clear(&q);
        if (r < 0)
                return r;
        r = s3_xml_list(resp.body, resp.body_len, c->prefix, ret_page, err);
        if (r < 0)
                err_prefix(err, "S3 ListObjectsV2 of '%s' in bucket '%s' at %s", prefix, c->bucket, c->endpoint);
        s3_resp_clear(&resp);
        return r;
}
