/* Instruction-level rules: what BuildKit's frontend/dockerfile/instructions
 * checks when it turns the parser's tree into commands (flags each
 * instruction takes and their values, argument counts and shapes). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "builder/dockerfile/parser-internal.h"
#include "common/cleanup.h"

enum flag_type { FL_STRING, FL_BOOL, FL_SLICE };

struct flag_spec {
        const char *name;
        enum flag_type type;
};

static const struct flag_spec from_flags[] = {{"platform", FL_STRING}, {NULL, 0}};
static const struct flag_spec run_flags[] = {
    {"mount", FL_SLICE}, {"network", FL_STRING}, {"security", FL_STRING}, {NULL, 0}};
static const struct flag_spec copy_flags[] = {{"from", FL_STRING},
                                              {"chown", FL_STRING},
                                              {"chmod", FL_STRING},
                                              {"link", FL_BOOL},
                                              {"exclude", FL_SLICE},
                                              {"parents", FL_BOOL},
                                              {NULL, 0}};
static const struct flag_spec add_flags[] = {
    {"chown", FL_STRING},      {"chmod", FL_STRING},  {"link", FL_BOOL}, {"checksum", FL_STRING},
    {"keep-git-dir", FL_BOOL}, {"exclude", FL_SLICE}, {NULL, 0}};
static const struct flag_spec health_flags[] = {{"interval", FL_STRING},     {"timeout", FL_STRING},
                                                {"start-period", FL_STRING}, {"start-interval", FL_STRING},
                                                {"retries", FL_STRING},      {NULL, 0}};

static const struct flag_spec *
flags_for(enum build_df_kind kind)
{
        switch (kind) {
        case BUILD_DF_FROM:
                return from_flags;
        case BUILD_DF_RUN:
                return run_flags;
        case BUILD_DF_COPY:
                return copy_flags;
        case BUILD_DF_ADD:
                return add_flags;
        case BUILD_DF_HEALTHCHECK:
                return health_flags;
        default:
                return NULL;
        }
}

struct vctx {
        const struct build_df_file *f;
        struct err **err;
};

static int verr(const struct vctx *v, struct build_df_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
verr(const struct vctx *v, struct build_df_pos pos, const char *fmt, ...)
{
        char msg[1536];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return err_set(v->err, ERR_PARSE, "%s:%d:%d: %s", v->f->name, pos.line, pos.col, msg);
}

/* Go's time.ParseDuration, enough to tell valid from invalid and get the
 * value in nanoseconds (saturating). */
static bool
parse_go_duration(const char *s, double *ret_ns)
{
        static const struct {
                const char *unit;
                double ns;
        } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
                     {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
        double total = 0;
        bool neg = false;

        if (*s == '-' || *s == '+')
                neg = *s++ == '-';
        if (strcmp(s, "0") == 0) {
                *ret_ns = 0;
                return true;
        }
        if (*s == '\0')
                return false;
        while (*s) {
                double v = 0, scale = 1;
                bool digits = false;
                size_t u, best = 0, best_len = 0;

                while (*s >= '0' && *s <= '9') {
                        v = v * 10 + (*s++ - '0');
                        digits = true;
                }
                if (*s == '.') {
                        s++;
                        while (*s >= '0' && *s <= '9') {
                                scale /= 10;
                                v += (*s++ - '0') * scale;
                                digits = true;
                        }
                }
                if (!digits)
                        return false;
                for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
                        size_t l = strlen(units[u].unit);
                        if (strncmp(s, units[u].unit, l) == 0 && l > best_len) {
                                best = u;
                                best_len = l;
                        }
                }
                if (best_len == 0)
                        return false;
                total += v * units[best].ns;
                s += best_len;
        }
        *ret_ns = neg ? -total : total;
        return true;
}

static void
list_flags(const struct flag_spec *spec, char *buf, size_t size)
{
        size_t i, off = 0;

        buf[0] = '\0';
        for (i = 0; spec[i].name && off < size; i++)
                off += (size_t) snprintf(buf + off, size - off, "%s--%s", i ? ", " : "", spec[i].name);
}

static int
check_flags(const struct vctx *v, const struct build_df_instr *in)
{
        const struct flag_spec *spec = flags_for(in->kind);
        const char *kname = build_df_kind_name(in->kind);
        size_t i, j;

        for (i = 0; i < in->n_flags; i++) {
                const struct build_df_flag *fl = &in->flags[i];
                const struct flag_spec *s = NULL;
                char valid[256];

                for (j = 0; spec && spec[j].name; j++)
                        if (strcmp(spec[j].name, fl->name) == 0)
                                s = &spec[j];
                if (s == NULL) {
                        size_t best = (size_t) -1, d;
                        const char *sugg = NULL;

                        if (spec == NULL)
                                return verr(v, fl->pos, "unknown flag --%s: %s takes no flags", fl->name, kname);
                        for (j = 0; spec[j].name; j++) {
                                d = df_levenshtein(fl->name, spec[j].name);
                                if (d < best) {
                                        best = d;
                                        sugg = spec[j].name;
                                }
                        }
                        list_flags(spec, valid, sizeof(valid));
                        if (sugg && best <= 2)
                                return verr(v, fl->pos, "unknown flag --%s for %s (did you mean --%s? valid flags: %s)",
                                            fl->name, kname, sugg, valid);
                        return verr(v, fl->pos, "unknown flag --%s for %s (valid flags: %s)", fl->name, kname, valid);
                }
                if (s->type != FL_SLICE)
                        for (j = 0; j < i; j++)
                                if (strcmp(in->flags[j].name, fl->name) == 0)
                                        return verr(v, fl->pos, "duplicate flag specified: --%s", fl->name);
                switch (s->type) {
                case FL_BOOL:
                        if (fl->value && strcasecmp(fl->value, "true") != 0 && strcasecmp(fl->value, "false") != 0)
                                return verr(v, fl->pos, "expecting boolean value for flag --%s, not: %s", fl->name,
                                            fl->value);
                        break;
                case FL_STRING:
                case FL_SLICE:
                        if (fl->value == NULL)
                                return verr(v, fl->pos, "missing a value on flag --%s (write --%s=VALUE)", fl->name,
                                            fl->name);
                        break;
                }
                if (strcmp(fl->name, "network") == 0 && strcmp(fl->value, "default") != 0 &&
                    strcmp(fl->value, "none") != 0 && strcmp(fl->value, "host") != 0)
                        return verr(v, fl->pos, "unsupported network mode %s (expected default, none or host)",
                                    fl->value);
                if (strcmp(fl->name, "security") == 0 && strcmp(fl->value, "sandbox") != 0 &&
                    strcmp(fl->value, "insecure") != 0)
                        return verr(v, fl->pos, "unsupported security mode %s (expected sandbox or insecure)",
                                    fl->value);
                if (strcmp(fl->name, "mount") == 0 && fl->value[0] == '\0')
                        return verr(v, fl->pos, "--mount needs a value (e.g. --mount=type=cache,target=/root/.cache)");
                if (in->kind == BUILD_DF_HEALTHCHECK) {
                        if (strcmp(fl->name, "retries") == 0) {
                                char *end;
                                long r = strtol(fl->value, &end, 10);
                                if (fl->value[0] == '\0' || *end || r < 0 || r > 0x7fffffff)
                                        return verr(v, fl->pos, "--retries must be a number >= 0, not %s", fl->value);
                        } else if (fl->value[0] != '\0') {
                                double ns;
                                if (!parse_go_duration(fl->value, &ns))
                                        return verr(v, fl->pos, "invalid duration %s for --%s (e.g. 30s, 1m30s)",
                                                    fl->value, fl->name);
                                if (ns != 0 && ns < 1e6)
                                        return verr(v, fl->pos, "--%s cannot be less than 1ms (got %s)", fl->name,
                                                    fl->value);
                        }
                }
        }
        return 0;
}

static bool
valid_stage_name(const char *s)
{
        size_t i;

        if (!isalpha((unsigned char) s[0]))
                return false;
        for (i = 1; s[i]; i++) {
                unsigned char ch = (unsigned char) s[i];
                if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.')
                        return false;
        }
        return true;
}

static int check_instr(const struct vctx *v, const struct build_df_instr *in, bool trigger);

static int
check_args(const struct vctx *v, const struct build_df_instr *in)
{
        const char *k = build_df_kind_name(in->kind);
        size_t i;

        switch (in->kind) {
        case BUILD_DF_FROM:
                if (in->n_args == 3 && strcasecmp(in->args[1], "as") == 0) {
                        if (!valid_stage_name(in->args[2]))
                                return verr(v, in->pos,
                                            "invalid name for build stage: \"%s\", name can't start with a number or "
                                            "contain symbols",
                                            in->args[2]);
                } else if (in->n_args != 1) {
                        return verr(v, in->pos, "FROM requires either one or three arguments (FROM image [AS name])");
                }
                break;
        case BUILD_DF_ADD:
        case BUILD_DF_COPY:
                if (in->n_args < 2)
                        return verr(v, in->pos,
                                    "%s requires at least two arguments, but only %zu was provided. Destination could "
                                    "not be determined",
                                    k, in->n_args);
                break;
        case BUILD_DF_MAINTAINER:
        case BUILD_DF_STOPSIGNAL:
        case BUILD_DF_USER:
        case BUILD_DF_WORKDIR:
                if (in->n_args != 1)
                        return verr(v, in->pos, "%s requires exactly one argument", k);
                break;
        case BUILD_DF_EXPOSE:
        case BUILD_DF_VOLUME:
        case BUILD_DF_ARG:
        case BUILD_DF_ENV:
        case BUILD_DF_LABEL:
        case BUILD_DF_SHELL:
                if (in->n_args == 0)
                        return verr(v, in->pos, "%s requires at least one argument", k);
                break;
        case BUILD_DF_RUN:
                if (in->n_args == 0)
                        return verr(v, in->pos, "RUN requires at least one argument");
                break;
        default:
                break;
        }
        switch (in->kind) {
        case BUILD_DF_VOLUME:
                for (i = 0; i < in->n_args; i++) {
                        const char *s = in->args[i];
                        while (isspace((unsigned char) *s))
                                s++;
                        if (*s == '\0')
                                return verr(v, in->pos, "VOLUME specified can not be an empty string");
                }
                break;
        case BUILD_DF_ENV:
        case BUILD_DF_LABEL:
                for (i = 0; i + 2 < in->n_args; i += 3)
                        if (in->args[i][0] == '\0')
                                return verr(v, in->pos, "%s names can not be blank", k);
                break;
        case BUILD_DF_ARG:
                for (i = 0; i < in->n_args; i++)
                        if (in->args[i][0] == '=' || in->args[i][0] == '\0')
                                return verr(v, in->pos, "ARG names can not be blank");
                break;
        case BUILD_DF_SHELL:
                if (!in->json)
                        return verr(
                            v, in->pos,
                            "SHELL requires the arguments to be in JSON form, e.g. SHELL [\"/bin/sh\", \"-c\"]");
                break;
        case BUILD_DF_HEALTHCHECK:
                if (in->n_args == 0)
                        return verr(v, in->pos, "HEALTHCHECK requires at least one argument (CMD ... or NONE)");
                if (strcasecmp(in->args[0], "NONE") == 0) {
                        if (in->n_args != 1)
                                return verr(v, in->pos, "HEALTHCHECK NONE takes no arguments");
                        if (in->n_flags)
                                return verr(v, in->flags[0].pos, "HEALTHCHECK NONE takes no flags");
                } else if (strcasecmp(in->args[0], "CMD") == 0) {
                        if (in->n_args < 2)
                                return verr(v, in->pos, "Missing command after HEALTHCHECK CMD");
                } else {
                        return verr(v, in->pos, "Unknown type \"%s\" in HEALTHCHECK (try CMD or NONE)", in->args[0]);
                }
                break;
        case BUILD_DF_ONBUILD:
                if (in->sub == NULL)
                        return verr(v, in->pos, "ONBUILD requires at least one argument");
                if (in->sub->kind == BUILD_DF_FROM || in->sub->kind == BUILD_DF_MAINTAINER ||
                    in->sub->kind == BUILD_DF_ONBUILD)
                        return verr(v, in->sub->pos, "%s isn't allowed as an ONBUILD trigger",
                                    build_df_kind_name(in->sub->kind));
                return check_instr(v, in->sub, true);
        default:
                break;
        }
        return 0;
}

static int
check_instr(const struct vctx *v, const struct build_df_instr *in, bool trigger)
{
        int r = check_flags(v, in);
        if (r < 0)
                return r;
        return check_args(v, in);
}

int
build_df_validate(const struct build_df_file *f, struct err **err)
{
        struct vctx v = {f, err};
        bool stage = false;
        size_t i;
        int r;

        for (i = 0; i < f->n_instrs; i++) {
                const struct build_df_instr *in = &f->instrs[i];

                if (in->kind == BUILD_DF_FROM)
                        stage = true;
                else if (!stage && in->kind != BUILD_DF_ARG)
                        return verr(&v, in->pos, "%s before the first FROM: only ARG may come before FROM",
                                    build_df_kind_name(in->kind));
                r = check_instr(&v, in, false);
                if (r < 0)
                        return r;
        }
        return 0;
}
