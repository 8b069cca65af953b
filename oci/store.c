/* The local content store: an OCI layout with names, a lock, and GC. */
#include "oci/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "oci/layout-internal.h"
#include "oci/mediatype.h"
#include "oci/ref.h"

struct oci_store {
        char *path;
        char *snapshots;
        char *cache;
        char *tmp;
        char *lockpath;
        char *holdpath;
        int hold_fd; /* >= 0 while held (oci_store_hold) */
        bool hold_exclusive;
        struct oci_layout *layout;
};

static void
unlockp(int *fd)
{
        oci_store_unlock(*fd);
}
#define _cleanup_unlock_ __attribute__((cleanup(unlockp)))

int
oci_store_default_path(char **ret_path, struct err **err)
{
        const char *v;

        v = getenv(OCI_STORE_ENV);
        if (v && *v) {
                *ret_path = xstrdup(v);
                return 0;
        }
        /* XDG base directory spec: a relative XDG_DATA_HOME is invalid and
         * must be ignored. */
        v = getenv("XDG_DATA_HOME");
        if (v && v[0] == '/') {
                *ret_path = xasprintf("%s/ibuild", v);
                return 0;
        }
        v = getenv("HOME");
        if (v && v[0] == '/') {
                *ret_path = xasprintf("%s/.local/share/ibuild", v);
                return 0;
        }
        return err_set(err, ENOENT, "no store location: set %s, XDG_DATA_HOME or HOME", OCI_STORE_ENV);
}

static int
lock_path(const char *path, bool exclusive, struct err **err)
{
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

        /* Readers of a store they may not write (another user's, a
         * read-only mount) still get a shared lock: flock needs no write
         * access. */
        if (fd < 0 && !exclusive && (errno == EACCES || errno == EROFS || errno == EPERM))
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return err_set(err, errno, "open lock %s: %s", path, strerror(errno));
        while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
                if (errno != EINTR)
                        return err_set(err, errno, "lock %s: %s", path, strerror(errno));
        }
        return steal_fd(&fd);
}

int
oci_store_lock(struct oci_store *store, bool exclusive, struct err **err)
{
        return lock_path(store->lockpath, exclusive, err);
}

void
oci_store_unlock(int fd)
{
        if (fd < 0)
                return;
        /* close releases the flock of this open file description */
        close(fd);
}

/* ---- the hold (see store.h) ------------------------------------------- */

int
oci_store_users(struct oci_store *store)
{
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        char want[64];
        size_t cap = 0;
        struct stat st;
        int n = 0;

        if (stat(store->holdpath, &st) < 0)
                return -1;
        f = fopen("/proc/locks", "re");
        if (!f)
                return -1;
        /* proc(5): "ID: FLOCK ADVISORY READ|WRITE PID MAJ:MIN:INODE START
         * END", device numbers in hex; a process waiting for a lock is
         * listed as "ID: -> FLOCK ..." and is not a holder. */
        snprintf(want, sizeof(want), "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
                 (unsigned long long) st.st_ino);
        while (getline(&line, &cap, f) > 0) {
                char kind[16], mode[16], dev[64];

                if (sscanf(line, "%*s %15s %*s %15s %*s %63s", kind, mode, dev) == 3 && strcmp(kind, "FLOCK") == 0 &&
                    strcmp(mode, "READ") == 0 && strcmp(dev, want) == 0)
                        n++;
        }
        return n;
}

static int
hold_busy(struct oci_store *store, bool exclusive, struct err **err)
{
        int n;

        if (!exclusive)
                return err_set(err, EWOULDBLOCK, "store %s is being pruned (held exclusively by another process)",
                               store->path);
        n = oci_store_users(store);
        if (n > 0)
                return err_set(err, EWOULDBLOCK, "store %s is in use by %d running build(s), pull(s) or push(es)",
                               store->path, n);
        return err_set(err, EWOULDBLOCK, "store %s is in use by running builds, pulls or pushes", store->path);
}

int
oci_store_hold(struct oci_store *store, bool exclusive, bool wait, struct err **err)
{
        _cleanup_close_ int fd = -1;

        if (store->hold_fd >= 0) {
                if (store->hold_exclusive == exclusive)
                        return 0;
                return err_set(err, EBUSY, "store %s is already held %s by this process", store->path,
                               store->hold_exclusive ? "exclusively" : "shared");
        }
        fd = open(store->holdpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        /* Readers of a store they may not write: flock needs no write
         * access. */
        if (fd < 0 && !exclusive && (errno == EACCES || errno == EROFS || errno == EPERM)) {
                fd = open(store->holdpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                /* A store made before the lock existed, which this reader
                 * can't add it to: nobody can have locked it exclusively
                 * either, and refusing would break reading it. */
                if (fd < 0 && errno == ENOENT)
                        return 0;
        }
        if (fd < 0)
                return err_set(err, errno, "open %s: %s", store->holdpath, strerror(errno));
        while (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)) < 0) {
                if (errno == EWOULDBLOCK)
                        return hold_busy(store, exclusive, err);
                if (errno != EINTR)
                        return err_set(err, errno, "lock %s: %s", store->holdpath, strerror(errno));
        }
        store->hold_fd = steal_fd(&fd);
        store->hold_exclusive = exclusive;
        return 0;
}

void
oci_store_release(struct oci_store *store)
{
        if (!store || store->hold_fd < 0)
                return;
        close(store->hold_fd);
        store->hold_fd = -1;
        store->hold_exclusive = false;
}

static void
release_holdp(struct oci_store **store)
{
        oci_store_release(*store);
}

static int
ensure_dir(const char *path, struct err **err)
{
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return err_set(err, errno, "mkdir %s: %s", path, strerror(errno));
        return 0;
}

int
oci_store_open(const char *path, struct oci_store **ret_store, struct err **err)
{
        _cleanup_free_ char *root = NULL;
        _cleanup_unlock_ int lock = -1;
        struct oci_layout *layout = NULL;
        struct oci_store *s;
        int r;

        if (path)
                root = xstrdup(path);
        else if ((r = oci_store_default_path(&root, err)) < 0)
                return r;
        r = fs_mkdir_p(root, 0755, err);
        if (r < 0)
                return err_prefix(err, "creating store %s", root);

        s = xcalloc(1, sizeof(*s));
        s->path = steal_ptr(&root);
        s->snapshots = xasprintf("%s/snapshots", s->path);
        s->cache = xasprintf("%s/cache", s->path);
        s->tmp = xasprintf("%s/tmp", s->path);
        s->lockpath = xasprintf("%s/lock", s->path);
        s->holdpath = xasprintf("%s/users.lock", s->path);
        s->hold_fd = -1;

        /* Fast path: an existing store needs no lock to open. */
        r = oci_layout_open(s->path, &layout, NULL);
        if (r < 0) {
                lock = lock_path(s->lockpath, true, err);
                if (lock < 0) {
                        oci_store_free(s);
                        return lock;
                }
                r = oci_layout_create(s->path, &layout, err);
                if (r < 0) {
                        oci_store_free(s);
                        return err_prefix(err, "opening store");
                }
        }
        s->layout = layout;
        if (ensure_dir(s->snapshots, err) < 0 || ensure_dir(s->cache, err) < 0 || ensure_dir(s->tmp, err) < 0) {
                oci_store_free(s);
                return err_prefix(err, "opening store");
        }
        *ret_store = s;
        return 0;
}

void
oci_store_free(struct oci_store *store)
{
        if (!store)
                return;
        oci_store_release(store);
        oci_layout_free(store->layout);
        free(store->path);
        free(store->snapshots);
        free(store->cache);
        free(store->tmp);
        free(store->lockpath);
        free(store->holdpath);
        free(store);
}

struct oci_layout *
oci_store_layout(struct oci_store *store)
{
        return store->layout;
}

const char *
oci_store_path(const struct oci_store *store)
{
        return store->path;
}

const char *
oci_store_snapshots_dir(const struct oci_store *store)
{
        return store->snapshots;
}

const char *
oci_store_cache_dir(const struct oci_store *store)
{
        return store->cache;
}

const char *
oci_store_tmp_dir(const struct oci_store *store)
{
        return store->tmp;
}

static int
normalize(const char *name, enum oci_ref_mode mode, char **ret_name, struct err **err)
{
        _cleanup_oci_ref_ struct oci_ref *ref = NULL;
        int r;

        r = oci_ref_parse_mode(name, mode, &ref, err);
        if (r < 0)
                return r;
        if (ref->digest)
                return err_set(err, ERR_REFERENCE_INVALID, "\"%s\": an image name cannot hold a digest", name);
        *ret_name = oci_ref_string(ref);
        return 0;
}

int
oci_store_normalize_name(const char *name, char **ret_name, struct err **err)
{
        return normalize(name, OCI_REF_LOCAL, ret_name, err);
}

/* Walk callback: the blobs of an image being tagged must be present: the
 * root, and the config and layers of every manifest present (an index may
 * lack the manifests of platforms that were not pulled). */
static int
require_blob(const struct oci_walk_item *it, void *userdata, struct err **err)
{
        struct oci_store *store = userdata;
        const struct oci_descriptor *d = it->desc;

        if (it->kind == OCI_WALK_MANIFEST || it->kind == OCI_WALK_SUBJECT)
                return 0;
        if (it->kind == OCI_WALK_LAYER && d->urls && d->urls[0] && oci_mediatype_is_nondistributable(d->media_type))
                return 0;
        if (oci_layout_has_blob(store->layout, &it->digest))
                return 0;
        return err_set(err, ERR_MANIFEST_BLOB_UNKNOWN, "blob %s (%s) is missing from the store %s", d->digest,
                       it->referrer, store->path);
}

/* DESC's blob must be present and be the manifest or index it claims. */
static int
check_root(struct oci_store *store, const struct oci_descriptor *desc, struct err **err)
{
        _cleanup_free_ char *data = NULL;
        struct oci_document doc = {0};
        struct digest d;
        size_t len;
        int r;

        r = oci_descriptor_validate(desc, "descriptor", err);
        if (r < 0)
                return r;
        r = digest_parse(desc->digest, &d, err);
        if (r < 0)
                return r;
        r = oci_layout_read_blob(store->layout, &d, LIMIT_MANIFEST_SIZE, &data, &len, err);
        if (r < 0) {
                if (err_code(err) == ERR_BLOB_UNKNOWN) {
                        err_clear(err);
                        return err_set(err, ERR_MANIFEST_BLOB_UNKNOWN, "manifest %s is missing from the store %s",
                                       desc->digest, store->path);
                }
                return r;
        }
        if ((int64_t) len != desc->size)
                return err_set(err, ERR_SIZE_INVALID, "manifest %s is %zu bytes, the descriptor says %lld",
                               desc->digest, len, (long long) desc->size);
        r = oci_document_parse(data, len, desc->media_type, &doc, err);
        if (r < 0)
                return err_prefix(err, "%s", desc->digest);
        oci_document_clear(&doc);
        return 0;
}

/* Is NAME (normalised) on exactly one index.json entry, and is that entry
 * what tagging DESC would write?  Called under the lock. */
static bool
tagged_already(struct oci_store *store, const char *name, const struct oci_descriptor *desc)
{
        struct oci_layout_entry *e = NULL;
        struct oci_descriptor want;
        json_t *a = NULL, *b = NULL;
        size_t n = 0, hits = 0, at = 0;
        bool same = false;

        if (oci_layout_list(store->layout, &e, &n, NULL) < 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (e[i].name && strcmp(e[i].name, name) == 0) {
                        hits++;
                        at = i;
                }
        if (hits == 1) {
                oci_descriptor_copy(&want, desc);
                oci_descriptor_set_annotation(&want, OCI_ANNOTATION_REF_NAME, name);
                a = oci_descriptor_to_json(&want);
                b = oci_descriptor_to_json(&e[at].desc);
                same = json_equal(a, b);
                json_decref(a);
                json_decref(b);
                oci_descriptor_clear(&want);
        }
        oci_layout_entries_free(e, n);
        return same;
}

int
oci_store_tag(struct oci_store *store, const char *name, const struct oci_descriptor *desc, struct err **err)
{
        _cleanup_free_ char *n = NULL;
        _cleanup_unlock_ int lock = -1;
        int r;

        if (name) {
                r = oci_store_normalize_name(name, &n, err);
                if (r < 0)
                        return r;
        }
        lock = oci_store_lock(store, true, err);
        if (lock < 0)
                return lock;
        /* Already so (a rebuild that changed nothing): no check, no
         * rewrite of index.json. */
        if (n && tagged_already(store, n, desc))
                return 0;
        /* Under the lock no garbage collection runs, so an image found
         * complete now stays complete once named. */
        r = check_root(store, desc, err);
        if (r < 0)
                return err_prefix(err, "tagging %s", n ? n : "(unnamed)");
        r = oci_layout_walk_from(store->layout, desc, OCI_WALK_SKIP_MISSING, require_blob, store, err);
        if (r < 0)
                return err_prefix(err, "tagging %s", n ? n : "(unnamed)");
        return oci_layout_tag(store->layout, n, desc, err);
}

int
oci_store_untag(struct oci_store *store, const char *name, struct err **err)
{
        _cleanup_free_ char *n = NULL;
        _cleanup_unlock_ int lock = -1;
        int r;

        r = oci_store_normalize_name(name, &n, err);
        if (r < 0)
                return r;
        lock = oci_store_lock(store, true, err);
        if (lock < 0)
                return lock;
        return oci_layout_untag(store->layout, n, err);
}

/* A descriptor for blob D of the store when it is a manifest or an index. */
static int
sniff_blob(struct oci_store *store, const struct digest *d, struct oci_descriptor *ret_desc, struct err **err)
{
        _cleanup_free_ char *data = NULL;
        const char *mt;
        size_t len;
        int r;

        r = oci_layout_read_blob(store->layout, d, LIMIT_MANIFEST_SIZE, &data, &len, err);
        if (r < 0)
                return r;
        mt = oci_detect_media_type(data, len);
        if (!mt || !oci_mediatype_is_manifest_or_index(mt))
                return err_set(err, ERR_MANIFEST_UNKNOWN, "blob %s in %s is not a manifest or an index", d->str,
                               store->path);
        oci_descriptor_init(ret_desc, mt, d->str, (int64_t) len);
        return 0;
}

static const struct oci_layout_entry *
find_name(const struct oci_layout_entry *e, size_t n, const char *name)
{
        const struct oci_layout_entry *found = NULL;

        for (size_t i = 0; i < n; i++)
                if (e[i].name && strcmp(e[i].name, name) == 0)
                        found = &e[i];
        return found;
}

static const struct oci_layout_entry *
find_digest(const struct oci_layout_entry *e, size_t n, const char *digest, const char *prefer_name)
{
        const struct oci_layout_entry *found = NULL;

        for (size_t i = 0; i < n; i++) {
                if (strcmp(e[i].desc.digest, digest) != 0)
                        continue;
                if (!found || (prefer_name && e[i].name && strcmp(e[i].name, prefer_name) == 0))
                        found = &e[i];
        }
        return found;
}

static int
found(const struct oci_layout_entry *e, struct oci_descriptor *ret_desc, char **ret_name)
{
        oci_descriptor_copy(ret_desc, &e->desc);
        if (ret_name)
                *ret_name = e->name ? xstrdup(e->name) : NULL;
        return 0;
}

static int
resolve_locked(struct oci_store *store, const char *what, const struct oci_layout_entry *e, size_t n,
               struct oci_descriptor *ret_desc, char **ret_name, struct err **err)
{
        _cleanup_oci_ref_ struct oci_ref *ref = NULL;
        const struct oci_layout_entry *hit;
        struct digest d;
        const char *hex;
        int r;

        /* A full digest. */
        if (digest_parse(what, &d, NULL) == 0) {
                hit = find_digest(e, n, d.str, NULL);
                if (hit)
                        return found(hit, ret_desc, ret_name);
                r = sniff_blob(store, &d, ret_desc, err);
                if (r < 0) {
                        if (err_code(err) == ERR_BLOB_UNKNOWN) {
                                err_clear(err);
                                return err_set(err, ERR_MANIFEST_UNKNOWN, "no image %s in %s", d.str, store->path);
                        }
                        return r;
                }
                if (ret_name)
                        *ret_name = NULL;
                return 0;
        }

        /* A name, maybe with a digest: LOCAL form first, then DOCKER. */
        for (int mode = 0; mode < 2; mode++) {
                _cleanup_free_ char *name = NULL;

                oci_ref_free(ref);
                ref = NULL;
                if (oci_ref_parse_mode(what, mode == 0 ? OCI_REF_LOCAL : OCI_REF_DOCKER, &ref, NULL) < 0)
                        break;
                if (ref->digest) {
                        _cleanup_free_ char *plain = NULL;
                        struct oci_ref *copy = oci_ref_dup(ref);

                        oci_ref_set_digest(copy, NULL, NULL);
                        plain = oci_ref_string(copy);
                        oci_ref_free(copy);
                        hit = find_digest(e, n, ref->digest, plain);
                        if (hit)
                                return found(hit, ret_desc, ret_name);
                        if (digest_parse(ref->digest, &d, NULL) == 0 && sniff_blob(store, &d, ret_desc, NULL) == 0) {
                                if (ret_name)
                                        *ret_name = NULL;
                                return 0;
                        }
                        continue;
                }
                name = oci_ref_string(ref);
                hit = find_name(e, n, name);
                if (hit)
                        return found(hit, ret_desc, ret_name);
        }

        /* A digest prefix, as "docker image ls" shows IDs. */
        hex = strncmp(what, "sha256:", 7) == 0 ? what + 7 : what;
        if (strlen(hex) >= 4 && strlen(hex) < 64 && digest_is_hex(hex, strlen(hex))) {
                const struct oci_layout_entry *first = NULL;
                _cleanup_free_ char *cands = NULL;
                size_t matches = 0;

                for (size_t i = 0; i < n; i++) {
                        const char *dh = strchr(e[i].desc.digest, ':');
                        if (!dh || strncmp(dh + 1, hex, strlen(hex)) != 0)
                                continue;
                        if (first && strcmp(first->desc.digest, e[i].desc.digest) == 0)
                                continue; /* same image under another name */
                        if (!first)
                                first = &e[i];
                        matches++;
                        char *c = xasprintf("%s%s%s", cands ? cands : "", cands ? ", " : "", e[i].desc.digest);
                        free(cands);
                        cands = c;
                }
                if (matches == 1)
                        return found(first, ret_desc, ret_name);
                if (matches > 1)
                        return err_set(err, ERR_REFERENCE_INVALID, "\"%s\" is ambiguous in %s: %s", what, store->path,
                                       cands);
        }
        return err_set(err, ERR_MANIFEST_UNKNOWN, "no image \"%s\" in %s", what, store->path);
}

int
oci_store_resolve(struct oci_store *store, const char *what, struct oci_descriptor *ret_desc, char **ret_name,
                  struct err **err)
{
        _cleanup_unlock_ int lock = -1;
        struct oci_layout_entry *e = NULL;
        size_t n = 0;
        int r;

        if (!what || !*what)
                return err_set(err, ERR_REFERENCE_INVALID, "empty image name");
        lock = oci_store_lock(store, false, err);
        if (lock < 0)
                return lock;
        r = oci_layout_list(store->layout, &e, &n, err);
        if (r < 0)
                return r;
        r = resolve_locked(store, what, e, n, ret_desc, ret_name, err);
        oci_layout_entries_free(e, n);
        return r;
}

void
oci_store_images_free(struct oci_store_image *images, size_t n)
{
        if (!images)
                return;
        for (size_t i = 0; i < n; i++) {
                free(images[i].name);
                free(images[i].created);
                oci_descriptor_clear(&images[i].desc);
        }
        free(images);
}

/* Size (config + layers) and created date of the manifest or index DESC;
 * unreadable parts are skipped. */
static void
image_info(struct oci_store *store, const struct oci_descriptor *desc, int depth, uint64_t *size, char **created)
{
        _cleanup_free_ char *data = NULL;
        struct oci_document doc = {0};
        struct digest d;
        size_t len;

        if (depth > 4 || digest_parse(desc->digest, &d, NULL) < 0 ||
            oci_layout_read_blob(store->layout, &d, LIMIT_MANIFEST_SIZE, &data, &len, NULL) < 0 ||
            oci_document_parse(data, len, desc->media_type, &doc, NULL) < 0)
                return;
        if (doc.index) {
                for (size_t i = 0; i < doc.index->n_manifests; i++)
                        image_info(store, &doc.index->manifests[i], depth + 1, size, created);
        } else if (doc.manifest) {
                const struct oci_manifest *m = doc.manifest;
                _cleanup_free_ char *cfg = NULL;
                struct oci_image_config *c = NULL;
                struct digest cd;
                size_t clen;

                *size += (uint64_t) m->config.size;
                for (size_t i = 0; i < m->n_layers; i++)
                        *size += (uint64_t) m->layers[i].size;
                if (!*created && oci_mediatype_is_config(m->config.media_type) &&
                    digest_parse(m->config.digest, &cd, NULL) == 0 &&
                    oci_layout_read_blob(store->layout, &cd, LIMIT_CONFIG_SIZE, &cfg, &clen, NULL) == 0 &&
                    oci_image_config_parse(cfg, clen, &c, NULL) == 0) {
                        if (c->created)
                                *created = xstrdup(c->created);
                        oci_image_config_free(c);
                }
        }
        oci_document_clear(&doc);
}

int
oci_store_list(struct oci_store *store, struct oci_store_image **ret_images, size_t *ret_n, struct err **err)
{
        _cleanup_unlock_ int lock = -1;
        struct oci_layout_entry *e = NULL;
        struct oci_store_image *imgs;
        size_t n = 0;
        int r;

        lock = oci_store_lock(store, false, err);
        if (lock < 0)
                return lock;
        r = oci_layout_list(store->layout, &e, &n, err);
        if (r < 0)
                return r;
        imgs = xcalloc(n ? n : 1, sizeof(*imgs));
        for (size_t i = 0; i < n; i++) {
                imgs[i].name = steal_ptr(&e[i].name);
                imgs[i].desc = e[i].desc;
                memset(&e[i].desc, 0, sizeof(e[i].desc));
                image_info(store, &imgs[i].desc, 0, &imgs[i].size, &imgs[i].created);
        }
        oci_layout_entries_free(e, n);
        *ret_images = imgs;
        *ret_n = n;
        return 0;
}

/* ---- garbage collection --------------------------------------------------- */

static int
mark_cb(const struct oci_walk_item *item, void *userdata, struct err **err)
{
        json_object_set_new((json_t *) userdata, item->digest.str, json_true());
        return 0;
}

static bool
older_than(const struct stat *st, const struct timespec *cutoff)
{
        return st->st_mtim.tv_sec < cutoff->tv_sec ||
               (st->st_mtim.tv_sec == cutoff->tv_sec && st->st_mtim.tv_nsec < cutoff->tv_nsec);
}

/* Remove stale temp files (".tmp-*") directly in directory fd DIR. */
static int
sweep_temps(int dirfd, const char *shown, const struct timespec *cutoff, bool dry_run, struct oci_store_gc_result *res,
            struct err **err)
{
        _cleanup_closedir_ DIR *d = NULL;
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dirent *de;
        struct stat st;

        if (fd < 0)
                return err_set(err, errno, "open %s: %s", shown, strerror(errno));
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return err_set(err, errno, "opendir %s: %s", shown, strerror(errno));
        }
        while ((de = readdir(d))) {
                if (strncmp(de->d_name, OCI_LAYOUT_TMP_PREFIX, strlen(OCI_LAYOUT_TMP_PREFIX)) != 0)
                        continue;
                if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
                    !older_than(&st, cutoff))
                        continue;
                if (!dry_run && unlinkat(dirfd, de->d_name, 0) < 0 && errno != ENOENT)
                        return err_set(err, errno, "remove %s/%s: %s", shown, de->d_name, strerror(errno));
                res->temps_removed++;
        }
        return 0;
}

static int
sweep_alg(struct oci_store *store, int blobsfd, const char *alg, json_t *marked, const struct timespec *cutoff,
          bool dry_run, struct oci_store_gc_result *res, struct err **err)
{
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_close_ int algfd = openat(blobsfd, alg, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        struct dirent *de;
        struct stat st;
        int fd;

        if (algfd < 0)
                return err_set(err, errno, "open %s/blobs/%s: %s", store->path, alg, strerror(errno));
        fd = dup(algfd);
        if (fd < 0 || !(d = fdopendir(fd))) {
                if (fd >= 0)
                        close(fd);
                return err_set(err, errno, "opendir %s/blobs/%s: %s", store->path, alg, strerror(errno));
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *dg = NULL;

                if (de->d_name[0] == '.')
                        continue;
                if (fstatat(algfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                dg = xasprintf("%s:%s", alg, de->d_name);
                if (json_object_get(marked, dg) || !older_than(&st, cutoff)) {
                        res->blobs_kept++;
                        continue;
                }
                if (!dry_run && unlinkat(algfd, de->d_name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return err_set(err, errno, "remove %s/blobs/%s/%s: %s", store->path, alg, de->d_name,
                                       strerror(errno));
                }
                res->blobs_removed++;
                res->bytes_freed += S_ISREG(st.st_mode) ? (uint64_t) st.st_size : 0;
                res->removed = oci_strv_append(res->removed, dg);
        }
        if (!dry_run)
                (void) fsync(algfd);
        return 0;
}

static int
mark_keep(struct oci_store *store, const struct digest *d, json_t *marked, struct err **err)
{
        struct oci_descriptor desc;
        int r;

        json_object_set_new(marked, d->str, json_true());
        if (sniff_blob(store, d, &desc, NULL) < 0)
                return 0; /* a plain blob (or missing): marked, nothing to walk */
        r = oci_layout_walk_from(store->layout, &desc, OCI_WALK_SKIP_MISSING, mark_cb, marked, err);
        oci_descriptor_clear(&desc);
        return r;
}

/* Mark the blobs the build cache entries (STORE/cache/<hex>: JSON with a
 * "config" digest and "layers" descriptors) point to: they are roots, so a
 * GC never leaves an entry pointing to a removed blob.  An entry that does
 * not parse marks nothing (the builder treats it as a miss). */
static int
mark_cache(struct oci_store *store, json_t *marked, struct err **err)
{
        _cleanup_closedir_ DIR *d = opendir(store->cache);
        struct dirent *de;

        if (!d)
                return errno == ENOENT ? 0 : err_set(err, errno, "opendir %s: %s", store->cache, strerror(errno));
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *buf = NULL;
                _cleanup_json_ json_t *j = NULL;
                json_t *v, *l;
                size_t len, i;

                if (!digest_is_sha256_hex(de->d_name))
                        continue;
                path = xasprintf("%s/%s", store->cache, de->d_name);
                if (fs_read_file(path, LIMIT_CONFIG_SIZE, &buf, &len, NULL) < 0)
                        continue;
                j = json_loadb(buf, len, 0, NULL);
                if (!json_is_object(j))
                        continue;
                v = json_object_get(j, "config");
                if (json_is_string(v))
                        json_object_set_new(marked, json_string_value(v), json_true());
                json_array_foreach(json_object_get(j, "layers"), i, l)
                {
                        v = json_object_get(l, "digest");
                        if (json_is_string(v))
                                json_object_set_new(marked, json_string_value(v), json_true());
                }
        }
        return 0;
}

void
oci_store_gc_result_clear(struct oci_store_gc_result *result)
{
        if (!result)
                return;
        oci_strv_free(result->removed);
        memset(result, 0, sizeof(*result));
}

int
oci_store_gc(struct oci_store *store, const struct oci_store_gc_opts *opts, struct oci_store_gc_result *ret_result,
             struct err **err)
{
        struct oci_store_gc_opts defaults = {.grace_seconds = -1};
        struct oci_store_gc_result res = {0};
        _cleanup_json_ json_t *marked = json_object();
        _cleanup_(release_holdp) struct oci_store *own_hold = NULL; /* released after LOCK */
        _cleanup_unlock_ int lock = -1;
        _cleanup_close_ int blobsfd = -1;
        _cleanup_closedir_ DIR *d = NULL;
        struct timespec cutoff;
        struct dirent *de;
        int64_t grace;
        int fd, r;

        if (!opts)
                opts = &defaults;
        grace = opts->grace_seconds < 0 ? OCI_STORE_GC_GRACE_DEFAULT : opts->grace_seconds;
        if (store->hold_fd >= 0 && !store->hold_exclusive)
                return err_set(err, EDEADLK,
                               "garbage collection of %s: this process holds the store shared (a build using it)",
                               store->path);
        if (store->hold_fd < 0) {
                r = oci_store_hold(store, true, true, err);
                if (r < 0)
                        return err_prefix(err, "garbage collection of %s", store->path);
                own_hold = store;
        }
        lock = oci_store_lock(store, true, err);
        if (lock < 0)
                return lock;

        /* Mark.  A manifest that is missing or corrupt cannot be followed;
         * what it would reference is then unreachable and swept, like any
         * blob nothing names. */
        if (opts->roots) {
                const char *k;
                json_t *v;

                /* The caller read index.json and cache/ already. */
                json_object_foreach((json_t *) opts->roots, k, v)
                        json_object_set_new(marked, k, json_true());
        } else {
                r = oci_layout_walk(store->layout, OCI_WALK_SKIP_MISSING, mark_cb, marked, err);
                if (r < 0)
                        return err_prefix(err, "garbage collection of %s", store->path);
                r = mark_cache(store, marked, err);
                if (r < 0)
                        return err_prefix(err, "garbage collection of %s", store->path);
        }
        for (size_t i = 0; i < opts->n_keep; i++) {
                r = mark_keep(store, &opts->keep[i], marked, err);
                if (r < 0)
                        return err_prefix(err, "garbage collection of %s", store->path);
        }

        /* Sweep, sparing anything modified after the cutoff: a blob written
         * (or re-added) by a concurrent writer that has not tagged it yet. */
        clock_gettime(CLOCK_REALTIME, &cutoff);
        cutoff.tv_sec -= grace;
        blobsfd = openat(oci_layout_dirfd(store->layout), "blobs", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (blobsfd < 0)
                return err_set(err, errno, "open %s/blobs: %s", store->path, strerror(errno));
        fd = dup(blobsfd);
        if (fd < 0 || !(d = fdopendir(fd))) {
                if (fd >= 0)
                        close(fd);
                return err_set(err, errno, "opendir %s/blobs: %s", store->path, strerror(errno));
        }
        while ((de = readdir(d))) {
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                if (fstatat(blobsfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                r = sweep_alg(store, blobsfd, de->d_name, marked, &cutoff, opts->dry_run, &res, err);
                if (r < 0)
                        goto fail;
        }
        r = sweep_temps(blobsfd, "blobs", &cutoff, opts->dry_run, &res, err);
        if (r < 0)
                goto fail;
        /* Leftovers of index.json / oci-layout writers that crashed. */
        r = sweep_temps(oci_layout_dirfd(store->layout), store->path, &cutoff, opts->dry_run, &res, err);
        if (r < 0)
                goto fail;
        if (ret_result)
                *ret_result = res;
        else
                oci_store_gc_result_clear(&res);
        return 0;
fail:
        oci_store_gc_result_clear(&res);
        return err_prefix(err, "garbage collection of %s", store->path);
}
