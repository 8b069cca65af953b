/* Resolving a Docker USER spec against the image's /etc/passwd and
 * /etc/group (the rules of moby's GetExecUser). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/sandbox/sandbox.h"
#include "common/cleanup.h"

#define USER_FIELDS 7

/* Split one line into at most MAX ':'-separated fields (pointers into a
 * copy held by the caller); returns the count. */
static size_t
split_fields(char *line, char **f, size_t max)
{
        size_t n = 0;
        char *p = line;

        while (n < max) {
                f[n++] = p;
                p = strchr(p, ':');
                if (!p)
                        break;
                *p++ = '\0';
        }
        return n;
}

static bool
parse_id(const char *s, uint32_t *ret)
{
        char *end;
        unsigned long v;

        if (!*s || *s == '-' || *s == '+' || *s == ' ')
                return false;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v > 0xfffffffeUL)
                return false;
        *ret = (uint32_t) v;
        return true;
}

/* Iterate the lines of TEXT calling FN on a writable copy of each. */
#define FOR_EACH_LINE(text, line)                                                                          \
        for (const char *_p = (text), *_eol; _p && *_p; _p = _eol ? _eol + 1 : NULL)                            \
                for (_cleanup_free_ char *line =                                                              \
                             xstrndup(_p, (_eol = strchr(_p, '\n')) ? (size_t) (_eol - _p) : strlen(_p));      \
                     line; free(line), line = NULL)

int
build_user_resolve(const char *spec, const char *passwd, const char *group, struct build_user *ret_user,
                   struct err **err)
{
        struct build_user u = {0};
        _cleanup_free_ char *ustr = NULL, *gstr = NULL;
        const char *colon;
        bool found_user = false, have_gid = false;
        _cleanup_free_ char *uname = NULL;
        uint32_t n;

        if (!spec || !*spec)
                spec = "0";
        colon = strchr(spec, ':');
        ustr = colon ? xstrndup(spec, (size_t) (colon - spec)) : xstrdup(spec);
        gstr = colon ? xstrdup(colon + 1) : NULL;
        if (!*ustr)
                return err_set(err, EINVAL, "user '%s': empty user name", spec);
        if (gstr && !*gstr)
                return err_set(err, EINVAL, "user '%s': empty group name", spec);

        /* A passwd entry matches by name, or by uid when the spec is numeric. */
        FOR_EACH_LINE(passwd, line)
        {
                char *f[USER_FIELDS];
                uint32_t uid, gid;
                size_t nf;

                if (found_user || line[0] == '#' || (nf = split_fields(line, f, USER_FIELDS)) < 4)
                        continue;
                if (!parse_id(f[2], &uid) || !parse_id(f[3], &gid))
                        continue;
                if (strcmp(f[0], ustr) == 0 || (parse_id(ustr, &n) && n == uid)) {
                        found_user = true;
                        u.uid = uid;
                        u.gid = gid;
                        uname = xstrdup(f[0]);
                        if (nf >= 6)
                                snprintf(u.home, sizeof(u.home), "%s", f[5]);
                }
        }
        if (!found_user) {
                if (!parse_id(ustr, &n))
                        return err_set(err, ENOENT, "unable to find user %s: no matching entries in passwd file",
                                       ustr);
                u.uid = n;
                u.gid = 0;
        }

        if (gstr) {
                bool found_group = false;

                FOR_EACH_LINE(group, line)
                {
                        char *f[4];
                        uint32_t gid;

                        if (found_group || line[0] == '#' || split_fields(line, f, 4) < 3 || !parse_id(f[2], &gid))
                                continue;
                        if (strcmp(f[0], gstr) == 0 || (parse_id(gstr, &n) && n == gid)) {
                                found_group = true;
                                u.gid = gid;
                        }
                }
                if (!found_group) {
                        if (!parse_id(gstr, &n))
                                return err_set(err, ENOENT,
                                               "unable to find group %s: no matching entries in group file", gstr);
                        u.gid = n;
                }
                have_gid = true;
        }

        /* Supplementary groups: an explicit group replaces them; otherwise
         * every group listing the user name as a member. */
        if (have_gid) {
                u.groups[u.n_groups++] = u.gid;
        } else if (uname) {
                FOR_EACH_LINE(group, line)
                {
                        char *f[4], *m, *save = NULL;
                        uint32_t gid;

                        if (line[0] == '#' || split_fields(line, f, 4) < 4 || !parse_id(f[2], &gid))
                                continue;
                        for (m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save)) {
                                if (strcmp(m, uname) != 0)
                                        continue;
                                if (u.n_groups >= sizeof(u.groups) / sizeof(u.groups[0]))
                                        return err_set(err, E2BIG, "user %s: more than %zu supplementary groups",
                                                       uname, sizeof(u.groups) / sizeof(u.groups[0]));
                                u.groups[u.n_groups++] = gid;
                                break;
                        }
                }
        }
        *ret_user = u;
        return 0;
}
