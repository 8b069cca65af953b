/* libFuzzer: apk installed databases and os-release files
 * (oci/sbom-apk.c, oci/sbom-db.c) on untrusted bytes, then purls and
 * licence expressions of what was accepted.  Input: a selector byte, then
 * the bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/sbom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A purl is ASCII without blanks, and starts as it must. */
static void
check_purl(const char *p)
{
        if (!p || strncmp(p, "pkg:apk/", 8) != 0)
                abort();
        for (; *p; p++)
                if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7f)
                        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct err *e = NULL;

        if (size < 1 || size > 256 * 1024)
                return 0;
        if (data[0] & 1) {
                struct oci_sbom_os os = {0};

                if (oci_sbom_os_release_parse((const char *) data + 1, size - 1, &os, &e) == 0) {
                        struct oci_sbom_pkg p = {.type = OCI_SBOM_APK, .name = "musl", .version = "1"};
                        char *purl = oci_sbom_purl(&p, &os);

                        check_purl(purl);
                        free(purl);
                        oci_sbom_os_clear(&os);
                } else if (!e || !*err_msg(&e)) {
                        abort();
                }
        } else {
                struct oci_sbom_pkgs pkgs = {0};

                if (oci_sbom_apk_parse((const char *) data + 1, size - 1, "fuzz", &pkgs, &e) == 0) {
                        for (size_t i = 0; i < pkgs.n; i++) {
                                char *purl = oci_sbom_purl(&pkgs.v[i], NULL);
                                char *lic = oci_sbom_license_expr(pkgs.v[i].license);

                                check_purl(purl);
                                free(purl);
                                free(lic);
                        }
                } else if (!e || !*err_msg(&e)) {
                        abort();
                }
                oci_sbom_pkgs_clear(&pkgs);
        }
        err_clear(&e);
        return 0;
}
