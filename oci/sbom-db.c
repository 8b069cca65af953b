/* What the package database parsers share: the package list, field
 * helpers, the line iterator, and os-release(5). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "oci/sbom-internal.h"

void
oci_sbom_pkg_clear(struct oci_sbom_pkg *p)
{
        if (!p)
                return;
        free(p->name);
        free(p->version);
        free(p->arch);
        free(p->source);
        free(p->source_version);
        free(p->license);
        free(p->supplier);
        free(p->homepage);
        memset(p, 0, sizeof(*p));
}

void
oci_sbom_pkgs_clear(struct oci_sbom_pkgs *pkgs)
{
        if (!pkgs)
                return;
        for (size_t i = 0; i < pkgs->n; i++)
                oci_sbom_pkg_clear(&pkgs->v[i]);
        free(pkgs->v);
        memset(pkgs, 0, sizeof(*pkgs));
}

int
oci_sbom_pkgs_take(struct oci_sbom_pkgs *pkgs, struct oci_sbom_pkg *p, const char *where, struct err **err)
{
        if (pkgs->n >= OCI_SBOM_PACKAGES_MAX) {
                oci_sbom_pkg_clear(p);
                return err_set(err, E2BIG, "%s: more than %d packages", where, OCI_SBOM_PACKAGES_MAX);
        }
        if (pkgs->n == pkgs->cap) {
                pkgs->cap = pkgs->cap ? pkgs->cap * 2 : 64;
                pkgs->v = xrealloc(pkgs->v, pkgs->cap * sizeof(*pkgs->v));
        }
        pkgs->v[pkgs->n++] = *p;
        memset(p, 0, sizeof(*p));
        return 0;
}

bool
oci_sbom_chars_ok(const char *s, const char *extra)
{
        size_t n = 0;

        if (!s || !*s)
                return false;
        for (; *s; s++, n++) {
                unsigned char c = (unsigned char) *s;

                if (n >= OCI_SBOM_FIELD_MAX)
                        return false;
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                        continue;
                if (!strchr(extra, c))
                        return false;
        }
        return true;
}

char *
oci_sbom_field_dup(const char *s, size_t len)
{
        while (len > 0 && (*s == ' ' || *s == '\t')) {
                s++;
                len--;
        }
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
                len--;
        if (len == 0 || len > OCI_SBOM_FIELD_MAX)
                return NULL;
        return xstrndup(s, len);
}

bool
oci_sbom_next_line(struct oci_sbom_lines *it, const char **line, size_t *line_len)
{
        const char *nl;
        size_t n;

        if (it->p >= it->end)
                return false;
        nl = memchr(it->p, '\n', (size_t) (it->end - it->p));
        n = nl ? (size_t) (nl - it->p) : (size_t) (it->end - it->p);
        *line = it->p;
        *line_len = n > 0 && it->p[n - 1] == '\r' ? n - 1 : n;
        it->p += nl ? n + 1 : n;
        return true;
}

int
oci_sbom_check_input(const char *data, size_t len, size_t cap, const char *where, struct err **err)
{
        if (len > cap)
                return err_set(err, EINVAL, "%s: %zu bytes (at most %zu are read)", where, len, cap);
        if (len && memchr(data, '\0', len))
                return err_set(err, EINVAL, "%s: a NUL byte at offset %zu: not a text database", where,
                               (size_t) ((const char *) memchr(data, '\0', len) - data));
        return 0;
}

/* ---- os-release(5) ---- */

void
oci_sbom_os_clear(struct oci_sbom_os *os)
{
        if (!os)
                return;
        free(os->id);
        free(os->version_id);
        free(os->name);
        free(os->pretty_name);
        memset(os, 0, sizeof(*os));
}

/* The value of an os-release assignment: shell-like quoting, as
 * os-release(5) allows ("...", '...', backslash escapes in double quotes
 * and unquoted). */
static char *
unquote(const char *v, size_t len)
{
        _cleanup_free_ char *out = xmalloc(len + 1);
        size_t o = 0;
        char q = 0;

        for (size_t i = 0; i < len; i++) {
                char c = v[i];

                if (q == '\'') {
                        if (c == '\'')
                                q = 0;
                        else
                                out[o++] = c;
                } else if (c == '\\' && i + 1 < len) {
                        out[o++] = v[++i];
                } else if (q == '"' && c == '"') {
                        q = 0;
                } else if (!q && (c == '"' || c == '\'')) {
                        q = c;
                } else if (!q && (c == ' ' || c == '\t')) {
                        break; /* an unquoted value ends at a blank */
                } else {
                        out[o++] = c;
                }
        }
        out[o] = '\0';
        if (o == 0 || o > OCI_SBOM_FIELD_MAX)
                return NULL;
        return steal_ptr(&out);
}

int
oci_sbom_os_release_parse(const char *data, size_t len, struct oci_sbom_os *ret, struct err **err)
{
        struct oci_sbom_lines it = {data, data + len};
        struct oci_sbom_os os = {0};
        const char *line;
        size_t n;
        int r = oci_sbom_check_input(data, len, OCI_SBOM_OS_RELEASE_MAX, "os-release", err);

        if (r < 0)
                return r;
        while (oci_sbom_next_line(&it, &line, &n)) {
                const char *eq = memchr(line, '=', n);
                size_t klen;
                char **slot = NULL;
                bool strict = false;

                while (n > 0 && (*line == ' ' || *line == '\t')) {
                        line++;
                        n--;
                }
                if (n == 0 || *line == '#' || !eq)
                        continue;
                klen = (size_t) (eq - line);
                if (klen == 2 && memcmp(line, "ID", 2) == 0) {
                        slot = &os.id;
                        strict = true;
                } else if (klen == 10 && memcmp(line, "VERSION_ID", 10) == 0) {
                        slot = &os.version_id;
                        strict = true;
                } else if (klen == 4 && memcmp(line, "NAME", 4) == 0) {
                        slot = &os.name;
                } else if (klen == 11 && memcmp(line, "PRETTY_NAME", 11) == 0) {
                        slot = &os.pretty_name;
                }
                if (!slot)
                        continue;
                free(*slot);
                *slot = unquote(eq + 1, (size_t) (line + n - eq - 1));
                /* ID and VERSION_ID end up in purls and SPDX ids. */
                if (strict && *slot && !oci_sbom_chars_ok(*slot, "._-")) {
                        free(*slot);
                        *slot = NULL;
                }
        }
        *ret = os;
        return 0;
}
