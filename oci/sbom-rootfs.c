/* The final filesystem of an image, read from its layers without unpacking
 * them (image-spec layer.md "Whiteouts"): layers top first; an entry of a
 * lower layer is hidden when an upper layer has the same path (any type),
 * removed it (".wh.NAME"), replaced an ancestor with a non-directory,
 * removed an ancestor, or made an ancestor opaque (".wh..wh..opq").  Every
 * path met is remembered with the topmost layer that has it ("seen") and
 * the topmost layer that hides what lower layers hold beneath it ("cut"),
 * so each entry is checked against its ancestors in a few lookups. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/limits.h"
#include "oci/mediatype.h"
#include "oci/sbom-internal.h"

/* Paths remembered across layers (about 100 bytes each). */
#define MAX_PATHS (4 * 1024 * 1024)
/* Symlinks kept for resolution. */
#define MAX_LINKS (256 * 1024)
/* Files kept (status.d entries and copyright files count). */
#define MAX_FILES 50000
/* All file data kept. */
#define MAX_TOTAL_DATA (512 * 1024 * 1024)
/* Links followed while resolving one path (the kernel's limit). */
#define MAX_HOPS 40

#define WH ".wh."
#define WH_OPQ ".wh..wh..opq"
#define WH_META ".wh..wh."

/* ---- the path table ---- */

struct node {
        char *path;
        int seen; /* topmost layer with this path, INT_MAX: none */
        int cut;  /* topmost layer hiding lower layers' descendants */
};

struct table {
        struct node *slots;
        size_t cap, n;
};

static uint64_t
hash_path(const char *s, size_t n)
{
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */

        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char) s[i];
                h *= 1099511628211ULL;
        }
        return h;
}

static struct node *
table_find(const struct table *t, const char *s, size_t n)
{
        if (!t->cap)
                return NULL;
        for (size_t i = hash_path(s, n) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
                struct node *nd = &t->slots[i];

                if (!nd->path)
                        return NULL;
                if (strncmp(nd->path, s, n) == 0 && nd->path[n] == '\0')
                        return nd;
        }
}

static void
table_grow(struct table *t)
{
        struct table nt = {.cap = t->cap ? t->cap * 2 : 4096};

        nt.slots = xcalloc(nt.cap, sizeof(*nt.slots));
        for (size_t i = 0; i < t->cap; i++) {
                struct node *o = &t->slots[i];

                if (!o->path)
                        continue;
                for (size_t j = hash_path(o->path, strlen(o->path)) & (nt.cap - 1);; j = (j + 1) & (nt.cap - 1))
                        if (!nt.slots[j].path) {
                                nt.slots[j] = *o;
                                break;
                        }
        }
        free(t->slots);
        nt.n = t->n;
        *t = nt;
}

/* The node of PATH, created (seen = cut = INT_MAX) when missing; NULL past
 * MAX_PATHS. */
static struct node *
table_get(struct table *t, const char *path)
{
        struct node *nd = table_find(t, path, strlen(path));

        if (nd)
                return nd;
        if (t->n >= MAX_PATHS)
                return NULL;
        if ((t->n + 1) * 2 > t->cap)
                table_grow(t);
        for (size_t i = hash_path(path, strlen(path)) & (t->cap - 1);; i = (i + 1) & (t->cap - 1))
                if (!t->slots[i].path) {
                        nd = &t->slots[i];
                        nd->path = xstrdup(path);
                        nd->seen = nd->cut = INT_MAX;
                        t->n++;
                        return nd;
                }
}

static void
table_free(struct table *t)
{
        for (size_t i = 0; i < t->cap; i++)
                free(t->slots[i].path);
        free(t->slots);
}

/* True when an upper layer (index < LAYER) hides PATH. */
static bool
hidden(const struct table *t, const char *path, int layer)
{
        const struct node *nd;

        for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
                nd = table_find(t, path, (size_t) (s - path));
                if (nd && nd->cut < layer)
                        return true;
        }
        nd = table_find(t, path, strlen(path));
        return nd && (nd->seen < layer || nd->cut < layer);
}

/* ---- what is kept ---- */

enum want {
        WANT_NONE,
        WANT_READ,
        WANT_NOTE, /* an rpm database: noted, not read */
};

static bool
ends_with(const char *path, const char *suffix)
{
        size_t pl = strlen(path), sl = strlen(suffix);

        return pl >= sl && strcmp(path + pl - sl, suffix) == 0 && (pl == sl || path[pl - sl - 1] == '/');
}

/* Whether PATH is a file an SBOM reads; *ret_cap its size cap. */
static enum want
wanted(const char *path, bool licenses, size_t *ret_cap)
{
        const char *base = strrchr(path, '/');

        base = base ? base + 1 : path;
        if (strcmp(base, "os-release") == 0) {
                *ret_cap = OCI_SBOM_OS_RELEASE_MAX;
                return WANT_READ;
        }
        if (ends_with(path, "dpkg/status") || ends_with(path, "apk/db/installed")) {
                *ret_cap = OCI_SBOM_DB_MAX;
                return WANT_READ;
        }
        if (base != path) {
                size_t dl = (size_t) (base - 1 - path);
                _cleanup_free_ char *dir = xstrndup(path, dl);

                if (ends_with(dir, "dpkg/status.d")) {
                        *ret_cap = OCI_SBOM_STATUS_D_MAX;
                        return WANT_READ;
                }
                if (licenses && strcmp(base, "copyright") == 0 && strrchr(dir, '/') &&
                    (size_t) (strrchr(dir, '/') - dir) >= 9 &&
                    strncmp(strrchr(dir, '/') - 9, "share/doc", 9) == 0) {
                        *ret_cap = OCI_SBOM_COPYRIGHT_MAX;
                        return WANT_READ;
                }
        }
        if (ends_with(path, "rpm/rpmdb.sqlite") || ends_with(path, "rpm/Packages") ||
            ends_with(path, "rpm/Packages.db"))
                return WANT_NOTE;
        return WANT_NONE;
}

static void
warn(struct oci_sbom_files *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
warn(struct oci_sbom_files *f, const char *fmt, ...)
{
        va_list ap;
        char *s;
        size_t n = f->warnings ? oci_strv_len(f->warnings) : 0;

        if (n >= 100)
                return;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                abort();
        va_end(ap);
        f->warnings = xrealloc(f->warnings, (n + 2) * sizeof(char *));
        f->warnings[n] = s;
        f->warnings[n + 1] = NULL;
}

struct reader {
        struct table t;
        struct oci_sbom_files *f;
        bool licenses;
        size_t total;
        const char *layer; /* digest, for messages */
};

/* The entry path cleaned: no leading "./" or "/", no empty or "."
 * components; NULL for "..", the root itself, or an oversized path. */
static char *
clean_path(const char *p)
{
        _cleanup_free_ char *out = NULL;
        size_t o = 0, n = strlen(p);

        if (n == 0 || n > LIMIT_PATH)
                return NULL;
        out = xmalloc(n + 1);
        while (*p) {
                const char *e = strchr(p, '/');
                size_t cl = e ? (size_t) (e - p) : strlen(p);

                if (cl == 2 && p[0] == '.' && p[1] == '.')
                        return NULL;
                if (cl > 0 && !(cl == 1 && p[0] == '.')) {
                        if (o)
                                out[o++] = '/';
                        memcpy(out + o, p, cl);
                        o += cl;
                }
                p += cl;
                if (*p == '/')
                        p++;
        }
        if (o == 0)
                return NULL;
        out[o] = '\0';
        return steal_ptr(&out);
}

static int
keep_file(struct reader *rd, struct archive *a, const char *path, int64_t size, size_t cap, struct err **err)
{
        struct oci_sbom_files *f = rd->f;
        char *data;
        size_t got = 0;

        if (size < 0 || (uint64_t) size > cap) {
                warn(f, "/%s in layer %s: %lld bytes, more than the %zu read: left out", path, rd->layer,
                     (long long) size, cap);
                return 0;
        }
        if (f->n >= MAX_FILES || rd->total + (size_t) size > MAX_TOTAL_DATA) {
                warn(f, "/%s in layer %s: more files than an SBOM reads: left out", path, rd->layer);
                return 0;
        }
        data = xmalloc((size_t) size + 1);
        while (got < (size_t) size) {
                la_ssize_t n = archive_read_data(a, data + got, (size_t) size - got);

                if (n < 0) {
                        free(data);
                        return err_set(err, EINVAL, "layer %s: /%s: %s", rd->layer, path, archive_error_string(a));
                }
                if (n == 0)
                        break;
                got += (size_t) n;
        }
        data[got] = '\0';
        rd->total += got;
        if (f->n == f->cap) {
                f->cap = f->cap ? f->cap * 2 : 16;
                f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
        }
        f->v[f->n++] = (struct oci_sbom_file){.path = xstrdup(path), .data = data, .len = got};
        return 0;
}

static void
keep_note(struct oci_sbom_files *f, const char *path)
{
        if (f->n >= MAX_FILES)
                return;
        if (f->n == f->cap) {
                f->cap = f->cap ? f->cap * 2 : 16;
                f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
        }
        f->v[f->n++] = (struct oci_sbom_file){.path = xstrdup(path)};
}

static void
keep_link(struct reader *rd, const char *path, const char *target)
{
        struct oci_sbom_files *f = rd->f;

        if (f->n_links >= MAX_LINKS) {
                if (f->n_links == MAX_LINKS)
                        warn(f, "more than %d symlinks: the others are not followed", MAX_LINKS);
                f->n_links++;
                return;
        }
        if (f->n_links == f->cap_links) {
                f->cap_links = f->cap_links ? f->cap_links * 2 : 256;
                f->links = xrealloc(f->links, f->cap_links * sizeof(*f->links));
        }
        f->links[f->n_links++] = (struct oci_sbom_link){.path = xstrdup(path), .target = xstrdup(target)};
}

/* One entry of layer LAYER. */
static int
entry(struct reader *rd, struct archive *a, struct archive_entry *e, int layer, struct err **err)
{
        _cleanup_free_ char *path = NULL;
        const char *raw = archive_entry_pathname(e), *base;
        struct node *nd;
        mode_t type = archive_entry_filetype(e);
        bool is_dir = type == AE_IFDIR && !archive_entry_hardlink(e);
        size_t cap = 0;
        enum want w;

        if (!raw)
                return 0;
        path = clean_path(raw);
        if (!path)
                return 0;
        base = strrchr(path, '/');
        base = base ? base + 1 : path;
        if (strncmp(base, WH, strlen(WH)) == 0) {
                _cleanup_free_ char *target = NULL;

                if (strcmp(base, WH_OPQ) == 0) {
                        /* Everything lower layers have in the directory goes. */
                        target = base == path ? NULL : xstrndup(path, (size_t) (base - 1 - path));
                        if (!target)
                                return 0; /* an opaque root: nothing to hide with a path */
                } else if (strncmp(base, WH_META, strlen(WH_META)) == 0) {
                        return 0; /* other AUFS metadata */
                } else {
                        target = base == path ? xstrdup(base + strlen(WH))
                                              : xasprintf("%.*s/%s", (int) (base - path - 1), path, base + strlen(WH));
                }
                nd = table_get(&rd->t, target);
                if (!nd)
                        return err_set(err, E2BIG, "layer %s: more than %d paths", rd->layer, MAX_PATHS);
                if (strcmp(base, WH_OPQ) != 0 && nd->seen > layer)
                        nd->seen = layer;
                if (nd->cut > layer)
                        nd->cut = layer;
                return 0;
        }
        if (hidden(&rd->t, path, layer))
                return 0;
        nd = table_get(&rd->t, path);
        if (!nd)
                return err_set(err, E2BIG, "layer %s: more than %d paths", rd->layer, MAX_PATHS);
        /* The first entry of a path in its layer decides (a tar may repeat
         * a path; the extractor's last-wins is not worth modelling here). */
        if (nd->seen == layer)
                return 0;
        nd->seen = layer;
        if (!is_dir)
                nd->cut = layer;
        if (type == AE_IFLNK && archive_entry_symlink(e)) {
                keep_link(rd, path, archive_entry_symlink(e));
                return 0;
        }
        if (type != AE_IFREG || archive_entry_hardlink(e))
                return 0;
        w = wanted(path, rd->licenses, &cap);
        if (w == WANT_NOTE)
                keep_note(rd->f, path);
        if (w != WANT_READ)
                return 0;
        return keep_file(rd, a, path, archive_entry_size(e), cap, err);
}

static int
read_layer(struct reader *rd, const struct oci_layout *layout, const struct oci_descriptor *d, int layer,
           struct err **err)
{
        struct digest dg;
        _cleanup_close_ int fd = -1;
        uint64_t size;
        struct archive *a;
        int r;

        rd->layer = d->digest;
        if (!oci_mediatype_is_layer(d->media_type))
                return 0; /* a foreign blob in the layers (an artifact): no files */
        r = digest_parse(d->digest, &dg, err);
        if (r >= 0)
                r = oci_layout_open_blob(layout, &dg, &fd, &size, err);
        if (r < 0)
                return err_prefix(err, "layer %s", d->digest);
        a = archive_read_new();
        if (!a)
                return err_set(err, ENOMEM, "archive_read_new");
        /* Layers are gzip, zstd or plain tar; nothing else is accepted. */
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_filter_none(a);
        archive_read_support_format_tar(a);
        if (archive_read_open_fd(a, fd, 256 * 1024) != ARCHIVE_OK) {
                r = err_set(err, EINVAL, "layer %s is not a tar archive: %s", d->digest, archive_error_string(a));
                archive_read_free(a);
                return r;
        }
        for (;;) {
                struct archive_entry *e;
                int ar = archive_read_next_header(a, &e);

                if (ar == ARCHIVE_EOF)
                        break;
                if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
                        r = err_set(err, EINVAL, "layer %s: bad tar header: %s", d->digest, archive_error_string(a));
                        break;
                }
                r = entry(rd, a, e, layer, err);
                if (r < 0)
                        break;
        }
        archive_read_free(a);
        return r < 0 ? r : 0;
}

static int
file_cmp(const void *a, const void *b)
{
        return strcmp(((const struct oci_sbom_file *) a)->path, ((const struct oci_sbom_file *) b)->path);
}

static int
link_cmp(const void *a, const void *b)
{
        return strcmp(((const struct oci_sbom_link *) a)->path, ((const struct oci_sbom_link *) b)->path);
}

void
oci_sbom_files_clear(struct oci_sbom_files *f)
{
        if (!f)
                return;
        for (size_t i = 0; i < f->n; i++) {
                free(f->v[i].path);
                free(f->v[i].data);
        }
        for (size_t i = 0; i < f->n_links && i < MAX_LINKS; i++) {
                free(f->links[i].path);
                free(f->links[i].target);
        }
        free(f->v);
        free(f->links);
        oci_strv_free(f->warnings);
        memset(f, 0, sizeof(*f));
}

int
oci_sbom_read_rootfs(const struct oci_layout *layout, const struct oci_descriptor *layers, size_t n_layers,
                     bool licenses, struct oci_sbom_files *ret, struct err **err)
{
        struct oci_sbom_files f = {0};
        struct reader rd = {.f = &f, .licenses = licenses};
        locale_t utf8, old = (locale_t) 0;
        int r = 0;

        if (n_layers > LIMIT_LAYERS)
                return err_set(err, E2BIG, "%zu layers (at most %d)", n_layers, LIMIT_LAYERS);
        /* PAX names are UTF-8: under C.UTF-8 libarchive hands them over
         * unchanged (as oci/layer-apply.c does). */
        utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
        if (utf8)
                old = uselocale(utf8);
        /* Top layer first: index 0 is the topmost. */
        for (size_t i = 0; i < n_layers && r >= 0; i++)
                r = read_layer(&rd, layout, &layers[n_layers - 1 - i], (int) i, err);
        if (utf8) {
                uselocale(old);
                freelocale(utf8);
        }
        table_free(&rd.t);
        if (r < 0) {
                oci_sbom_files_clear(&f);
                return r;
        }
        if (f.n_links > MAX_LINKS)
                f.n_links = MAX_LINKS;
        if (f.n > 1)
                qsort(f.v, f.n, sizeof(*f.v), file_cmp);
        if (f.n_links > 1)
                qsort(f.links, f.n_links, sizeof(*f.links), link_cmp);
        *ret = f;
        return 0;
}

/* ---- lookups ---- */

static const char *
link_target(const struct oci_sbom_files *f, const char *path)
{
        struct oci_sbom_link key = {.path = (char *) path};
        const struct oci_sbom_link *l = f->n_links
                                                ? bsearch(&key, f->links, f->n_links, sizeof(*f->links), link_cmp)
                                                : NULL;

        return l ? l->target : NULL;
}

char *
oci_sbom_files_resolve(const struct oci_sbom_files *f, const char *path)
{
        /* DONE: the resolved prefix; TODO: what is left, '/'-separated. */
        _cleanup_free_ char *done = xstrdup(""), *todo = xstrdup(path);
        int hops = 0;

        while (*todo) {
                char *slash = strchr(todo, '/');
                _cleanup_free_ char *comp = slash ? xstrndup(todo, (size_t) (slash - todo)) : xstrdup(todo);
                char *rest = xstrdup(slash ? slash + 1 : "");
                const char *target;

                free(todo);
                todo = rest;
                if (!*comp || strcmp(comp, ".") == 0)
                        continue;
                if (strcmp(comp, "..") == 0) {
                        char *up = strrchr(done, '/');

                        /* ".." at the root stays there. */
                        if (up)
                                *up = '\0';
                        else
                                done[0] = '\0';
                        continue;
                }
                {
                        char *cand = *done ? xasprintf("%s/%s", done, comp) : xstrdup(comp);

                        if (strlen(cand) > LIMIT_PATH) {
                                free(cand);
                                return NULL;
                        }
                        target = link_target(f, cand);
                        if (!target) {
                                free(done);
                                done = cand;
                                continue;
                        }
                        free(cand);
                }
                if (++hops > MAX_HOPS)
                        return NULL;
                {
                        char *next = xasprintf("%s%s%s", target, *todo ? "/" : "", todo);

                        if (strlen(next) > LIMIT_PATH) {
                                free(next);
                                return NULL;
                        }
                        free(todo);
                        todo = next;
                }
                if (target[0] == '/')
                        done[0] = '\0';
        }
        return steal_ptr(&done);
}

const struct oci_sbom_file *
oci_sbom_files_get(const struct oci_sbom_files *f, const char *path)
{
        _cleanup_free_ char *real = oci_sbom_files_resolve(f, path);
        struct oci_sbom_file key;

        if (!real || !f->n)
                return NULL;
        key.path = real;
        return bsearch(&key, f->v, f->n, sizeof(*f->v), file_cmp);
}

size_t
oci_sbom_files_in_dir(const struct oci_sbom_files *f, const char *dir, size_t **ret_idx)
{
        _cleanup_free_ char *real = oci_sbom_files_resolve(f, dir);
        size_t rl, count = 0, *idx = NULL;

        *ret_idx = NULL;
        if (!real || !*real)
                return 0;
        rl = strlen(real);
        for (size_t i = 0; i < f->n; i++) {
                const char *p = f->v[i].path;

                if (strncmp(p, real, rl) != 0 || p[rl] != '/' || strchr(p + rl + 1, '/'))
                        continue;
                idx = xrealloc(idx, (count + 1) * sizeof(*idx));
                idx[count++] = i;
        }
        *ret_idx = idx;
        return count;
}
