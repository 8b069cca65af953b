/* libFuzzer harness: every reader of S3's XML answers (registry/s3/s3-xml.c)
 * on the same bytes, as a store (or whatever answers in its place) could
 * send them: Error, ListBucketResult (with and without a key prefix to
 * strip), InitiateMultipartUploadResult, CompleteMultipartUploadResult,
 * CopyObjectResult/CopyPartResult, ListPartsResult. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/s3/s3-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *buf = (const char *) data;
        struct err *e = NULL;
        struct s3_xml_error xe;
        struct s3_list_page *p = NULL;
        char *s = NULL, etag[80];
        time_t m;
        struct s3_part *parts = NULL;
        size_t n = 0;
        bool more;
        unsigned next;

        if (s3_xml_error(buf, size, &xe, &e) == 0 &&
            (strlen(xe.code) >= sizeof(xe.code) || strlen(xe.message) >= sizeof(xe.message)))
                abort();
        err_clear(&e);
        for (int i = 0; i < 2; i++) {
                const char *strip = i ? "p/" : "";
                if (s3_xml_list(buf, size, strip, &p, &e) == 0) {
                        for (size_t k = 0; k < p->n_keys; k++)
                                if (!p->keys[k].key || !p->keys[k].etag)
                                        abort();
                        if (p->truncated != (p->next_token != NULL))
                                abort();
                        s3_list_page_free(p);
                        p = NULL;
                }
                err_clear(&e);
        }
        if (s3_xml_initiate(buf, size, &s, &e) == 0) {
                if (!s[0])
                        abort();
                free(s);
        }
        err_clear(&e);
        if (s3_xml_complete(buf, size, &s, &e) == 0) {
                if (strlen(s) >= 80)
                        abort();
                free(s);
        }
        err_clear(&e);
        if (s3_xml_copy(buf, size, etag, &m, &e) == 0 && !etag[0])
                abort();
        err_clear(&e);
        if (s3_xml_parts(buf, size, &parts, &n, &more, &next, &e) == 0) {
                for (size_t k = 0; k < n; k++)
                        if (parts[k].number < 1 || parts[k].number > S3_MPU_MAX_PARTS)
                                abort();
                /* The request body built from what was read is well-formed
                 * enough to read back as a document. */
                if (n) {
                        size_t len;
                        char *body = s3_xml_complete_body(parts, n, &len);
                        struct err *e2 = NULL;
                        if (s3_xml_error(body, len, &xe, &e2) != -ENOMSG)
                                abort();
                        free(body);
                }
        }
        free(parts);
        err_clear(&e);
        return 0;
}
