/* One stage: its start from the base (a stage, scratch or an image; the
 * root of the stage's cache keys), a warning for a platform this host
 * cannot run, then each step in turn: its key, a cache hit or the
 * instruction, its history entry and cache entry. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/dockerfile/parser.h"
#include "builder/dockerfile/plan.h"
#include "builder/exec/exec-internal.h"
#include "common/cleanup.h"
#include "oci/platform.h"

static int
run_step(struct xctx *x, int si, struct xstage *s, const struct build_plan_instr *in, struct err **err)
{
        _cleanup_free_ char *sources = NULL;
        char key[DIGEST_STR_MAX];
        double t0 = xnow_sec();
        bool layer = false;
        int r;

        x->pos++;
        xevent(x, BUILD_EVENT_STEP, 0, "[stage %d/%zu] %s%s", si + 1, x->plan->n_stages,
               in->onbuild ? "(onbuild) " : "", in->text);
        if ((x->o->cancel && *x->o->cancel) || x->failed)
                return err_set(err, ECANCELED, "cancelled");
        if (in->kind == BUILD_DF_ARG)
                return 0; /* ARG changes nothing in the image: its value is in later keys */
        if (in->kind == BUILD_DF_COPY || in->kind == BUILD_DF_ADD) {
                r = xcopy_prepare(x, s, in, &sources, err);
                if (r < 0)
                        return r;
        } else if (in->kind == BUILD_DF_RUN) {
                r = xrun_sources(x, in, &sources, err);
                if (r < 0)
                        return r;
        }
        xstep_key(x, s, in, sources, key);
        pthread_mutex_lock(&x->lock);
        x->steps++;
        pthread_mutex_unlock(&x->lock);
        if (!x->o->no_cache && xcache_get(x, s, key) == 0) {
                memcpy(s->key, key, sizeof(key));
                pthread_mutex_lock(&x->lock);
                x->cached++;
                pthread_mutex_unlock(&x->lock);
                xevent(x, BUILD_EVENT_CACHED, xnow_sec() - t0, "CACHED");
                return 0;
        }
        if (in->kind == BUILD_DF_RUN)
                r = xdo_run(x, s, in, err);
        else if (in->kind == BUILD_DF_COPY || in->kind == BUILD_DF_ADD)
                r = xcopy_run(x, s, in, err);
        else
                r = xapply_config(x, s, in, &layer, err);
        if (r < 0)
                return r;
        if (in->kind == BUILD_DF_RUN || in->kind == BUILD_DF_COPY || in->kind == BUILD_DF_ADD)
                layer = true;
        {
                _cleanup_free_ char *by =
                    in->kind == BUILD_DF_RUN || in->kind == BUILD_DF_COPY || in->kind == BUILD_DF_ADD
                        ? xasprintf("%s # buildkit", in->text)
                        : xstrdup(in->text);

                xadd_history(x, s, by, !layer);
        }
        memcpy(s->key, key, sizeof(key));
        r = xcache_put(x, s, key, err);
        if (r < 0)
                return r;
        xevent(x, BUILD_EVENT_DONE, xnow_sec() - t0, "done");
        return 0;
}

/* Start stage SI from its base. */
static int
stage_begin(struct xctx *x, int si, struct err **err)
{
        const struct build_plan_stage *ps = &x->plan->stages[si];
        struct xstage *s = &x->stages[si];
        const char *platform = ps->platform ? ps->platform : x->plan->target_platform;
        struct digest_ctx *c;
        struct digest d;

        c = digest_ctx_new(DIGEST_SHA256);
        xkey_add(c, "platform", platform);
        if (ps->base == BUILD_PLAN_BASE_STAGE) {
                struct xstage *b = &x->stages[ps->base_stage];

                xstage_set(s, oci_image_config_dup(b->cfg), NULL, 0);
                for (size_t i = 0; i < b->n_layers; i++)
                        xstage_add_layer(s, &b->layers[i].desc, b->layers[i].diff_id, b->layers[i].snapshot);
                xkey_add(c, "stage", b->key);
                s->base_name = b->base_name ? xstrdup(b->base_name) : NULL;
                s->base_digest = b->base_digest ? xstrdup(b->base_digest) : NULL;
        } else if (ps->base == BUILD_PLAN_BASE_SCRATCH) {
                struct oci_platform *p = NULL;

                if (oci_platform_parse(platform, &p, err) < 0) {
                        digest_ctx_free(c);
                        return -1;
                }
                xstage_set(s, oci_image_config_new(p->os, p->architecture, p->variant), NULL, 0);
                oci_platform_free(p);
                xkey_add(c, "scratch", "");
        } else {
                struct xbase *b;
                int r = xbase_get(x, ps->base_image, platform, &b, err);

                if (r < 0) {
                        digest_ctx_free(c);
                        return err_prefix(err, "%s:%d", x->df_name, ps->from->start_line);
                }
                xstage_set(s, oci_image_config_dup(b->cfg), b->layers, b->n_layers);
                xkey_add(c, "image", b->digest);
                s->base_name = xstrdup(ps->base_image);
                s->base_digest = xstrdup(b->digest);
                /* Accept bases without history: write one entry per layer
                 * so the history matches the layers (as buildah wants). */
                {
                        size_t nonempty = 0;

                        for (size_t i = 0; i < s->cfg->n_history; i++)
                                nonempty += !s->cfg->history[i].empty_layer;
                        for (; nonempty < s->n_layers; nonempty++) {
                                struct oci_history h = {0};

                                h.created_by = xasprintf("(layer of %s)", ps->base_image);
                                oci_image_config_add_history(s->cfg, &h);
                                oci_history_clear(&h);
                        }
                }
        }
        digest_ctx_final(c, &d);
        digest_ctx_free(c);
        memcpy(s->key, d.str, sizeof(s->key));
        /* BuildKit gives an image without PATH the default one. */
        if (!oci_image_config_getenv(s->cfg, "PATH")) {
                oci_image_config_setenv(s->cfg, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
                s->cfg->has_config = true;
        }
        free(s->cfg->created);
        s->cfg->created = NULL;
        /* A stage's OnBuild is its own ONBUILD lines only: the triggers of
         * its base (a stage or an image) run in it and are not inherited
         * by grandchildren (reference.md, ONBUILD; BuildKit's
         * dispatchState.init clears them for stage bases too). */
        oci_strv_free(s->cfg->config.on_build);
        s->cfg->config.on_build = NULL;
        return 0;
}

/* Is a qemu-user handler for P's architecture registered with binfmt_misc
 * (the names qemu-user-static's binfmt-support files use)? */
static bool
binfmt_emulated(const struct oci_platform *p)
{
        static const char *const names[][2] = {
            {"arm64", "aarch64"},   {"amd64", "x86_64"}, {"arm", "arm"},         {"386", "i386"},
            {"ppc64le", "ppc64le"}, {"s390x", "s390x"},  {"riscv64", "riscv64"}, {"mips64le", "mips64el"},
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (p->architecture && strcmp(p->architecture, names[i][0]) == 0) {
                        _cleanup_free_ char *f = xasprintf("/proc/sys/fs/binfmt_misc/qemu-%s", names[i][1]);

                        return access(f, F_OK) == 0;
                }
        return false;
}

/* A stage for a platform this host cannot run (as buildah does, warn: the
 * build goes on, and only RUN needs to execute anything). */
static void
warn_foreign_platform(struct xctx *x, int si)
{
        const struct build_plan_stage *ps = &x->plan->stages[si];
        const char *platform = ps->platform ? ps->platform : x->plan->target_platform;
        _cleanup_(oci_platform_freep) struct oci_platform *want = NULL, *host = NULL;
        _cleanup_free_ char *host_s = NULL;
        size_t runs = 0;

        if (oci_platform_parse(platform, &want, NULL) < 0 || oci_platform_host(&host, NULL) < 0 ||
            oci_platform_match(host, want))
                return;
        for (size_t i = 0; i < ps->n_instrs; i++)
                runs += ps->instrs[i].kind == BUILD_DF_RUN;
        host_s = oci_platform_format(host);
        if (runs && binfmt_emulated(want))
                xevent(x, BUILD_EVENT_INFO, 0,
                       "warning: stage %d is for platform %s, not this host's %s: its RUN steps run under the "
                       "emulator registered in binfmt_misc (slow)",
                       si + 1, platform, host_s);
        else if (runs)
                xevent(x, BUILD_EVENT_INFO, 0,
                       "warning: stage %d is for platform %s, not this host's %s: its %zu RUN step%s need%s "
                       "emulation for %s (binfmt_misc with qemu-user-static) and fail without it",
                       si + 1, platform, host_s, runs, runs == 1 ? "" : "s", runs == 1 ? "s" : "", platform);
        else
                xevent(x, BUILD_EVENT_INFO, 0,
                       "warning: stage %d is for platform %s, not this host's %s (it has no RUN step: nothing "
                       "needs to execute)",
                       si + 1, platform, host_s);
}

int
xrun_stage(struct xctx *x, int si, struct err **err)
{
        const struct build_plan_stage *ps = &x->plan->stages[si];
        struct xstage *s = &x->stages[si];
        int r;

        xevent(x, BUILD_EVENT_STEP, 0, "[stage %d/%zu] FROM %s%s%s", si + 1, x->plan->n_stages, ps->base_image,
               ps->name ? " AS " : "", ps->name ? ps->name : "");
        warn_foreign_platform(x, si);
        r = stage_begin(x, si, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ps->n_instrs; i++) {
                r = run_step(x, si, s, &ps->instrs[i], err);
                if (r < 0)
                        return r;
        }
        /* The image is as old as its last step: a fully cached rebuild
         * gives the same config, hence the same digest. */
        free(s->cfg->created);
        s->cfg->created = s->cfg->n_history && s->cfg->history[s->cfg->n_history - 1].created
                              ? xstrdup(s->cfg->history[s->cfg->n_history - 1].created)
                              : xcreated_now(x);
        s->done = true;
        return 0;
}
