/* apk's installed database (lib/apk/db/installed): one paragraph per
 * package of "K:value" lines (apk-tools' database.c / package.c field
 * letters: P name, V version, A arch, L licence, o origin, m maintainer,
 * U url), paragraphs separated by an empty line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "oci/sbom-internal.h"

/* apk names and versions (apk-tools' apk_blob_t rules are looser; these
 * cover what Alpine's repositories carry and what a purl can hold). */
#define NAME_EXTRA "+._-"
#define VERSION_EXTRA "._+~-"

static int
paragraph_end(struct oci_sbom_pkg *p, bool any, const char *where, struct oci_sbom_pkgs *pkgs, struct err **err)
{
        if (!any)
                return 0;
        if (!oci_sbom_chars_ok(p->name, NAME_EXTRA) || !oci_sbom_chars_ok(p->version, VERSION_EXTRA) ||
            (p->arch && !oci_sbom_chars_ok(p->arch, "_-"))) {
                oci_sbom_pkg_clear(p);
                pkgs->skipped++;
                return 0;
        }
        if (p->source && !oci_sbom_chars_ok(p->source, NAME_EXTRA)) {
                free(p->source);
                p->source = NULL;
        }
        p->type = OCI_SBOM_APK;
        return oci_sbom_pkgs_take(pkgs, p, where, err);
}

int
oci_sbom_apk_parse(const char *data, size_t len, const char *where, struct oci_sbom_pkgs *pkgs, struct err **err)
{
        struct oci_sbom_lines it = {data, data + len};
        struct oci_sbom_pkg p = {0};
        const char *line;
        size_t n;
        bool any = false;
        int r = oci_sbom_check_input(data, len, OCI_SBOM_DB_MAX, where, err);

        if (r < 0)
                return r;
        while (oci_sbom_next_line(&it, &line, &n)) {
                char **slot = NULL;

                if (n == 0) {
                        r = paragraph_end(&p, any, where, pkgs, err);
                        any = false;
                        if (r < 0)
                                return r;
                        continue;
                }
                if (n < 2 || line[1] != ':')
                        continue;
                any = true;
                switch (line[0]) {
                case 'P':
                        slot = &p.name;
                        break;
                case 'V':
                        slot = &p.version;
                        break;
                case 'A':
                        slot = &p.arch;
                        break;
                case 'L':
                        slot = &p.license;
                        break;
                case 'o':
                        slot = &p.source;
                        break;
                case 'm':
                        slot = &p.supplier;
                        break;
                case 'U':
                        slot = &p.homepage;
                        break;
                default:
                        break;
                }
                if (!slot)
                        continue;
                free(*slot);
                *slot = oci_sbom_field_dup(line + 2, n - 2);
        }
        r = paragraph_end(&p, any, where, pkgs, err);
        oci_sbom_pkg_clear(&p);
        return r;
}
