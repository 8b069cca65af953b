/* A small S3 client: the object store under ireg's S3 storage driver.
 *
 * Path-style addressing only (http://HOST:PORT/BUCKET/KEY), AWS Signature
 * Version 4 (our own, over OpenSSL HMAC-SHA256; libcurl moves the bytes),
 * XML answers read by expat.  Tested against Ceph's RADOS Gateway.
 *
 * Keys: every KEY argument is relative to the configured prefix (the client
 * prepends it; listings strip it again).  Keys are sent URL-encoded, so any
 * byte but NUL may appear in one.
 *
 * Threads: one client may be used by any number of threads at once; it
 * keeps a small pool of libcurl handles (each one reusing its connection).
 *
 * Errors (struct err, common/err.h), the code tells the caller what to do:
 *   ENOENT   the key (or multipart upload) does not exist (NoSuchKey,
 *            NoSuchUpload, a 404 to HEAD)
 *   ENXIO    the bucket does not exist (NoSuchBucket): a configuration
 *            error, never "object missing"
 *   EACCES   credentials refused (AccessDenied, SignatureDoesNotMatch,
 *            InvalidAccessKeyId, RequestTimeTooSkewed)
 *   ERANGE   a range outside the object (InvalidRange, 416)
 *   EFBIG    the object is larger than the caller's cap
 *   EINVAL   a request the store refused as malformed (EntityTooSmall,
 *            InvalidPart, ...) or a bad argument
 *   EIO      anything else, including a store still unreachable or
 *            failing (5xx, SlowDown, connection errors) after the retries
 * Every message names the operation, the key, the bucket and the endpoint;
 * S3's own Code and Message are included when the store sent them.  Secrets
 * never appear in a message.
 *
 * Retries: connection errors, 5xx, SlowDown and RequestTimeout are retried
 * with exponential backoff, S3_RETRY_TRIES tries in all.  Environment knobs
 * (for tests): IREG_S3_TRIES (1..10), IREG_S3_BACKOFF_MS (first delay,
 * default 200, doubled each time).
 */
#ifndef REGISTRY_S3_S3_H
#define REGISTRY_S3_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/err.h"

#define S3_RETRY_TRIES 4
/* S3's limits on multipart uploads: part numbers 1..10000, every part but
 * the last at least 5 MiB, at most 5 GiB. */
#define S3_MPU_MAX_PARTS 10000
#define S3_MPU_MIN_PART (5 * 1024 * 1024)
/* Longest key S3 accepts, in bytes (prefix included). */
#define S3_KEY_MAX 1024
/* Longest life of a presigned URL (SigV4's limit: 7 days). */
#define S3_PRESIGN_MAX_EXPIRES (7 * 24 * 3600)

struct s3_config {
        const char *endpoint;   /* "http://127.0.0.1:7480" (http or https, no path) */
        const char *region;     /* NULL or "": "us-east-1" */
        const char *bucket;     /* required */
        const char *prefix;     /* NULL or "": none; else prepended to every key, e.g. "prod/" */
        const char *access_key; /* NULL: $AWS_ACCESS_KEY_ID */
        const char *secret_key; /* NULL: $AWS_SECRET_ACCESS_KEY */
};

struct s3_client;

/* Make a client from CFG (copied; CFG may be freed afterwards).  Checks the
 * configuration only (no request is sent: see s3_check_bucket).  Fails with
 * EINVAL naming the bad field, or when no credentials are given nor in the
 * environment. */
int s3_client_new(const struct s3_config *cfg, struct s3_client **ret_client, struct err **err);
/* Wipes the secret; accepts NULL. */
void s3_client_free(struct s3_client *c);
DEFINE_FREEP(struct s3_client, s3_client_free)

/* "s3://BUCKET/PREFIX at ENDPOINT", for log lines (never the keys). */
const char *s3_client_describe(const struct s3_client *c);

/* HEAD the bucket: the start-up check.  One clear error naming endpoint and
 * bucket for a missing bucket (ENXIO), refused credentials (EACCES), an
 * unreachable endpoint (EIO, after the retries). */
int s3_check_bucket(struct s3_client *c, struct err **err);

/* ---- objects ---- */

struct s3_object_info {
        uint64_t size;
        time_t mtime;  /* Last-Modified; 0 when the store sent none */
        char etag[80]; /* without quotes; "" when the store sent none */
};

/* PutObject from LEN bytes at BUF (LEN may be 0).  RET_INFO (may be NULL)
 * gets the size and ETag. */
int s3_put(struct s3_client *c, const char *key, const void *buf, size_t len, struct s3_object_info *ret_info,
           struct err **err);
/* PutObject from LEN bytes of FD starting at OFFSET (pread: FD's offset is
 * untouched, and a retry re-reads the same bytes).  A short file is EIO. */
int s3_put_fd(struct s3_client *c, const char *key, int fd, off_t offset, uint64_t len, struct s3_object_info *ret_info,
              struct err **err);

/* A stream of exactly LEN bytes for s3_put_stream: READ fills up to N bytes
 * of BUF and returns how many (0 only at the end), or a negative errno. */
typedef ssize_t (*s3_read_fn)(void *ctx, void *buf, size_t n);
/* PutObject from a stream of known length.  The request is retried only as
 * long as READ has not been called yet (a stream cannot rewind). */
int s3_put_stream(struct s3_client *c, const char *key, uint64_t len, s3_read_fn read, void *ctx,
                  struct s3_object_info *ret_info, struct err **err);

/* GetObject into a new buffer (NUL-terminated, *RET_LEN bytes before the
 * NUL; caller frees).  EFBIG when the object is over CAP bytes. */
int s3_get(struct s3_client *c, const char *key, size_t cap, char **ret_buf, size_t *ret_len, struct err **err);

/* A sink for s3_get_range: called with each piece in order; return 0, or a
 * negative errno to stop the download (that code is returned). */
typedef int (*s3_write_fn)(void *ctx, const void *buf, size_t n);
/* GetObject of LENGTH bytes from OFFSET (LENGTH S3_TO_END: to the end of the
 * object) streamed into WRITE.  A dropped connection is resumed where it
 * stopped (If-Match on the first answer's ETag, so the pieces are of one
 * object).  Exactly the requested bytes reach WRITE or the call fails
 * (ERANGE when OFFSET is past the end).  RET_INFO (may be NULL) gets the
 * object's whole size, mtime and ETag. */
#define S3_TO_END UINT64_MAX
int s3_get_range(struct s3_client *c, const char *key, uint64_t offset, uint64_t length, s3_write_fn write, void *ctx,
                 struct s3_object_info *ret_info, struct err **err);
/* The same into FD (written at its current offset, write(2) retried). */
int s3_get_range_fd(struct s3_client *c, const char *key, uint64_t offset, uint64_t length, int fd,
                    struct s3_object_info *ret_info, struct err **err);

/* HeadObject.  ENOENT when there is no such key. */
int s3_head(struct s3_client *c, const char *key, struct s3_object_info *ret_info, struct err **err);

/* DeleteObject.  Deleting a missing key succeeds (S3's rule). */
int s3_delete(struct s3_client *c, const char *key, struct err **err);

/* CopyObject, server-side, within the bucket: DST becomes a copy of SRC.
 * ENOENT when SRC does not exist.  RET_INFO (may be NULL) gets the ETag and
 * mtime of the copy. */
int s3_copy(struct s3_client *c, const char *src_key, const char *dst_key, struct s3_object_info *ret_info,
            struct err **err);

/* ---- listing (ListObjectsV2): one page per call; callers page ---- */

struct s3_list_opts {
        const char *prefix;      /* NULL: every key (under the client's prefix) */
        const char *delimiter;   /* NULL: none; "/" groups keys into common prefixes */
        const char *start_after; /* NULL: from the first key */
        const char *token;       /* NULL: first page; else the previous page's next_token */
        unsigned max_keys;       /* 0: the store's default (1000); at most 1000 */
};

struct s3_list_entry {
        char *key; /* client prefix stripped */
        uint64_t size;
        time_t mtime;
        char *etag; /* without quotes; may be "" */
};

struct s3_list_page {
        struct s3_list_entry *keys;
        size_t n_keys;
        char **prefixes; /* common prefixes (client prefix stripped) */
        size_t n_prefixes;
        bool truncated;
        char *next_token; /* NULL unless truncated */
};

/* One page of keys in ascending (binary) order. */
int s3_list(struct s3_client *c, const struct s3_list_opts *opts, struct s3_list_page **ret_page, struct err **err);
void s3_list_page_free(struct s3_list_page *p);
DEFINE_FREEP(struct s3_list_page, s3_list_page_free)

/* ---- multipart uploads ---- */

struct s3_part {
        unsigned number; /* 1..S3_MPU_MAX_PARTS */
        char etag[80];   /* without quotes */
        uint64_t size;   /* s3_mpu_list_parts only */
};

/* CreateMultipartUpload: *RET_UPLOAD_ID (caller frees) names the upload. */
int s3_mpu_create(struct s3_client *c, const char *key, char **ret_upload_id, struct err **err);
/* UploadPart NUMBER from a buffer / from LEN bytes of FD at OFFSET (pread,
 * retried); RET_PART gets number and ETag. */
int s3_mpu_put_part(struct s3_client *c, const char *key, const char *upload_id, unsigned number, const void *buf,
                    size_t len, struct s3_part *ret_part, struct err **err);
int s3_mpu_put_part_fd(struct s3_client *c, const char *key, const char *upload_id, unsigned number, int fd,
                       off_t offset, uint64_t len, struct s3_part *ret_part, struct err **err);
/* UploadPartCopy: part NUMBER is LENGTH bytes of SRC_KEY from OFFSET,
 * copied server-side (x-amz-copy-source-range). */
int s3_mpu_copy_part(struct s3_client *c, const char *key, const char *upload_id, unsigned number, const char *src_key,
                     uint64_t offset, uint64_t length, struct s3_part *ret_part, struct err **err);
/* CompleteMultipartUpload with N parts in ascending number order.
 * RET_ETAG (may be NULL; caller frees) gets the object's ETag, which RGW
 * leaves empty: "" then. */
int s3_mpu_complete(struct s3_client *c, const char *key, const char *upload_id, const struct s3_part *parts, size_t n,
                    char **ret_etag, struct err **err);
/* AbortMultipartUpload (ENOENT when the upload is unknown). */
int s3_mpu_abort(struct s3_client *c, const char *key, const char *upload_id, struct err **err);
/* ListParts, every page: *RET_PARTS (caller frees) in number order, at
 * most S3_MPU_MAX_PARTS. */
int s3_mpu_list_parts(struct s3_client *c, const char *key, const char *upload_id, struct s3_part **ret_parts,
                      size_t *ret_n, struct err **err);

/* ---- presigned URLs ---- */

/* A URL that GETs KEY without credentials for EXPIRES seconds (1 ..
 * S3_PRESIGN_MAX_EXPIRES) from NOW (0: the current time); caller frees. */
int s3_presign_get(struct s3_client *c, const char *key, unsigned expires, time_t now, char **ret_url,
                   struct err **err);

#endif
