/* RUN --mount option strings: key=value pairs checked the way BuildKit
 * checks them (unknown keys, bad numbers and bad booleans are errors). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/exec/exec.h"
#include "common/cleanup.h"

/* Go's strconv.ParseBool. */
static int
mount_bool(const char *v, bool *ret)
{
        static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
        static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                if (strcmp(v, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcmp(v, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -1;
}

/* Digits only in BASE, at most MAX. */
static int
mount_uint(const char *v, int base, unsigned long long max, unsigned long long *ret)
{
        unsigned long long n = 0;

        if (*v == '\0')
                return -1;
        for (const char *p = v; *p; p++) {
                int d = *p - '0';

                if (d < 0 || d >= base)
                        return -1;
                if (n > (max - (unsigned) d) / (unsigned) base)
                        return -1;
                n = n * (unsigned) base + (unsigned) d;
        }
        *ret = n;
        return 0;
}

/* A tmpfs size as docker's RAMInBytes reads it: a decimal number and an
 * optional binary unit (k, m, g, t, p; "b"/"ib" may follow), any case. */
static int
mount_size(const char *v, uint64_t *ret)
{
        static const char units[] = "kmgtp";
        unsigned long long whole = 0, frac_num = 0, frac_den = 1;
        const char *p = v;
        unsigned shift = 0;
        long double bytes;

        if (*p < '0' || *p > '9')
                return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (whole > (ULLONG_MAX - 9) / 10)
                        return -1;
                whole = whole * 10 + (unsigned) (*p - '0');
        }
        if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                        return -1;
                for (; *p >= '0' && *p <= '9'; p++)
                        if (frac_den < 1000000000000ull) {
                                frac_num = frac_num * 10 + (unsigned) (*p - '0');
                                frac_den *= 10;
                        }
        }
        if (*p) {
                const char *u = strchr(units, *p | 0x20);

                if (u) {
                        shift = 10 * (unsigned) (u - units + 1);
                        p++;
                }
                if (strcasecmp(p, "b") == 0 || (shift && strcasecmp(p, "ib") == 0))
                        p += strlen(p);
                if (*p)
                        return -1;
        }
        bytes = ((long double) whole + (long double) frac_num / (long double) frac_den) * (long double) (1ull << shift);
        if (bytes >= 18446744073709551615.0L)
                return -1;
        *ret = (uint64_t) bytes;
        return 0;
}

int
build_mount_spec_parse(const char *spec, struct build_mount_spec *ret, struct err **err)
{
        struct build_mount_spec m = {.type = "bind", .sharing = BUILD_MOUNT_SHARED, .mode = (mode_t) -1};
        char *save = NULL, *tok;
        int r;

        m.buf = xstrdup(spec);
        for (tok = strtok_r(m.buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(tok, '=');
                const char *k = tok, *val = eq ? eq + 1 : NULL;
                unsigned long long n;
                bool *flag_val = NULL;

                if (eq)
                        *eq = '\0';
                /* The boolean keys: bare means true. */
                if (strcmp(k, "rw") == 0 || strcmp(k, "readwrite") == 0)
                        flag_val = &m.rw;
                else if (strcmp(k, "ro") == 0 || strcmp(k, "readonly") == 0)
                        flag_val = &m.readonly;
                else if (strcmp(k, "required") == 0)
                        flag_val = &m.required;
                if (flag_val) {
                        if (!val)
                                *flag_val = true;
                        else if (mount_bool(val, flag_val) < 0)
                                goto bad_value;
                        continue;
                }
                if (!val) {
                        r = err_set(err, ERR_PARSE, "--mount %s: '%s' needs a value (%s=...)", spec, k, k);
                        goto fail;
                }
                if (strcmp(k, "type") == 0) {
                        if (strcmp(val, "bind") != 0 && strcmp(val, "cache") != 0 && strcmp(val, "tmpfs") != 0 &&
                            strcmp(val, "secret") != 0 && strcmp(val, "ssh") != 0) {
                                r = err_set(err, ERR_PARSE,
                                            "--mount %s: unknown type '%s' (bind, cache, tmpfs, secret, ssh)", spec,
                                            val);
                                goto fail;
                        }
                        m.type = val;
                } else if (strcmp(k, "target") == 0 || strcmp(k, "dst") == 0 || strcmp(k, "destination") == 0) {
                        m.target = val;
                } else if (strcmp(k, "source") == 0 || strcmp(k, "src") == 0) {
                        m.source = val;
                } else if (strcmp(k, "from") == 0) {
                        m.from = val;
                } else if (strcmp(k, "id") == 0) {
                        m.id = val;
                } else if (strcmp(k, "sharing") == 0) {
                        if (strcmp(val, "shared") == 0)
                                m.sharing = BUILD_MOUNT_SHARED;
                        else if (strcmp(val, "locked") == 0)
                                m.sharing = BUILD_MOUNT_LOCKED;
                        else if (strcmp(val, "private") == 0)
                                m.sharing = BUILD_MOUNT_PRIVATE;
                        else
                                goto bad_value;
                } else if (strcmp(k, "mode") == 0) {
                        if (mount_uint(val, 8, 07777, &n) < 0)
                                goto bad_value;
                        m.mode = (mode_t) n;
                } else if (strcmp(k, "uid") == 0 || strcmp(k, "gid") == 0) {
                        if (mount_uint(val, 10, UINT32_MAX - 1, &n) < 0)
                                goto bad_value;
                        if (k[0] == 'u')
                                m.uid = (uid_t) n;
                        else
                                m.gid = (gid_t) n;
                } else if (strcmp(k, "size") == 0) {
                        if (mount_size(val, &m.size) < 0)
                                goto bad_value;
                } else if (strcmp(k, "env") == 0) {
                        m.env = val;
                } else {
                        r = err_set(err, ERR_PARSE, "--mount %s: unexpected key '%s'", spec, k);
                        goto fail;
                }
                continue;
        bad_value:
                r = err_set(err, ERR_PARSE, "--mount %s: invalid value for %s: '%s'", spec, k, val ? val : "");
                goto fail;
        }
        *ret = m;
        return 0;
fail:
        /* (after the message: K and VAL point into the buffer) */
        build_mount_spec_clear(&m);
        return r;
}

void
build_mount_spec_clear(struct build_mount_spec *m)
{
        free(m->buf);
        m->buf = NULL;
}
