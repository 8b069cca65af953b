/* Licences as package databases record them → SPDX licence expressions
 * (SPDX 2.3 annex D).  Known ids are kept (in the list's spelling),
 * Debian's DEP-5 short names are mapped to their SPDX ids, anything else
 * becomes a LicenseRef- (which the writer declares in
 * hasExtractedLicensingInfos). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "oci/sbom-internal.h"

/* Tokens of one licence kept (more: the whole licence is one LicenseRef). */
#define MAX_TOKENS 64

static const struct {
        const char *from, *to;
} known[] = {
    /* Debian's copyright-format short names (DEP-5 "Short name" table). */
    {"GPL-1", "GPL-1.0-only"}, {"GPL-1+", "GPL-1.0-or-later"}, {"GPL-2", "GPL-2.0-only"},
    {"GPL-2+", "GPL-2.0-or-later"}, {"GPL-3", "GPL-3.0-only"}, {"GPL-3+", "GPL-3.0-or-later"},
    {"LGPL-2", "LGPL-2.0-only"}, {"LGPL-2+", "LGPL-2.0-or-later"}, {"LGPL-2.1", "LGPL-2.1-only"},
    {"LGPL-2.1+", "LGPL-2.1-or-later"}, {"LGPL-3", "LGPL-3.0-only"}, {"LGPL-3+", "LGPL-3.0-or-later"},
    {"AGPL-3", "AGPL-3.0-only"}, {"AGPL-3+", "AGPL-3.0-or-later"}, {"Expat", "MIT"},
    {"BSD-2-clause", "BSD-2-Clause"}, {"BSD-3-clause", "BSD-3-Clause"}, {"BSD-4-clause", "BSD-4-Clause"},
    {"Artistic", "Artistic-1.0"}, {"MPL-1.1", "MPL-1.1"}, {"MPL-2.0", "MPL-2.0"}, {"Apache-2", "Apache-2.0"},
    {"Zlib", "Zlib"}, {"public-domain", "LicenseRef-public-domain"},
    /* SPDX ids seen in Alpine's and Debian's packages. */
    {"0BSD", "0BSD"}, {"AFL-2.1", "AFL-2.1"}, {"Apache-1.1", "Apache-1.1"}, {"Apache-2.0", "Apache-2.0"},
    {"Artistic-1.0", "Artistic-1.0"}, {"Artistic-1.0-Perl", "Artistic-1.0-Perl"}, {"Artistic-2.0", "Artistic-2.0"},
    {"BSD-1-Clause", "BSD-1-Clause"}, {"BSD-2-Clause", "BSD-2-Clause"}, {"BSD-3-Clause", "BSD-3-Clause"},
    {"BSD-4-Clause", "BSD-4-Clause"}, {"BSL-1.0", "BSL-1.0"}, {"bzip2-1.0.6", "bzip2-1.0.6"},
    {"CC0-1.0", "CC0-1.0"}, {"CC-BY-3.0", "CC-BY-3.0"}, {"CC-BY-4.0", "CC-BY-4.0"},
    {"CC-BY-SA-3.0", "CC-BY-SA-3.0"}, {"CC-BY-SA-4.0", "CC-BY-SA-4.0"}, {"CDDL-1.0", "CDDL-1.0"},
    {"curl", "curl"}, {"EPL-1.0", "EPL-1.0"}, {"EPL-2.0", "EPL-2.0"}, {"FSFAP", "FSFAP"}, {"FSFUL", "FSFUL"},
    {"FTL", "FTL"}, {"GFDL-1.2-or-later", "GFDL-1.2-or-later"}, {"GFDL-1.3-or-later", "GFDL-1.3-or-later"},
    {"GPL-1.0-only", "GPL-1.0-only"}, {"GPL-1.0-or-later", "GPL-1.0-or-later"}, {"GPL-2.0", "GPL-2.0"},
    {"GPL-2.0-only", "GPL-2.0-only"}, {"GPL-2.0-or-later", "GPL-2.0-or-later"}, {"GPL-3.0", "GPL-3.0"},
    {"GPL-3.0-only", "GPL-3.0-only"}, {"GPL-3.0-or-later", "GPL-3.0-or-later"}, {"ISC", "ISC"},
    {"LGPL-2.0-only", "LGPL-2.0-only"}, {"LGPL-2.0-or-later", "LGPL-2.0-or-later"},
    {"LGPL-2.1-only", "LGPL-2.1-only"}, {"LGPL-2.1-or-later", "LGPL-2.1-or-later"},
    {"LGPL-3.0-only", "LGPL-3.0-only"}, {"LGPL-3.0-or-later", "LGPL-3.0-or-later"}, {"Libpng", "Libpng"},
    {"libpng-2.0", "libpng-2.0"}, {"MIT", "MIT"}, {"MIT-0", "MIT-0"}, {"MPL-1.0", "MPL-1.0"},
    {"NCSA", "NCSA"}, {"OpenSSL", "OpenSSL"}, {"OLDAP-2.8", "OLDAP-2.8"}, {"PHP-3.01", "PHP-3.01"},
    {"PostgreSQL", "PostgreSQL"}, {"PSF-2.0", "PSF-2.0"}, {"Python-2.0", "Python-2.0"}, {"Ruby", "Ruby"},
    {"Sleepycat", "Sleepycat"}, {"Unicode-DFS-2016", "Unicode-DFS-2016"}, {"Unlicense", "Unlicense"},
    {"Vim", "Vim"}, {"W3C", "W3C"}, {"WTFPL", "WTFPL"}, {"X11", "X11"}, {"ZPL-2.1", "ZPL-2.1"},
    /* Exceptions (after WITH). */
    {"GCC-exception-3.1", "GCC-exception-3.1"}, {"Autoconf-exception-3.0", "Autoconf-exception-3.0"},
    {"Bison-exception-2.2", "Bison-exception-2.2"}, {"Classpath-exception-2.0", "Classpath-exception-2.0"},
    {"OpenSSL-exception", "OpenSSL-exception"}, {"LLVM-exception", "LLVM-exception"},
};

static const char *
lookup(const char *id)
{
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                if (strcasecmp(known[i].from, id) == 0)
                        return known[i].to;
        return NULL;
}

/* "LicenseRef-" + S with every character outside [A-Za-z0-9.-] as '-'
 * (SPDX 2.3 idstring). */
static char *
license_ref(const char *s)
{
        char *out = xasprintf("LicenseRef-%s", s);

        for (char *p = out + strlen("LicenseRef-"); *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '.' || *p == '-'))
                        *p = '-';
        return out;
}

static bool
is_op(const char *t)
{
        return strcasecmp(t, "AND") == 0 || strcasecmp(t, "OR") == 0 || strcasecmp(t, "WITH") == 0;
}

/* Append S to the buffer at *BUF (length *LEN). */
static void
append(char **buf, size_t *len, const char *s)
{
        size_t n = strlen(s);

        *buf = xrealloc(*buf, *len + n + 2);
        if (*len)
                (*buf)[(*len)++] = ' ';
        memcpy(*buf + *len, s, n + 1);
        *len += n;
}

char *
oci_sbom_license_expr(const char *license)
{
        _cleanup_free_ char *copy = NULL, *out = NULL;
        char *tok[MAX_TOKENS], *save = NULL;
        size_t nt = 0, len = 0;
        int depth = 0;
        bool want_id = true; /* an id or "(" comes next */

        if (!license)
                return NULL;
        /* Parentheses as tokens of their own. */
        copy = xmalloc(strlen(license) * 3 + 1);
        {
                char *o = copy;

                for (const char *p = license; *p; p++) {
                        if (*p == '(' || *p == ')') {
                                *o++ = ' ';
                                *o++ = *p;
                                *o++ = ' ';
                        } else {
                                *o++ = *p;
                        }
                }
                *o = '\0';
        }
        for (char *t = strtok_r(copy, " \t,;/", &save); t; t = strtok_r(NULL, " \t,;/", &save)) {
                if (nt == MAX_TOKENS)
                        return license_ref(license);
                tok[nt++] = t;
        }
        if (nt == 0)
                return NULL;
        for (size_t i = 0; i < nt; i++) {
                const char *t = tok[i], *id;
                _cleanup_free_ char *ref = NULL;

                if (strcmp(t, "(") == 0) {
                        if (!want_id)
                                append(&out, &len, "AND");
                        append(&out, &len, "(");
                        depth++;
                        want_id = true;
                        continue;
                }
                if (strcmp(t, ")") == 0) {
                        if (want_id || depth == 0)
                                return license_ref(license);
                        append(&out, &len, ")");
                        depth--;
                        continue;
                }
                if (is_op(t)) {
                        char up[5];

                        if (want_id)
                                return license_ref(license);
                        for (size_t k = 0; k < 4 && t[k]; k++)
                                up[k] = (char) (t[k] & ~0x20);
                        up[strlen(t)] = '\0';
                        append(&out, &len, up);
                        want_id = true;
                        continue;
                }
                /* Two ids without an operator (older apk "MIT BSD"): both. */
                if (!want_id)
                        append(&out, &len, "AND");
                id = lookup(t);
                if (!id) {
                        size_t tl = strlen(t);

                        /* "GPL-2.0+" is the deprecated "or later" form. */
                        if (tl > 1 && t[tl - 1] == '+') {
                                _cleanup_free_ char *base = xstrndup(t, tl - 1);
                                const char *b = lookup(base);

                                if (b && strncmp(b, "LicenseRef-", 11) != 0)
                                        ref = xasprintf("%s+", b);
                        }
                        if (!ref)
                                ref = license_ref(t);
                        id = ref;
                }
                append(&out, &len, id);
                want_id = false;
        }
        if (want_id || depth != 0)
                return license_ref(license);
        return steal_ptr(&out);
}
