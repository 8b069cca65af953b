/* Shared state of the lint checks (lint.c walks the file and calls the
 * families: lint-vars.c, lint-image.c, lint-buildkit.c, lint-hadolint.c;
 * lint-shell.c splits RUN commands, lint-set.c holds the name sets).
 * Not part of the public API. */
#ifndef BUILDER_DOCKERFILE_LINT_INTERNAL_H
#define BUILDER_DOCKERFILE_LINT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "builder/dockerfile/lint.h"
#include "builder/dockerfile/parser-internal.h"

enum rule_id {
        /* ours */
        R_UNPINNED,
        R_ROOT,
        R_ADD,
        R_SECRETS,
        R_APT_RECOMMENDS,
        R_APT_LISTS,
        R_MAINTAINER,
        R_JSONARGS,
        R_DUPSTAGE,
        R_UNDEFVAR,
        R_PORT,
        R_EMPTYCONT,
        R_BADJSON,
        /* BuildKit's */
        R_STAGE_CASING,
        R_FROM_AS_CASING,
        R_INSTR_CASING,
        R_RESERVED_STAGE,
        R_UNDEF_ARG_FROM,
        R_WORKDIR_REL,
        R_MULTIPLE,
        R_LEGACY_KV,
        R_BASE_PLATFORM,
        R_REDUNDANT_PLATFORM,
        R_DEFAULT_ARG_FROM,
        R_CONST_PLATFORM,
        R_COPY_IGNORED,
        R_DEF_DESCRIPTION,
        R_EXPOSE_CASING,
        R_EXPOSE_FORMAT,
        /* hadolint's */
        R_PIN_APT,
        R_PIN_APK,
        R_PIN_PIP,
        R_PIN_NPM,
        R_YES,
        R_APK_CACHE,
        R_PIP_CACHE,
        R_YUM_CLEAN,
        R_CD,
        R_SUDO,
        R_COPY_RELATIVE,
        R_CONSECUTIVE_RUN,
        R_COUNT
};

extern const struct build_df_lint_rule lint_rules[R_COUNT];

/* ---- name sets (lint-set.c) -------------------------------------------- */

/* Names in insertion order (for suggestions) plus an open-addressing table
 * of their indexes, so a Dockerfile with many ARG/ENV names or stages is
 * linted in linear time, not quadratic. */
struct strset {
        char **v;
        size_t n, alloc;
        size_t *slots; /* index + 1, 0 = empty; a power of two, at most half full */
        size_t n_slots;
};

size_t lint_name_hash(const char *name, size_t len, bool fold);
bool set_has(const struct strset *s, const char *name, size_t len);
void set_add(struct strset *s, const char *name, size_t len);
void set_copy(struct strset *dst, const struct strset *src);
void set_free(struct strset *s);

/* ---- state ------------------------------------------------------------- */

/* CMD, ENTRYPOINT, HEALTHCHECK: MultipleInstructionsDisallowed. */
enum { ONCE_CMD, ONCE_ENTRYPOINT, ONCE_HEALTHCHECK, ONCE_COUNT };

struct lint_stage {
        char *name; /* lower case, NULL when unnamed */
        const struct build_df_instr *from;
        int parent;                        /* index of the stage it builds on, -1 for an image */
        struct strset env;                 /* ENV names (inherited by child stages) */
        const struct build_df_instr *user; /* last USER */
        bool untracked;                    /* env incomplete (LINT_COPY_BUDGET) */
        bool scratch;                      /* its chain of bases ends in scratch */
        bool runs;                         /* sets CMD or ENTRYPOINT */
        bool workdir;                      /* a WORKDIR (its own, a parent's, the base image's) */
        char *base_user;                   /* the base image's User, when known and set */
        const struct build_df_instr *once[ONCE_COUNT];
        const struct build_df_instr *prev_run; /* the RUN just before, for DL3059 */
        size_t prev_run_cmds;
};

/* A finding that counts only when its stage ends up in the final image
 * (the last stage or one it builds on with FROM). */
struct lint_pending {
        enum rule_id rule;
        int stage;
        int line;
        char *message;
};

struct lint {
        const struct build_df_file *f;
        const struct build_df_lint_opts *opts; /* never NULL */
        bool skip[R_COUNT];
        bool experimental[R_COUNT]; /* experimental rules asked for */
        struct build_df_lint *out;
        size_t alloc;
        struct lint_stage *stages;
        size_t n_stages, a_stages;
        size_t *stage_slots; /* stage index + 1 by name hash, 0 = empty */
        size_t n_stage_slots;
        struct strset meta;  /* ARGs before the first FROM */
        struct strset scope; /* ARGs and ENVs of the current stage */
        size_t copied;       /* names copied into stages so far */
        bool untracked;      /* the current stage's scope is incomplete */
        struct lint_pending *pending;
        size_t n_pending, a_pending;
        /* Lines of the source, for comments (NULL without opts->source). */
        const char **lines;
        size_t *line_lens;
        size_t n_lines;
};

void lint_report(struct lint *l, enum rule_id r, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* As lint_report, for the current stage, kept only if that stage is part
 * of the final image. */
void lint_report_final(struct lint *l, enum rule_id r, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The stage named NAME (case-insensitive), or -1. */
int lint_stage_by_name(const struct lint *l, const char *name);

/* The current stage (the last one begun); NULL before the first FROM. */
static inline struct lint_stage *
lint_cur(struct lint *l)
{
        return l->n_stages ? &l->stages[l->n_stages - 1] : NULL;
}

/* ---- variables (lint-vars.c) ------------------------------------------- */

enum lint_vars_ctx {
        LINT_VARS_STAGE,  /* inside a stage: UndefinedVar */
        LINT_VARS_GLOBAL, /* a global ARG's value: UndefinedVar, platform ARGs defined */
        LINT_VARS_FROM,   /* FROM and its flags: UndefinedArgInFrom */
};

bool lint_is_name_start(char c);
bool lint_is_name_char(char c);
/* Report every `$NAME` / `${NAME...}` in S that SCOPE does not define. */
void lint_check_vars(struct lint *l, const struct strset *scope, enum lint_vars_ctx ctx, const char *s, int line);
void lint_check_flags_vars(struct lint *l, const struct build_df_instr *in, const struct strset *scope,
                           enum lint_vars_ctx ctx);
/* Expand $NAME / ${NAME} from the global ARG defaults (only those given a
 * default); NULL when something cannot be resolved.  Caller frees. */
char *lint_resolve_meta(const struct build_df_file *f, const char *s);
/* Expand S as BuildKit does with no --build-arg: global ARGs take their
 * defaults, declared ones without a default are empty, ${V:-x} ${V-x}
 * ${V:+x} ${V+x} apply.  NULL when S uses anything else (a platform ARG,
 * an undeclared name, quotes, nested expansions).  Caller frees. */
char *lint_expand_defaults(const struct build_df_file *f, const char *s);
/* Declare IN's ARG names in SCOPE, checking default values (GLOBAL: before
 * the first FROM) and names (SecretsUsedInArgOrEnv). */
void lint_declare_arg(struct lint *l, const struct build_df_instr *in, struct strset *scope, bool global);

/* ---- RUN commands (lint-shell.c) --------------------------------------- */

/* One simple command of a RUN: its words with quotes removed. */
struct lint_cmd {
        char **argv;
        size_t argc;
};

struct lint_cmds {
        struct lint_cmd *v;
        size_t n;
};

/* Split the commands IN (a RUN) runs: shell form text and heredoc bodies
 * at ; & | ( ) and newlines; exec form as one command ("sh -c SCRIPT"
 * splits SCRIPT).  A rough reading of sh, enough for word checks. */
void lint_cmds_of_run(const struct build_df_instr *in, struct lint_cmds *ret);
void lint_cmds_free(struct lint_cmds *c);
/* The index of C's program word, after variable assignments, `sudo` and
 * its flags, and shell keywords (if, then, do, !, exec, env, ...); argc
 * when there is none. */
size_t lint_cmd_prog(const struct lint_cmd *c);
/* Whether C's program (basename) is PROG; *ret_i (may be NULL) gets its
 * index. */
bool lint_cmd_is(const struct lint_cmd *c, const char *prog, size_t *ret_i);
/* Whether the first word after index I that is not a flag is SUB. */
bool lint_cmd_sub(const struct lint_cmd *c, size_t i, const char *sub);
/* Whether any word after index I is WORD. */
bool lint_cmd_has(const struct lint_cmd *c, size_t i, const char *word);
/* Whether a word after index I is one of the flags in NAMES (exact, or
 * "--name=..." for long ones); single-dash words of letters also match a
 * one-letter name among them ("-yq" has "-y"). NAMES ends with NULL. */
bool lint_cmd_flag(const struct lint_cmd *c, size_t i, const char *const *names);
/* Whether a RUN --mount of type cache or tmpfs covers PATH (its target is
 * PATH or a parent of it). */
bool lint_run_mounts(const struct build_df_instr *in, const char *path);

/* ---- the families ------------------------------------------------------ */

/* lint-image.c: ours.  Each takes the instruction IN of the current stage
 * (FROM: the one beginning it) and reports through lint_report. */
void lint_check_unpinned(struct lint *l, const struct build_df_instr *in); /* FROM */
void lint_check_add(struct lint *l, const struct build_df_instr *in);      /* ADD */
/* SecretsUsedInArgOrEnv for the ARG or ENV name NAME (LEN bytes) of IN. */
void lint_check_secret(struct lint *l, const struct build_df_instr *in, const char *name, size_t len);
/* The apt-get checks over the commands CMDS of RUN IN. */
void lint_check_apt(struct lint *l, const struct build_df_instr *in, const struct lint_cmds *cmds);
void lint_check_expose_port(struct lint *l, const struct build_df_instr *in); /* EXPOSE */
/* JSONArgsInvalid; true when reported (the other checks then skip IN). */
bool lint_check_bad_json(struct lint *l, const struct build_df_instr *in);
/* RunAsRoot, once every stage is known. */
void lint_check_final_user(struct lint *l);

/* lint-buildkit.c: BuildKit's build checks. */
/* The FROM checks of IN, whose stage is called NAME (as written; NULL when
 * unnamed); called before the stage is added. */
void lint_bk_from(struct lint *l, const struct build_df_instr *in, const char *name);
/* InvalidBaseImagePlatform: IN's base IMAGE, known through the base
 * callback as BASE, against PLATFORM (NULL: not checked). */
void lint_bk_base(struct lint *l, const struct build_df_instr *in, const char *image, const char *platform,
                  const struct build_df_lint_base *base);
/* InvalidDefinitionDescription of an ARG. */
void lint_bk_arg(struct lint *l, const struct build_df_instr *in);
/* The checks of any instruction IN inside a stage (WORKDIR, CMD, ...). */
void lint_bk_instr(struct lint *l, const struct build_df_instr *in);
/* ConsistentInstructionCasing, over the whole file. */
void lint_bk_file(struct lint *l);
/* The constant value of FROM's --platform (NULL when absent or it uses a
 * variable; borrowed from IN). */
const char *lint_from_platform(const struct build_df_instr *in);

/* lint-hadolint.c: hadolint's rules. */
/* The RUN rules over the commands CMDS of RUN IN. */
void lint_hl_run(struct lint *l, const struct build_df_instr *in, const struct lint_cmds *cmds);
/* CopyRelativeDestination of COPY IN. */
void lint_hl_copy(struct lint *l, const struct build_df_instr *in);
/* Any instruction but RUN ends a series of consecutive RUNs. */
void lint_hl_other(struct lint *l, const struct build_df_instr *in);

#endif
