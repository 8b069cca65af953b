/* libFuzzer: manifest, index, image config and document parsing on arbitrary
 * bytes.  Whatever parses must serialise, and the canonical form must parse
 * and serialise to the same bytes again (deterministic output). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK_STABLE(type, parse, serialize, freefn, obj)                                                      \
        do {                                                                                                   \
                char *b1 = NULL, *b2 = NULL;                                                                   \
                size_t n1, n2;                                                                                 \
                type *o2 = NULL;                                                                               \
                if (serialize(obj, &b1, &n1, NULL) < 0)                                                        \
                        abort();                                                                               \
                if (parse(b1, n1, &o2, NULL) < 0)                                                              \
                        abort();                                                                               \
                if (serialize(o2, &b2, &n2, NULL) < 0 || n1 != n2 || memcmp(b1, b2, n1) != 0)                  \
                        abort();                                                                               \
                freefn(o2);                                                                                    \
                free(b1);                                                                                      \
                free(b2);                                                                                      \
        } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct oci_manifest *m = NULL;
        struct oci_index *idx = NULL;
        struct oci_image_config *c = NULL;
        struct oci_document doc = { 0 };
        struct oci_child *ch = NULL;
        struct err *e = NULL;

        if (oci_manifest_parse(data, size, &m, &e) == 0) {
                if (m->raw_len != size || memcmp(m->raw, data, size) != 0)
                        abort();
                free(ch);
                (void) oci_manifest_children(m, &ch);
                free(ch);
                ch = NULL;
                CHECK_STABLE(struct oci_manifest, oci_manifest_parse, oci_manifest_serialize, oci_manifest_free, m);
                oci_manifest_free(m);
        }
        err_clear(&e);
        if (oci_index_parse(data, size, &idx, &e) == 0) {
                struct oci_platform *p = oci_platform_new("linux", "arm", NULL);
                size_t i;

                (void) oci_index_children(idx, &ch);
                free(ch);
                ch = NULL;
                if (oci_index_select_platform(idx, p, &i, NULL) == 0 && i >= idx->n_manifests)
                        abort();
                oci_platform_free(p);
                CHECK_STABLE(struct oci_index, oci_index_parse, oci_index_serialize, oci_index_free, idx);
                oci_index_free(idx);
        }
        err_clear(&e);
        if (oci_image_config_parse(data, size, &c, &e) == 0) {
                struct oci_image_config *d = oci_image_config_dup(c);

                (void) oci_image_config_getenv(c, "PATH");
                CHECK_STABLE(struct oci_image_config, oci_image_config_parse, oci_image_config_serialize,
                             oci_image_config_free, c);
                oci_image_config_free(d);
                oci_image_config_free(c);
        }
        err_clear(&e);
        (void) oci_detect_media_type(data, size);
        if (oci_document_parse(data, size, size % 2 ? OCI_MT_MANIFEST : NULL, &doc, &e) == 0) {
                (void) oci_document_children(&doc, &ch);
                free(ch);
                oci_document_clear(&doc);
        }
        err_clear(&e);
        return 0;
}
