/* Presigned GET URLs (SigV4 in the query string): what ireg's "redirect"
 * option answers blob GETs with, so clients fetch from the store directly
 * and without credentials. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "common/cleanup.h"
#include "registry/s3/s3-internal.h"

int
s3_presign_get(struct s3_client *c, const char *key, unsigned expires, time_t now, char **ret_url, struct err **err)
{
        _cleanup_free_ char *path = NULL, *q = NULL;
        char date[17];

        if (expires < 1 || expires > S3_PRESIGN_MAX_EXPIRES)
                return err_set(err, EINVAL, "S3 presigned URL for '%s%s': expiry %u s outside 1..%d", c->prefix, key,
                               expires, S3_PRESIGN_MAX_EXPIRES);
        s3_amz_date(now ? now : time(NULL), date);
        path = s3_object_path(c, key);
        q = s3_presign_query(
            &(struct s3_sign_in){
                .method = "GET",
                .path = path,
                .query = "",
                .host = c->host,
                .amz_date = date,
                .region = c->region,
                .access_key = c->access_key,
                .secret_key = c->secret_key,
            },
            expires);
        *ret_url = xasprintf("%s%s?%s", c->endpoint, path, q);
        return 0;
}
