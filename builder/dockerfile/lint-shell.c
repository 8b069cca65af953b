/* The commands of a RUN, split well enough for word checks (apt-get
 * install flags, cd, sudo...): simple commands at ; & | ( ) ` and
 * newlines, words with quotes removed, comments and redirections dropped.
 * Not a shell parser: the checks that use it look for words, never run
 * anything. */
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile/lint-internal.h"
#include "common/cleanup.h"

struct splitter {
        struct lint_cmds *out;
        struct lint_cmd cur;
        size_t a_cur, a_out;
        struct df_buf word;
        bool in_word;   /* a word has begun (it may be empty: "") */
        bool skip_word; /* the next word is a redirection target */
};

static void
end_word(struct splitter *sp)
{
        if (!sp->in_word)
                return;
        sp->in_word = false;
        if (sp->skip_word) {
                sp->skip_word = false;
                df_buf_free(&sp->word);
                return;
        }
        if (sp->cur.argc + 1 >= sp->a_cur) {
                sp->a_cur = sp->a_cur ? sp->a_cur * 2 : 8;
                sp->cur.argv = xrealloc(sp->cur.argv, sp->a_cur * sizeof(*sp->cur.argv));
        }
        sp->cur.argv[sp->cur.argc++] = df_buf_steal(&sp->word);
        sp->cur.argv[sp->cur.argc] = NULL;
}

static void
end_cmd(struct splitter *sp)
{
        end_word(sp);
        sp->skip_word = false;
        if (sp->cur.argc == 0)
                return;
        if (sp->out->n == sp->a_out) {
                sp->a_out = sp->a_out ? sp->a_out * 2 : 4;
                sp->out->v = xrealloc(sp->out->v, sp->a_out * sizeof(*sp->out->v));
        }
        sp->out->v[sp->out->n++] = sp->cur;
        memset(&sp->cur, 0, sizeof(sp->cur));
        sp->a_cur = 0;
}

static void
add_char(struct splitter *sp, char c)
{
        sp->in_word = true;
        df_buf_addc(&sp->word, c);
}

static bool
all_digits(const struct df_buf *b)
{
        if (b->len == 0)
                return false;
        for (size_t i = 0; i < b->len; i++)
                if (b->s[i] < '0' || b->s[i] > '9')
                        return false;
        return true;
}

static void
split_text(struct splitter *sp, const char *s)
{
        size_t i = 0, n = strlen(s);

        while (i < n) {
                char c = s[i];

                if (c == '\\') {
                        if (i + 1 < n && s[i + 1] != '\n')
                                add_char(sp, s[i + 1]);
                        i += 2;
                        continue;
                }
                if (c == '\'') {
                        const char *q = memchr(s + i + 1, '\'', n - i - 1);
                        size_t e = q ? (size_t) (q - s) : n;

                        sp->in_word = true;
                        df_buf_add(&sp->word, s + i + 1, e - i - 1);
                        i = e + 1;
                        continue;
                }
                if (c == '"') {
                        sp->in_word = true;
                        for (i++; i < n && s[i] != '"'; i++) {
                                if (s[i] == '\\' && i + 1 < n && strchr("\"\\$`", s[i + 1]))
                                        i++;
                                df_buf_addc(&sp->word, s[i]);
                        }
                        i++;
                        continue;
                }
                if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') {
                        end_word(sp);
                        i++;
                        continue;
                }
                if (c == '#' && !sp->in_word) {
                        while (i < n && s[i] != '\n')
                                i++;
                        continue;
                }
                if (c == '<' || c == '>') {
                        /* "2>&1", "> out", "<<EOF": the fd number and the
                         * target are no arguments. */
                        if (all_digits(&sp->word)) {
                                df_buf_free(&sp->word);
                                sp->in_word = false;
                        }
                        end_word(sp);
                        while (i < n && strchr("<>&-", s[i]))
                                i++;
                        sp->skip_word = true;
                        while (i < n && (s[i] == ' ' || s[i] == '\t'))
                                i++;
                        continue;
                }
                if (c == ';' || c == '&' || c == '|' || c == '\n' || c == '(' || c == ')' || c == '`') {
                        end_cmd(sp);
                        i++;
                        continue;
                }
                add_char(sp, c);
                i++;
        }
        end_cmd(sp);
}

static bool
is_shell(const char *w)
{
        static const char *const shells[] = {"sh", "bash", "ash", "dash", "zsh", "ksh", NULL};
        const char *b = strrchr(w, '/');

        b = b ? b + 1 : w;
        for (size_t i = 0; shells[i]; i++)
                if (strcmp(b, shells[i]) == 0)
                        return true;
        return false;
}

void
lint_cmds_of_run(const struct build_df_instr *in, struct lint_cmds *ret)
{
        struct splitter sp = {.out = ret};

        memset(ret, 0, sizeof(*ret));
        if (in->json) {
                if (in->n_args >= 3 && is_shell(in->args[0]) && strcmp(in->args[1], "-c") == 0) {
                        split_text(&sp, in->args[2]);
                } else {
                        for (size_t i = 0; i < in->n_args; i++) {
                                df_buf_adds(&sp.word, in->args[i]);
                                sp.in_word = true;
                                end_word(&sp);
                        }
                        end_cmd(&sp);
                }
        } else if (in->n_args > 0) {
                const char *cl = in->args[0];
                _cleanup_free_ char *w0 = NULL;
                bool script;

                while (*cl == ' ' || *cl == '\t')
                        cl++;
                w0 = xstrndup(cl, strcspn(cl, " \t"));
                /* `RUN <<EOF` runs the body as a script, `RUN bash <<EOF`
                 * too; `RUN python3 <<EOF` feeds it to another program. */
                script = strncmp(cl, "<<", 2) == 0 || is_shell(w0);
                split_text(&sp, in->args[0]);
                for (size_t h = 0; script && h < in->n_heredocs; h++)
                        split_text(&sp, in->heredocs[h].content);
        }
        df_buf_free(&sp.word);
        if (sp.cur.argv) {
                for (size_t i = 0; i < sp.cur.argc; i++)
                        free(sp.cur.argv[i]);
                free(sp.cur.argv);
        }
}

void
lint_cmds_free(struct lint_cmds *c)
{
        for (size_t k = 0; k < c->n; k++) {
                for (size_t i = 0; i < c->v[k].argc; i++)
                        free(c->v[k].argv[i]);
                free(c->v[k].argv);
        }
        free(c->v);
        memset(c, 0, sizeof(*c));
}

static bool
is_assignment(const char *w)
{
        size_t i = 0;

        if (!lint_is_name_start(w[0]))
                return false;
        while (lint_is_name_char(w[i]))
                i++;
        return w[i] == '=';
}

size_t
lint_cmd_prog(const struct lint_cmd *c)
{
        static const char *const keywords[] = {"if", "then", "else", "elif", "do",      "while", "until", "!",
                                               "{",  "}",    "time", "exec", "command", "nohup", NULL};
        size_t i = 0;

        while (i < c->argc) {
                const char *w = c->argv[i], *b = strrchr(w, '/');
                bool kw = false;

                b = b ? b + 1 : w;
                for (size_t k = 0; keywords[k]; k++)
                        if (strcmp(w, keywords[k]) == 0)
                                kw = true;
                if (kw || is_assignment(w)) {
                        i++;
                } else if (strcmp(b, "sudo") == 0 || strcmp(b, "env") == 0) {
                        for (i++; i < c->argc && c->argv[i][0] == '-'; i++)
                                if (strcmp(c->argv[i], "-u") == 0 || strcmp(c->argv[i], "-g") == 0)
                                        i++;
                } else {
                        break;
                }
        }
        return i;
}

bool
lint_cmd_is(const struct lint_cmd *c, const char *prog, size_t *ret_i)
{
        size_t i = lint_cmd_prog(c);
        const char *b;

        if (i >= c->argc)
                return false;
        b = strrchr(c->argv[i], '/');
        b = b ? b + 1 : c->argv[i];
        if (strcmp(b, prog) != 0)
                return false;
        if (ret_i)
                *ret_i = i;
        return true;
}

bool
lint_cmd_sub(const struct lint_cmd *c, size_t i, const char *sub)
{
        for (i++; i < c->argc; i++)
                if (c->argv[i][0] != '-')
                        return strcmp(c->argv[i], sub) == 0;
        return false;
}

bool
lint_cmd_has(const struct lint_cmd *c, size_t i, const char *word)
{
        for (i++; i < c->argc; i++)
                if (strcmp(c->argv[i], word) == 0)
                        return true;
        return false;
}

static bool
is_letters(const char *w)
{
        if (*w == '\0')
                return false;
        for (; *w; w++)
                if (!((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z')))
                        return false;
        return true;
}

bool
lint_cmd_flag(const struct lint_cmd *c, size_t i, const char *const *names)
{
        for (i++; i < c->argc; i++) {
                const char *w = c->argv[i];

                if (w[0] != '-')
                        continue;
                for (size_t k = 0; names[k]; k++) {
                        const char *nm = names[k];
                        size_t nl = strlen(nm);

                        if (strcmp(w, nm) == 0 || (nm[1] == '-' && strncmp(w, nm, nl) == 0 && w[nl] == '='))
                                return true;
                        /* "-yq": combined one-letter flags. */
                        if (nm[1] != '-' && nl == 2 && is_letters(w + 1) && strchr(w + 1, nm[1]))
                                return true;
                }
        }
        return false;
}

/* Whether directory TARGET (a mount point) holds PATH. */
static bool
covers(const char *target, size_t tlen, const char *path)
{
        while (tlen > 1 && target[tlen - 1] == '/')
                tlen--;
        if (strncmp(path, target, tlen) != 0)
                return false;
        return path[tlen] == '\0' || path[tlen] == '/';
}

bool
lint_run_mounts(const struct build_df_instr *in, const char *path)
{
        for (const struct build_df_flag *m = build_df_flag(in, "mount"); m; m = build_df_flag_next(in, "mount", m)) {
                const char *v = m->value, *p;
                bool cache = false;
                const char *target = NULL;
                size_t tlen = 0;

                if (v == NULL)
                        continue;
                for (p = v; *p;) {
                        size_t n = strcspn(p, ",");

                        if (n == 10 && strncmp(p, "type=cache", 10) == 0)
                                cache = true;
                        else if (n == 10 && strncmp(p, "type=tmpfs", 10) == 0)
                                cache = true;
                        else if (strncmp(p, "target=", 7) == 0 && n > 7)
                                target = p + 7, tlen = n - 7;
                        else if (strncmp(p, "dst=", 4) == 0 && n > 4)
                                target = p + 4, tlen = n - 4;
                        else if (strncmp(p, "destination=", 12) == 0 && n > 12)
                                target = p + 12, tlen = n - 12;
                        p += n;
                        if (*p == ',')
                                p++;
                }
                if (cache && target && covers(target, tlen, path))
                        return true;
        }
        return false;
}
