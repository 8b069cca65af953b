/* The build executor's entry point: build_exec_run reads the Dockerfile,
 * the context and its .dockerignore, plans the stages, runs them
 * (exec-sched.c, exec-step.c) and writes the final image (exec-finish.c);
 * and the helpers every part uses (events, timestamps, paths).
 * exec-internal.h lists the executor's files. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/dockerfile/parser.h"
#include "builder/dockerfile/plan.h"
#include "builder/exec/exec-internal.h"
#include "builder/snapshot/snapshot.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

void
build_exec_opts_init(struct build_exec_opts *o)
{
        memset(o, 0, sizeof(*o));
        o->pull = BUILD_PULL_MISSING;
        o->network = BUILD_SANDBOX_NET_HOST;
        o->compression = OCI_LAYER_GZIP;
        o->source_date_epoch = -1;
        o->output_fd = -1;
}

void
build_exec_result_clear(struct build_exec_result *r)
{
        if (!r)
                return;
        oci_descriptor_clear(&r->manifest);
        free(r->config_digest);
        memset(r, 0, sizeof(*r));
}

void
xevent(struct xctx *x, enum build_event ev, double secs, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;

        if (!x->o->event)
                return;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        x->o->event(x->o->event_data, ev, s ? s : "", secs);
}

double
xnow_sec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

char *
xcreated_now(const struct xctx *x)
{
        char buf[64];
        time_t t = x->o->source_date_epoch >= 0 ? (time_t) x->o->source_date_epoch : time(NULL);
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return xstrdup(buf);
}

const char *
xlayer_media_type(enum oci_layer_compression c)
{
        switch (c) {
        case OCI_LAYER_GZIP:
                return OCI_MT_LAYER_GZIP;
        case OCI_LAYER_ZSTD:
                return OCI_MT_LAYER_ZSTD;
        default:
                return OCI_MT_LAYER_TAR;
        }
}

char *
xabs_path(const char *workdir, const char *p)
{
        _cleanup_free_ char *joined = NULL;
        char *clean;

        if (p[0] == '/')
                joined = xstrdup(p);
        else
                joined = xasprintf("%s/%s", workdir && *workdir ? workdir : "/", p);
        clean = build_path_clean(joined);
        if (clean[0] != '/') {
                char *a = xasprintf("/%s", clean);

                free(clean);
                clean = a;
        }
        return clean;
}
int
build_exec_run(const struct build_exec_opts *o, struct build_exec_result *ret, struct err **err)
{
        struct xctx x = {0};
        _cleanup_free_ char *dfpath = NULL, *warning = NULL;
        struct build_exec_result res = {0};
        int r;

        x.o = o;
        pthread_mutex_init(&x.lock, NULL);
        pthread_mutex_init(&x.bases_lock, NULL);
        x.store = o->store;
        x.layout = oci_store_layout(o->store);
        x.ctx_fd = -1;
        x.context = realpath(o->context, NULL);
        if (!x.context)
                return err_set(err, errno, "build context %s: %s", o->context, strerror(errno));
        x.ctx_fd = open(x.context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (x.ctx_fd < 0) {
                r = err_set(err, errno, "build context %s: %s", o->context, strerror(errno));
                goto out;
        }
        if (o->dockerfile)
                dfpath = xstrdup(o->dockerfile);
        else
                dfpath = xasprintf("%s/Dockerfile", x.context);
        r = build_df_parse_path(dfpath, &x.df, err);
        if (r >= 0)
                r = build_df_validate(x.df, err);
        if (r < 0)
                goto out;
        x.df_name = x.df->name ? x.df->name : dfpath;
        r = build_idmap_detect(NULL, NULL, &x.idmap, &warning, err);
        if (r < 0)
                goto out;
        if (warning)
                xevent(&x, BUILD_EVENT_INFO, 0, "warning: %s", warning);
        x.hashcache = xhashcache_open(oci_store_cache_dir(o->store), o->no_cache);
        r = fs_mkdtemp_in(oci_store_tmp_dir(o->store), "build-", &x.work, err);
        if (r < 0)
                goto out;
        x.empty_dir = xasprintf("%s/empty", x.work);
        if (mkdir(x.empty_dir, 0755) < 0) {
                r = err_set(err, errno, "%s: %s", x.empty_dir, strerror(errno));
                goto out;
        }
        r = xssh_agents_start(&x, err);
        if (r < 0)
                goto out;
        r = build_ignore_load(x.context, o->dockerfile && strcmp(o->dockerfile, "-") == 0 ? "-" : dfpath, &x.ignore,
                              err);
        if (r < 0)
                goto out;
        {
                struct build_plan_opts po = {
                    .build_args = o->build_args,
                    .n_build_args = o->n_build_args,
                    .target = o->target,
                    .platform = o->platform,
                    .base_config = xplan_base_config,
                    .base_config_data = &x,
                };
                _cleanup_free_ char *host = build_plan_host_platform();

                x.plan_platform = o->platform ? o->platform : host;
                r = build_plan_new(x.df, &po, &x.plan, err);
                x.plan_platform = NULL;
                if (r < 0)
                        goto out;
        }
        for (size_t i = 0; i < x.plan->n_warnings; i++)
                xevent(&x, BUILD_EVENT_INFO, 0, "warning: %s", x.plan->warnings[i]);
        if (x.plan->n_unused_build_args) {
                for (size_t i = 0; i < x.plan->n_unused_build_args; i++)
                        xevent(&x, BUILD_EVENT_INFO, 0, "warning: build arg %s was not consumed",
                               x.plan->unused_build_args[i]);
        }
        x.stages = xcalloc(x.plan->n_stages, sizeof(*x.stages));
        if (o->jobs > 1 && x.plan->n_order > 1) {
                r = xrun_parallel(&x, err);
                if (r < 0)
                        goto out;
        } else {
                for (size_t i = 0; i < x.plan->n_order; i++) {
                        r = xrun_stage(&x, x.plan->order[i], err);
                        if (r < 0)
                                goto out;
                }
        }
        r = xfinish(&x, &x.stages[x.plan->target], &res, err);
        if (r < 0)
                goto out;
        *ret = res;
        memset(&res, 0, sizeof(res));
        r = 0;
out:
        build_exec_result_clear(&res);
        if (x.stages)
                for (size_t i = 0; i < x.plan->n_stages; i++)
                        xstage_clear(&x.stages[i]);
        free(x.stages);
        xssh_agents_stop(x.ssh);
        if (x.work) {
                struct err *e2 = NULL;

                build_snapshot_remove(&x.idmap, x.work, &e2);
                err_clear(&e2);
                free(x.work);
        }
        free(x.empty_dir);
        {
                struct err *e2 = NULL;

                /* Only a cache: failing to write it loses nothing. */
                xhashcache_close(x.hashcache, &e2);
                err_clear(&e2);
        }
        build_context_free(x.ctxlist);
        build_ignore_free(x.ignore);
        build_plan_free(x.plan);
        build_df_file_free(x.df);
        if (x.ctx_fd >= 0)
                close(x.ctx_fd);
        free(x.context);
        xbases_free(&x);
        pthread_mutex_destroy(&x.bases_lock);
        pthread_mutex_destroy(&x.lock);
        return r;
}
