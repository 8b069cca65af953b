/* libFuzzer: the final-filesystem reader (oci/sbom-rootfs.c) over one
 * untrusted layer blob (gzip, zstd or tar: whiteouts, opaque markers,
 * symlink chains, ".." paths), then lookups through its symlinks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/layout.h"
#include "oci/mediatype.h"
#include "oci/sbom.h"
#include "tests/fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct oci_layout *lay;
        struct oci_sbom_files f = {0};
        struct oci_descriptor d[2];
        struct digest dg;
        struct err *e = NULL;
        char *path;

        if (size > 1024 * 1024)
                return 0;
        if (!lay) {
                path = fuzz_path("sbom-rootfs", "layout");
                if (oci_layout_create(path, &lay, NULL) < 0)
                        abort();
                free(path);
        }
        if (oci_layout_add_blob(lay, data, size, NULL, &dg, NULL) < 0)
                abort();
        /* The same blob twice: the upper copy's whiteouts meet the lower's files. */
        oci_descriptor_init(&d[0], OCI_MT_LAYER_GZIP, dg.str, (int64_t) size);
        oci_descriptor_init(&d[1], OCI_MT_LAYER_TAR, dg.str, (int64_t) size);
        if (oci_sbom_read_rootfs(lay, d, 2, true, &f, &e) == 0) {
                static const char *const probes[] = {"etc/os-release", "var/lib/dpkg/status", "lib/apk/db/installed",
                                                     "a/b/c/../../d"};
                size_t *idx = NULL, n;

                for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
                        const struct oci_sbom_file *x = oci_sbom_files_get(&f, probes[i]);
                        char *r = oci_sbom_files_resolve(&f, probes[i]);

                        if (x && x->data && strlen(x->data) > x->len)
                                abort();
                        if (r && (r[0] == '/' || strstr(r, "..")))
                                abort(); /* resolved paths stay inside the root, cleaned */
                        free(r);
                }
                n = oci_sbom_files_in_dir(&f, "var/lib/dpkg/status.d", &idx);
                for (size_t i = 0; i < n; i++)
                        if (idx[i] >= f.n)
                                abort();
                free(idx);
                oci_sbom_files_clear(&f);
        } else if (!e || !*err_msg(&e)) {
                abort();
        }
        oci_descriptor_clear(&d[0]);
        oci_descriptor_clear(&d[1]);
        err_clear(&e);
        return 0;
}
