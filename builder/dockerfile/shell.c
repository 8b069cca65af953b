/* Dockerfile word expansion: a byte-level reimplementation of the behaviour
 * of BuildKit's frontend/dockerfile/shell lexer (checked against its test
 * vectors envVarTest and wordsTest). */
#include "builder/dockerfile/shell.h"

#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "builder/dockerfile/parser-internal.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/utf8.h"

/* ---- small growable strings and string lists ---- */

void
build_shell_strv_free(char **v)
{
        strv_free(v);
}

/* ---- UTF-8 and character classes ---- */

/* Go's unicode.IsLetter / IsDigit for a name character.  Non-ASCII
 * characters are classified with the C.UTF-8 locale; without it every
 * non-ASCII character counts as a letter. */
static bool
is_name_char(uint32_t c)
{
        locale_t loc;

        if (c < 0x80)
                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_';
        if (c == 0xfffd)
                return false;
        loc = df_utf8_locale();
        if (loc == (locale_t) 0)
                return true;
        return iswalnum_l((wint_t) c, loc);
}

/* ---- glob patterns ---- */

/* Match one bracket expression starting after '[' at P against code point
 * C.  Returns the length consumed up to and including ']' or 0 when the
 * bracket is not terminated (then '[' is literal, as in sh). */
static size_t
match_class(const char *p, size_t plen, uint32_t c, int escape, bool *ret_match)
{
        size_t i = 0;
        bool neg = false, match = false, first = true;

        if (i < plen && (p[i] == '!' || p[i] == '^')) {
                neg = true;
                i++;
        }
        while (i < plen) {
                uint32_t lo, hi;

                if (p[i] == ']' && !first) {
                        *ret_match = match != neg;
                        return i + 1;
                }
                first = false;
                if (p[i] == escape && i + 1 < plen)
                        i++;
                i += utf8_next(p + i, plen - i, &lo);
                hi = lo;
                if (i + 1 < plen && p[i] == '-' && p[i + 1] != ']') {
                        i++;
                        if (p[i] == escape && i + 1 < plen)
                                i++;
                        i += utf8_next(p + i, plen - i, &hi);
                }
                if (c >= lo && c <= hi)
                        match = true;
        }
        return 0;
}

bool
build_shell_glob_match(const char *p, size_t plen, const char *s, size_t slen, int escape)
{
        /* Classic single-backtrack matcher: on a mismatch resume after the
         * last '*' one character further.  O(plen * slen). */
        size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;

        if (!escape)
                escape = '\\';
        while (si < slen) {
                if (pi < plen) {
                        char pc = p[pi];
                        uint32_t c, lit;
                        size_t clen = utf8_next(s + si, slen - si, &c);

                        if (pc == '*') {
                                star_p = ++pi;
                                star_s = si;
                                continue;
                        }
                        if (pc == '?') {
                                pi++;
                                si += clen;
                                continue;
                        }
                        if (pc == '[') {
                                bool m = false;
                                size_t used = match_class(p + pi + 1, plen - pi - 1, c, escape, &m);

                                if (used) {
                                        if (m) {
                                                pi += used + 1;
                                                si += clen;
                                                continue;
                                        }
                                        goto backtrack;
                                }
                        }
                        if (pc == escape && pi + 1 < plen)
                                pi++;
                        {
                                size_t llen = utf8_next(p + pi, plen - pi, &lit);

                                if (llen == clen && memcmp(p + pi, s + si, llen) == 0) {
                                        pi += llen;
                                        si += clen;
                                        continue;
                                }
                        }
                }
        backtrack:
                if (star_p == SIZE_MAX)
                        return false;
                {
                        uint32_t c;

                        star_s += utf8_next(s + star_s, slen - star_s, &c);
                }
                pi = star_p;
                si = star_s;
        }
        while (pi < plen && p[pi] == '*')
                pi++;
        return pi == plen;
}

/* ---- the lexer ---- */

struct lexer {
        const char *src; /* the whole word, for messages */
        const char *s;
        size_t len, pos;
        int escape;
        bool raw; /* keep escape characters (patterns) */
        unsigned long long glob_cost;
        int depth;
        const struct build_shell_opts *opts;
        struct strv used, unset;
        struct err **err;
};

/* Words being split: the current word and whether a word has started
 * (quotes start a word even when they are empty). */
struct words {
        struct strv list;
        struct df_buf cur;
        bool in_word;
};

static void
words_flush(struct words *w)
{
        if (w->cur.len > 0)
                strv_push(&w->list, df_buf_steal(&w->cur));
        w->in_word = false;
}

static void
words_add_raw(struct words *w, const char *s, size_t n)
{
        if (!w)
                return;
        df_buf_add(&w->cur, s, n);
        w->in_word = true;
}

/* Unquoted text: white space ends the current word. */
static void
words_add_text(struct words *w, const char *s, size_t n)
{
        size_t i = 0;

        if (!w)
                return;
        while (i < n) {
                uint32_t c;
                size_t l = utf8_next(s + i, n - i, &c);

                if (df_is_uspace(c)) {
                        if (w->in_word && w->cur.len > 0)
                                words_flush(w);
                } else {
                        words_add_raw(w, s + i, l);
                }
                i += l;
        }
}

static int
lx_peek(const struct lexer *lx)
{
        return lx->pos < lx->len ? (unsigned char) lx->s[lx->pos] : -1;
}

/* Messages quote the word, shortened so the reason is never cut off. */
#define SRC_FMT "failed to process \"%.*s%s\": "
#define SRC_ARGS(lx) (strlen((lx)->src) > 200 ? 200 : (int) strlen((lx)->src)), (lx)->src, \
                     (strlen((lx)->src) > 200 ? "..." : "")

static int
lx_fail(struct lexer *lx, const char *msg)
{
        return err_set(lx->err, ERR_PARSE, SRC_FMT "%s", SRC_ARGS(lx), msg);
}

static int
check_size(struct lexer *lx, const struct df_buf *b, size_t add)
{
        if (b->len + add > BUILD_SHELL_MAX_OUTPUT)
                return err_set(lx->err, ERR_PARSE, SRC_FMT "expansion larger than %d bytes", SRC_ARGS(lx),
                               BUILD_SHELL_MAX_OUTPUT);
        return 0;
}

/* Append VALUE (NULL: nothing) to OUT within the output cap. */
static int
add_value(struct lexer *lx, struct df_buf *out, const char *value)
{
        if (!value)
                return 0;
        if (check_size(lx, out, strlen(value)) < 0)
                return -ERR_PARSE;
        df_buf_add(out, value, strlen(value));
        return 0;
}

/* GUARDED lookups (${V:-w} ${V+w} ${V?m}...) say what happens when V is
 * unset, so an unset V is not reported. */
static const char *
env_get(struct lexer *lx, const char *name, bool guarded)
{
        const struct build_shell_opts *o = lx->opts;
        const char *v = NULL;
        bool special;

        if (o && o->lookup) {
                v = o->lookup(o->lookup_data, name);
        } else if (o && o->env) {
                size_t nl = strlen(name);

                for (size_t i = o->n_env; i-- > 0;) {
                        const char *e = o->env[i];

                        if (!e)
                                continue;
                        if (strncmp(e, name, nl) == 0 && (e[nl] == '=' || e[nl] == '\0')) {
                                v = e[nl] == '=' ? e + nl + 1 : "";
                                break;
                        }
                }
        }
        special = (name[0] >= '0' && name[0] <= '9') || strchr("@*#?-$!", name[0]);
        if (v) {
                if (!strv_contains(&lx->used, name))
                        strv_push(&lx->used, xstrdup(name));
        } else if (!special && !guarded && !strv_contains(&lx->unset, name)) {
                strv_push(&lx->unset, xstrdup(name));
        }
        return v;
}

/* A name after '$': all digits when it starts with one, one special
 * parameter character, or letters, digits and '_'. */
static void
read_name(struct lexer *lx, struct df_buf *name)
{
        int c = lx_peek(lx);

        if (c >= '0' && c <= '9') {
                while ((c = lx_peek(lx)) >= '0' && c <= '9')
                        df_buf_addc(name, (char) lx->s[lx->pos++]);
                return;
        }
        if (c >= 0 && strchr("@*#?-$!", c) && c != 0) {
                df_buf_addc(name, (char) lx->s[lx->pos++]);
                return;
        }
        while (lx->pos < lx->len) {
                uint32_t cp;
                size_t l = utf8_next(lx->s + lx->pos, lx->len - lx->pos, &cp);

                if (!is_name_char(cp))
                        break;
                df_buf_add(name, lx->s + lx->pos, l);
                lx->pos += l;
        }
}

static int process_stop_on(struct lexer *lx, int stop, bool raw_escapes, struct df_buf *out, struct words *w);

static int
process_single_quote(struct lexer *lx, struct df_buf *out)
{
        size_t start;

        lx->pos++; /* the opening quote */
        start = lx->pos;
        while (lx->pos < lx->len && lx->s[lx->pos] != '\'')
                lx->pos++;
        if (lx->pos >= lx->len)
                return lx_fail(lx, "unexpected end of statement while looking for matching single-quote");
        df_buf_add(out, lx->s + start, lx->pos - start);
        lx->pos++;
        return 0;
}

static int process_dollar(struct lexer *lx, struct df_buf *out);

static int
process_double_quote(struct lexer *lx, struct df_buf *out)
{
        int r;

        lx->pos++;
        for (;;) {
                int c = lx_peek(lx);

                if (c < 0)
                        return lx_fail(lx, "unexpected end of statement while looking for matching double-quote");
                if (c == '"') {
                        lx->pos++;
                        return 0;
                }
                if (c == '$') {
                        r = process_dollar(lx, out);
                        if (r < 0)
                                return r;
                        continue;
                }
                lx->pos++;
                if (c == lx->escape) {
                        int n = lx_peek(lx);

                        /* Inside double quotes the escape character only
                         * escapes '"', '$' and itself; it is dropped at the
                         * end of the word. */
                        if (lx->raw)
                                df_buf_addc(out, (char) c);
                        if (n < 0)
                                continue;
                        if (n == '"' || n == '$' || n == lx->escape) {
                                df_buf_addc(out, (char) n);
                                lx->pos++;
                                continue;
                        }
                }
                df_buf_addc(out, (char) c);
        }
}

/* Pattern operators try many substrings; every try is charged its worst
 * case so that a hostile pattern such as "*x" on a huge value fails instead of
 * running for hours. */
#define GLOB_BUDGET 200000000ULL

static int
glob_try(struct lexer *lx, const char *pat, size_t plen, const char *s, size_t n, bool *ret_match)
{
        lx->glob_cost += (unsigned long long) (plen + 1) * (n + 1);
        if (lx->glob_cost > GLOB_BUDGET)
                return lx_fail(lx, "pattern substitution too costly for a value this long");
        *ret_match = build_shell_glob_match(pat, plen, s, n, lx->escape);
        return 0;
}

static bool
is_cont(char c)
{
        return ((unsigned char) c & 0xc0) == 0x80;
}

/* Remove the shortest (or longest) prefix / suffix of VALUE matching PAT. */
static int
trim_pattern(struct lexer *lx, const char *value, const char *pat, bool suffix, bool greedy, struct df_buf *out)
{
        size_t vlen = strlen(value), plen = strlen(pat);
        bool m = false;

        for (size_t k = 0; k <= vlen; k++) {
                size_t cut = suffix ? (greedy ? k : vlen - k) : (greedy ? vlen - k : k);

                if (cut < vlen && is_cont(value[cut]))
                        continue;
                if (suffix) {
                        if (glob_try(lx, pat, plen, value + cut, vlen - cut, &m) < 0)
                                return -ERR_PARSE;
                        if (m) {
                                df_buf_add(out, value, cut);
                                return 0;
                        }
                } else {
                        if (glob_try(lx, pat, plen, value, cut, &m) < 0)
                                return -ERR_PARSE;
                        if (m) {
                                df_buf_add(out, value + cut, vlen - cut);
                                return 0;
                        }
                }
        }
        df_buf_add(out, value, vlen);
        return 0;
}

/* ${V/p/r}: replace the longest match at the leftmost position (or, with
 * ALL, every match left to right, as Go's ReplaceAllString does: an empty
 * match right after a previous match does not count). */
static int
replace_pattern(struct lexer *lx, const char *value, const char *pat, const char *rep, bool all, struct df_buf *out)
{
        size_t vlen = strlen(value), plen = strlen(pat), rlen = strlen(rep);
        size_t i = 0, last_end = SIZE_MAX;

        while (i <= vlen) {
                size_t end = SIZE_MAX;

                for (size_t e = vlen + 1; e-- > i;) {
                        bool m = false;

                        if (e < vlen && is_cont(value[e]))
                                continue;
                        if (glob_try(lx, pat, plen, value + i, e - i, &m) < 0)
                                return -ERR_PARSE;
                        if (m) {
                                end = e;
                                break;
                        }
                }
                if (end != SIZE_MAX && !(end == i && i == last_end)) {
                        if (check_size(lx, out, rlen) < 0)
                                return -ERR_PARSE;
                        df_buf_add(out, rep, rlen);
                        if (!all) {
                                df_buf_add(out, value + end, vlen - end);
                                return 0;
                        }
                        last_end = end;
                        if (end > i) {
                                i = end;
                                continue;
                        }
                }
                if (i == vlen)
                        break;
                {
                        uint32_t c;
                        size_t l = utf8_next(value + i, vlen - i, &c);

                        df_buf_add(out, value + i, l);
                        i += l;
                }
        }
        return 0;
}

static int
process_dollar(struct lexer *lx, struct df_buf *out)
{
        _cleanup_free_ char *namebuf = NULL;
        struct df_buf name = { 0 };
        const char *value;
        int c, r;

        lx->pos++; /* '$' */
        if (lx_peek(lx) != '{') {
                read_name(lx, &name);
                if (name.len == 0) {
                        df_buf_addc(out, '$');
                        return 0;
                }
                namebuf = df_buf_steal(&name);
                value = env_get(lx, namebuf, false);
                return add_value(lx, out, value);
        }
        lx->pos++; /* '{' */
        c = lx_peek(lx);
        if (c < 0)
                return lx_fail(lx, "syntax error: missing '}'");
        if (c == '{' || c == '}' || c == ':')
                return lx_fail(lx, "syntax error: bad substitution");
        if (lx->depth >= BUILD_SHELL_MAX_DEPTH)
                return lx_fail(lx, "substitutions nested too deeply");
        read_name(lx, &name);
        namebuf = df_buf_steal(&name);
        c = lx_peek(lx);
        if (c < 0)
                return lx_fail(lx, "syntax error: missing '}'");
        lx->pos++;

        if (c == '}') {
                value = env_get(lx, namebuf, false);
                return add_value(lx, out, value);
        }

        if (c == ':' || c == '+' || c == '-' || c == '?' || c == '#' || c == '%') {
                bool colon = c == ':';
                struct df_buf word = { 0 };
                _cleanup_free_ char *wordbuf = NULL;
                size_t vlen;

                if (colon) {
                        c = lx_peek(lx);
                        if (c < 0)
                                return lx_fail(lx, "syntax error: missing '}'");
                        lx->pos++;
                }
                if (namebuf[0] == '\0')
                        return lx_fail(lx, "syntax error: bad substitution");
                lx->depth++;
                /* Patterns keep their escapes so that \* stays literal. */
                r = process_stop_on(lx, '}', c == '#' || c == '%', &word, NULL);
                lx->depth--;
                wordbuf = df_buf_steal(&word);
                if (r < 0)
                        return r;
                value = env_get(lx, namebuf, c == '-' || c == '+' || c == '?');
                vlen = value ? strlen(value) : 0;
                switch (c) {
                case '-':
                        if (!value || (colon && vlen == 0))
                                value = wordbuf;
                        break;
                case '+':
                        value = (!value || (colon && vlen == 0)) ? "" : wordbuf;
                        break;
                case '?':
                        if (!value)
                                return err_set(lx->err, ERR_PARSE, SRC_FMT "%s: %s", SRC_ARGS(lx), namebuf, wordbuf[0] ? wordbuf : "is not allowed to be unset");
                        if (colon && vlen == 0)
                                return err_set(lx->err, ERR_PARSE, SRC_FMT "%s: %s", SRC_ARGS(lx), namebuf, wordbuf[0] ? wordbuf : "is not allowed to be empty");
                        break;
                case '#':
                case '%': {
                        /* One '#' or '%': shortest match; doubled: longest. */
                        bool greedy = wordbuf[0] == c;

                        return trim_pattern(lx, value ? value : "", wordbuf + (greedy ? 1 : 0), c == '%', greedy,
                                            out);
                }
                default: {
                        char m[64];

                        snprintf(m, sizeof(m), "unsupported modifier (:%c) in substitution", c);
                        return lx_fail(lx, m);
                }
                }
                return add_value(lx, out, value);
        }

        if (c == '/') {
                bool all = false;
                struct df_buf pat = { 0 }, rep = { 0 };
                _cleanup_free_ char *patbuf = NULL, *repbuf = NULL;

                if (namebuf[0] == '\0')
                        return lx_fail(lx, "syntax error: bad substitution");
                if (lx_peek(lx) == '/') {
                        all = true;
                        lx->pos++;
                }
                lx->depth++;
                r = process_stop_on(lx, '/', true, &pat, NULL);
                patbuf = df_buf_steal(&pat);
                if (r < 0) {
                        lx->depth--;
                        if (lx->pos >= lx->len) {
                                err_clear(lx->err);
                                return lx_fail(lx, "syntax error: missing '/' in ${}");
                        }
                        return r;
                }
                /* The replacement keeps its escapes, as BuildKit's does. */
                r = process_stop_on(lx, '}', true, &rep, NULL);
                lx->depth--;
                repbuf = df_buf_steal(&rep);
                if (r < 0)
                        return r;
                value = env_get(lx, namebuf, false);
                return replace_pattern(lx, value ? value : "", patbuf, repbuf, all, out);
        }

        {
                char m[64];

                snprintf(m, sizeof(m), "unsupported modifier (%c) in substitution", c);
                return lx_fail(lx, m);
        }
}

/* Process up to STOP (-1: the end).  RAW_ESCAPES keeps escape characters in
 * the output (for patterns).  W, when not NULL, receives the split words. */
static int
process_stop_on_inner(struct lexer *lx, int stop, bool raw_escapes, struct df_buf *out, struct words *w)
{
        int r;

        while (lx->pos < lx->len) {
                int c = lx_peek(lx);

                if (stop >= 0 && c == stop) {
                        lx->pos++;
                        return 0;
                }
                if (c == '$' || ((c == '\'' || c == '"') && !(lx->opts && lx->opts->skip_quotes))) {
                        size_t before = out->len;

                        if (c == '$')
                                r = process_dollar(lx, out);
                        else if (c == '\'')
                                r = process_single_quote(lx, out);
                        else
                                r = process_double_quote(lx, out);
                        if (r < 0)
                                return r;
                        {
                                const char *piece = out->s ? out->s + before : "";

                                if (c == '$')
                                        words_add_text(w, piece, out->len - before);
                                else
                                        words_add_raw(w, piece, out->len - before);
                        }
                        if (check_size(lx, out, 0) < 0)
                                return -ERR_PARSE;
                        continue;
                }
                if (c == lx->escape) {
                        uint32_t cp;
                        size_t l;

                        lx->pos++;
                        if (raw_escapes)
                                df_buf_addc(out, (char) c);
                        if (lx->pos >= lx->len)
                                break;
                        l = utf8_next(lx->s + lx->pos, lx->len - lx->pos, &cp);
                        if (raw_escapes)
                                words_add_raw(w, lx->s + lx->pos - 1, 1);
                        words_add_raw(w, lx->s + lx->pos, l);
                        df_buf_add(out, lx->s + lx->pos, l);
                        lx->pos += l;
                        continue;
                }
                {
                        uint32_t cp;
                        size_t l = utf8_next(lx->s + lx->pos, lx->len - lx->pos, &cp);

                        words_add_text(w, lx->s + lx->pos, l);
                        df_buf_add(out, lx->s + lx->pos, l);
                        lx->pos += l;
                }
        }
        if (stop >= 0) {
                char m[96];

                if (stop == '}')
                        return lx_fail(lx, "syntax error: missing '}'");
                snprintf(m, sizeof(m), "unexpected end of statement while looking for matching %c", stop);
                return lx_fail(lx, m);
        }
        return 0;
}

static int
process_stop_on(struct lexer *lx, int stop, bool raw_escapes, struct df_buf *out, struct words *w)
{
        bool saved = lx->raw;
        int r;

        lx->raw = raw_escapes;
        r = process_stop_on_inner(lx, stop, raw_escapes, out, w);
        lx->raw = saved;
        return r;
}

void
build_shell_result_free(struct build_shell_result *r)
{
        if (!r)
                return;
        free(r->word);
        build_shell_strv_free(r->words);
        build_shell_strv_free(r->used);
        build_shell_strv_free(r->unset);
        free(r);
}

int
build_shell_expand(const char *word, const struct build_shell_opts *opts, struct build_shell_result **ret_result,
                   struct err **err)
{
        struct lexer lx = {
                .src = word,
                .s = word,
                .len = strlen(word),
                .escape = opts && opts->escape ? opts->escape : '\\',
                .opts = opts,
                .err = err,
        };
        struct words w = { 0 };
        struct df_buf out = { 0 };
        struct build_shell_result *res;
        int r;

        if (lx.len > BUILD_SHELL_MAX_OUTPUT)
                return err_set(err, ERR_PARSE, "word of %zu bytes is too long to expand", lx.len);
        r = process_stop_on(&lx, -1, false, &out, &w);
        if (r < 0) {
                df_buf_free(&out);
                df_buf_free(&w.cur);
                strv_clear(&w.list);
                strv_clear(&lx.used);
                strv_clear(&lx.unset);
                return r;
        }
        words_flush(&w);
        df_buf_free(&w.cur);
        res = xcalloc(1, sizeof(*res));
        res->word = df_buf_steal(&out);
        res->words = strv_steal(&w.list, &res->n_words);
        res->used = strv_steal(&lx.used, &res->n_used);
        res->unset = strv_steal(&lx.unset, &res->n_unset);
        *ret_result = res;
        return 0;
}

char *
build_shell_expand_word(const char *word, const struct build_shell_opts *opts, struct err **err)
{
        struct build_shell_result *res = NULL;
        char *s;

        if (build_shell_expand(word, opts, &res, err) < 0)
                return NULL;
        s = steal_ptr(&res->word);
        build_shell_result_free(res);
        return s;
}

int
build_shell_expand_words(const char *word, const struct build_shell_opts *opts, char ***ret_words, size_t *ret_n,
                         struct err **err)
{
        struct build_shell_result *res = NULL;
        int r;

        r = build_shell_expand(word, opts, &res, err);
        if (r < 0)
                return r;
        *ret_words = steal_ptr(&res->words);
        if (ret_n)
                *ret_n = res->n_words;
        build_shell_result_free(res);
        return 0;
}
