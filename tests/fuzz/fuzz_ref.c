/* libFuzzer: image reference parsing in every mode, the validators, the
 * "oci:DIR[:NAME]" layout reference, and the invariant that a parsed
 * reference's string form parses back to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/layout.h"
#include "oci/ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
roundtrip(const char *s, enum oci_ref_mode mode)
{
        struct oci_ref *r = NULL, *again = NULL;
        struct err *e = NULL;
        char *full, *fam;

        if (oci_ref_parse_mode(s, mode, &r, &e) < 0) {
                /* Every failure carries a message. */
                if (!e || e->msg[0] == '\0')
                        abort();
                err_clear(&e);
                return;
        }
        if (!r->path || (mode != OCI_REF_RAW && !r->domain))
                abort();
        full = oci_ref_string(r);
        fam = oci_ref_familiar(r);
        (void) oci_ref_registry_host(r);
        (void) oci_ref_manifest_reference(r);
        if (oci_ref_parse_mode(full, mode, &again, &e) < 0)
                abort();
        {
                char *s2 = oci_ref_string(again);

                if (strcmp(s2, full) != 0)
                        abort();
                free(s2);
        }
        oci_ref_free(again);
        free(full);
        free(fam);
        oci_ref_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);
        struct err *e = NULL;

        memcpy(s, data, size);
        s[size] = '\0';
        roundtrip(s, OCI_REF_DOCKER);
        roundtrip(s, OCI_REF_LOCAL);
        roundtrip(s, OCI_REF_RAW);
        (void) oci_repo_name_validate(s, &e);
        err_clear(&e);
        (void) oci_tag_validate(s, &e);
        err_clear(&e);
        {
                char *dir = NULL, *name = NULL;

                if (oci_layout_parse_ref(s, &dir, &name, &e) == 0) {
                        /* DIR[:NAME] put back together is the input. */
                        char *back = name ? xasprintf("oci:%s:%s", dir, name) : xasprintf("oci:%s", dir);

                        if (!*dir || (name && !*name) || strcmp(back, s) != 0 || !oci_layout_is_ref(s))
                                abort();
                        free(back);
                        free(dir);
                        free(name);
                }
                err_clear(&e);
        }
        free(s);
        return 0;
}
