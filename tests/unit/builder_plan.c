#include "tests/unit/test.h"

#include <stdio.h>
#include <stdlib.h>

#include "builder/dockerfile/parser.h"
#include "builder/dockerfile/plan.h"

struct fixture {
        struct build_df_file *f;
        struct build_plan *p;
};

static struct fixture fx;

static int
cleanup(void **state)
{
        build_plan_free(fx.p);
        build_df_file_free(fx.f);
        memset(&fx, 0, sizeof(fx));
        return 0;
}

/* Plan TEXT with build args ARGS (NULL-terminated "K=V" list), TARGET and
 * PLATFORM (build platform fixed to linux/amd64). */
static struct build_plan *
plan(const char *text, const char *const *args, const char *target, const char *platform)
{
        struct err *e = NULL;
        struct build_plan_opts o = { .target = target, .platform = platform, .build_platform = "linux/amd64" };

        cleanup(NULL);
        for (o.build_args = args; args && args[o.n_build_args]; o.n_build_args++)
                ;
        if (build_df_parse(text, strlen(text), "Dockerfile", &fx.f, &e) < 0)
                fail_msg("parse: %s", err_msg(&e));
        if (build_plan_new(fx.f, &o, &fx.p, &e) < 0)
                fail_msg("plan: %s", err_msg(&e));
        return fx.p;
}

static void
plan_error(const char *text, const char *const *args, const char *target, const char *needle)
{
        struct build_plan_opts o = { .target = target, .build_platform = "linux/amd64" };
        struct build_df_file *f = NULL;
        struct build_plan *p = NULL;
        struct err *e = NULL;

        for (o.build_args = args; args && args[o.n_build_args]; o.n_build_args++)
                ;
        if (build_df_parse(text, strlen(text), "Dockerfile", &f, &e) < 0)
                fail_msg("parse: %s", err_msg(&e));
        if (build_plan_new(f, &o, &p, &e) == 0)
                fail_msg("expected an error with '%s'", needle);
        assert_null(p);
        if (!strstr(err_msg(&e), needle))
                fail_msg("message '%s' lacks '%s'", err_msg(&e), needle);
        err_clear(&e);
        build_df_file_free(f);
}

static const struct build_plan_instr *
instr(const struct build_plan *p, int stage, size_t i)
{
        assert_true(stage >= 0 && (size_t) stage < p->n_stages);
        if (i >= p->stages[stage].n_instrs)
                fail_msg("stage %d has %zu instructions, wanted #%zu", stage, p->stages[stage].n_instrs, i);
        return &p->stages[stage].instrs[i];
}

static void
expect_text(const struct build_plan *p, int stage, size_t i, const char *want)
{
        const char *got = instr(p, stage, i)->text;

        if (strcmp(got, want) != 0)
                fail_msg("stage %d instr %zu: got '%s', want '%s'", stage, i, got, want);
}

static bool
env_has(char *const *env, size_t n, const char *kv)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(env[i], kv) == 0)
                        return true;
        return false;
}

static bool
env_has_key(char *const *env, size_t n, const char *k)
{
        size_t l = strlen(k);

        for (size_t i = 0; i < n; i++)
                if (strncmp(env[i], k, l) == 0 && env[i][l] == '=')
                        return true;
        return false;
}

static const char *MULTI = "FROM golang:1.21 AS Builder\n"
                           "RUN make\n"
                           "FROM alpine AS tools\n"
                           "RUN apk add git\n"
                           "FROM builder AS test\n"
                           "RUN make test\n"
                           "FROM scratch AS unused\n"
                           "COPY a b\n"
                           "FROM debian AS final\n"
                           "COPY --from=BUILDER /out /app\n"
                           "COPY --from=1 /usr/bin/git /usr/bin/\n"
                           "COPY --from=nginx:latest /etc/nginx /etc/nginx\n"
                           "RUN --mount=type=bind,from=test,target=/t ls /t\n";

static void
stages_and_deps(void **state)
{
        struct build_plan *p = plan(MULTI, NULL, NULL, NULL);
        const struct build_plan_stage *fin;

        assert_int_equal(p->n_stages, 5);
        assert_int_equal(p->target, 4);
        /* Needed: builder(0), tools(1), test(2), final(4); not "unused". */
        assert_int_equal(p->n_order, 4);
        assert_int_equal(p->order[0], 0);
        assert_int_equal(p->order[1], 1);
        assert_int_equal(p->order[2], 2);
        assert_int_equal(p->order[3], 4);
        assert_false(p->stages[3].needed);
        assert_int_equal(p->stages[3].n_instrs, 0);
        assert_int_equal(p->stages[0].base, BUILD_PLAN_BASE_IMAGE);
        assert_string_equal(p->stages[0].base_image, "golang:1.21");
        assert_string_equal(p->stages[0].name, "Builder");
        /* FROM builder matches "Builder": names are case-insensitive. */
        assert_int_equal(p->stages[2].base, BUILD_PLAN_BASE_STAGE);
        assert_int_equal(p->stages[2].base_stage, 0);
        assert_int_equal(p->stages[3].base, BUILD_PLAN_BASE_SCRATCH);
        fin = &p->stages[4];
        assert_int_equal(fin->n_deps, 3);
        assert_int_equal(fin->deps[0], 0);
        assert_int_equal(fin->deps[1], 1);
        assert_int_equal(fin->deps[2], 2);
        assert_int_equal(instr(p, 4, 0)->n_sources, 1);
        assert_int_equal(instr(p, 4, 0)->sources[0].stage, 0);
        assert_int_equal(instr(p, 4, 1)->sources[0].stage, 1);
        /* An unknown --from is an image, not an error. */
        assert_int_equal(instr(p, 4, 2)->sources[0].stage, -1);
        assert_string_equal(instr(p, 4, 2)->sources[0].image, "nginx:latest");
        assert_int_equal(instr(p, 4, 3)->sources[0].stage, 2);
        assert_int_equal(build_plan_find_stage(p, "TEST"), 2);
        assert_int_equal(build_plan_find_stage(p, "nope"), -1);
}

static void
target_prunes(void **state)
{
        struct build_plan *p = plan(MULTI, NULL, "test", NULL);

        assert_int_equal(p->target, 2);
        assert_int_equal(p->n_order, 2);
        assert_int_equal(p->order[0], 0);
        assert_int_equal(p->order[1], 2);
        assert_false(p->stages[1].needed);
        assert_false(p->stages[4].needed);
        p = plan(MULTI, NULL, "TOOLS", NULL);
        assert_int_equal(p->n_order, 1);
        assert_int_equal(p->order[0], 1);
        /* A stage used only through a stage that is pruned is pruned too. */
        p = plan("FROM a AS x\nFROM b AS y\nCOPY --from=x / /\nFROM c AS z\nCOPY --from=y / /\nFROM d\n", NULL, "y",
                 NULL);
        assert_int_equal(p->n_order, 2);
        assert_int_equal(p->order[0], 0);
        assert_int_equal(p->order[1], 1);
        p = plan("FROM a AS x\nFROM b AS y\nCOPY --from=x / /\nFROM c AS z\nCOPY --from=y / /\n", NULL, NULL, NULL);
        assert_int_equal(p->n_order, 3);
}

static void
global_args_scope(void **state)
{
        static const char *const ba[] = { "TAG=3.19", NULL };
        struct build_plan *p;

        p = plan("ARG BASE=alpine\n"
                 "ARG TAG=latest\n"
                 "FROM ${BASE}:${TAG} AS one\n"
                 "RUN echo $BASE\n"
                 "WORKDIR /w/${BASE}x\n"
                 "ARG BASE\n"
                 "WORKDIR /w/${BASE}y\n"
                 "ARG TAG\n"
                 "LABEL tag=$TAG\n"
                 "RUN a\n"
                 "RUN b\n",
                 ba, NULL, NULL);
        assert_string_equal(p->stages[0].base_image, "alpine:3.19");
        /* Not visible in the stage before ARG BASE re-declares it. */
        expect_text(p, 0, 1, "WORKDIR /w/x");
        expect_text(p, 0, 2, "ARG BASE=alpine");
        expect_text(p, 0, 3, "WORKDIR /w/alpiney");
        /* Re-declared without a value: the --build-arg value wins. */
        expect_text(p, 0, 5, "LABEL tag=3.19");
        /* RUN is not expanded by the builder. */
        expect_text(p, 0, 0, "RUN echo $BASE");
        assert_false(env_has_key(instr(p, 0, 0)->env, instr(p, 0, 0)->n_env, "BASE"));
        assert_null(instr(p, 0, 5)->env);
        assert_true(env_has(instr(p, 0, 6)->env, instr(p, 0, 6)->n_env, "BASE=alpine"));
        assert_true(env_has(instr(p, 0, 6)->env, instr(p, 0, 6)->n_env, "TAG=3.19"));
        /* RUNs with the same environment share it. */
        assert_ptr_equal(instr(p, 0, 6)->env, instr(p, 0, 7)->env);
        assert_ptr_not_equal(instr(p, 0, 0)->env, instr(p, 0, 6)->env);
        assert_true(env_has(p->global_args, p->n_global_args, "BASE=alpine"));
        assert_int_equal(p->n_unused_build_args, 0);
}

static void
stage_args(void **state)
{
        static const char *const ba[] = { "B=fromcli", "UNUSED=1", "ZZZ=2", NULL };
        struct build_plan *p;
        const struct build_plan_instr *run;

        p = plan("FROM x\n"
                 "ARG A=one B=two\n"
                 "ARG C=${A}-${B}\n"
                 "ENV A=env\n"
                 "ARG A=ignored\n"
                 "WORKDIR /$A/$C\n"
                 "ARG D\n"
                 "RUN true\n"
                 "USER $D:${D:-none}\n",
                 ba, NULL, NULL);
        expect_text(p, 0, 0, "ARG A=one B=fromcli");
        expect_text(p, 0, 1, "ARG C=one-fromcli");
        /* ENV wins over an ARG of the same name, even one declared later. */
        expect_text(p, 0, 4, "WORKDIR /env/one-fromcli");
        expect_text(p, 0, 5, "ARG D");
        expect_text(p, 0, 7, "USER :none");
        run = instr(p, 0, 6);
        assert_true(env_has(run->env, run->n_env, "A=env"));
        assert_true(env_has(run->env, run->n_env, "C=one-fromcli"));
        assert_false(env_has_key(run->env, run->n_env, "D"));
        /* RUN depends on every ARG in scope (the command sees them). */
        assert_true(env_has(run->build_args, run->n_build_args, "B=fromcli"));
        assert_true(env_has(run->build_args, run->n_build_args, "C=one-fromcli"));
        /* WORKDIR used C (an ARG) but A came from ENV. */
        assert_int_equal(instr(p, 0, 4)->n_build_args, 1);
        assert_string_equal(instr(p, 0, 4)->build_args[0], "C=one-fromcli");
        assert_int_equal(p->n_unused_build_args, 2);
        assert_string_equal(p->unused_build_args[0], "UNUSED");
        assert_string_equal(p->unused_build_args[1], "ZZZ");
        /* $D is declared (empty): no undefined-variable warning. */
        assert_int_equal(p->n_warnings, 0);
}

static void
env_and_label(void **state)
{
        struct build_plan *p = plan("FROM x\n"
                                    "ENV a=1\n"
                                    "ENV a=2 b=$a c=\"x y\"\n"
                                    "ENV legacy some value $a\n"
                                    "LABEL \"k $a\"=\"v ${b}\" other=plain\n"
                                    "STOPSIGNAL SIG$a\n"
                                    "VOLUME [\"/v/$a\", \"/w\"]\n"
                                    "EXPOSE $a 80/udp\n"
                                    "CMD echo $a\n",
                                    NULL, NULL, NULL);

        /* Pairs of one ENV see the environment from before it. */
        expect_text(p, 0, 1, "ENV a=2 b=1 c=\"x y\"");
        expect_text(p, 0, 2, "ENV legacy=\"some value 2\"");
        expect_text(p, 0, 3, "LABEL \"k 2\"=\"v 1\" other=plain");
        expect_text(p, 0, 4, "STOPSIGNAL SIG2");
        expect_text(p, 0, 5, "VOLUME [\"/v/2\", \"/w\"]");
        expect_text(p, 0, 6, "EXPOSE 2 80/udp");
        expect_text(p, 0, 7, "CMD echo $a");
        assert_true(env_has(p->stages[0].final_env, p->stages[0].n_final_env, "c=x y"));
        assert_true(env_has(p->stages[0].final_env, p->stages[0].n_final_env, "legacy=some value 2"));
        assert_true(env_has_key(p->stages[0].final_env, p->stages[0].n_final_env, "PATH"));
}

static void
proxy_and_platform_args(void **state)
{
        static const char *const ba[] = { "HTTP_PROXY=http://proxy:3128", "no_proxy=local", NULL };
        struct build_plan *p;
        const struct build_plan_instr *run;

        p = plan("FROM --platform=$BUILDPLATFORM golang AS b\n"
                 "RUN echo $TARGETARCH\n"
                 "WORKDIR /$TARGETARCH\n"
                 "ARG TARGETARCH TARGETPLATFORM BUILDOS\n"
                 "WORKDIR /$TARGETARCH/$TARGETPLATFORM/$BUILDOS\n"
                 "FROM alpine:$TARGETARCH\n",
                 ba, "b", "linux/arm64/v8");
        assert_string_equal(p->stages[0].platform, "linux/amd64");
        assert_string_equal(p->stages[1].base_image, "alpine:arm64");
        /* Normalized as containerd does: arm64's v8 is the default. */
        assert_string_equal(p->target_platform, "linux/arm64");
        run = instr(p, 0, 0);
        /* Proxy args reach RUN without a declaration... */
        assert_true(env_has(run->env, run->n_env, "HTTP_PROXY=http://proxy:3128"));
        assert_true(env_has(run->env, run->n_env, "no_proxy=local"));
        /* ...platform args only after ARG. */
        assert_false(env_has_key(run->env, run->n_env, "TARGETARCH"));
        expect_text(p, 0, 1, "WORKDIR /");
        expect_text(p, 0, 3, "WORKDIR /arm64/linux/arm64/linux");
        assert_int_equal(p->n_unused_build_args, 0);
        assert_true(env_has(p->global_args, p->n_global_args, "TARGETVARIANT="));
        assert_true(env_has(p->global_args, p->n_global_args, "BUILDARCH=amd64"));
        /* The undefined-variable warning for WORKDIR /$TARGETARCH. */
        assert_int_equal(p->n_warnings, 1);
        assert_non_null(strstr(p->warnings[0], "Dockerfile:3: WORKDIR: undefined variable $TARGETARCH"));
}

static void
copy_flags_and_heredocs(void **state)
{
        struct build_plan *p = plan("FROM x\n"
                                    "ARG U=app MODE=0755 FROM=other\n"
                                    "COPY --chown=$U:$U --chmod=${MODE} --from=$FROM src/$U /dst/\n"
                                    "COPY <<EOF /etc/a\n"
                                    "user $U \"quoted\"\n"
                                    "EOF\n"
                                    "COPY <<'EOF' /etc/b\n"
                                    "user $U\n"
                                    "EOF\n"
                                    "RUN <<EOF\n"
                                    "echo $U\n"
                                    "EOF\n",
                                    NULL, NULL, NULL);
        const struct build_plan_instr *c = instr(p, 0, 1);

        /* --from is not expanded (BuildKit resolves it before expansion);
         * here "$FROM" is then an image name. */
        expect_text(p, 0, 1, "COPY --chown=app:app --chmod=\"${MODE}\" --from=\"$FROM\" src/app /dst/");
        assert_int_equal(c->n_sources, 1);
        assert_int_equal(c->sources[0].stage, -1);
        assert_int_equal(instr(p, 0, 2)->n_heredocs, 1);
        assert_string_equal(instr(p, 0, 2)->heredocs[0], "user app \"quoted\"\n");
        assert_string_equal(instr(p, 0, 3)->heredocs[0], "user $U\n");
        assert_int_equal(instr(p, 0, 4)->n_heredocs, 0);
}

static void
onbuild_triggers(void **state)
{
        struct build_plan *p = plan("FROM a AS base\n"
                                    "ARG V=1\n"
                                    "ONBUILD WORKDIR /v$V\n"
                                    "ONBUILD COPY --from=tools /t /t\n"
                                    "FROM b AS tools\n"
                                    "FROM c AS other\n"
                                    "FROM base\n"
                                    "RUN x\n",
                                    NULL, NULL, NULL);

        /* ONBUILD is not expanded where it is written... */
        expect_text(p, 0, 1, "ONBUILD WORKDIR /v$V");
        /* ...it runs first in the child, expanded there (V is inherited). */
        assert_true(instr(p, 3, 0)->onbuild);
        expect_text(p, 3, 0, "WORKDIR /v1");
        assert_true(instr(p, 3, 1)->onbuild);
        expect_text(p, 3, 2, "RUN x");
        /* The trigger's COPY --from makes "tools" a dependency. */
        assert_int_equal(p->stages[3].n_deps, 2);
        assert_int_equal(p->stages[3].deps[1], 1);
        assert_int_equal(p->n_order, 3);
}

/* A base_config for tests: "bad" fails, "remote/..." is not available,
 * "trig" has ENV and ONBUILD triggers, others ENV HOME and PLAT. */
static int
fake_base_config(void *data, const char *image, const char *platform, struct build_plan_base_config *ret,
                 struct err **err)
{
        char **env;

        if (strcmp(image, "bad") == 0)
                return err_set(err, ERR_MANIFEST_UNKNOWN, "no such image");
        (*(int *) data)++;
        if (strncmp(image, "remote/", 7) == 0)
                return 0;
        env = calloc(4, sizeof(char *));
        if (strcmp(image, "trig") == 0) {
                env[0] = strdup("BASEVAR=fromimage");
                env[1] = strdup("PATH=/image/bin");
                ret->onbuild = calloc(4, sizeof(char *));
                ret->onbuild[0] = strdup("LABEL t=$BASEVAR p=${PATH}");
                ret->onbuild[1] = strdup("COPY --from=tools /t /t");
                ret->onbuild[2] = strdup("RUN echo $BASEVAR");
        } else {
                env[0] = strdup("HOME=/home/base");
                env[1] = xasprintf("PLAT=%s", platform);
        }
        ret->env = env;
        return 1;
}

static struct build_plan *
plan_with_bases(const char *text, int *calls)
{
        struct build_plan_opts o = { .build_platform = "linux/amd64", .base_config = fake_base_config,
                                     .base_config_data = calls };
        struct err *e = NULL;

        cleanup(NULL);
        if (build_df_parse(text, strlen(text), "Dockerfile", &fx.f, &e) < 0)
                fail_msg("parse: %s", err_msg(&e));
        if (build_plan_new(fx.f, &o, &fx.p, &e) < 0)
                fail_msg("plan: %s", err_msg(&e));
        return fx.p;
}

static void
base_image_env(void **state)
{
        int calls = 0;
        struct build_plan_opts o = { .build_platform = "linux/amd64", .base_config = fake_base_config,
                                     .base_config_data = &calls };
        const char *text = "FROM img\nWORKDIR $HOME/$PLAT\nFROM bad\n";
        struct build_df_file *f = NULL;
        struct build_plan *p = NULL;
        struct err *e = NULL;

        assert_int_equal(build_df_parse(text, strlen(text), "Dockerfile", &f, &e), 0);
        o.target = "0";
        assert_true(build_plan_new(f, &o, &p, &e) < 0); /* "0" is no stage name */
        err_clear(&e);
        o.target = NULL;
        assert_true(build_plan_new(f, &o, &p, &e) < 0);
        assert_non_null(strstr(err_msg(&e), "Dockerfile:3: base image bad: no such image"));
        err_clear(&e);
        build_df_file_free(f);
        calls = 0;
        text = "FROM img\nWORKDIR $HOME/$PLAT\n";
        assert_int_equal(build_df_parse(text, strlen(text), "Dockerfile", &f, &e), 0);
        assert_int_equal(build_plan_new(f, &o, &p, &e), 0);
        assert_string_equal(p->stages[0].instrs[0].text, "WORKDIR /home/base/linux/amd64");
        assert_false(p->stages[0].base_unknown);
        assert_int_equal(calls, 1);
        build_plan_free(p);
        build_df_file_free(f);
}

static void
image_onbuild_triggers(void **state)
{
        int calls = 0;
        struct build_plan *p = plan_with_bases("FROM scratch AS tools\n"
                                               "FROM img AS unused\n"
                                               "FROM trig\n"
                                               "LABEL own=$BASEVAR\n",
                                               &calls);
        const struct build_plan_instr *in;

        /* The image's triggers come first, expanded with its ENV (PATH
         * included), on the FROM line. */
        assert_int_equal(p->stages[2].n_instrs, 4);
        in = instr(p, 2, 0);
        assert_true(in->onbuild);
        assert_int_equal(in->line, 3);
        expect_text(p, 2, 0, "LABEL t=fromimage p=/image/bin");
        assert_true(instr(p, 2, 1)->onbuild);
        assert_int_equal(instr(p, 2, 1)->sources[0].stage, 0);
        assert_true(env_has(instr(p, 2, 2)->env, instr(p, 2, 2)->n_env, "BASEVAR=fromimage"));
        expect_text(p, 2, 3, "LABEL own=fromimage");
        assert_false(instr(p, 2, 3)->onbuild);
        /* The trigger's COPY --from makes "tools" needed; "unused" is
         * pruned and never looked up. */
        assert_int_equal(p->n_order, 2);
        assert_int_equal(p->order[0], 0);
        assert_int_equal(p->order[1], 2);
        assert_int_equal(calls, 1);
        assert_int_equal(p->n_warnings, 0);
}

static void
base_config_unknown(void **state)
{
        int calls = 0;
        struct build_plan *p = plan_with_bases("FROM remote/app:1 AS a\n"
                                               "WORKDIR $APPDIR\n"
                                               "FROM a AS b\n"
                                               "ENV X=$APPHOME\n"
                                               "FROM img\n"
                                               "COPY --from=b /x /x\n"
                                               "WORKDIR /$NOPE\n",
                                               &calls);

        /* Not available: no false undefined-variable warning, in the stage
         * or in a stage built on it; a known base still warns. */
        assert_true(p->stages[0].base_unknown);
        assert_true(p->stages[1].base_unknown);
        assert_false(p->stages[2].base_unknown);
        assert_int_equal(p->n_warnings, 1);
        assert_non_null(strstr(p->warnings[0], "Dockerfile:7: WORKDIR: undefined variable $NOPE"));
}

static void
target_stage_arg(void **state)
{
        static const char *const ba[] = { "TARGETSTAGE=fromcli", NULL };
        const char *text = "ARG G=$TARGETSTAGE\n"
                           "FROM a:$TARGETSTAGE AS Build\n"
                           "ARG TARGETSTAGE\n"
                           "ARG G\n"
                           "LABEL s=$TARGETSTAGE g=$G\n"
                           "FROM b AS Final\n"
                           "LABEL s=$TARGETSTAGE\n";
        struct build_plan *p;

        /* No --target: the last stage's name, lower-cased. */
        p = plan(text, NULL, NULL, NULL);
        assert_string_equal(p->stages[0].base_image, "a:final");
        expect_text(p, 1, 0, "LABEL s=\"\"");
        assert_true(env_has(p->global_args, p->n_global_args, "TARGETSTAGE=final"));
        /* Like the platform ARGs: only after ARG TARGETSTAGE in a stage. */
        assert_int_equal(p->n_warnings, 1);
        assert_non_null(strstr(p->warnings[0], "Dockerfile:7: LABEL: undefined variable $TARGETSTAGE"));
        /* --target: the name as given. */
        p = plan(text, NULL, "Build", NULL);
        expect_text(p, 0, 2, "LABEL s=Build g=Build");
        assert_string_equal(p->stages[0].base_image, "a:Build");
        /* An unnamed last stage: "default". */
        p = plan("FROM a AS x\nFROM b\nARG TARGETSTAGE\nLABEL s=$TARGETSTAGE\n", NULL, NULL, NULL);
        expect_text(p, 1, 1, "LABEL s=default");
        /* --build-arg overrides it, and it is never "unused". */
        p = plan(text, ba, "build", NULL);
        expect_text(p, 0, 2, "LABEL s=fromcli g=fromcli");
        assert_int_equal(p->n_unused_build_args, 0);
}

static void
platform_lists(void **state)
{
        struct build_plan_opts o = { .build_platform = "linux/amd64", .platform = "linux/amd64,linux/arm64" };
        const char *text = "FROM scratch\n";
        struct build_df_file *f = NULL;
        struct build_plan *p = NULL;
        struct err *e = NULL;

        assert_int_equal(build_df_parse(text, strlen(text), "Dockerfile", &f, &e), 0);
        assert_true(build_plan_new(f, &o, &p, &e) < 0);
        assert_non_null(strstr(err_msg(&e), "--platform linux/amd64,linux/arm64: multi-platform builds are not "
                                            "supported yet"));
        assert_null(p);
        err_clear(&e);
        build_df_file_free(f);
        plan_error("FROM --platform=linux/amd64,linux/arm64 a\n", NULL, NULL,
                   "failed to parse platform linux/amd64,linux/arm64");
}

static void
errors(void **state)
{
        plan_error("FROM a\nRUN x\n", NULL, "nope", "target stage \"nope\" could not be found");
        plan_error("FROM a AS x\nCOPY --from=x / /\n", NULL, NULL, "Dockerfile:2: circular dependency");
        plan_error("FROM a AS x\nCOPY --from=y / /\nFROM b AS y\n", NULL, "x",
                   "Dockerfile:2: cannot copy from stage \"y\"");
        plan_error("FROM a AS x\nCOPY --from=5 / /\n", NULL, NULL, "Dockerfile:2: invalid stage index 5");
        plan_error("FROM a AS x\nRUN --mount=from=x,target=/x true\n", NULL, NULL, "circular dependency");
        /* A numeric mount source is an image, not a stage index. */
        {
                struct build_plan *p = plan("FROM a AS x\nFROM b\nRUN --mount=type=bind,from=0,target=/x true\n", NULL,
                                            NULL, NULL);

                assert_int_equal(p->stages[1].instrs[0].sources[0].stage, -1);
                assert_string_equal(p->stages[1].instrs[0].sources[0].image, "0");
                assert_int_equal(p->n_order, 1);
                cleanup(NULL);
        }
        plan_error("ARG X\nFROM $X\n", NULL, NULL, "Dockerfile:2: base name ($X) should not be blank");
        plan_error("ARG P=linux\nFROM --platform=$P a\n", NULL, NULL, "failed to parse platform linux");
        plan_error("FROM a\nWORKDIR ${X:?must be set}\n", NULL, NULL, "Dockerfile:2: failed to process");
        plan_error("FROM a\nWORKDIR ${X:?must be set}\n", NULL, NULL, "X: must be set");
        plan_error("ARG A\n", NULL, NULL, "no FROM instruction");
        plan_error("FROM a\n", (const char *const[]){ "=x", NULL }, NULL, "missing name");
}

static void
platforms_and_escape(void **state)
{
        struct build_plan *p;

        p = plan("FROM --platform=Linux/x86_64 a\nARG TARGETPLATFORM TARGETVARIANT\nLABEL p=$TARGETPLATFORM v=$TARGETVARIANT\n",
                 NULL, NULL, "linux/arm");
        assert_string_equal(p->stages[0].platform, "linux/amd64");
        expect_text(p, 0, 1, "LABEL p=linux/arm/v7 v=v7");
        /* A later stage referenced from a pruned stage is no error... */
        p = plan("FROM a AS x\nFROM b AS y\nCOPY --from=z / /\nFROM c AS z\n", NULL, "x", NULL);
        assert_int_equal(p->n_order, 1);
        /* ...but it is from a stage that runs. */
        plan_error("FROM a AS x\nFROM b AS y\nCOPY --from=z / /\nFROM c AS z\n", NULL, "y", "cannot copy from stage");
        /* # escape=` : the backtick escapes, the backslash is literal. */
        p = plan("# escape=`\nFROM a\nENV D=dir\nWORKDIR C:\\`$D\\$D\nCOPY <<EOF /x\n\\$D `$D\nEOF\n", NULL, NULL,
                 NULL);
        expect_text(p, 0, 1, "WORKDIR C:\\$D\\dir");
        /* Heredoc bodies use '\\' whatever the escape directive says. */
        assert_string_equal(instr(p, 0, 2)->heredocs[0], "$D `dir\n");
}

static void
all_stages(void **state)
{
        struct build_plan_opts o = { .build_platform = "linux/amd64", .all_stages = true, .target = "a" };
        const char *text = "FROM x AS a\nWORKDIR /a\nFROM y AS b\nWORKDIR /b/$NOPE\n";
        struct build_df_file *f = NULL;
        struct build_plan *p = NULL;
        struct err *e = NULL;

        assert_int_equal(build_df_parse(text, strlen(text), "Dockerfile", &f, &e), 0);
        assert_int_equal(build_plan_new(f, &o, &p, &e), 0);
        assert_int_equal(p->n_order, 1);
        assert_false(p->stages[1].needed);
        assert_int_equal(p->stages[1].n_instrs, 1);
        assert_string_equal(p->stages[1].instrs[0].text, "WORKDIR /b/");
        assert_int_equal(p->n_warnings, 1);
        build_plan_free(p);
        build_df_file_free(f);
}

static void
json_and_rendering(void **state)
{
        struct build_plan *p = plan("FROM a\n"
                                    "ENTRYPOINT [\"/bin/sh\", \"-c\", \"echo \\\"$X\\\"\"]\n"
                                    "COPY [\"a b\", \"/c/\"]\n"
                                    "HEALTHCHECK --interval=5s CMD curl -f http://localhost/\n"
                                    "SHELL [\"/bin/bash\", \"-c\"]\n",
                                    NULL, NULL, NULL);

        expect_text(p, 0, 0, "ENTRYPOINT [\"/bin/sh\", \"-c\", \"echo \\\"$X\\\"\"]");
        expect_text(p, 0, 1, "COPY [\"a b\", \"/c/\"]");
        expect_text(p, 0, 2, "HEALTHCHECK --interval=5s CMD curl -f http://localhost/");
        expect_text(p, 0, 3, "SHELL [\"/bin/bash\", \"-c\"]");
        assert_int_equal(instr(p, 0, 1)->line, 3);
        assert_ptr_equal(instr(p, 0, 1)->node, &fx.f->instrs[2]);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(stages_and_deps, cleanup),
                cmocka_unit_test_teardown(target_prunes, cleanup),
                cmocka_unit_test_teardown(global_args_scope, cleanup),
                cmocka_unit_test_teardown(stage_args, cleanup),
                cmocka_unit_test_teardown(env_and_label, cleanup),
                cmocka_unit_test_teardown(proxy_and_platform_args, cleanup),
                cmocka_unit_test_teardown(copy_flags_and_heredocs, cleanup),
                cmocka_unit_test_teardown(onbuild_triggers, cleanup),
                cmocka_unit_test(base_image_env),
                cmocka_unit_test_teardown(image_onbuild_triggers, cleanup),
                cmocka_unit_test_teardown(base_config_unknown, cleanup),
                cmocka_unit_test_teardown(target_stage_arg, cleanup),
                cmocka_unit_test(platform_lists),
                cmocka_unit_test(errors),
                cmocka_unit_test_teardown(platforms_and_escape, cleanup),
                cmocka_unit_test(all_stages),
                cmocka_unit_test_teardown(json_and_rendering, cleanup),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
