/* Resolving a path inside a root directory as if it were "/": symlinks
 * followed, ".." and absolute targets never leaving it (COPY/ADD context
 * sources, RUN --mount bind sources). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/exec/exec-internal.h"
#include "common/cleanup.h"
#include "common/limits.h"

int
xresolve_in_root(int root, const char *path, bool follow_final, char **ret, struct err **err)
{
        char *queue = xstrdup(path); /* remaining components, '/'-separated */
        char *out = xstrdup("");
        int hops = 0;

        for (;;) {
                char *p = queue, *slash, *c;
                _cleanup_free_ char *cand = NULL;
                struct stat st;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                slash = strchr(p, '/');
                c = slash ? xstrndup(p, (size_t) (slash - p)) : xstrdup(p);
                {
                        char *rest = xstrdup(slash ? slash : "");

                        free(queue);
                        queue = rest;
                }
                if (strcmp(c, ".") == 0) {
                        free(c);
                        continue;
                }
                if (strcmp(c, "..") == 0) {
                        char *ls = strrchr(out, '/');

                        if (ls)
                                *ls = '\0';
                        else
                                out[0] = '\0';
                        free(c);
                        continue;
                }
                cand = *out ? xasprintf("%s/%s", out, c) : xstrdup(c);
                free(c);
                if (fstatat(root, cand, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        int e = errno;

                        free(queue);
                        free(out);
                        return err_set(err, e, "%s: %s", path, strerror(e));
                }
                {
                        char *q = queue;

                        while (*q == '/')
                                q++;
                        if (S_ISLNK(st.st_mode) && (*q || follow_final)) {
                                char target[LIMIT_PATH];
                                ssize_t n;
                                char *nq;

                                if (++hops > 40) {
                                        free(queue);
                                        free(out);
                                        return err_set(err, ELOOP, "%s: too many symlinks", path);
                                }
                                n = readlinkat(root, cand, target, sizeof(target) - 1);
                                if (n < 0) {
                                        int e = errno;

                                        free(queue);
                                        free(out);
                                        return err_set(err, e, "%s: %s", path, strerror(e));
                                }
                                target[n] = '\0';
                                /* An absolute target starts again at the root:
                                 * nothing ever resolves outside it. */
                                if (target[0] == '/')
                                        out[0] = '\0';
                                nq = xasprintf("%s/%s", target, queue);
                                free(queue);
                                queue = nq;
                                continue;
                        }
                }
                free(out);
                out = steal_ptr(&cand);
        }
        free(queue);
        if (!*out) {
                free(out);
                out = xstrdup(".");
        }
        *ret = out;
        return 0;
}
