/* Platforms: parse, normalise, match, host detection (see oci/platform.h). */
#include "oci/platform.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "oci/model.h"

static bool
streq(const char *a, const char *b)
{
        return a && b && strcmp(a, b) == 0;
}

static bool
empty(const char *s)
{
        return s == NULL || *s == '\0';
}

static void
set_str(char **dst, const char *v)
{
        free(*dst);
        *dst = v ? xstrdup(v) : NULL;
}

/* containerd's normalizeArch: architecture aliases and variant spellings. */
void
oci_platform_normalize(struct oci_platform *p)
{
        char *arch, *var;

        if (!p)
                return;
        if (p->os) {
                for (char *c = p->os; *c; c++)
                        if (*c >= 'A' && *c <= 'Z')
                                *c = (char) (*c - 'A' + 'a');
                if (strcmp(p->os, "macos") == 0)
                        set_str(&p->os, "darwin");
        }
        if (!p->architecture)
                return;
        for (char *c = p->architecture; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                        *c = (char) (*c - 'A' + 'a');
        if (p->variant)
                for (char *c = p->variant; *c; c++)
                        if (*c >= 'A' && *c <= 'Z')
                                *c = (char) (*c - 'A' + 'a');
        arch = p->architecture;
        var = p->variant;

        if (streq(arch, "i386") || streq(arch, "i486") || streq(arch, "i586") || streq(arch, "i686") ||
            streq(arch, "x86")) {
                set_str(&p->architecture, "386");
                set_str(&p->variant, NULL);
        } else if (streq(arch, "x86_64") || streq(arch, "x86-64") || streq(arch, "amd64")) {
                set_str(&p->architecture, "amd64");
                if (streq(var, "v1") || streq(var, "1") || (var && *var == '\0'))
                        set_str(&p->variant, NULL);
                else if (var && var[0] >= '2' && var[0] <= '4' && var[1] == '\0') {
                        char v[3] = { 'v', var[0], 0 };
                        set_str(&p->variant, v);
                }
        } else if (streq(arch, "aarch64") || streq(arch, "arm64")) {
                set_str(&p->architecture, "arm64");
                if (streq(var, "8") || streq(var, "v8") || streq(var, "v8.0") || (var && *var == '\0'))
                        set_str(&p->variant, NULL);
                else if (streq(var, "9"))
                        set_str(&p->variant, "v9");
        } else if (streq(arch, "armhf")) {
                set_str(&p->architecture, "arm");
                set_str(&p->variant, "v7");
        } else if (streq(arch, "armel")) {
                set_str(&p->architecture, "arm");
                set_str(&p->variant, "v6");
        } else if (streq(arch, "arm")) {
                if (empty(var) || streq(var, "7"))
                        set_str(&p->variant, "v7");
                else if (streq(var, "5") || streq(var, "6") || streq(var, "8")) {
                        char v[3] = { 'v', var[0], 0 };
                        set_str(&p->variant, v);
                }
        } else if (var && *var == '\0') {
                set_str(&p->variant, NULL);
        }
}

/* The variant an architecture implies when none is given. */
static const char *
default_variant(const char *arch)
{
        if (streq(arch, "arm64"))
                return "v8";
        if (streq(arch, "amd64"))
                return "v1";
        if (streq(arch, "arm"))
                return "v7";
        return NULL;
}

/* Normalised copy of P's (os, arch, variant) with the default variant filled
 * in, for comparisons. */
struct triple {
        char os[64], arch[64], variant[64];
};

static void
triple_of(const struct oci_platform *p, struct triple *t)
{
        struct oci_platform tmp = { 0 };
        const char *v;

        tmp.os = p->os ? xstrdup(p->os) : NULL;
        tmp.architecture = p->architecture ? xstrdup(p->architecture) : NULL;
        tmp.variant = p->variant ? xstrdup(p->variant) : NULL;
        oci_platform_normalize(&tmp);
        v = tmp.variant ? tmp.variant : default_variant(tmp.architecture);
        snprintf(t->os, sizeof(t->os), "%s", tmp.os ? tmp.os : "");
        snprintf(t->arch, sizeof(t->arch), "%s", tmp.architecture ? tmp.architecture : "");
        snprintf(t->variant, sizeof(t->variant), "%s", v ? v : "");
        free(tmp.os);
        free(tmp.architecture);
        free(tmp.variant);
}

struct oci_platform *
oci_platform_new(const char *os, const char *arch, const char *variant)
{
        struct oci_platform *p = xcalloc(1, sizeof(*p));

        p->os = os ? xstrdup(os) : NULL;
        p->architecture = arch ? xstrdup(arch) : NULL;
        p->variant = variant && *variant ? xstrdup(variant) : NULL;
        oci_platform_normalize(p);
        return p;
}

void
oci_platform_free(struct oci_platform *p)
{
        if (!p)
                return;
        free(p->os);
        free(p->architecture);
        free(p->variant);
        free(p->os_version);
        oci_strv_free(p->os_features);
        json_decref(p->extra);
        free(p);
}

struct oci_platform *
oci_platform_dup(const struct oci_platform *p)
{
        struct oci_platform *r;

        if (!p)
                return NULL;
        r = xcalloc(1, sizeof(*r));
        r->os = p->os ? xstrdup(p->os) : NULL;
        r->architecture = p->architecture ? xstrdup(p->architecture) : NULL;
        r->variant = p->variant ? xstrdup(p->variant) : NULL;
        r->os_version = p->os_version ? xstrdup(p->os_version) : NULL;
        r->os_features = oci_strv_dup(p->os_features);
        r->extra = p->extra ? json_deep_copy(p->extra) : NULL;
        return r;
}

static bool
known_arch(const char *a)
{
        /* GOARCH names and every alias oci_platform_normalize maps, in any
         * case (normalisation lower-cases them). */
        static const char *const archs[] = { "amd64",   "arm64",   "arm",     "386",    "ppc64le", "ppc64",
                                             "s390x",   "riscv64", "mips64le", "mips64", "mipsle",  "mips",
                                             "loong64", "x86_64",  "x86-64",  "aarch64", "armhf",  "armel",
                                             "i386",    "i486",    "i586",    "i686",   "x86",     NULL };
        for (size_t i = 0; archs[i]; i++)
                if (strcasecmp(a, archs[i]) == 0)
                        return true;
        return false;
}

static bool
part_ok(const char *s)
{
        if (*s == '\0')
                return false;
        for (; *s; s++) {
                char c = *s;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-' || c == '.'))
                        return false;
        }
        return true;
}

int
oci_platform_parse(const char *s, struct oci_platform **ret_platform, struct err **err)
{
        _cleanup_free_ char *copy = NULL;
        char *parts[4] = { 0 };
        size_t n = 0;
        struct oci_platform *p;

        if (s == NULL || *s == '\0')
                return err_set(err, EINVAL, "invalid platform: empty");
        if (strlen(s) > 256)
                return err_set(err, EINVAL, "invalid platform: too long");
        copy = xstrdup(s);
        for (char *tok = copy, *slash;; tok = slash + 1) {
                if (n == 3)
                        return err_set(err, EINVAL, "invalid platform \"%s\": expected os[/arch[/variant]]", s);
                parts[n++] = tok;
                slash = strchr(tok, '/');
                if (!slash)
                        break;
                *slash = '\0';
        }
        for (size_t i = 0; i < n; i++)
                if (!part_ok(parts[i]))
                        return err_set(err, EINVAL,
                                       "invalid platform \"%s\": part %zu is empty or has characters other "
                                       "than letters, digits, '_', '-', '.'",
                                       s, i + 1);
        if (n == 1) {
                /* "linux" or a bare architecture such as "arm64". */
                if (known_arch(parts[0]))
                        p = oci_platform_new("linux", parts[0], NULL);
                else
                        p = oci_platform_new(parts[0], NULL, NULL);
        } else {
                p = oci_platform_new(parts[0], parts[1], n == 3 ? parts[2] : NULL);
        }
        *ret_platform = p;
        return 0;
}

char *
oci_platform_format(const struct oci_platform *p)
{
        const char *os = p->os ? p->os : "unknown";

        if (!p->architecture)
                return xstrdup(os);
        if (p->variant && *p->variant)
                return xasprintf("%s/%s/%s", os, p->architecture, p->variant);
        return xasprintf("%s/%s", os, p->architecture);
}

bool
oci_platform_equal(const struct oci_platform *want, const struct oci_platform *have)
{
        struct triple a, b;

        if (!want || !have)
                return false;
        triple_of(want, &a);
        triple_of(have, &b);
        return strcmp(a.os, b.os) == 0 && strcmp(a.arch, b.arch) == 0 && strcmp(a.variant, b.variant) == 0;
}

/* The N of a variant "vN" (1 to 3 digits), or -1.  Variants come from
 * indexes on registries: "v9x" or a 20-digit number is no level. */
static int
variant_level(const char *v)
{
        int n = 0;
        size_t i;

        if (v[0] != 'v' || v[1] == '\0')
                return -1;
        for (i = 1; v[i]; i++) {
                if (i > 3 || v[i] < '0' || v[i] > '9')
                        return -1;
                n = n * 10 + (v[i] - '0');
        }
        return n;
}

int
oci_platform_rank(const struct oci_platform *want, const struct oci_platform *have)
{
        struct triple w, h;

        if (!want || !have)
                return -1;
        triple_of(want, &w);
        triple_of(have, &h);
        if (strcmp(w.os, h.os) != 0)
                return -1;
        /* A wanted platform without an architecture takes any of that os. */
        if (w.arch[0] == '\0')
                return 0;
        if (strcmp(w.arch, h.arch) != 0)
                return -1;
        if (strcmp(w.variant, h.variant) == 0)
                return 0;
        /* Older variants of arm and amd64 run on newer hardware:
         * arm v8 > v7 > v6 > v5, amd64 v4 > v3 > v2 > v1. */
        if (strcmp(w.arch, "arm") == 0 || strcmp(w.arch, "amd64") == 0) {
                int wv = variant_level(w.variant), hv = variant_level(h.variant);

                if (hv > 0 && wv > 0 && hv < wv)
                        return wv - hv;
        }
        return -1;
}

bool
oci_platform_match(const struct oci_platform *want, const struct oci_platform *have)
{
        return oci_platform_rank(want, have) >= 0;
}

bool
oci_platform_from_machine(const char *machine, const char **ret_arch, const char **ret_variant)
{
        static const struct {
                const char *machine, *arch, *variant;
        } map[] = {
                { "x86_64", "amd64", NULL },   { "amd64", "amd64", NULL },     { "aarch64", "arm64", NULL },
                { "arm64", "arm64", NULL },    { "armv8l", "arm", "v8" },      { "armv7l", "arm", "v7" },
                { "armv7", "arm", "v7" },      { "armv6l", "arm", "v6" },      { "armv5tel", "arm", "v5" },
                { "armv5l", "arm", "v5" },     { "i386", "386", NULL },        { "i486", "386", NULL },
                { "i586", "386", NULL },       { "i686", "386", NULL },        { "ppc64le", "ppc64le", NULL },
                { "ppc64", "ppc64", NULL },    { "s390x", "s390x", NULL },     { "riscv64", "riscv64", NULL },
                { "mips64", "mips64", NULL },  { "loongarch64", "loong64", NULL },
        };

        if (!machine)
                return false;
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (strcmp(machine, map[i].machine) == 0) {
                        *ret_arch = map[i].arch;
                        *ret_variant = map[i].variant;
                        return true;
                }
        return false;
}

int
oci_platform_host(struct oci_platform **ret_platform, struct err **err)
{
        struct utsname u;
        const char *arch, *variant;

        if (uname(&u) < 0)
                return err_set(err, errno, "uname");
        if (!oci_platform_from_machine(u.machine, &arch, &variant))
                return err_set(err, EINVAL, "unknown host machine type \"%s\"", u.machine);
        *ret_platform = oci_platform_new("linux", arch, variant);
        return 0;
}
