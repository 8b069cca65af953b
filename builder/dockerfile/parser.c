/* Dockerfile parser: physical lines -> logical instructions -> syntax tree.
 *
 * Follows BuildKit's frontend/dockerfile/parser (parser.go, line_parsers.go,
 * split_command.go) rule for rule, because users' Dockerfiles are written
 * against it and the shared test vectors come from it:
 *  - parser directives (`# escape=`, `# syntax=`, `# check=`) only in the
 *    leading comment block, case-insensitive keys, each at most once;
 *  - a line ending in the escape character (then only blanks) continues;
 *    comment lines and empty lines inside a continuation are dropped;
 *  - the first word is the instruction, then `--flag` words, then the
 *    arguments, parsed per instruction (JSON or shell form, words, key/value);
 *  - RUN/COPY/ADD (also as ONBUILD triggers) in shell form may carry heredocs
 *    whose bodies follow the instruction line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "builder/dockerfile/parser-internal.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "common/utf8.h"

static const char *const kind_names[BUILD_DF_KIND_COUNT] = {
    [BUILD_DF_ADD] = "ADD",
    [BUILD_DF_ARG] = "ARG",
    [BUILD_DF_CMD] = "CMD",
    [BUILD_DF_COPY] = "COPY",
    [BUILD_DF_ENTRYPOINT] = "ENTRYPOINT",
    [BUILD_DF_ENV] = "ENV",
    [BUILD_DF_EXPOSE] = "EXPOSE",
    [BUILD_DF_FROM] = "FROM",
    [BUILD_DF_HEALTHCHECK] = "HEALTHCHECK",
    [BUILD_DF_LABEL] = "LABEL",
    [BUILD_DF_MAINTAINER] = "MAINTAINER",
    [BUILD_DF_ONBUILD] = "ONBUILD",
    [BUILD_DF_RUN] = "RUN",
    [BUILD_DF_SHELL] = "SHELL",
    [BUILD_DF_STOPSIGNAL] = "STOPSIGNAL",
    [BUILD_DF_USER] = "USER",
    [BUILD_DF_VOLUME] = "VOLUME",
    [BUILD_DF_WORKDIR] = "WORKDIR",
};

const char *
build_df_kind_name(enum build_df_kind kind)
{
        if ((int) kind < 0 || kind >= BUILD_DF_KIND_COUNT)
                return "?";
        return kind_names[kind];
}

int
build_df_kind_from_name(const char *word)
{
        int k;
        for (k = 0; k < BUILD_DF_KIND_COUNT; k++)
                if (strcasecmp(word, kind_names[k]) == 0)
                        return k;
        return -1;
}

bool
build_df_kind_expands(enum build_df_kind kind)
{
        switch (kind) {
        case BUILD_DF_ADD:
        case BUILD_DF_ARG:
        case BUILD_DF_COPY:
        case BUILD_DF_ENV:
        case BUILD_DF_EXPOSE:
        case BUILD_DF_FROM:
        case BUILD_DF_LABEL:
        case BUILD_DF_ONBUILD:
        case BUILD_DF_STOPSIGNAL:
        case BUILD_DF_USER:
        case BUILD_DF_VOLUME:
        case BUILD_DF_WORKDIR:
                return true;
        default:
                return false;
        }
}

const struct build_df_flag *
build_df_flag_next(const struct build_df_instr *in, const char *name, const struct build_df_flag *after)
{
        size_t i = after ? (size_t) (after - in->flags) + 1 : 0;

        if (in == NULL)
                return NULL;
        for (; i < in->n_flags; i++)
                if (strcmp(in->flags[i].name, name) == 0)
                        return &in->flags[i];
        return NULL;
}

const struct build_df_flag *
build_df_flag(const struct build_df_instr *in, const char *name)
{
        return build_df_flag_next(in, name, NULL);
}

static void
instr_clear(struct build_df_instr *in)
{
        size_t i;

        if (in == NULL)
                return;
        free(in->keyword);
        free(in->original);
        for (i = 0; i < in->n_flags; i++) {
                free(in->flags[i].raw);
                free(in->flags[i].name);
                free(in->flags[i].value);
        }
        free(in->flags);
        for (i = 0; i < in->n_args; i++)
                free(in->args[i]);
        free(in->args);
        free(in->arg_lens);
        for (i = 0; i < in->n_heredocs; i++) {
                free(in->heredocs[i].name);
                free(in->heredocs[i].content);
        }
        free(in->heredocs);
        if (in->sub) {
                instr_clear(in->sub);
                free(in->sub);
        }
        memset(in, 0, sizeof(*in));
}

void
build_df_file_free(struct build_df_file *f)
{
        size_t i;

        if (f == NULL)
                return;
        for (i = 0; i < f->n_instrs; i++)
                instr_clear(&f->instrs[i]);
        free(f->instrs);
        for (i = 0; i < f->n_warnings; i++)
                free(f->warnings[i]);
        free(f->warnings);
        free(f->warning_lines);
        free(f->name);
        free(f->syntax);
        free(f->check);
        free(f);
}

DEFINE_FREEP(struct build_df_file, build_df_file_free)

/* Room for element N of an array that grows one element at a time: the
 * allocation doubles whenever N reaches a power of two, so a long line of
 * flags, heredocs or warnings costs linear time. */
static void *
grow(void *v, size_t n, size_t size)
{
        if (n == 0 || (n & (n - 1)) == 0)
                return xrealloc(v, (n ? 2 * n : 1) * size);
        return v;
}

/* ---- parsing state ---------------------------------------------------- */

/* A piece of the logical line and where it came from, to turn an offset in
 * the joined line back into LINE:COL of the file. */
struct seg {
        size_t off;
        int line;
        int col;
};

struct ctx {
        const char *name;
        const char *buf;
        size_t len;
        size_t off; /* next unread byte */
        int lineno; /* physical lines consumed so far */
        char esc;
        bool dir_done;
        struct build_df_file *f;
        struct seg *segs;
        size_t n_segs, a_segs;
        struct err **err;
};

static struct build_df_pos
pos_at(const struct ctx *c, size_t off)
{
        struct build_df_pos p = {c->lineno, 1};
        size_t i;

        for (i = c->n_segs; i-- > 0;) {
                if (c->segs[i].off <= off) {
                        p.line = c->segs[i].line;
                        p.col = c->segs[i].col + (int) (off - c->segs[i].off);
                        break;
                }
        }
        return p;
}

static void
add_seg(struct ctx *c, size_t off, int line, int col)
{
        if (c->n_segs == c->a_segs) {
                c->a_segs = c->a_segs ? c->a_segs * 2 : 8;
                c->segs = xrealloc(c->segs, c->a_segs * sizeof(*c->segs));
        }
        c->segs[c->n_segs++] = (struct seg){off, line, col};
}

static int perr(const struct ctx *c, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* An error at logical offset OFF of the current instruction:
 * "NAME:LINE:COL: message". */
static int
perr(const struct ctx *c, size_t off, const char *fmt, ...)
{
        struct build_df_pos p = pos_at(c, off);
        char msg[1536];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return err_set(c->err, ERR_PARSE, "%s:%d:%d: %s", c->name, p.line, p.col, msg);
}

/* The next physical line: *ret_p and *ret_raw (with its newline, if any) and
 * *ret_n without trailing '\r'/'\n' bytes (Go's bytes.TrimRight "\r\n"). */
static bool
next_line(struct ctx *c, const char **ret_p, size_t *ret_raw, size_t *ret_n)
{
        const char *p, *nl;
        size_t raw, n;

        if (c->off >= c->len)
                return false;
        p = c->buf + c->off;
        nl = memchr(p, '\n', c->len - c->off);
        raw = nl ? (size_t) (nl - p) + 1 : c->len - c->off;
        n = raw;
        while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
                n--;
        c->off += raw;
        c->lineno++;
        *ret_p = p;
        *ret_raw = raw;
        *ret_n = n;
        return true;
}

static size_t
ltrim_len(const char *s, size_t n)
{
        size_t i = 0, k;
        while (i < n && (k = df_uspace_len(s + i, s + n)) > 0)
                i += k;
        return i;
}

/* Trailing Unicode white space: walk back over whole UTF-8 sequences. */
static size_t
rtrim_end(const char *s, size_t start, size_t end)
{
        while (end > start) {
                size_t b = end - 1, k;
                while (b > start && end - b < 4 && ((unsigned char) s[b] & 0xC0) == 0x80)
                        b--;
                k = df_uspace_len(s + b, s + end);
                if (k == 0 || b + k != end)
                        break;
                end = b;
        }
        return end;
}

static bool
is_comment_line(const char *p, size_t n)
{
        size_t i = ltrim_len(p, n);
        return i < n && p[i] == '#';
}

static bool
is_ascii_ws(char ch)
{
        return ch == ' ' || ch == '\t' || ch == '\v' || ch == '\f' || ch == '\r';
}

/* RE2's \s: [\t\n\f\r ]. */
static bool
is_re_s(char ch)
{
        return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\f' || ch == '\r';
}

/* A parser directive `#key=value` on a line of the leading comment block.
 * Returns 0, or < 0 for a repeated directive or a bad escape character. */
static int
directive(struct ctx *c, const char *p, size_t n)
{
        struct build_df_file *f = c->f;
        size_t i = 1, ks, ke, vs, ve;
        char key[16];

        if (c->dir_done)
                return 0;
        if (n == 0 || p[0] != '#') {
                c->dir_done = true;
                return 0;
        }
        while (i < n && is_re_s(p[i]))
                i++;
        ks = i;
        if (i >= n || !((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z'))) {
                c->dir_done = true;
                return 0;
        }
        while (i < n && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9')))
                i++;
        ke = i;
        while (i < n && is_re_s(p[i]))
                i++;
        if (i >= n || p[i] != '=') {
                c->dir_done = true;
                return 0;
        }
        i++;
        vs = i;
        while (vs < n && is_re_s(p[vs]))
                vs++;
        ve = n;
        while (ve > vs && is_re_s(p[ve - 1]))
                ve--;
        if (ve == vs) {
                /* `(.+?)` needs one character: with only blanks after '=' the
                 * regexp settles on one of them. */
                if (i == n) {
                        c->dir_done = true;
                        return 0;
                }
                vs = i;
                ve = i + 1;
        }
        if (ke - ks >= sizeof(key)) {
                c->dir_done = true;
                return 0;
        }
        for (i = ks; i < ke; i++)
                key[i - ks] = (char) tolower((unsigned char) p[i]);
        key[ke - ks] = '\0';

        if (strcmp(key, "escape") == 0) {
                if (f->escape_line)
                        return err_set(c->err, ERR_PARSE, "%s:%d:1: only one escape parser directive can be used",
                                       c->name, c->lineno);
                if (ve - vs != 1 || (p[vs] != '\\' && p[vs] != '`'))
                        return err_set(c->err, ERR_PARSE,
                                       "%s:%d:%zu: invalid escape token '%.*s' does not match ` or \\", c->name,
                                       c->lineno, vs + 1, (int) (ve - vs), p + vs);
                c->esc = p[vs];
                f->escape = p[vs];
                f->escape_line = c->lineno;
        } else if (strcmp(key, "syntax") == 0) {
                if (f->syntax_line)
                        return err_set(c->err, ERR_PARSE, "%s:%d:1: only one syntax parser directive can be used",
                                       c->name, c->lineno);
                f->syntax = xstrndup(p + vs, ve - vs);
                f->syntax_line = c->lineno;
        } else if (strcmp(key, "check") == 0) {
                if (f->check_line)
                        return err_set(c->err, ERR_PARSE, "%s:%d:1: only one check parser directive can be used",
                                       c->name, c->lineno);
                f->check = xstrndup(p + vs, ve - vs);
                f->check_line = c->lineno;
        } else {
                c->dir_done = true;
        }
        return 0;
}

/* The line-continuation rule: the escape character, then only blanks, at
 * the end of the line, not itself escaped (BuildKit's regexp
 * `([^E])E[ \t]*$|^E[ \t]*$`).  Returns the length without it, or N when
 * the line does not continue (*ret_cont false). */
static size_t
trim_continuation(const struct ctx *c, const char *p, size_t n, bool *ret_cont)
{
        size_t e = n;

        while (e > 0 && (p[e - 1] == ' ' || p[e - 1] == '\t'))
                e--;
        if (e > 0 && p[e - 1] == c->esc && (e == 1 || p[e - 2] != c->esc)) {
                *ret_cont = true;
                return e - 1;
        }
        *ret_cont = false;
        return n;
}

/* ---- building an instruction ----------------------------------------- */

static void
add_arg(struct build_df_instr *in, const char *s, size_t n)
{
        /* Grow to the next power of two: a long EXPOSE or VOLUME line stays linear. */
        if (in->n_args == 0 || (in->n_args >= 4 && (in->n_args & (in->n_args - 1)) == 0)) {
                size_t cap = in->n_args ? in->n_args * 2 : 4;
                in->args = xrealloc(in->args, cap * sizeof(*in->args));
                in->arg_lens = xrealloc(in->arg_lens, cap * sizeof(*in->arg_lens));
        }
        /* Not strndup: a JSON string may hold "\u0000". */
        in->args[in->n_args] = xmalloc(n + 1);
        memcpy(in->args[in->n_args], s, n);
        in->args[in->n_args][n] = '\0';
        in->arg_lens[in->n_args] = n;
        in->n_args++;
}

/* BuildKit's extractBuilderFlags: `--word`s before the arguments, quotes
 * removed and backslash escapes applied; a bare `--` ends them.  Returns
 * the offset (within S) where the arguments start. */
static size_t
extract_flags(const struct ctx *c, struct build_df_instr *in, const char *s, size_t n, size_t base)
{
        enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
        struct df_buf w = {0};
        bool blank_ok = false;
        char quote = 0;
        size_t pos, wstart = 0;

        for (pos = 0; pos <= n; pos++) {
                char ch = pos < n ? s[pos] : 0;

                if (phase == IN_SPACES) {
                        if (pos == n)
                                break;
                        if (is_ascii_ws(ch) || ch == '\n')
                                continue;
                        if (ch != '-' || pos + 1 == n || s[pos + 1] != '-') {
                                df_buf_free(&w);
                                return pos;
                        }
                        phase = IN_WORD;
                        wstart = pos;
                }
                if (pos == n || (phase == IN_WORD && (is_ascii_ws(ch) || ch == '\n'))) {
                        bool dashdash = w.len == 2 && memcmp(w.s, "--", 2) == 0;
                        if (!dashdash && (blank_ok || w.len > 0)) {
                                struct build_df_flag *fl;
                                const char *eq;

                                in->flags = grow(in->flags, in->n_flags, sizeof(*in->flags));
                                fl = &in->flags[in->n_flags++];
                                memset(fl, 0, sizeof(*fl));
                                fl->pos = pos_at(c, base + wstart);
                                fl->raw = df_buf_steal(&w);
                                eq = strchr(fl->raw, '=');
                                if (eq) {
                                        fl->name = xstrndup(fl->raw + 2, (size_t) (eq - fl->raw) - 2);
                                        fl->value = xstrdup(eq + 1);
                                } else {
                                        fl->name = xstrdup(fl->raw + 2);
                                }
                        }
                        df_buf_free(&w);
                        if (pos == n)
                                break;
                        if (dashdash)
                                return pos;
                        phase = IN_SPACES;
                        blank_ok = false;
                        continue;
                }
                if (phase == IN_WORD) {
                        if (ch == '\'' || ch == '"') {
                                quote = ch;
                                blank_ok = true;
                                phase = IN_QUOTE;
                                continue;
                        }
                } else if (ch == quote) {
                        phase = IN_WORD;
                        continue;
                }
                if (ch == '\\') {
                        if (pos + 1 == n) {
                                phase = IN_WORD;
                                continue;
                        }
                        ch = s[++pos];
                }
                df_buf_addc(&w, ch);
        }
        df_buf_free(&w);
        return n;
}

/* BuildKit's parseWords: split on white space outside quotes, keeping quotes
 * and escape characters in the words. */
static void
parse_words(const struct ctx *c, struct build_df_instr *in, const char *s, size_t n)
{
        enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
        struct df_buf w = {0};
        bool blank_ok = false;
        char quote = 0;
        size_t pos = 0;

        for (;;) {
                size_t sp = pos < n ? df_uspace_len(s + pos, s + n) : 0;
                size_t width;

                if (phase == IN_SPACES) {
                        if (pos == n)
                                break;
                        if (sp) {
                                pos += sp;
                                continue;
                        }
                        phase = IN_WORD;
                }
                if (pos == n) {
                        if (blank_ok || w.len > 0)
                                add_arg(in, w.s ? w.s : "", w.len);
                        break;
                }
                width = 1;
                if (phase == IN_WORD) {
                        if (sp) {
                                phase = IN_SPACES;
                                if (blank_ok || w.len > 0)
                                        add_arg(in, w.s ? w.s : "", w.len);
                                w.len = 0;
                                blank_ok = false;
                                pos += sp;
                                continue;
                        }
                        if (s[pos] == '\'' || s[pos] == '"') {
                                quote = s[pos];
                                blank_ok = true;
                                phase = IN_QUOTE;
                        }
                        if (s[pos] == c->esc) {
                                if (pos + 1 == n) {
                                        pos++;
                                        continue;
                                }
                                df_buf_addc(&w, s[pos]);
                                pos++;
                        }
                } else {
                        if (s[pos] == quote)
                                phase = IN_WORD;
                        if (s[pos] == c->esc && quote != '\'') {
                                if (pos + 1 == n) {
                                        phase = IN_WORD;
                                        pos++;
                                        continue;
                                }
                                df_buf_addc(&w, s[pos]);
                                pos++;
                        }
                }
                /* Copy the whole UTF-8 sequence so words never split one. */
                {
                        uint32_t r;
                        width = utf8_next(s + pos, n - pos, &r);
                }
                df_buf_add(&w, s + pos, width);
                pos += width;
        }
        df_buf_free(&w);
}

/* Go's regexp `[\t\v\f\r ]+` Split(s, -1) on a trimmed string. */
static void
split_ws(struct build_df_instr *in, const char *s, size_t n)
{
        size_t i = 0;

        if (n == 0)
                return;
        for (;;) {
                size_t st = i;
                while (i < n && !is_ascii_ws(s[i]))
                        i++;
                add_arg(in, s + st, i - st);
                if (i == n)
                        break;
                while (i < n && is_ascii_ws(s[i]))
                        i++;
                if (i == n) {
                        add_arg(in, "", 0);
                        break;
                }
        }
}

static void
free_words(char **words, size_t *lens, size_t n)
{
        size_t i;
        for (i = 0; i < n; i++)
                free(words[i]);
        free(words);
        free(lens);
}

/* JSON or not.  Returns 1 when IN got its args from a JSON array, 0 when
 * S is not JSON, < 0 on a JSON array with non-string elements. */
static int
maybe_json(const struct ctx *c, struct build_df_instr *in, const char *s, size_t n, size_t off)
{
        char **args = NULL;
        size_t *lens = NULL, cnt = 0, i;
        int r = df_json_string_array(s, n, &args, &lens, &cnt);

        if (r < 0)
                return perr(c, off, "when using JSON array syntax, arrays must be comprised of strings only");
        if (r == 0)
                return 0;
        for (i = 0; i < cnt; i++)
                add_arg(in, args[i], lens[i]);
        free_words(args, lens, cnt);
        in->json = true;
        return 1;
}

/* ENV and LABEL (BuildKit's parseNameVal): `key value` (legacy, the value
 * is the rest of the line) or `k=v k2=v2`, as (key, value, sep) triples. */
static int
name_val(const struct ctx *c, struct build_df_instr *in, const char *s, size_t n, size_t off)
{
        size_t i, n_words;
        char **words;
        size_t *wlens;
        int r = 0;

        parse_words(c, in, s, n);
        if (in->n_args == 0)
                return 0;
        words = in->args;
        wlens = in->arg_lens;
        n_words = in->n_args;
        in->args = NULL;
        in->arg_lens = NULL;
        in->n_args = 0;
        if (memchr(words[0], '=', wlens[0]) == NULL) {
                size_t k = 0, v;
                while (k < n && !is_ascii_ws(s[k]))
                        k++;
                v = k;
                while (v < n && is_ascii_ws(s[v]))
                        v++;
                if (k == n) {
                        r = perr(c, off, "%s must have two arguments", build_df_kind_name(in->kind));
                } else {
                        add_arg(in, s, k);
                        add_arg(in, s + v, n - v);
                        add_arg(in, "", 0);
                }
        } else {
                for (i = 0; i < n_words; i++) {
                        const char *eq = memchr(words[i], '=', wlens[i]);
                        if (eq == NULL) {
                                r = perr(c, off,
                                         "Syntax error - can't find = in \"%s\". Must be of the form: name=value",
                                         words[i]);
                                break;
                        }
                        add_arg(in, words[i], (size_t) (eq - words[i]));
                        add_arg(in, eq + 1, wlens[i] - (size_t) (eq - words[i]) - 1);
                        add_arg(in, "=", 1);
                }
        }
        free_words(words, wlens, n_words);
        return r;
}

static int parse_instr(struct ctx *c, const char *line, size_t n, size_t base, int depth, struct build_df_instr *in);

/* Arguments per instruction (BuildKit's dispatch table of line parsers).
 * S/N is the argument text (trimmed), OFF its offset in the logical line. */
static int
parse_args(struct ctx *c, struct build_df_instr *in, const char *s, size_t n, size_t off, int depth)
{
        int r;

        switch (in->kind) {
        case BUILD_DF_RUN:
        case BUILD_DF_CMD:
        case BUILD_DF_ENTRYPOINT:
        case BUILD_DF_SHELL:
                if (n == 0)
                        return 0;
                r = maybe_json(c, in, s, n, off);
                if (r < 0)
                        return r;
                if (r == 0)
                        add_arg(in, s, n);
                return 0;
        case BUILD_DF_ADD:
        case BUILD_DF_COPY:
        case BUILD_DF_VOLUME:
                r = maybe_json(c, in, s, n, off);
                if (r < 0)
                        return r;
                if (r == 0)
                        split_ws(in, s, n);
                return 0;
        case BUILD_DF_FROM:
        case BUILD_DF_EXPOSE:
                split_ws(in, s, n);
                return 0;
        case BUILD_DF_MAINTAINER:
        case BUILD_DF_STOPSIGNAL:
        case BUILD_DF_USER:
        case BUILD_DF_WORKDIR:
                if (n > 0)
                        add_arg(in, s, n);
                return 0;
        case BUILD_DF_ARG:
                parse_words(c, in, s, n);
                return 0;
        case BUILD_DF_ENV:
        case BUILD_DF_LABEL:
                return name_val(c, in, s, n, off);
        case BUILD_DF_HEALTHCHECK: {
                size_t sep = 0, next;
                while (sep < n && !is_ascii_ws(s[sep]) && s[sep] != '\n')
                        sep++;
                if (sep == 0)
                        return 0;
                next = sep;
                while (next < n && (is_ascii_ws(s[next]) || s[next] == '\n'))
                        next++;
                add_arg(in, s, sep);
                if (next == n)
                        return 0;
                r = maybe_json(c, in, s + next, n - next, off + next);
                if (r < 0)
                        return r;
                if (r == 0)
                        add_arg(in, s + next, n - next);
                return 0;
        }
        case BUILD_DF_ONBUILD:
                if (n == 0)
                        return 0;
                in->sub = xcalloc(1, sizeof(*in->sub));
                return parse_instr(c, s, n, off, depth + 1, in->sub);
        case BUILD_DF_KIND_COUNT:
                break;
        }
        return 0;
}

static int
unknown_instruction(struct ctx *c, const char *word, size_t off)
{
        _cleanup_free_ char *up = xstrdup(word);
        size_t best = (size_t) -1, d, i;
        int k, best_k = -1;

        for (i = 0; up[i]; i++)
                up[i] = (char) toupper((unsigned char) up[i]);
        for (k = 0; k < BUILD_DF_KIND_COUNT; k++) {
                d = df_levenshtein(up, kind_names[k]);
                if (d < best) {
                        best = d;
                        best_k = k;
                }
        }
        /* Suggest only a plausible typo: at most a third of the word wrong. */
        if (best_k >= 0 && best <= 1 + strlen(kind_names[best_k]) / 3)
                return perr(c, off, "unknown instruction: %.64s (did you mean %s?)", up, kind_names[best_k]);
        return perr(c, off, "unknown instruction: %.64s", up);
}

/* One instruction from LINE (N bytes at logical offset BASE): keyword,
 * flags, arguments.  DEPTH counts ONBUILD nesting. */
static int
parse_instr(struct ctx *c, const char *line, size_t n, size_t base, int depth, struct build_df_instr *in)
{
        size_t a, b, k, rest, args_at, ae;
        int kind;

        a = ltrim_len(line, n);
        b = rtrim_end(line, a, n);
        k = a;
        while (k < b && !is_ascii_ws(line[k]))
                k++;
        in->keyword = xstrndup(line + a, k - a);
        in->pos = pos_at(c, base + a);
        in->original = xstrndup(line, n);
        kind = build_df_kind_from_name(in->keyword);
        if (kind < 0)
                return unknown_instruction(c, in->keyword, base + a);
        in->kind = (enum build_df_kind) kind;
        if (in->kind == BUILD_DF_ONBUILD && depth > 0)
                return perr(c, base + a, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        rest = k;
        while (rest < b && is_ascii_ws(line[rest]))
                rest++;
        args_at = rest;
        if (rest < b)
                args_at = rest + extract_flags(c, in, line + rest, b - rest, base + rest);
        args_at += ltrim_len(line + args_at, b - args_at);
        ae = rtrim_end(line, args_at, b);
        return parse_args(c, in, line + args_at, ae - args_at, base + args_at, depth);
}

/* ---- heredocs --------------------------------------------------------- */

struct hd_word {
        size_t start, end;
};

/* Split LINE into shell words the way BuildKit's lexer does with raw quotes
 * and escapes: quotes group, backslash escapes, nothing is removed.  Returns
 * false on an unterminated quote (then BuildKit finds no heredocs). */
static bool
shell_words(const char *s, size_t n, struct hd_word **ret, size_t *ret_n)
{
        struct hd_word *v = NULL;
        size_t cnt = 0, alloc = 0, i = 0;

        for (;;) {
                size_t st;
                while (i < n && df_uspace_len(s + i, s + n))
                        i += df_uspace_len(s + i, s + n);
                if (i >= n)
                        break;
                st = i;
                while (i < n && !df_uspace_len(s + i, s + n)) {
                        if (s[i] == '\\') {
                                i += i + 1 < n ? 2 : 1;
                        } else if (s[i] == '\'' || s[i] == '"') {
                                char q = s[i++];
                                while (i < n && s[i] != q) {
                                        if (q == '"' && s[i] == '\\' && i + 1 < n)
                                                i++;
                                        i++;
                                }
                                if (i >= n) {
                                        free(v);
                                        return false;
                                }
                                i++;
                        } else {
                                i++;
                        }
                }
                if (i > n)
                        i = n;
                if (cnt == alloc) {
                        alloc = alloc ? alloc * 2 : 16;
                        v = xrealloc(v, alloc * sizeof(*v));
                }
                v[cnt++] = (struct hd_word){st, i};
        }
        *ret = v;
        *ret_n = cnt;
        return true;
}

/* The delimiter word with quotes and escapes processed.  Returns false when
 * it is not one word. */
static bool
unquote_word(const char *s, size_t n, struct df_buf *out)
{
        size_t i = 0;

        while (i < n) {
                char ch = s[i];
                if (df_uspace_len(s + i, s + n))
                        return false;
                if (ch == '\\') {
                        if (i + 1 < n)
                                df_buf_addc(out, s[i + 1]);
                        i += 2;
                } else if (ch == '\'') {
                        i++;
                        while (i < n && s[i] != '\'')
                                df_buf_addc(out, s[i++]);
                        i++;
                } else if (ch == '"') {
                        i++;
                        while (i < n && s[i] != '"') {
                                if (s[i] == '\\' && i + 1 < n &&
                                    (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == '$'))
                                        i++;
                                df_buf_addc(out, s[i++]);
                        }
                        i++;
                } else {
                        df_buf_addc(out, ch);
                        i++;
                }
        }
        return true;
}

static size_t
count_quotes(const char *s, size_t n)
{
        size_t i, q = 0;
        for (i = 0; i < n; i++)
                if (s[i] == '\'' || s[i] == '"')
                        q++;
        return q;
}

/* Find `[n]<<[-]WORD` words in LINE and read each body from the following
 * lines, in order.  TARGET gets the heredocs. */
static int
read_heredocs(struct ctx *c, const char *line, size_t n, struct build_df_instr *target, int start_line)
{
        _cleanup_free_ struct hd_word *words = NULL;
        size_t n_words = 0, i;

        if (!shell_words(line, n, &words, &n_words))
                return 0;
        for (i = 0; i < n_words; i++) {
                const char *w = line + words[i].start, *p, *name_at;
                size_t wl = words[i].end - words[i].start, fd_len, name_len;
                struct df_buf name = {0}, body = {0};
                struct build_df_heredoc *h;
                bool chomp = false, done = false;
                long fd = -1;
                int body_start;

                p = w;
                while (p < w + wl && *p >= '0' && *p <= '9')
                        p++;
                fd_len = (size_t) (p - w);
                if ((size_t) (w + wl - p) < 2 || p[0] != '<' || p[1] != '<')
                        continue;
                p += 2;
                if (p < w + wl && *p == '-') {
                        chomp = true;
                        p++;
                }
                name_at = p;
                name_len = (size_t) (w + wl - p);
                if (name_len == 0 || memchr(name_at, '<', name_len))
                        continue;
                if (!unquote_word(name_at, name_len, &name) || name.len == 0) {
                        df_buf_free(&name);
                        continue;
                }
                if (fd_len > 0) {
                        fd = 0;
                        for (p = w; p < w + fd_len && fd < 1000000; p++)
                                fd = fd * 10 + (*p - '0');
                }

                /* The body: every following line up to the delimiter. */
                body_start = c->lineno + 1;
                for (;;) {
                        const char *lp;
                        size_t raw, ln, t = 0;

                        if (!next_line(c, &lp, &raw, &ln))
                                break;
                        if (chomp)
                                while (t < ln && lp[t] == '\t')
                                        t++;
                        if (ln - t == name.len && memcmp(lp + t, name.s, name.len) == 0) {
                                done = true;
                                break;
                        }
                        df_buf_add(&body, lp + t, raw - t);
                }
                if (!done) {
                        int r = err_set(c->err, ERR_PARSE, "%s:%d:1: unterminated heredoc %s (no line \"%s\" after it)",
                                        c->name, start_line, name.s, name.s);
                        df_buf_free(&name);
                        df_buf_free(&body);
                        return r;
                }
                target->heredocs = grow(target->heredocs, target->n_heredocs, sizeof(*target->heredocs));
                h = &target->heredocs[target->n_heredocs++];
                h->expand = count_quotes(name.s, name.len) == count_quotes(name_at, name_len);
                h->name = df_buf_steal(&name);
                h->content = df_buf_steal(&body);
                h->fd = (int) fd;
                h->chomp = chomp;
                h->end_line = c->lineno;
                h->start_line = body_start;
        }
        return 0;
}

static bool
takes_heredoc(const struct build_df_instr *in)
{
        if (in->kind == BUILD_DF_ONBUILD && in->sub)
                in = in->sub;
        return !in->json && (in->kind == BUILD_DF_RUN || in->kind == BUILD_DF_COPY || in->kind == BUILD_DF_ADD);
}

/* ---- the main loop ---------------------------------------------------- */

static void
add_warning(struct ctx *c, int line, const char *msg)
{
        struct build_df_file *f = c->f;
        f->warnings = grow(f->warnings, f->n_warnings, sizeof(*f->warnings));
        f->warning_lines = grow(f->warning_lines, f->n_warnings, sizeof(*f->warning_lines));
        f->warning_lines[f->n_warnings] = line;
        f->warnings[f->n_warnings++] = xasprintf("%s:%d: %s", c->name, line, msg);
}

static int
parse_all(struct ctx *c)
{
        struct build_df_file *f = c->f;
        struct df_buf logical = {0};
        size_t alloc = 0;
        int r = 0;

        for (;;) {
                const char *p;
                size_t raw, n, skip = 0, keep;
                bool cont, empty_cont = false;
                int start, empty_line = 0;
                struct build_df_instr *in;

                if (!next_line(c, &p, &raw, &n))
                        break;
                if (c->lineno == 1 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
                        skip = 3;
                skip += ltrim_len(p + skip, n - skip);
                r = directive(c, p + skip, n - skip);
                if (r < 0)
                        goto out;
                if (skip < n && p[skip] == '#')
                        skip = n; /* a comment line */
                start = c->lineno;
                keep = trim_continuation(c, p + skip, n - skip, &cont);
                if (!cont && keep == 0)
                        continue;

                logical.len = 0;
                c->n_segs = 0;
                add_seg(c, 0, c->lineno, (int) skip + 1);
                df_buf_add(&logical, p + skip, keep);
                while (cont) {
                        if (!next_line(c, &p, &raw, &n))
                                break;
                        r = directive(c, p, n);
                        if (r < 0)
                                goto out;
                        if (is_comment_line(p, n))
                                continue;
                        if (ltrim_len(p, n) == n) {
                                if (!empty_cont)
                                        empty_line = c->lineno;
                                empty_cont = true;
                                continue;
                        }
                        keep = trim_continuation(c, p, n, &cont);
                        add_seg(c, logical.len, c->lineno, 1);
                        df_buf_add(&logical, p, keep);
                        if (logical.len > LIMIT_DOCKERFILE_LINE) {
                                r = err_set(c->err, ERR_SIZE_INVALID, "%s:%d: instruction longer than %d bytes",
                                            c->name, start, LIMIT_DOCKERFILE_LINE);
                                goto out;
                        }
                }
                if (logical.len > LIMIT_DOCKERFILE_LINE) {
                        r = err_set(c->err, ERR_SIZE_INVALID, "%s:%d: instruction longer than %d bytes", c->name, start,
                                    LIMIT_DOCKERFILE_LINE);
                        goto out;
                }
                if (empty_cont)
                        add_warning(c, empty_line,
                                    "empty continuation line (will become an error in a future release)");

                if (f->n_instrs == alloc) {
                        alloc = alloc ? alloc * 2 : 16;
                        f->instrs = xrealloc(f->instrs, alloc * sizeof(*f->instrs));
                }
                in = &f->instrs[f->n_instrs++];
                memset(in, 0, sizeof(*in));
                in->start_line = start;
                r = parse_instr(c, logical.s ? logical.s : "", logical.len, 0, 0, in);
                if (r < 0)
                        goto out;
                if (takes_heredoc(in)) {
                        r = read_heredocs(c, logical.s, logical.len, in->sub ? in->sub : in, start);
                        if (r < 0)
                                goto out;
                }
                in->end_line = c->lineno;
                if (in->sub) {
                        in->sub->start_line = in->start_line;
                        in->sub->end_line = in->end_line;
                }
        }
        if (f->n_instrs == 0)
                r = err_set(c->err, ERR_PARSE, "%s: file with no instructions", c->name);
out:
        df_buf_free(&logical);
        return r;
}

int
build_df_parse(const char *buf, size_t len, const char *name, struct build_df_file **ret_file, struct err **err)
{
        _cleanup_(build_df_file_freep) struct build_df_file *f = NULL;
        struct ctx c = {0};
        const char *nul;
        int r;

        if (name == NULL)
                name = "Dockerfile";
        if (len > LIMIT_DOCKERFILE_SIZE)
                return err_set(err, ERR_SIZE_INVALID, "%s: Dockerfile larger than %d bytes", name,
                               LIMIT_DOCKERFILE_SIZE);
        nul = memchr(buf, '\0', len);
        if (nul) {
                int line = 1, col = 1;
                const char *q;
                for (q = buf; q < nul; q++) {
                        if (*q == '\n') {
                                line++;
                                col = 1;
                        } else {
                                col++;
                        }
                }
                return err_set(err, ERR_PARSE, "%s:%d:%d: NUL byte in Dockerfile", name, line, col);
        }
        f = xcalloc(1, sizeof(*f));
        f->name = xstrdup(name);
        f->escape = '\\';
        c.name = f->name;
        c.buf = buf;
        c.len = len;
        c.esc = '\\';
        c.f = f;
        c.err = err;
        r = parse_all(&c);
        free(c.segs);
        if (r < 0)
                return r;
        *ret_file = steal_ptr(&f);
        return 0;
}

int
build_df_parse_path(const char *path, struct build_df_file **ret_file, struct err **err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r;

        if (strcmp(path, "-") == 0) {
                r = fs_read_fd(STDIN_FILENO, LIMIT_DOCKERFILE_SIZE, &data, &len, err);
                if (r < 0)
                        return err_prefix(err, "reading Dockerfile from stdin");
                return build_df_parse(data, len, "<stdin>", ret_file, err);
        }
        r = fs_read_file(path, LIMIT_DOCKERFILE_SIZE, &data, &len, err);
        if (r < 0)
                return r;
        return build_df_parse(data, len, path, ret_file, err);
}
