/* `ibuild prune`: the build cache entries, blobs and snapshots that no
 * named image needs. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/exec/exec.h"
#include "builder/snapshot/snapshot.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "oci/layout.h"

void
build_prune_opts_init(struct build_prune_opts *o)
{
        memset(o, 0, sizeof(*o));
        o->grace_seconds = -1;
}

/* Add the diff_ids of config blob DIGEST to DIFFS (a set); a config that
 * is missing or does not parse adds nothing. */
static void
add_diff_ids(struct oci_layout *layout, const char *digest, json_t *diffs)
{
        _cleanup_free_ char *buf = NULL;
        struct oci_image_config *cfg = NULL;
        struct digest d;
        size_t len;

        if (digest_parse(digest, &d, NULL) < 0 || oci_layout_read_blob(layout, &d, LIMIT_CONFIG_SIZE, &buf, &len, NULL) < 0 ||
            oci_image_config_parse(buf, len, &cfg, NULL) < 0)
                return;
        for (char **p = cfg->diff_ids; p && *p; p++)
                json_object_set_new(diffs, *p, json_true());
        oci_image_config_free(cfg);
}

struct reach {
        struct oci_layout *layout;
        json_t *blobs; /* digests reachable from index.json */
        json_t *diffs; /* diff_ids of the configs among them */
        json_t *roots; /* blobs + the config and layers of kept entries:
                          what the GC keeps (it reads none of it again) */
};

static int
reach_cb(const struct oci_walk_item *it, void *userdata, struct err **err)
{
        struct reach *r = userdata;

        json_object_set_new(r->blobs, it->digest.str, json_true());
        json_object_set_new(r->roots, it->digest.str, json_true());
        if (it->kind == OCI_WALK_CONFIG)
                add_diff_ids(r->layout, it->digest.str, r->diffs);
        return 0;
}

/* Should cache entry PATH go?  With ALL, yes; else when it does not parse
 * or one of its layers is not part of a named image.  A kept entry's
 * config adds its diff_ids to R->diffs (its snapshots stay), and its config
 * and layers are GC roots (R->roots). */
static bool
entry_unneeded(const char *path, bool all, struct reach *r)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_json_ json_t *j = NULL;
        json_t *l, *cfg;
        size_t len, i;

        if (all)
                return true;
        if (fs_read_file(path, LIMIT_CONFIG_SIZE, &buf, &len, NULL) < 0)
                return false; /* unreadable now (being written?): leave it */
        j = json_loadb(buf, len, 0, NULL);
        cfg = json_object_get(j, "config");
        if (!json_is_string(cfg) || !json_is_array(json_object_get(j, "layers")))
                return true;
        json_array_foreach(json_object_get(j, "layers"), i, l)
        {
                json_t *d = json_object_get(l, "digest");

                if (!json_is_string(d) || !json_object_get(r->blobs, json_string_value(d)))
                        return true;
        }
        /* (Its layers are in R->blobs, so R->roots has them already.) */
        json_object_set_new(r->roots, json_string_value(cfg), json_true());
        add_diff_ids(r->layout, json_string_value(cfg), r->diffs);
        return false;
}

/* (<=: with --grace 0 a snapshot made this very second goes too) */
static bool
older_than(const char *path, time_t cutoff)
{
        struct stat st;

        return lstat(path, &st) == 0 && st.st_mtime <= cutoff;
}

int
build_exec_prune(struct oci_store *store, const struct build_prune_opts *o, struct build_prune_result *ret,
                 struct err **err)
{
        struct build_prune_result res = {0};
        _cleanup_json_ json_t *blobs = json_object(), *diffs = json_object(), *roots = json_object();
        struct reach rc = {.layout = oci_store_layout(store), .blobs = blobs, .diffs = diffs, .roots = roots};
        struct oci_store_gc_opts go = {.grace_seconds = o->grace_seconds, .roots = roots};
        struct oci_store_gc_result gr = {0};
        struct build_idmap map;
        _cleanup_free_ char *warning = NULL;
        const char *cache = oci_store_cache_dir(store), *snaps = oci_store_snapshots_dir(store);
        time_t cutoff = time(NULL) - (o->grace_seconds < 0 ? OCI_STORE_GC_GRACE_DEFAULT : o->grace_seconds);
        _cleanup_closedir_ DIR *cd = NULL, *sd = NULL;
        struct dirent *de;
        int r;

        /* Nothing a running build uses (or has written and not named yet)
         * may go: hold the store exclusively from reading what to keep to
         * the last removal (store.h, "The hold"). */
        r = oci_store_hold(store, true, true, err);
        if (r < 0)
                return err_prefix(err, "prune");
        r = build_idmap_detect(NULL, NULL, &map, &warning, err);
        if (r < 0)
                return r;
        r = oci_layout_walk(rc.layout, OCI_WALK_SKIP_MISSING, reach_cb, &rc, err);
        if (r < 0)
                return err_prefix(err, "prune: reading the images of %s", oci_store_path(store));

        /* 1. Cache entries. */
        cd = opendir(cache);
        if (!cd && errno != ENOENT)
                return err_set(err, errno, "prune: opendir %s: %s", cache, strerror(errno));
        while (cd && (de = readdir(cd))) {
                _cleanup_free_ char *p = NULL;

                if (!digest_is_sha256_hex(de->d_name))
                        continue;
                p = xasprintf("%s/%s", cache, de->d_name);
                if (!entry_unneeded(p, o->all, &rc)) {
                        res.entries_kept++;
                        continue;
                }
                if (unlink(p) < 0 && errno != ENOENT)
                        return err_set(err, errno, "prune: removing %s: %s", p, strerror(errno));
                res.entries_removed++;
        }
        if (o->all) {
                _cleanup_free_ char *mounts = xasprintf("%s/mounts", cache);
                _cleanup_free_ char *digests = xasprintf("%s/content-digests", cache);

                /* RUN --mount=type=cache dirs hold files of mapped ids. */
                r = build_snapshot_remove(&map, mounts, err);
                if (r < 0)
                        return err_prefix(err, "prune");
                if (unlink(digests) < 0 && errno != ENOENT)
                        return err_set(err, errno, "prune: removing %s: %s", digests, strerror(errno));
        }

        /* 2. Blobs: what neither a named image nor a kept entry needs. */
        r = oci_store_gc(store, &go, &gr, err);
        if (r < 0)
                return r;
        res.blobs_removed = gr.blobs_removed;
        res.bytes_freed = gr.bytes_freed;
        oci_store_gc_result_clear(&gr);

        /* 3. Snapshots of layers no named image or kept entry has, and
         * step / unpack leftovers, older than the grace period. */
        sd = opendir(snaps);
        if (!sd && errno != ENOENT)
                return err_set(err, errno, "prune: opendir %s: %s", snaps, strerror(errno));
        while (sd && (de = readdir(sd))) {
                _cleanup_free_ char *p = NULL, *diff = NULL;
                bool leftover = strncmp(de->d_name, ".step-", 6) == 0 || strncmp(de->d_name, ".unpack-", 8) == 0;

                if (!leftover && !digest_is_sha256_hex(de->d_name))
                        continue;
                p = xasprintf("%s/%s", snaps, de->d_name);
                diff = xasprintf("sha256:%s", de->d_name);
                /* Young ones may belong to a build running now. */
                if (!older_than(p, cutoff) || (!leftover && !o->all && json_object_get(diffs, diff)))
                        continue;
                r = build_snapshot_remove(&map, p, err);
                if (r < 0)
                        return err_prefix(err, "prune");
                res.snapshots_removed++;
        }
        if (ret)
                *ret = res;
        return 0;
}
