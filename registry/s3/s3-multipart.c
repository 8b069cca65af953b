/* Multipart uploads: create, upload a part (buffer, fd range, or a copy of
 * another object's range), complete, abort, list the parts (so a replica
 * other than the one that started an upload can finish it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "registry/s3/s3-internal.h"

static int
check(const struct s3_client *c, const char *op, const char *key, const char *upload_id, struct err **err)
{
        if (!key || !*key || strlen(c->prefix) + strlen(key) > S3_KEY_MAX)
                return err_set(err, EINVAL, "S3 %s in bucket '%s' at %s: bad key '%.64s'", op, c->bucket, c->endpoint,
                               key ? key : "");
        if (upload_id && !*upload_id)
                return err_set(err, EINVAL, "S3 %s of '%s%s' in bucket '%s' at %s: empty upload id", op, c->prefix, key,
                               c->bucket, c->endpoint);
        return 0;
}

static int
check_part(const struct s3_client *c, const char *key, unsigned number, struct err **err)
{
        if (number < 1 || number > S3_MPU_MAX_PARTS)
                return err_set(err, EINVAL,
                               "S3 UploadPart of '%s%s' in bucket '%s' at %s: part number %u outside 1..%d", c->prefix,
                               key, c->bucket, c->endpoint, number, S3_MPU_MAX_PARTS);
        return 0;
}

int
s3_mpu_create(struct s3_client *c, const char *key, char **ret_upload_id, struct err **err)
{
        struct s3_query q = {0};
        struct s3_req rq = {
            .op = "CreateMultipartUpload", .method = "POST", .key = key, .query = &q, .body_cap = S3_XML_BODY_MAX};
        struct s3_resp resp;
        int r = check(c, rq.op, key, NULL, err);

        if (r < 0)
                return r;
        s3_query_add(&q, "uploads", NULL);
        r = s3_request(c, &rq, &resp, err);
        s3_query_clear(&q);
        if (r < 0)
                return r;
        r = s3_xml_initiate(resp.body, resp.body_len, ret_upload_id, err);
        if (r < 0)
                err_prefix(err, "S3 CreateMultipartUpload of '%s%s' in bucket '%s' at %s", c->prefix, key, c->bucket,
                           c->endpoint);
        s3_resp_clear(&resp);
        return r;
}

static int
put_part(struct s3_client *c, struct s3_req *rq, const char *upload_id, unsigned number, struct s3_part *ret_part,
         struct err **err)
{
        struct s3_query q = {0};
        struct s3_resp resp;
        char num[16];
        int r = check(c, rq->op, rq->key, upload_id, err);

        if (r == 0)
                r = check_part(c, rq->key, number, err);
        if (r < 0)
                return r;
        snprintf(num, sizeof(num), "%u", number);
        s3_query_add(&q, "partNumber", num);
        s3_query_add(&q, "uploadId", upload_id);
        rq->method = "PUT";
        rq->query = &q;
        r = s3_request(c, rq, &resp, err);
        s3_query_clear(&q);
        if (r < 0)
                return r;
        memset(ret_part, 0, sizeof(*ret_part));
        ret_part->number = number;
        ret_part->size = rq->len;
        if (rq->copy_source) {
                r = s3_body_error(c, rq, &resp, err);
                if (r == 0)
                        r = s3_xml_copy(resp.body, resp.body_len, ret_part->etag, NULL, err);
        } else if (!resp.info.etag[0]) {
                r = err_set(err, EPROTO, "S3 UploadPart %u of '%s%s' in bucket '%s' at %s: no ETag in the answer",
                            number, c->prefix, rq->key, c->bucket, c->endpoint);
        } else {
                memcpy(ret_part->etag, resp.info.etag, sizeof(ret_part->etag));
        }
        s3_resp_clear(&resp);
        return r;
}

int
s3_mpu_put_part(struct s3_client *c, const char *key, const char *upload_id, unsigned number, const void *buf,
                size_t len, struct s3_part *ret_part, struct err **err)
{
        struct s3_req rq = {.op = "UploadPart", .key = key, .body = S3_BODY_BUF, .buf = buf ? buf : "", .len = len};

        return put_part(c, &rq, upload_id, number, ret_part, err);
}

int
s3_mpu_put_part_fd(struct s3_client *c, const char *key, const char *upload_id, unsigned number, int fd, off_t offset,
                   uint64_t len, struct s3_part *ret_part, struct err **err)
{
        struct s3_req rq = {
            .op = "UploadPart", .key = key, .body = S3_BODY_FD, .fd = fd, .fd_offset = offset, .len = len};

        return put_part(c, &rq, upload_id, number, ret_part, err);
}

int
s3_mpu_copy_part(struct s3_client *c, const char *key, const char *upload_id, unsigned number, const char *src_key,
                 uint64_t offset, uint64_t length, struct s3_part *ret_part, struct err **err)
{
        char range[64];
        struct s3_req rq = {.op = "UploadPartCopy",
                            .key = key,
                            .copy_source = src_key,
                            .copy_range = range,
                            .body_cap = S3_XML_BODY_MAX};
        int r;

        if (length == 0 || offset > UINT64_MAX - length)
                return err_set(err, EINVAL, "S3 UploadPartCopy of '%s%s' in bucket '%s' at %s: bad range %llu+%llu",
                               c->prefix, key, c->bucket, c->endpoint, (unsigned long long) offset,
                               (unsigned long long) length);
        r = check(c, rq.op, src_key, NULL, err);
        if (r < 0)
                return r;
        snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long) offset,
                 (unsigned long long) (offset + length - 1));
        r = put_part(c, &rq, upload_id, number, ret_part, err);
        if (r == 0)
                ret_part->size = length;
        return r;
}

int
s3_mpu_complete(struct s3_client *c, const char *key, const char *upload_id, const struct s3_part *parts, size_t n,
                char **ret_etag, struct err **err)
{
        struct s3_query q = {0};
        struct s3_req rq = {.op = "CompleteMultipartUpload",
                            .method = "POST",
                            .key = key,
                            .query = &q,
                            .body = S3_BODY_BUF,
                            .body_cap = S3_XML_BODY_MAX};
        _cleanup_free_ char *body = NULL;
        struct s3_resp resp;
        size_t len;
        int r = check(c, rq.op, key, upload_id, err);

        if (r < 0)
                return r;
        if (n < 1 || n > S3_MPU_MAX_PARTS)
                return err_set(err, EINVAL, "S3 CompleteMultipartUpload of '%s%s' in bucket '%s' at %s: %zu parts",
                               c->prefix, key, c->bucket, c->endpoint, n);
        for (size_t i = 0; i < n; i++)
                if (parts[i].number < 1 || parts[i].number > S3_MPU_MAX_PARTS ||
                    (i && parts[i].number <= parts[i - 1].number) || !parts[i].etag[0])
                        return err_set(err, EINVAL,
                                       "S3 CompleteMultipartUpload of '%s%s' in bucket '%s' at %s: part %zu (number "
                                       "%u) out of order or without an ETag",
                                       c->prefix, key, c->bucket, c->endpoint, i, parts[i].number);
        body = s3_xml_complete_body(parts, n, &len);
        rq.buf = body;
        rq.len = len;
        s3_query_add(&q, "uploadId", upload_id);
        r = s3_request(c, &rq, &resp, err);
        s3_query_clear(&q);
        if (r < 0)
                return r;
        /* S3 may answer 200 and report the failure in the body. */
        r = s3_body_error(c, &rq, &resp, err);
        if (r == 0) {
                r = s3_xml_complete(resp.body, resp.body_len, ret_etag, err);
                if (r < 0)
                        err_prefix(err, "S3 CompleteMultipartUpload of '%s%s' in bucket '%s' at %s", c->prefix, key,
                                   c->bucket, c->endpoint);
        }
        s3_resp_clear(&resp);
        return r;
}

int
s3_mpu_abort(struct s3_client *c, const char *key, const char *upload_id, struct err **err)
{
        struct s3_query q = {0};
        struct s3_req rq = {.op = "AbortMultipartUpload", .method = "DELETE", .key = key, .query = &q};
        struct s3_resp resp;
        int r = check(c, rq.op, key, upload_id, err);

        if (r < 0)
                return r;
        s3_query_add(&q, "uploadId", upload_id);
        r = s3_request(c, &rq, &resp, err);
        s3_query_clear(&q);
        s3_resp_clear(&resp);
        return r;
}

int
s3_mpu_list_parts(struct s3_client *c, const char *key, const char *upload_id, struct s3_part **ret_parts,
                  size_t *ret_n, struct err **err)
{
        _cleanup_free_ struct s3_part *parts = NULL;
        size_t n = 0;
        unsigned marker = 0;
        bool more = true;
        int r = check(c, "ListParts", key, upload_id, err);

        if (r < 0)
                return r;
        while (more) {
                struct s3_query q = {0};
                struct s3_req rq = {
                    .op = "ListParts", .method = "GET", .key = key, .query = &q, .body_cap = S3_XML_BODY_MAX};
                struct s3_resp resp;
                char m[16];
                unsigned next = 0;
                size_t before = n;

                s3_query_add(&q, "uploadId", upload_id);
                if (marker) {
                        snprintf(m, sizeof(m), "%u", marker);
                        s3_query_add(&q, "part-number-marker", m);
                }
                r = s3_request(c, &rq, &resp, err);
                s3_query_clear(&q);
                if (r < 0)
                        return r;
                r = s3_xml_parts(resp.body, resp.body_len, &parts, &n, &more, &next, err);
                s3_resp_clear(&resp);
                if (r < 0)
                        return err_prefix(err, "S3 ListParts of '%s%s' in bucket '%s' at %s", c->prefix, key, c->bucket,
                                          c->endpoint);
                /* A store that does not move forward would loop forever. */
                if (more && (next <= marker || n == before))
                        return err_set(err, EPROTO,
                                       "S3 ListParts of '%s%s' in bucket '%s' at %s: the part marker "
                                       "does not advance (%u)",
                                       c->prefix, key, c->bucket, c->endpoint, next);
                marker = next;
        }
        *ret_parts = steal_ptr(&parts);
        *ret_n = n;
        return 0;
}
