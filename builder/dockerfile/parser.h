/* Dockerfile parser: bytes in, a syntax tree out, exactly as BuildKit's
 * frontend/dockerfile/parser reads them (directives, comments, line
 * continuations, heredocs, JSON exec form vs shell form, flags).
 *
 * Nothing is expanded here: every string is raw, as written (quotes and
 * escape characters kept), except JSON-form arguments (decoded JSON strings),
 * heredoc delimiter names (quotes removed) and flag words (quotes removed,
 * as BuildKit does).  Word expansion is builder/dockerfile/shell.h's job.
 *
 *     struct build_df_file *f = NULL;
 *     if (build_df_parse_path("Dockerfile", &f, err) < 0)
 *             return -1;                       // err says FILE:LINE:COL: what
 *     if (build_df_validate(f, err) < 0)       // instruction-level rules
 *             ...
 *     for (size_t i = 0; i < f->n_instrs; i++) {
 *             const struct build_df_instr *in = &f->instrs[i];
 *             if (in->kind == BUILD_DF_COPY) {
 *                     const struct build_df_flag *from = build_df_flag(in, "from");
 *                     ...
 *     }
 *     build_df_file_free(f);
 *
 * Two levels of checking, as in BuildKit:
 *  - build_df_parse() rejects what the parser itself rejects (unknown
 *    instruction, unterminated heredoc, JSON array holding non-strings,
 *    ENV/LABEL without a value, a repeated or invalid directive, a file with
 *    no instructions, caps) and is what `ibuild debug ast` shows;
 *  - build_df_validate() applies the per-instruction rules BuildKit checks
 *    when it turns the tree into commands: which flags an instruction takes,
 *    flag values, argument counts, HEALTHCHECK CMD/NONE, SHELL needs JSON,
 *    ONBUILD triggers.  The build plan and `ibuild --check` call it.
 */
#ifndef BUILDER_DOCKERFILE_PARSER_H
#define BUILDER_DOCKERFILE_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

enum build_df_kind {
        BUILD_DF_ADD,
        BUILD_DF_ARG,
        BUILD_DF_CMD,
        BUILD_DF_COPY,
        BUILD_DF_ENTRYPOINT,
        BUILD_DF_ENV,
        BUILD_DF_EXPOSE,
        BUILD_DF_FROM,
        BUILD_DF_HEALTHCHECK,
        BUILD_DF_LABEL,
        BUILD_DF_MAINTAINER,
        BUILD_DF_ONBUILD,
        BUILD_DF_RUN,
        BUILD_DF_SHELL,
        BUILD_DF_STOPSIGNAL,
        BUILD_DF_USER,
        BUILD_DF_VOLUME,
        BUILD_DF_WORKDIR,
        BUILD_DF_KIND_COUNT
};

/* A position in the source: 1-based line and column (column counts bytes). */
struct build_df_pos {
        int line;
        int col;
};

/* One `--name[=value]` word before an instruction's arguments. */
struct build_df_flag {
        char *raw;   /* the word with quotes removed, e.g. "--from=build" */
        char *name;  /* "from" (between "--" and the first '=') */
        char *value; /* "build"; NULL when the word had no '=' ("--link") */
        struct build_df_pos pos;
};

/* A heredoc body attached to RUN, COPY or ADD (`<<EOF`, `<<-EOF`,
 * `<<"EOF"`, `<<'EOF'`, `3<<EOF`; several per line, bodies in order). */
struct build_df_heredoc {
        char *name;     /* delimiter, quotes removed: "EOF" */
        char *content;  /* body lines, each with its newline; for `<<-` the
                         * leading tabs of every line are already removed */
        int fd;         /* "3<<EOF" gives 3; -1 when no number was written */
        bool expand;    /* false when any part of the delimiter was quoted:
                         * the body must then not be expanded */
        bool chomp;     /* written as `<<-` */
        int start_line; /* first body line */
        int end_line;   /* the terminator's line */
};

/* One instruction.
 *
 * args, by kind (all raw, unexpanded, NUL-terminated; arg_lens[i] is the
 * length, which differs from strlen() only when a JSON string held "\u0000"):
 *  - RUN CMD ENTRYPOINT SHELL: JSON form (json=true): one arg per array
 *    element (decoded); shell form: one arg, the whole command line
 *    (continuations joined, comment lines inside them dropped). No args
 *    when written with nothing after the keyword.
 *  - ADD COPY VOLUME: JSON form: the decoded elements (json=true); else
 *    the whitespace-separated words (quotes kept, as written).
 *  - FROM EXPOSE: the whitespace-separated words ("img" "AS" "name").
 *  - ENV LABEL: triples (key, raw value, separator): separator "" for the
 *    legacy `ENV key value` form (value = rest of the line), "=" for
 *    `key=value` pairs.  n_args is a multiple of 3, at least 3.
 *  - ARG: one word per declaration, "name" or "name=value" (quotes kept).
 *  - HEALTHCHECK: args[0] the type as written ("CMD", "NONE"), then the
 *    command as for CMD (json tells its form); none for a bare HEALTHCHECK.
 *  - MAINTAINER STOPSIGNAL USER WORKDIR: one arg, the rest of the line.
 *  - ONBUILD: no args; `sub` is the trigger instruction.
 */
struct build_df_instr {
        enum build_df_kind kind;
        char *keyword;  /* the keyword as written ("run", "Copy") */
        char *original; /* the logical line (keyword included, continuations
                         * joined), without heredoc bodies */
        struct build_df_flag *flags;
        size_t n_flags;
        char **args;
        size_t *arg_lens;
        size_t n_args;
        bool json; /* arguments came from a JSON array (exec form) */
        struct build_df_heredoc *heredocs;
        size_t n_heredocs;
        struct build_df_instr *sub; /* ONBUILD's trigger; NULL otherwise */
        struct build_df_pos pos;    /* where the keyword is */
        int start_line;             /* first line of the instruction */
        int end_line;               /* last line, heredoc bodies included */
};

/* A parsed Dockerfile. */
struct build_df_file {
        char *name;                               /* the name used in messages ("Dockerfile", "-": "<stdin>") */
        char escape;                              /* '\\' or '`' from `# escape=` */
        char *syntax;                             /* `# syntax=` value, NULL when absent */
        char *check;                              /* `# check=` value (e.g. "skip=A,B;error=true"), NULL when absent */
        int syntax_line, check_line, escape_line; /* 0 when absent */
        struct build_df_instr *instrs;
        size_t n_instrs;
        char **warnings;    /* "FILE:LINE: message" (e.g. empty continuation lines) */
        int *warning_lines; /* the LINE of each warning */
        size_t n_warnings;
};

/* Parse LEN bytes of BUF (need not be NUL-terminated; embedded NULs are an
 * error) as a Dockerfile.  NAME is used in error messages (may be NULL:
 * "Dockerfile").  On success *ret_file is a new tree owned by the caller
 * (free with build_df_file_free).  On failure returns < 0 with ERR_PARSE
 * (or ERR_SIZE_INVALID for a cap) and a message "NAME:LINE:COL: ...". */
int build_df_parse(const char *buf, size_t len, const char *name, struct build_df_file **ret_file, struct err **err);

/* Read PATH ("-" is stdin) under LIMIT_DOCKERFILE_SIZE and parse it. */
int build_df_parse_path(const char *path, struct build_df_file **ret_file, struct err **err);

/* Free a tree; NULL is a no-op. */
void build_df_file_free(struct build_df_file *f);

/* Check every instruction against BuildKit's per-instruction rules (allowed
 * flags and their values, argument counts, HEALTHCHECK/SHELL/ONBUILD
 * shapes).  Returns 0, or < 0 with ERR_PARSE and "NAME:LINE:COL: ..." for
 * the first problem, e.g. "unknown flag --form for COPY (valid: --from ...)". */
int build_df_validate(const struct build_df_file *f, struct err **err);

/* The tree in the BuildKit test-vector dump format, one "(kind ...)" line per
 * instruction, ending with one newline.  Caller frees. */
char *build_df_dump(const struct build_df_file *f);

/* The first flag named NAME ("from", without the dashes) on IN, or NULL.
 * Pass the previous result as AFTER to get the next one (for repeatable
 * flags like --mount and --exclude), NULL to start. */
const struct build_df_flag *build_df_flag(const struct build_df_instr *in, const char *name);
const struct build_df_flag *build_df_flag_next(const struct build_df_instr *in, const char *name,
                                               const struct build_df_flag *after);

/* "RUN" for BUILD_DF_RUN; the keyword in upper case. */
const char *build_df_kind_name(enum build_df_kind kind);

/* The kind for a keyword (any case), or -1 when it is no instruction. */
int build_df_kind_from_name(const char *word);

/* Whether the instruction's arguments go through word expansion at build time
 * (ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR ONBUILD ARG;
 * not RUN CMD ENTRYPOINT SHELL HEALTHCHECK MAINTAINER). */
bool build_df_kind_expands(enum build_df_kind kind);

#endif
