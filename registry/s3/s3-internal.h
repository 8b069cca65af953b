/* registry/s3 internals: signing, encoding, the request engine and the XML
 * readers, shared by the files of the module (and its unit tests). */
#ifndef REGISTRY_S3_S3_INTERNAL_H
#define REGISTRY_S3_S3_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>

#include "registry/s3/s3.h"

/* Idle libcurl handles a client keeps (each keeps its connection open);
 * busier moments make more, and those past the cap are closed after use. */
#define S3_POOL_IDLE 16
/* An answer body we read whole (XML), and the text of one XML element. */
#define S3_XML_BODY_MAX (8 * 1024 * 1024)
#define S3_XML_TEXT_MAX 4096
#define S3_XML_DEPTH_MAX 16
/* Entries in one answer: S3 sends at most 1000 keys and 1000 parts a page. */
#define S3_XML_ENTRIES_MAX 10000

struct s3_client {
        char *endpoint; /* scheme://host[:port], no trailing slash */
        char *host;     /* host[:port] as signed and sent in Host */
        char *region, *bucket, *prefix, *access_key, *secret_key;
        char *describe;
        unsigned tries, backoff_ms;
        pthread_mutex_t lock;
        CURL *idle[S3_POOL_IDLE];
        size_t n_idle;
};

/* ---- s3-sign.c: AWS Signature Version 4 ---- */

/* SHA-256 of BUF in lower-case hex. */
void s3_sha256_hex(const void *buf, size_t len, char out[65]);
/* T as "YYYYMMDDTHHMMSSZ" (UTC). */
void s3_amz_date(time_t t, char out[17]);

struct s3_header {
        const char *name;  /* lower case */
        const char *value; /* trimmed */
};

struct s3_sign_in {
        const char *method;
        const char *path;  /* canonical URI: "/bucket/encoded-key" */
        const char *query; /* canonical query string ("" for none) */
        const char *host;
        const struct s3_header *headers; /* signed headers besides host; any order */
        size_t n_headers;
        const char *payload_hash; /* hex, or "UNSIGNED-PAYLOAD" */
        const char *amz_date;     /* s3_amz_date() */
        const char *region, *access_key, *secret_key;
};

/* The Authorization header value for IN ("AWS4-HMAC-SHA256
 * Credential=..., SignedHeaders=..., Signature=..."); caller frees. */
char *s3_sign_authorization(const struct s3_sign_in *in);
/* The query string of a presigned GET of IN->path (IN's query, headers and
 * payload hash are ignored: only host is signed, the payload is
 * UNSIGNED-PAYLOAD), valid EXPIRES seconds from IN->amz_date; ends with
 * X-Amz-Signature.  Caller frees. */
char *s3_presign_query(const struct s3_sign_in *in, unsigned expires);

/* ---- s3-url.c: encoding ---- */

/* S3's URI encoding: every byte but A-Z a-z 0-9 - . _ ~ as %XX (upper-case
 * hex), and '/' too unless KEEP_SLASH.  Caller frees. */
char *s3_uri_encode(const char *s, bool keep_slash);

#define S3_QUERY_MAX 12
struct s3_query {
        struct {
                char *name, *value; /* encoded */
        } p[S3_QUERY_MAX];
        size_t n;
};
/* Add NAME=VALUE (VALUE NULL: "NAME="), both raw: they are encoded here. */
void s3_query_add(struct s3_query *q, const char *name, const char *value);
/* The canonical query string (sorted by name, '&'-joined): it is also what
 * we send.  "" when empty.  Caller frees. */
char *s3_query_string(const struct s3_query *q);
void s3_query_clear(struct s3_query *q);

/* "bucket/prefix+key" encoded as a path: "/bucket/enc(prefix+key)" (KEY
 * NULL: "/bucket").  Caller frees. */
char *s3_object_path(const struct s3_client *c, const char *key);

/* ---- s3-request.c: one request, signed, retried ---- */

enum s3_body_kind { S3_BODY_NONE, S3_BODY_BUF, S3_BODY_FD, S3_BODY_STREAM };

struct s3_req {
        const char *op;     /* S3's name for it ("PutObject"), for messages */
        const char *method; /* GET HEAD PUT POST DELETE */
        const char *key;    /* relative to the prefix; NULL: the bucket itself */
        const struct s3_query *query;
        const char *copy_source; /* relative key: x-amz-copy-source */
        const char *copy_range;  /* "bytes=A-B": x-amz-copy-source-range */
        const char *if_match;

        enum s3_body_kind body;
        const void *buf; /* S3_BODY_BUF */
        int fd;          /* S3_BODY_FD, from fd_offset */
        off_t fd_offset;
        s3_read_fn read; /* S3_BODY_STREAM */
        void *read_ctx;
        uint64_t len; /* body length (every kind but NONE) */

        /* The answer's body (2xx): collected into the response up to
         * body_cap (EFBIG past it), or streamed to WRITE, or dropped. */
        size_t body_cap;
        s3_write_fn write;
        void *write_ctx;
        /* A Range GET of range_len bytes (S3_TO_END: to the end) at
         * range_off; a retry resumes after the bytes already delivered. */
        bool ranged;
        uint64_t range_off, range_len;
};

struct s3_resp {
        long status;
        char *body; /* NUL-terminated */
        size_t body_len;
        struct s3_object_info info; /* ETag, Last-Modified, Content-Length */
        uint64_t total;             /* total size from Content-Range, else Content-Length */
};

/* Send RQ (retrying as s3.h says); on a 2xx answer fill RESP (clear it
 * with s3_resp_clear), else fail with the mapped error. */
int s3_request(struct s3_client *c, const struct s3_req *rq, struct s3_resp *resp, struct err **err);
void s3_resp_clear(struct s3_resp *r);
/* Fail for RQ with HTTP STATUS and S3's error CODE and MESSAGE (either may
 * be NULL or ""): the errno of s3.h's table, and the message naming the
 * operation, key, bucket and endpoint. */
int s3_fail(const struct s3_client *c, const struct s3_req *rq, long status, const char *code, const char *message,
            struct err **err);
/* An answer that came with 200 but carries an <Error> document (S3 does
 * this for CopyObject and CompleteMultipartUpload): fail as s3_fail does;
 * 0 when RESP's body is no error. */
int s3_body_error(const struct s3_client *c, const struct s3_req *rq, const struct s3_resp *resp, struct err **err);

/* ---- s3-xml.c: the answers, read by expat ---- */

struct s3_xml_error {
        char code[128];
        char message[512];
};

/* Each reads one answer document of LEN bytes (need not be NUL-terminated)
 * and fails with EPROTO naming what is wrong for anything but a well-formed
 * document of the expected root element: garbage, a DTD, too deep, too
 * long, bad numbers. */
/* <Error>: -ENOMSG (no message set) when the root is something else. */
int s3_xml_error(const char *buf, size_t len, struct s3_xml_error *ret, struct err **err);
/* <ListBucketResult> of ListObjectsV2; keys and prefixes must start with
 * STRIP (the client prefix), which is removed. */
int s3_xml_list(const char *buf, size_t len, const char *strip, struct s3_list_page **ret, struct err **err);
/* <InitiateMultipartUploadResult>: the UploadId (non-empty; caller frees). */
int s3_xml_initiate(const char *buf, size_t len, char **ret_upload_id, struct err **err);
/* <CompleteMultipartUploadResult>: the ETag ("" when empty or absent, as
 * RGW sends it; caller frees). */
int s3_xml_complete(const char *buf, size_t len, char **ret_etag, struct err **err);
/* <CopyObjectResult> or <CopyPartResult>: ETag and LastModified. */
int s3_xml_copy(const char *buf, size_t len, char ret_etag[80], time_t *ret_mtime, struct err **err);
/* <ListPartsResult>: parts appended to *PARTS (*N of them, growing),
 * whether more pages follow and the marker for the next one. */
int s3_xml_parts(const char *buf, size_t len, struct s3_part **parts, size_t *n, bool *ret_truncated,
                 unsigned *ret_next_marker, struct err **err);
/* The CompleteMultipartUpload request body for N parts; caller frees. */
char *s3_xml_complete_body(const struct s3_part *parts, size_t n, size_t *ret_len);

/* An ETag value without its quotes into OUT (80 bytes); false when it does
 * not fit. */
bool s3_etag_copy(char out[80], const char *v, size_t len);
/* "2013-05-24T00:00:00.000Z" → time_t; 0 when unreadable. */
time_t s3_parse_iso8601(const char *s);

#endif
