/* dpkg's databases: the status file (and distroless' status.d/ entries),
 * deb822 paragraphs (deb-control(5), dpkg's lib/dpkg/parse.c), and
 * machine-readable debian/copyright files (DEP-5) for licences. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "oci/sbom-internal.h"

/* deb-control(5): package names are [a-z0-9][a-z0-9+.-]+; versions are
 * [epoch:]upstream[-revision] over [A-Za-z0-9.+~:-]. */
#define NAME_EXTRA "+.-"
#define VERSION_EXTRA ".+~:-"

static bool
field_is(const char *line, size_t klen, const char *name)
{
        return strlen(name) == klen && strncasecmp(line, name, klen) == 0;
}

/* Install state from "Status: want flag state" (dpkg(1)): only the
 * "installed" state has the package's files on disk. */
static bool
status_installed(const char *status)
{
        const char *last = strrchr(status, ' ');

        return strcmp(last ? last + 1 : status, "installed") == 0;
}

/* "Source: name" or "Source: name (version)". */
static void
split_source(struct oci_sbom_pkg *p)
{
        char *open, *close;

        if (!p->source)
                return;
        open = strchr(p->source, '(');
        if (open) {
                close = strchr(open, ')');
                if (close && close > open + 1) {
                        p->source_version = xstrndup(open + 1, (size_t) (close - open - 1));
                        if (!oci_sbom_chars_ok(p->source_version, VERSION_EXTRA)) {
                                free(p->source_version);
                                p->source_version = NULL;
                        }
                }
                while (open > p->source && open[-1] == ' ')
                        open--;
                *open = '\0';
        }
        if (!oci_sbom_chars_ok(p->source, NAME_EXTRA)) {
                free(p->source);
                p->source = NULL;
                free(p->source_version);
                p->source_version = NULL;
        }
}

/* End of a paragraph: keep P when it is an installed, well-formed package. */
static int
paragraph_end(struct oci_sbom_pkg *p, char **status, bool any, const char *where, struct oci_sbom_pkgs *pkgs,
              struct err **err)
{
        bool installed = !*status || status_installed(*status);
        int r = 0;

        free(*status);
        *status = NULL;
        if (!any)
                return 0;
        if (!installed) {
                oci_sbom_pkg_clear(p);
                return 0;
        }
        if (!oci_sbom_chars_ok(p->name, NAME_EXTRA) || !oci_sbom_chars_ok(p->version, VERSION_EXTRA) ||
            (p->arch && !oci_sbom_chars_ok(p->arch, "-"))) {
                oci_sbom_pkg_clear(p);
                pkgs->skipped++;
                return 0;
        }
        split_source(p);
        p->type = OCI_SBOM_DEB;
        r = oci_sbom_pkgs_take(pkgs, p, where, err);
        return r;
}

int
oci_sbom_dpkg_parse(const char *data, size_t len, const char *where, struct oci_sbom_pkgs *pkgs,
                    struct err **err)
{
        struct oci_sbom_lines it = {data, data + len};
        struct oci_sbom_pkg p = {0};
        _cleanup_free_ char *status = NULL;
        const char *line;
        size_t n;
        bool any = false; /* the paragraph has a field */
        int r = oci_sbom_check_input(data, len, OCI_SBOM_DB_MAX, where, err);

        if (r < 0)
                return r;
        while (oci_sbom_next_line(&it, &line, &n)) {
                const char *colon;
                char **slot = NULL;
                size_t blank = 0;

                while (blank < n && (line[blank] == ' ' || line[blank] == '\t'))
                        blank++;
                if (blank == n) {
                        r = paragraph_end(&p, &status, any, where, pkgs, err);
                        any = false;
                        if (r < 0)
                                return r;
                        continue;
                }
                /* Continuation lines (Description, Conffiles) and comments. */
                if (blank > 0 || line[0] == '#')
                        continue;
                colon = memchr(line, ':', n);
                if (!colon)
                        continue;
                any = true;
                if (field_is(line, (size_t) (colon - line), "Package"))
                        slot = &p.name;
                else if (field_is(line, (size_t) (colon - line), "Version"))
                        slot = &p.version;
                else if (field_is(line, (size_t) (colon - line), "Architecture"))
                        slot = &p.arch;
                else if (field_is(line, (size_t) (colon - line), "Source"))
                        slot = &p.source;
                else if (field_is(line, (size_t) (colon - line), "Maintainer"))
                        slot = &p.supplier;
                else if (field_is(line, (size_t) (colon - line), "Homepage"))
                        slot = &p.homepage;
                else if (field_is(line, (size_t) (colon - line), "Status"))
                        slot = &status;
                if (!slot)
                        continue;
                free(*slot);
                *slot = oci_sbom_field_dup(colon + 1, (size_t) (line + n - colon - 1));
        }
        r = paragraph_end(&p, &status, any, where, pkgs, err);
        oci_sbom_pkg_clear(&p);
        return r;
}

/* ---- debian/copyright (DEP-5, copyright-format 1.0) ---- */

static bool
strv_has(char **v, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

int
oci_sbom_dpkg_copyright_licenses(const char *data, size_t len, char **ret, struct err **err)
{
        struct oci_sbom_lines it = {data, data + len};
        char *names[OCI_SBOM_LICENSES_MAX];
        size_t nn = 0, total = 0;
        bool dep5 = false, first = true;
        const char *line;
        size_t n;
        int r = oci_sbom_check_input(data, len, OCI_SBOM_COPYRIGHT_MAX, "copyright", err);

        *ret = NULL;
        if (r < 0)
                return r;
        while (oci_sbom_next_line(&it, &line, &n)) {
                const char *colon = memchr(line, ':', n), *v, *end = line + n;

                if (n == 0 || line[0] == ' ' || line[0] == '\t' || !colon)
                        continue;
                /* The header paragraph comes first and carries Format. */
                if (first && field_is(line, (size_t) (colon - line), "Format")) {
                        dep5 = memmem(colon, (size_t) (end - colon), "copyright-format", 16) != NULL;
                        first = false;
                        continue;
                }
                first = false;
                if (!dep5 || !field_is(line, (size_t) (colon - line), "License"))
                        continue;
                /* "License: GPL-2+ or Artistic": the names, without the
                 * lower-case operators DEP-5 writes between them. */
                for (v = colon + 1; v < end && nn < OCI_SBOM_LICENSES_MAX;) {
                        const char *w;
                        _cleanup_free_ char *word = NULL;

                        while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
                                v++;
                        w = v;
                        while (v < end && *v != ' ' && *v != '\t' && *v != ',')
                                v++;
                        if (v == w || v - w > 128)
                                continue;
                        word = xstrndup(w, (size_t) (v - w));
                        if (strcmp(word, "or") == 0 || strcmp(word, "and") == 0 || strcmp(word, "with") == 0 ||
                            strv_has(names, nn, word))
                                continue;
                        total += strlen(word) + 5;
                        names[nn++] = steal_ptr(&word);
                }
        }
        if (nn > 0) {
                char *s = xmalloc(total + 1);

                s[0] = '\0';
                for (size_t i = 0; i < nn; i++) {
                        if (i)
                                strcat(s, " AND ");
                        strcat(s, names[i]);
                        free(names[i]);
                }
                *ret = s;
        }
        return 0;
}
