/* Objects: PutObject (buffer, fd range, stream), GetObject (whole into a
 * capped buffer, or a range streamed), HeadObject, DeleteObject and
 * server-side CopyObject. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "registry/s3/s3-internal.h"

static int
check_key(const struct s3_client *c, const char *op, const char *key, struct err **err)
{
        if (!key || !*key)
                return err_set(err, EINVAL, "S3 %s in bucket '%s' at %s: empty key", op, c->bucket, c->endpoint);
        if (strlen(c->prefix) + strlen(key) > S3_KEY_MAX)
                return err_set(err, EINVAL, "S3 %s of '%.64s...' in bucket '%s' at %s: key longer than %d bytes", op,
                               key, c->bucket, c->endpoint, S3_KEY_MAX);
        return 0;
}

static int
put(struct s3_client *c, struct s3_req *rq, struct s3_object_info *ret_info, struct err **err)
{
        struct s3_resp resp;
        int r;

        rq->op = "PutObject";
        rq->method = "PUT";
        r = check_key(c, rq->op, rq->key, err);
        if (r < 0)
                return r;
        r = s3_request(c, rq, &resp, err);
        if (r == 0 && ret_info) {
                memset(ret_info, 0, sizeof(*ret_info));
                ret_info->size = rq->len;
                memcpy(ret_info->etag, resp.info.etag, sizeof(ret_info->etag));
                ret_info->mtime = resp.info.mtime;
        }
        s3_resp_clear(&resp);
        return r;
}

int
s3_put(struct s3_client *c, const char *key, const void *buf, size_t len, struct s3_object_info *ret_info,
       struct err **err)
{
        struct s3_req rq = {.key = key, .body = S3_BODY_BUF, .buf = buf ? buf : "", .len = len};

        return put(c, &rq, ret_info, err);
}

int
s3_put_fd(struct s3_client *c, const char *key, int fd, off_t offset, uint64_t len, struct s3_object_info *ret_info,
          struct err **err)
{
        struct s3_req rq = {.key = key, .body = S3_BODY_FD, .fd = fd, .fd_offset = offset, .len = len};

        return put(c, &rq, ret_info, err);
}

int
s3_put_stream(struct s3_client *c, const char *key, uint64_t len, s3_read_fn read, void *ctx,
              struct s3_object_info *ret_info, struct err **err)
{
        struct s3_req rq = {.key = key, .body = S3_BODY_STREAM, .read = read, .read_ctx = ctx, .len = len};

        return put(c, &rq, ret_info, err);
}

int
s3_get(struct s3_client *c, const char *key, size_t cap, char **ret_buf, size_t *ret_len, struct err **err)
{
        struct s3_req rq = {.op = "GetObject", .method = "GET", .key = key, .body_cap = cap ? cap : 1};
        struct s3_resp resp;
        int r = check_key(c, rq.op, key, err);

        if (r < 0)
                return r;
        r = s3_request(c, &rq, &resp, err);
        if (r < 0)
                return r;
        /* A zero cap still has to tell an empty object from a larger one:
         * collect with a cap of 1 and refuse anything that arrived. */
        if (resp.body_len > cap) {
                s3_resp_clear(&resp);
                return err_set(err, EFBIG, "S3 GetObject of '%s%s' in bucket '%s' at %s: object larger than %zu bytes",
                               c->prefix, key, c->bucket, c->endpoint, cap);
        }
        *ret_buf = steal_ptr(&resp.body);
        *ret_len = resp.body_len;
        s3_resp_clear(&resp);
        return 0;
}

int
s3_head(struct s3_client *c, const char *key, struct s3_object_info *ret_info, struct err **err)
{
        struct s3_req rq = {.op = "HeadObject", .method = "HEAD", .key = key};
        struct s3_resp resp;
        int r = check_key(c, rq.op, key, err);

        if (r < 0)
                return r;
        r = s3_request(c, &rq, &resp, err);
        if (r == 0 && ret_info)
                *ret_info = resp.info;
        s3_resp_clear(&resp);
        return r;
}

int
s3_get_range(struct s3_client *c, const char *key, uint64_t offset, uint64_t length, s3_write_fn write, void *ctx,
             struct s3_object_info *ret_info, struct err **err)
{
        struct s3_req rq = {.op = "GetObject",
                            .method = "GET",
                            .key = key,
                            .write = write,
                            .write_ctx = ctx,
                            .ranged = true,
                            .range_off = offset,
                            .range_len = length};
        struct s3_object_info info;
        struct s3_resp resp;
        int r = check_key(c, rq.op, key, err);

        if (r < 0)
                return r;
        if (length != S3_TO_END && offset > UINT64_MAX - length)
                return err_set(err, ERANGE, "S3 GetObject of '%s%s': range %llu+%llu overflows", c->prefix, key,
                               (unsigned long long) offset, (unsigned long long) length);
        /* An empty range is no HTTP range at all (bytes=N-(N-1)): HEAD
         * answers whether the object is there and OFFSET within it. */
        if (length == 0) {
                r = s3_head(c, key, &info, err);
                if (r < 0)
                        return r;
                if (offset > info.size)
                        return err_set(err, ERANGE,
                                       "S3 GetObject of '%s%s' in bucket '%s' at %s: offset %llu past "
                                       "the end (%llu bytes)",
                                       c->prefix, key, c->bucket, c->endpoint, (unsigned long long) offset,
                                       (unsigned long long) info.size);
                if (ret_info)
                        *ret_info = info;
                return 0;
        }
        r = s3_request(c, &rq, &resp, err);
        if (r == 0 && ret_info) {
                *ret_info = resp.info;
                ret_info->size = resp.total;
        }
        s3_resp_clear(&resp);
        return r;
}

static int
write_fd(void *ctx, const void *buf, size_t n)
{
        int fd = *(int *) ctx;
        const char *p = buf;

        while (n) {
                ssize_t w = write(fd, p, n);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += w;
                n -= (size_t) w;
        }
        return 0;
}

int
s3_get_range_fd(struct s3_client *c, const char *key, uint64_t offset, uint64_t length, int fd,
                struct s3_object_info *ret_info, struct err **err)
{
        return s3_get_range(c, key, offset, length, write_fd, &fd, ret_info, err);
}

int
s3_delete(struct s3_client *c, const char *key, struct err **err)
{
        struct s3_req rq = {.op = "DeleteObject", .method = "DELETE", .key = key};
        struct s3_resp resp;
        int r = check_key(c, rq.op, key, err);

        if (r < 0)
                return r;
        r = s3_request(c, &rq, &resp, err);
        s3_resp_clear(&resp);
        return r;
}

int
s3_copy(struct s3_client *c, const char *src_key, const char *dst_key, struct s3_object_info *ret_info,
        struct err **err)
{
        struct s3_req rq = {
            .op = "CopyObject", .method = "PUT", .key = dst_key, .copy_source = src_key, .body_cap = S3_XML_BODY_MAX};
        struct s3_object_info info = {0};
        struct s3_resp resp;
        int r = check_key(c, rq.op, dst_key, err);

        if (r == 0)
                r = check_key(c, rq.op, src_key, err);
        if (r < 0)
                return r;
        r = s3_request(c, &rq, &resp, err);
        if (r < 0)
                return r;
        r = s3_body_error(c, &rq, &resp, err);
        if (r == 0) {
                r = s3_xml_copy(resp.body, resp.body_len, info.etag, &info.mtime, err);
                if (r < 0)
                        err_prefix(err, "S3 CopyObject of '%s%s' to '%s%s' in bucket '%s' at %s", c->prefix, src_key,
                                   c->prefix, dst_key, c->bucket, c->endpoint);
        }
        s3_resp_clear(&resp);
        if (r == 0 && ret_info)
                *ret_info = info;
        return r;
}
