#include "registry/server/gc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/limits.h"
#include "registry/server/manifest.h"
#include "registry/server/route.h"

/* A set of digest strings (open addressing, power-of-two size). */
struct strset {
        char **slots;
        size_t cap, n;
};

static uint64_t
hash_str(const char *s)
{
        uint64_t h = 1469598103934665603ULL;

        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ULL;
        return h;
}

static bool
set_has(const struct strset *s, const char *k)
{
        size_t i;

        if (!s->cap)
                return false;
        for (i = hash_str(k) & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1))
                if (strcmp(s->slots[i], k) == 0)
                        return true;
        return false;
}

static bool
set_add(struct strset *s, const char *k)
{
        size_t i;

        if (set_has(s, k))
                return false;
        if ((s->n + 1) * 2 > s->cap) {
                struct strset big = { xcalloc(s->cap ? s->cap * 2 : 64, sizeof(char *)),
                                      s->cap ? s->cap * 2 : 64, 0 };
                size_t j;
                for (j = 0; j < s->cap; j++)
                        if (s->slots[j]) {
                                for (i = hash_str(s->slots[j]) & (big.cap - 1); big.slots[i];
                                     i = (i + 1) & (big.cap - 1))
                                        ;
                                big.slots[i] = s->slots[j];
                                big.n++;
                        }
                free(s->slots);
                *s = big;
        }
        for (i = hash_str(k) & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1))
                ;
        s->slots[i] = xstrdup(k);
        s->n++;
        return true;
}

static void
set_free(struct strset *s)
{
        size_t i;

        for (i = 0; i < s->cap; i++)
                free(s->slots[i]);
        free(s->slots);
        memset(s, 0, sizeof(*s));
}

int
reg_parse_duration(const char *s, time_t *ret, struct err **err)
{
        uint64_t v;
        size_t len = s ? strlen(s) : 0;
        time_t mult = 1;

        if (len == 0)
                return err_set(err, EINVAL, "empty duration");
        switch (s[len - 1]) {
        case 's': mult = 1; len--; break;
        case 'm': mult = 60; len--; break;
        case 'h': mult = 3600; len--; break;
        case 'd': mult = 86400; len--; break;
        default: break;
        }
        if (reg_parse_u64(s, len, &v) < 0 || v > (uint64_t) 100 * 365 * 86400 / (uint64_t) mult)
                return err_set(err, EINVAL, "duration '%s': want a number with s, m, h or d", s);
        *ret = (time_t) v * mult;
        return 0;
}

struct mrec {
        struct digest d;
        time_t mtime;
        bool reached;
        bool parsed;
        struct reg_manifest m;
};

struct repo_gc {
        struct reg_store *st;
        const char *name;
        struct mrec *v;
        size_t n, alloc;
};

static int
collect_manifest(const char *item, uint64_t size, time_t mtime, void *ud)
{
        struct repo_gc *g = ud;

        if (g->n == g->alloc) {
                g->alloc = g->alloc ? g->alloc * 2 : 32;
                g->v = xrealloc(g->v, g->alloc * sizeof(*g->v));
        }
        memset(&g->v[g->n], 0, sizeof(g->v[g->n]));
        if (digest_parse(item, &g->v[g->n].d, NULL) < 0)
                return 0;
        g->v[g->n].mtime = mtime;
        g->n++;
        return 0;
}

static struct mrec *
find_rec(struct repo_gc *g, const char *digest)
{
        size_t i;

        for (i = 0; i < g->n; i++)
                if (strcmp(g->v[i].d.str, digest) == 0)
                        return &g->v[i];
        return NULL;
}

static void
parse_rec(struct repo_gc *g, struct mrec *m)
{
        _cleanup_free_ char *body = NULL;
        char mt[256];
        size_t len;

        if (m->parsed)
                return;
        m->parsed = true;
        if (g->st->ops->manifest_get(g->st, g->name, &m->d, mt, sizeof(mt), NULL) < 0 ||
            g->st->ops->blob_read(g->st, &m->d, LIMIT_MANIFEST_SIZE, &body, &len, NULL) < 0)
                return;
        reg_manifest_parse(body, len, mt, &m->m, NULL);
}

/* Mark M and everything it names as reached. */
static void
reach(struct repo_gc *g, struct mrec *m, int depth)
{
        size_t i;

        if (m->reached || depth > 64)
                return;
        m->reached = true;
        parse_rec(g, m);
        for (i = 0; i < m->m.n_children; i++) {
                struct mrec *c = find_rec(g, m->m.children[i].str);
                if (c)
                        reach(g, c, depth + 1);
        }
}

struct link_ctx {
        struct reg_store *st;
        const char *name;
        const struct reg_gc_options *o;
        struct strset *repo_blobs, *global;
        struct reg_gc_stats *stats;
        time_t now;
};

static int
check_link(const char *item, uint64_t size, time_t mtime, void *ud)
{
        struct link_ctx *c = ud;
        struct digest d;

        if (digest_parse(item, &d, NULL) < 0)
                return 0;
        if (set_has(c->repo_blobs, item) || c->now - mtime < c->o->grace) {
                set_add(c->global, item);
                /* A kept link missing from the blob -> repositories index
                 * (crash, or a store from before the index): add it. */
                if (!c->st->ops->holder_exists(c->st, c->name, &d)) {
                        if (c->o->report)
                                fprintf(c->o->report, "%sindex link %s@%s\n", c->o->dry_run ? "would " : "",
                                        c->name, item);
                        if (!c->o->dry_run)
                                c->st->ops->holder_add(c->st, c->name, &d, NULL);
                        c->stats->index_repaired++;
                }
                return 0;
        }
        if (c->o->report)
                fprintf(c->o->report, "%sdelete link %s@%s\n", c->o->dry_run ? "would " : "", c->name,
                        item);
        if (!c->o->dry_run)
                c->st->ops->layer_unlink(c->st, c->name, &d, NULL);
        c->stats->links_deleted++;
        return 0;
}

static int
check_upload(const char *item, uint64_t size, time_t mtime, void *ud)
{
        struct link_ctx *c = ud;

        if (c->now - mtime < c->o->upload_max_age)
                return 0;
        if (c->o->report)
                fprintf(c->o->report, "%sdelete upload %s/%s (%llu bytes)\n",
                        c->o->dry_run ? "would " : "", c->name, item, (unsigned long long) size);
        if (!c->o->dry_run)
                c->st->ops->upload_delete(c->st, c->name, item, NULL);
        c->stats->uploads_deleted++;
        return 0;
}

static int
gc_repo(struct reg_store *st, const char *name, const struct reg_gc_options *o,
        struct strset *global, struct reg_gc_stats *stats, time_t now, struct err **err)
{
        struct repo_gc g = { st, name, NULL, 0, 0 };
        struct reg_strv tags = { 0 };
        struct strset repo_blobs = { 0 };
        struct link_ctx lc = { st, name, o, &repo_blobs, global, stats, now };
        bool changed;
        size_t i, j;
        int r;

        r = st->ops->manifest_walk(st, name, collect_manifest, &g, err);
        if (r < 0)
                goto out;
        if (st->ops->tag_list(st, name, &tags, NULL) == 0) {
                for (i = 0; i < tags.n; i++) {
                        struct digest d;
                        struct mrec *m;
                        if (st->ops->tag_get(st, name, tags.v[i], &d, NULL) == 0 && (m = find_rec(&g, d.str)))
                                reach(&g, m, 0);
                }
        }
        for (i = 0; i < g.n; i++)
                if (o->keep_untagged || now - g.v[i].mtime < o->grace)
                        reach(&g, &g.v[i], 0);
        /* Referrers of reached manifests, to a fixpoint. */
        do {
                changed = false;
                for (i = 0; i < g.n; i++) {
                        struct mrec *m = &g.v[i], *s;
                        if (m->reached)
                                continue;
                        parse_rec(&g, m);
                        if (m->m.has_subject && (s = find_rec(&g, m->m.subject.str)) && s->reached) {
                                reach(&g, m, 0);
                                changed = true;
                        }
                }
        } while (changed);

        for (i = 0; i < g.n; i++) {
                struct mrec *m = &g.v[i];
                if (m->reached) {
                        set_add(global, m->d.str);
                        for (j = 0; j < m->m.n_blobs; j++)
                                set_add(&repo_blobs, m->m.blobs[j].str);
                        continue;
                }
                if (o->report)
                        fprintf(o->report, "%sdelete manifest %s@%s\n", o->dry_run ? "would " : "", name,
                                m->d.str);
                stats->manifests_deleted++;
                if (o->dry_run)
                        continue;
                parse_rec(&g, m);
                if (m->m.has_subject)
                        st->ops->referrer_remove(st, name, &m->m.subject, &m->d, NULL);
                st->ops->manifest_delete(st, name, &m->d, NULL);
        }
        r = st->ops->layer_walk(st, name, check_link, &lc, err);
        if (r < 0)
                goto out;
        r = st->ops->upload_walk(st, name, check_upload, &lc, err);
out:
        for (i = 0; i < g.n; i++)
                reg_manifest_clear(&g.v[i].m);
        free(g.v);
        reg_strv_free(&tags);
        set_free(&repo_blobs);
        return r;
}

struct sweep_ctx {
        struct reg_store *st;
        const struct reg_gc_options *o;
        struct strset *global;
        struct reg_gc_stats *stats;
        time_t now;
        const struct digest *d; /* the blob whose index entries are walked */
};

/* An index entry of a kept blob whose repository has no link to it (a
 * crash between the two writes of an unlink) is dropped once older than
 * the grace period (a link being created writes the entry first). */
static int
check_holder(const char *name, uint64_t size, time_t mtime, void *ud)
{
        struct sweep_ctx *c = ud;

        (void) size;
        if (c->now - mtime < c->o->grace || c->st->ops->layer_exists(c->st, name, c->d))
                return 0;
        if (c->o->report)
                fprintf(c->o->report, "%sunindex link %s@%s\n", c->o->dry_run ? "would " : "", name,
                        c->d->str);
        if (!c->o->dry_run)
                c->st->ops->holder_remove(c->st, name, c->d, NULL);
        c->stats->index_repaired++;
        return 0;
}

static int
sweep_blob(const char *item, uint64_t size, time_t mtime, void *ud)
{
        struct sweep_ctx *c = ud;
        struct digest d;

        if (digest_parse(item, &d, NULL) < 0)
                return 0;
        if (set_has(c->global, item) || c->now - mtime < c->o->grace) {
                c->stats->blobs_kept++;
                c->d = &d;
                c->st->ops->holder_walk(c->st, &d, check_holder, c, NULL);
                c->d = NULL;
                return 0;
        }
        if (c->o->report)
                fprintf(c->o->report, "%sdelete blob %s (%llu bytes)\n", c->o->dry_run ? "would " : "",
                        item, (unsigned long long) size);
        if (!c->o->dry_run && c->st->ops->blob_delete(c->st, &d, NULL) < 0)
                return 0;
        c->stats->blobs_deleted++;
        c->stats->bytes_freed += size;
        return 0;
}

int
reg_gc_run(struct reg_store *store, const struct reg_gc_options *opts,
           struct reg_gc_stats *ret_stats, struct err **err)
{
        struct reg_strv repos = { 0 };
        struct strset global = { 0 };
        struct reg_gc_stats stats = { 0 };
        time_t now = time(NULL);
        struct sweep_ctx sc = { store, opts, &global, &stats, now, NULL };
        size_t i;
        int r;

        r = store->ops->repo_list(store, &repos, err);
        if (r < 0)
                return r;
        for (i = 0; i < repos.n; i++) {
                r = gc_repo(store, repos.v[i], opts, &global, &stats, now, err);
                if (r < 0) {
                        err_prefix(err, "repository %s", repos.v[i]);
                        goto out;
                }
        }
        r = store->ops->blob_walk(store, sweep_blob, &sc, err);
        if (r < 0)
                goto out;
        *ret_stats = stats;
out:
        reg_strv_free(&repos);
        set_free(&global);
        return r;
}
