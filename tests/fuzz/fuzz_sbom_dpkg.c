/* libFuzzer: dpkg status files and DEP-5 copyright files (oci/sbom-dpkg.c)
 * on untrusted bytes, then the SPDX writer over what was accepted (every
 * package must come out as a package with a purl).  Input: a selector
 * byte, then the bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "oci/sbom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct err *e = NULL;

        if (size < 1 || size > 256 * 1024)
                return 0;
        if (data[0] & 1) {
                char *lic = NULL;

                if (oci_sbom_dpkg_copyright_licenses((const char *) data + 1, size - 1, &lic, &e) == 0) {
                        char *expr = lic ? oci_sbom_license_expr(lic) : NULL;

                        /* An SPDX expression: idstrings, operators, parentheses. */
                        for (const char *c = expr; c && *c; c++)
                                if (!strchr(" ()+.-", *c) && !(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z') &&
                                    !(*c >= '0' && *c <= '9'))
                                        abort();
                        free(expr);
                        free(lic);
                } else if (!e || !*err_msg(&e)) {
                        abort();
                }
        } else {
                struct oci_sbom_pkgs pkgs = {0};
                struct oci_sbom_os os = {.id = "debian", .version_id = "12"};
                struct oci_sbom_image img = {.digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef012345"
                                                       "6789abcdef",
                                             .created = "2024-01-01T00:00:00Z",
                                             .os = &os};

                if (oci_sbom_dpkg_parse((const char *) data + 1, size - 1, "fuzz", &pkgs, &e) == 0) {
                        char *json = NULL;
                        size_t len = 0;
                        json_t *j;

                        for (size_t i = 0; i < pkgs.n; i++)
                                if (!pkgs.v[i].name || !pkgs.v[i].version || pkgs.v[i].type != OCI_SBOM_DEB)
                                        abort();
                        if (oci_sbom_spdx_write(&img, &pkgs, &json, &len, &e) < 0)
                                abort();
                        j = json_loadb(json, len, 0, NULL);
                        /* image + OS + one entry per (deduplicated) package */
                        if (!j || json_array_size(json_object_get(j, "packages")) != pkgs.n + 2)
                                abort();
                        json_decref(j);
                        free(json);
                } else if (!e || !*err_msg(&e)) {
                        abort();
                }
                oci_sbom_pkgs_clear(&pkgs);
        }
        err_clear(&e);
        return 0;
}
