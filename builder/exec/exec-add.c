/* ADD's own sources: a local archive (recognised by its magic bytes)
 * extracted below the destination with its owners, no entry leaving it;
 * an http(s) URL fetched once per build into the work dir, --checksum
 * verified. */
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/exec/exec-copy-internal.h"
#include "common/cleanup.h"
#include "common/sort.h"
#include "common/fsutil.h"

/* ADD of a local archive: extract it into a temp dir and copy that. */
static bool
is_archive(int dirfd, const char *path)
{
        unsigned char b[512];
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        ssize_t n;

        if (fd < 0)
                return false;
        n = read(fd, b, sizeof(b));
        if (n < 6)
                return false;
        if ((b[0] == 0x1f && b[1] == 0x8b) || (b[0] == 'B' && b[1] == 'Z' && b[2] == 'h') ||
            (b[0] == 0xfd && memcmp(b + 1, "7zXZ", 4) == 0) ||
            (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd))
                return true;
        return n >= 262 && memcmp(b + 257, "ustar", 5) == 0;
}

struct owner {
        char *path;
        int64_t uid, gid;
};

char *
xcopy_archive_rel(const char *name)
{
        _cleanup_free_ char *c = build_path_clean(name);
        const char *p = c;

        while (*p == '/')
                p++;
        if (strcmp(p, "..") == 0 || strncmp(p, "../", 3) == 0)
                return NULL;
        return xstrdup(*p ? p : ".");
}

static int
extract_archive(struct xctx *x, int dirfd, const char *path, const char *into, struct owner **ret_own, size_t *ret_n,
                struct err **err)
{
        struct archive *a = archive_read_new(), *w = archive_write_disk_new();
        struct archive_entry *e;
        struct owner *own_v = NULL;
        size_t n = 0;
        int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = 0, ar;

        (void) x;
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_write_disk_set_options(w, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                              ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS);
        /* Entry names are checked below (relative, no ".."), then prefixed
         * with the absolute INTO: NOABSOLUTEPATHS would refuse that prefix. */
        if (fd < 0 || archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
                r = err_set(err, EINVAL, "ADD %s: %s", path, fd < 0 ? strerror(errno) : archive_error_string(a));
                goto out;
        }
        while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
                _cleanup_free_ char *clean = xcopy_archive_rel(archive_entry_pathname(e));
                _cleanup_free_ char *full = NULL;
                const char *hl = archive_entry_hardlink(e);

                /* Docker's untar: an absolute name lands below the
                 * destination; one that climbs out of it is an error. */
                if (!clean) {
                        r = err_set(err, ERR_UNSAFE_PATH, "ADD %s: entry %s leaves the destination", path,
                                    archive_entry_pathname(e));
                        goto out;
                }
                if (strcmp(clean, ".") == 0)
                        continue;
                full = xasprintf("%s/%s", into, clean);
                archive_entry_set_pathname(e, full);
                if (hl) {
                        _cleanup_free_ char *hc = xcopy_archive_rel(hl);
                        _cleanup_free_ char *hf = NULL;

                        if (!hc || strcmp(hc, ".") == 0) {
                                r = err_set(err, ERR_UNSAFE_PATH,
                                            "ADD %s: entry %s: hard link to %s leaves the destination", path, clean,
                                            hl);
                                goto out;
                        }
                        hf = xasprintf("%s/%s", into, hc);
                        archive_entry_set_hardlink(e, hf);
                }
                own_v = xrealloc(own_v, (n + 1) * sizeof(*own_v));
                own_v[n].path = xstrdup(clean);
                own_v[n].uid = archive_entry_uid(e);
                own_v[n].gid = archive_entry_gid(e);
                n++;
                if (archive_write_header(w, e) != ARCHIVE_OK) {
                        r = err_set(err, EINVAL, "ADD %s: %s: %s", path, clean, archive_error_string(w));
                        goto out;
                }
                {
                        const void *buf;
                        size_t sz;
                        la_int64_t off;

                        while ((ar = archive_read_data_block(a, &buf, &sz, &off)) == ARCHIVE_OK)
                                if (archive_write_data_block(w, buf, sz, off) != ARCHIVE_OK)
                                        break;
                }
                archive_write_finish_entry(w);
        }
        if (ar != ARCHIVE_EOF) {
                r = err_set(err, EINVAL, "ADD %s: %s", path, archive_error_string(a));
                goto out;
        }
out:
        archive_read_free(a);
        archive_write_free(w);
        if (fd >= 0)
                close(fd);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        free(own_v[i].path);
                free(own_v);
                return r;
        }
        *ret_own = own_v;
        *ret_n = n;
        return 0;
}

static int
cmp_owner(const void *a, const void *b)
{
        return strcmp(((const struct owner *) a)->path, ((const struct owner *) b)->path);
}

/* Cap on a file ADD fetches from a URL. */
#define ADD_URL_MAX (8ULL * 1024 * 1024 * 1024)

struct fetch {
        int fd;
        uint64_t n;
        struct digest_ctx *d;
        int werr;
};

static size_t
fetch_write(char *p, size_t size, size_t nmemb, void *data)
{
        struct fetch *f = data;
        size_t len = size * nmemb, off = 0;

        if (f->n + len > ADD_URL_MAX)
                return 0;
        while (off < len) {
                ssize_t w = write(f->fd, p + off, len - off);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0) {
                        f->werr = errno ? errno : EIO;
                        return 0;
                }
                off += (size_t) w;
        }
        digest_ctx_update(f->d, p, len);
        f->n += len;
        return len;
}

/* ADD URL: download once per build into the work dir (the selection runs
 * twice), verify --checksum, keep Last-Modified as the mtime.  *ret_path is
 * the file; *ret_name the file name the URL gives. */
int
xfetch_url(struct xctx *x, const char *url, const char *checksum, const struct build_plan_instr *in, char **ret_path,
           char **ret_name, struct err **err)
{
        _cleanup_free_ char *dir = NULL, *path = NULL, *name = NULL, *tmp = NULL;
        struct fetch f = {.fd = -1};
        struct digest got, want;
        long code = 0, filetime = -1;
        CURL *c;
        CURLcode cr;
        struct stat st;
        int r = 0;
        const char *q = strchr(url + 8, '/');

        if (checksum && digest_parse(checksum, &want, err) < 0)
                return err_prefix(err, "%s:%d: ADD --checksum", x->df_name, in->line);
        {
                const char *end = q ? q + strcspn(q, "?#") : NULL;
                const char *b = end ? end : NULL;

                while (b && b > q && b[-1] != '/')
                        b--;
                name = b && end > b ? xstrndup(b, (size_t) (end - b)) : xstrdup("download");
                if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
                        free(name);
                        name = xstrdup("download");
                }
        }
        {
                struct digest ud;

                digest_buffer(DIGEST_SHA256, url, strlen(url), &ud);
                dir = xasprintf("%s/url-%.16s", x->work, ud.hex);
        }
        path = xasprintf("%s/%s", dir, name);
        if (stat(path, &st) == 0)
                goto done;
        if (fs_mkdir_p(dir, 0755, err) < 0)
                return -1;
        tmp = xasprintf("%s/.part", dir);
        f.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (f.fd < 0)
                return err_set(err, errno, "%s: %s", tmp, strerror(errno));
        f.d = digest_ctx_new(DIGEST_SHA256);
        c = curl_easy_init();
        if (!c) {
                r = err_set(err, ENOMEM, "curl_easy_init");
                goto out;
        }
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "ibuild");
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        cr = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_getinfo(c, CURLINFO_FILETIME, &filetime);
        curl_easy_cleanup(c);
        if (cr != CURLE_OK)
                r = err_set(err, EIO, "%s:%d: ADD %s: %s", x->df_name, in->line, url,
                            f.werr ? strerror(f.werr) : curl_easy_strerror(cr));
        else if (code < 200 || code >= 300)
                r = err_set(err, ERR_HTTP, "%s:%d: ADD %s: HTTP status %ld", x->df_name, in->line, url, code);
        if (r < 0)
                goto out;
        digest_ctx_final(f.d, &got);
        if (checksum && strcmp(got.str, want.str) != 0) {
                r = err_set(err, ERR_DIGEST_INVALID, "%s:%d: ADD %s: checksum mismatch: expected %s, got %s",
                            x->df_name, in->line, url, want.str, got.str);
                goto out;
        }
        if (filetime > 0) {
                struct timespec ts[2] = {{.tv_sec = filetime}, {.tv_sec = filetime}};

                futimens(f.fd, ts);
        }
        if (rename(tmp, path) < 0) {
                r = err_set(err, errno, "%s: %s", path, strerror(errno));
                goto out;
        }
out:
        if (f.fd >= 0)
                close(f.fd);
        digest_ctx_free(f.d);
        if (r < 0) {
                unlink(tmp);
                return r;
        }
done:
        *ret_path = steal_ptr(&path);
        *ret_name = steal_ptr(&name);
        return 0;
}

/* ADD of local archives among the entries from index BEFORE on: each is
 * replaced by its content, extracted below DEST (its owners kept unless
 * --chown, --chmod applied). */
int
xadd_archives(struct xctx *x, struct sel *sel, size_t before, size_t i, const char *dest, bool chown, int64_t uid,
              int64_t gid, int32_t mode, const struct build_plan_instr *in, struct err **err)
{
        for (size_t k = before; k < sel->n; k++) {
                struct oci_layer_entry *e = &sel->e[k];
                struct stat st;
                struct owner *ow = NULL;
                size_t n_ow = 0;
                _cleanup_free_ char *into = NULL;
                enum sel_kind saved = sel->cur;
                int r;

                if (sel->kind[k] != SEL_CONTEXT || !e->src ||
                    fstatat(e->src_dirfd, e->src, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
                    !is_archive(e->src_dirfd, e->src))
                        continue;
                into = xasprintf("%s/add-%d-%zu-%zu", x->work, in->line, i, k);
                /* The selection runs more than once (cache key, then the
                 * layer): extract afresh each time. */
                fs_rm_rf(into, NULL);
                if (mkdir(into, 0755) < 0)
                        return err_set(err, errno, "%s: %s", into, strerror(errno));
                r = extract_archive(x, e->src_dirfd, e->src, into, &ow, &n_ow, err);
                if (r < 0)
                        return err_prefix(err, "%s:%d", x->df_name, in->line);
                sort_array(ow, n_ow, sizeof(*ow), cmp_owner);
                sel->kind[k] = SEL_REPLACED;
                sel->cur = SEL_ARCHIVE;
                for (size_t o = 0; o < n_ow; o++) {
                        struct oci_layer_entry *ne =
                            xsel_add(sel, xjoin(dest, ow[o].path), xasprintf("%s/%s", into, ow[o].path), AT_FDCWD);

                        ne->uid = chown ? uid : ow[o].uid;
                        ne->gid = chown ? gid : ow[o].gid;
                        if (mode >= 0)
                                ne->mode = mode;
                        free(ow[o].path);
                }
                sel->cur = saved;
                free(ow);
        }
        return 0;
}
