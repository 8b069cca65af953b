/* The stage scheduler for --jobs > 1: the plan's stages run in parallel,
 * one thread each, every stage waiting for the stages it needs. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "builder/exec/exec-internal.h"

/* Independent stages in parallel: one thread per stage that waits for the
 * stages it needs, at most jobs of them running. */
enum { ST_WAIT, ST_RUN, ST_DONE, ST_FAILED };

struct sched {
        struct xctx *x;
        pthread_mutex_t m;
        pthread_cond_t c;
        int running;
        int *state; /* per stage */
        struct err *first;
        int rc;
};

struct job {
        struct sched *s;
        int stage;
};

static void *
stage_thread(void *p)
{
        struct job *j = p;
        struct sched *s = j->s;
        const struct build_plan_stage *ps = &s->x->plan->stages[j->stage];
        struct err *err = NULL;
        bool dep_failed;
        int r;

        pthread_mutex_lock(&s->m);
        for (;;) {
                bool ready = true;

                dep_failed = false;
                for (size_t d = 0; d < ps->n_deps; d++) {
                        if (s->state[ps->deps[d]] == ST_FAILED)
                                dep_failed = true;
                        if (s->state[ps->deps[d]] != ST_DONE)
                                ready = false;
                }
                if (dep_failed || s->rc < 0 || (ready && s->running < s->x->o->jobs))
                        break;
                pthread_cond_wait(&s->c, &s->m);
        }
        if (dep_failed || s->rc < 0) {
                s->state[j->stage] = ST_FAILED;
                pthread_cond_broadcast(&s->c);
                pthread_mutex_unlock(&s->m);
                return NULL;
        }
        s->running++;
        s->state[j->stage] = ST_RUN;
        pthread_mutex_unlock(&s->m);

        r = xrun_stage(s->x, j->stage, &err);

        pthread_mutex_lock(&s->m);
        s->running--;
        s->state[j->stage] = r < 0 ? ST_FAILED : ST_DONE;
        if (r < 0) {
                if (s->rc >= 0) {
                        s->rc = r;
                        s->first = err;
                        err = NULL;
                }
                s->x->failed = 1;
        }
        pthread_cond_broadcast(&s->c);
        pthread_mutex_unlock(&s->m);
        err_clear(&err);
        return NULL;
}

int
xrun_parallel(struct xctx *x, struct err **err)
{
        struct sched s = {.x = x};
        size_t n = x->plan->n_order;
        pthread_t *th = xcalloc(n, sizeof(*th));
        struct job *jobs = xcalloc(n, sizeof(*jobs));
        size_t started = 0;

        pthread_mutex_init(&s.m, NULL);
        pthread_cond_init(&s.c, NULL);
        s.state = xcalloc(x->plan->n_stages, sizeof(int));
        /* Stages the target does not need stay ST_WAIT and are never deps. */
        for (size_t i = 0; i < n; i++) {
                jobs[i].s = &s;
                jobs[i].stage = x->plan->order[i];
                if (pthread_create(&th[i], NULL, stage_thread, &jobs[i]) != 0) {
                        pthread_mutex_lock(&s.m);
                        if (s.rc >= 0)
                                s.rc = err_set(&s.first, EAGAIN, "starting a stage thread");
                        pthread_cond_broadcast(&s.c);
                        pthread_mutex_unlock(&s.m);
                        break;
                }
                started++;
        }
        for (size_t i = 0; i < started; i++)
                pthread_join(th[i], NULL);
        free(th);
        free(jobs);
        free(s.state);
        pthread_mutex_destroy(&s.m);
        pthread_cond_destroy(&s.c);
        if (s.rc < 0) {
                *err = s.first;
                return s.rc;
        }
        return 0;
}
