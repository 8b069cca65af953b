/* The build plan: a parsed Dockerfile turned into the stages to run, in
 * order, with every instruction expanded the way BuildKit does it.
 *
 *   - Stages: `FROM img [AS name]` (names case-insensitive).  A stage's base
 *     is scratch, an earlier stage (by name) or an image reference.
 *     `COPY --from=X` and `RUN --mount=...,from=X` name a stage (by name or
 *     index) or else an image.  A reference to the stage itself is a cycle,
 *     to a later stage an error, an out-of-range index an error.
 *   - --target selects the final stage; stages it does not need
 *     (transitively) are pruned.  Without it the last stage is the target.
 *   - ARG scoping: ARGs before the first FROM (global) expand FROM lines
 *     (image and --platform) only; inside a stage an ARG must be declared
 *     (`ARG NAME` without a value inherits the global value); --build-arg
 *     overrides defaults.  Automatic ARGs (BUILDPLATFORM BUILDOS
 *     BUILDARCH BUILDVARIANT TARGETPLATFORM TARGETOS TARGETARCH
 *     TARGETVARIANT, and TARGETSTAGE: the --target value as given, else the
 *     last stage's name in lower case, else "default", as BuildKit's
 *     dockerfile2llb sets it) are global and behave like --build-args
 *     nobody has to pass.  Proxy ARGs (HTTP_PROXY http_proxy HTTPS_PROXY https_proxy
 *     FTP_PROXY ftp_proxy NO_PROXY no_proxy ALL_PROXY all_proxy) given as
 *     --build-arg reach RUN without a declaration and are never "unused".
 *     ENV wins over an ARG of the same name.
 *   - Expanded at plan time: ADD COPY (sources, destination, --chown, ADD's
 *     --checksum; not --chmod --from --exclude, as BuildKit) ENV LABEL (keys and values) EXPOSE FROM
 *     STOPSIGNAL USER VOLUME WORKDIR, ARG defaults, RUN --mount values,
 *     COPY/ADD heredoc bodies unless the delimiter was quoted.  Not
 *     expanded: RUN CMD ENTRYPOINT SHELL HEALTHCHECK MAINTAINER (the shell
 *     or the runtime does it) and ONBUILD triggers (they expand when they
 *     run, in the child stage, where the plan inserts them).
 *   - ONBUILD triggers of the base (a stage's ONBUILD lines, or an image's
 *     OnBuild list from opts->base_config) are the child stage's first
 *     instructions, expanded with the base's environment (the image's ENV,
 *     PATH included).  A trigger's COPY --from / RUN --mount from= adds a
 *     dependency like any instruction (BuildKit resolves them the same way).
 */
#ifndef BUILDER_DOCKERFILE_PLAN_H
#define BUILDER_DOCKERFILE_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "builder/dockerfile/parser.h"
#include "common/err.h"

enum build_plan_base {
        BUILD_PLAN_BASE_SCRATCH,
        BUILD_PLAN_BASE_IMAGE,
        BUILD_PLAN_BASE_STAGE,
};

/* A flag after expansion ("--chown=app" -> name "chown", value "app"). */
struct build_plan_flag {
        char *name;
        char *value; /* NULL for a flag written without '=' */
};

/* Another stage or an image one instruction reads from. */
struct build_plan_source {
        int stage;   /* stage index, or -1 for an image */
        char *image; /* the reference when stage == -1 */
};

struct build_plan_instr {
        const struct build_df_instr *node; /* the AST node (borrowed from the file) */
        enum build_df_kind kind;
        int line, end_line; /* source lines */
        bool onbuild;       /* a trigger inherited from the base stage's ONBUILD */
        /* Arguments after expansion, laid out as in the AST (see parser.h),
         * except: ENV/LABEL give pairs (key, value) with quotes removed; ARG
         * gives one "NAME" or "NAME=VALUE" per declaration with the value
         * resolved (build-arg, default, or inherited global); EXPOSE gives
         * the split words.  Kinds that do not expand keep the raw AST
         * arguments. */
        char **args;
        size_t n_args;
        struct build_plan_flag *flags;
        size_t n_flags;
        /* COPY/ADD heredoc bodies after expansion (one per AST heredoc). */
        char **heredocs;
        size_t n_heredocs;
        /* One line for people: "COPY --chown=app src/ /app/". */
        char *text;
        /* RUN only (NULL otherwise): the environment the command sees
         * ("K=V"): the stage's ENV (base first), the ARGs in scope that ENV
         * does not shadow, and proxy --build-args.  Owned by the plan and
         * shared between RUNs with the same environment. */
        char **env;
        size_t n_env;
        /* "NAME=VALUE" for every ARG this instruction depends on: for RUN
         * every ARG in scope (the command sees them), for the others the
         * ARGs referenced while expanding.  Cache keys include these. */
        char **build_args;
        size_t n_build_args;
        /* COPY --from / RUN --mount from= sources. */
        struct build_plan_source *sources;
        size_t n_sources;
};

struct build_plan_stage {
        int index;                         /* position in the Dockerfile */
        char *name;                        /* as written after AS, NULL when none */
        const struct build_df_instr *from; /* the FROM node */
        enum build_plan_base base;
        char *base_image;   /* expanded reference (BASE_IMAGE; "scratch" for scratch) */
        int base_stage;     /* BASE_STAGE: the stage index; else -1 */
        char *platform;     /* expanded FROM --platform, NULL when absent */
        /* The base image's config was not available (base_config said so),
         * or this stage is built on a stage whose base is such an image: its
         * ENV and ONBUILD triggers are unknown, so expansions assume none
         * and undefined variables are not warned about. */
        bool base_unknown;
        struct build_plan_instr *instrs;
        size_t n_instrs;
        int *deps; /* stages this one needs (base, --from, mounts), sorted, unique */
        size_t n_deps;
        bool needed; /* reachable from the target */
        /* The stage's ENV at its end ("K=V"), for stages built on it. */
        char **final_env;
        size_t n_final_env;
};

struct build_plan {
        struct build_plan_stage *stages; /* every stage, Dockerfile order */
        size_t n_stages;
        int *order; /* stages to run, dependencies first, target last */
        size_t n_order;
        int target;
        char *target_platform; /* "linux/amd64" */
        char *build_platform;
        char **global_args; /* resolved global ARGs and automatic ones, "K=V" */
        size_t n_global_args;
        char **unused_build_args; /* --build-arg names no ARG consumed */
        size_t n_unused_build_args;
        char **warnings; /* "FILE:LINE: ..." e.g. undefined variables */
        size_t n_warnings;
        char ***env_storage; /* private: the arrays behind instructions' env */
        size_t n_env_storage;
        struct build_df_file **trigger_files; /* private: parsed image ONBUILD triggers */
        size_t n_trigger_files;
};

/* What the base_config callback says of an image: both lists
 * NULL-terminated (or NULL), allocated with malloc; the plan frees them. */
struct build_plan_base_config {
        char **env;     /* the config's Env, "K=V" */
        char **onbuild; /* the config's OnBuild triggers as stored ("RUN make") */
};

struct build_plan_opts {
        /* --build-arg values, "NAME=VALUE" (later wins). */
        const char *const *build_args;
        size_t n_build_args;
        /* --target: a stage name (any case); NULL for the last stage. */
        const char *target;
        /* --platform of the result ("linux/arm64"); NULL: the build platform. */
        const char *platform;
        /* The platform building (NULL: this machine's). */
        const char *build_platform;
        /* Expand every stage, needed or not (for linting); `order` and
         * `needed` still describe what the target needs. */
        bool all_stages;
        /* Optional: the config of base image IMAGE for PLATFORM (the stage's
         * FROM --platform, else the target platform), asked once per needed
         * image stage.  Returns 1 with *ret filled, 0 when the config is not
         * available (the stage gets base_unknown), < 0 on error (the plan
         * fails, naming the FROM line).  Without it an image base has no
         * ENV but PATH (as BuildKit gives images without PATH) and no
         * triggers. */
        int (*base_config)(void *data, const char *image, const char *platform, struct build_plan_base_config *ret,
                           struct err **err);
        void *base_config_data;
};

/* Build the plan for the parsed file F with OPTS (NULL: no build args, last
 * stage, this machine's platform).  F must outlive the plan.  Errors name
 * the file and line: ERR_PARSE for expansion errors, an unknown --target,
 * a cycle, a reference to a later stage, a bad stage index, an empty base
 * name, a malformed --platform or --mount, a --platform list ("linux/amd64,
 * linux/arm64": multi-platform builds are not supported yet), an image's
 * ONBUILD trigger that does not parse. */
int build_plan_new(const struct build_df_file *f, const struct build_plan_opts *opts, struct build_plan **ret_plan,
                   struct err **err);

/* Free; NULL is a no-op. */
void build_plan_free(struct build_plan *p);

/* The platform of this machine in OCI form ("linux/amd64", "linux/arm64",
 * "linux/arm/v7"...); owned by the caller. */
char *build_plan_host_platform(void);

/* Find a stage by name (any case); -1 when none. */
int build_plan_find_stage(const struct build_plan *p, const char *name);

#endif
