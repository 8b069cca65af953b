/* Instructions that change the image config (ENV, LABEL, EXPOSE, VOLUME,
 * USER, WORKDIR, CMD, ENTRYPOINT, STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD,
 * MAINTAINER; WORKDIR adds a layer when the dir is missing), and the
 * history entry every step adds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "builder/dockerfile/parser.h"
#include "builder/exec/exec-internal.h"
#include "common/cleanup.h"

/* ---- config instructions ------------------------------------------------ */

void
xadd_history(struct xctx *x, struct xstage *s, const char *created_by, bool empty)
{
        struct oci_history h = {0};

        h.created = xcreated_now(x);
        h.created_by = xstrdup(created_by);
        h.comment = xstrdup("buildkit.dockerfile.v0");
        h.empty_layer = empty;
        oci_image_config_add_history(s->cfg, &h);
        oci_history_clear(&h);
}

/* CMD/ENTRYPOINT/HEALTHCHECK argument vector: exec form as is, shell form
 * through the SHELL. */
char **
xcommand_vec(const struct xstage *s, char *const *args, size_t n, bool json)
{
        char **v = oci_strv_new_empty();

        if (json) {
                for (size_t i = 0; i < n; i++)
                        v = oci_strv_append(v, args[i]);
                return v;
        }
        if (s->cfg->config.shell && s->cfg->config.shell[0]) {
                for (char **p = s->cfg->config.shell; *p; p++)
                        v = oci_strv_append(v, *p);
        } else {
                v = oci_strv_append(v, "/bin/sh");
                v = oci_strv_append(v, "-c");
        }
        if (n > 0)
                v = oci_strv_append(v, args[0]);
        return v;
}

static int
do_healthcheck(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, struct err **err)
{
        const struct build_df_instr *node = in->node;
        struct oci_healthcheck *h;
        static const char *const names[] = {"interval", "timeout", "start-period", "start-interval", "retries"};

        (void) x;
        h = xcalloc(1, sizeof(*h));
        if (in->n_args == 0 || strcasecmp(in->args[0], "NONE") == 0) {
                h->test = oci_strv_append(NULL, "NONE");
        } else if (node->json) {
                h->test = oci_strv_append(NULL, "CMD");
                for (size_t i = 1; i < in->n_args; i++)
                        h->test = oci_strv_append(h->test, in->args[i]);
        } else {
                h->test = oci_strv_append(NULL, "CMD-SHELL");
                h->test = oci_strv_append(h->test, in->n_args > 1 ? in->args[1] : "");
        }
        for (size_t i = 0; i < in->n_flags; i++) {
                const struct build_plan_flag *f = &in->flags[i];
                int64_t v = 0;
                size_t k;

                for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
                        if (strcmp(f->name, names[k]) == 0)
                                break;
                if (k == sizeof(names) / sizeof(names[0]) || !f->value)
                        continue;
                if (k == 4) {
                        char *end;

                        errno = 0;
                        v = strtoll(f->value, &end, 10);
                        if (errno || *end || v < 0) {
                                oci_healthcheck_free(h);
                                return err_set(err, ERR_PARSE, "%s:%d: HEALTHCHECK --retries=%s: not a number",
                                               x->df_name, in->line, f->value);
                        }
                        h->retries = v;
                        continue;
                }
                if (build_exec_parse_duration(f->value, &v, err) < 0) {
                        oci_healthcheck_free(h);
                        return err_prefix(err, "%s:%d: HEALTHCHECK --%s", x->df_name, in->line, f->name);
                }
                if (k == 0)
                        h->interval = v;
                else if (k == 1)
                        h->timeout = v;
                else if (k == 2)
                        h->start_period = v;
                else
                        h->start_interval = v;
        }
        oci_healthcheck_free(s->cfg->config.healthcheck);
        s->cfg->config.healthcheck = h;
        return 0;
}

int
build_exec_parse_duration(const char *s, int64_t *ret_ns, struct err **err)
{
        const char *p = s;
        double total = 0;

        if (!*p)
                return err_set(err, EINVAL, "empty duration");
        if (strcmp(p, "0") == 0) {
                *ret_ns = 0;
                return 0;
        }
        while (*p) {
                /* Go's number syntax: digits, optionally '.' digits; strtod
                 * alone would also take "nan", "inf", "0x1p3", "1e3", signs
                 * and spaces (NaN then reached an undefined cast; found by
                 * fuzz_duration). */
                size_t n = strspn(p, "0123456789"), frac = 0;
                _cleanup_free_ char *num = NULL;
                double v;
                double unit;

                if (p[n] == '.')
                        frac = 1 + strspn(p + n + 1, "0123456789");
                if (n + frac == 0 || (n == 0 && frac == 1))
                        return err_set(err, EINVAL, "invalid duration '%s'", s);
                num = xstrndup(p, n + frac);
                errno = 0;
                v = strtod(num, NULL);
                if (errno)
                        return err_set(err, EINVAL, "invalid duration '%s'", s);
                p += n + frac;
                if (strncmp(p, "ns", 2) == 0)
                        unit = 1, p += 2;
                else if (strncmp(p, "us", 2) == 0 || strncmp(p, "µs", 3) == 0)
                        unit = 1e3, p += (*p == 'u' ? 2 : 3);
                else if (strncmp(p, "ms", 2) == 0)
                        unit = 1e6, p += 2;
                else if (*p == 's')
                        unit = 1e9, p++;
                else if (*p == 'm')
                        unit = 60e9, p++;
                else if (*p == 'h')
                        unit = 3600e9, p++;
                else
                        return err_set(err, EINVAL, "invalid duration '%s': missing or unknown unit", s);
                total += v * unit;
        }
        if (total > 9.2e18)
                return err_set(err, EINVAL, "duration '%s' too large", s);
        *ret_ns = (int64_t) total;
        return 0;
}

/* The text after the keyword of an ONBUILD trigger, as Docker stores it. */
static char *
onbuild_text(const struct build_df_instr *node)
{
        const char *p = node->original;

        while (*p == ' ' || *p == '\t')
                p++;
        p += strlen("ONBUILD");
        while (*p == ' ' || *p == '\t')
                p++;
        return xstrdup(p);
}

/* WORKDIR: the dir is created as a layer when missing from the image. */
static int
do_workdir(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, bool *ret_layer, struct err **err)
{
        _cleanup_free_ char *dir = xabs_path(s->cfg->config.working_dir, in->args[0]), *host = NULL;
        struct oci_layer_entry e;
        struct stat st;
        int r;

        free(s->cfg->config.working_dir);
        s->cfg->config.working_dir = xstrdup(dir);
        *ret_layer = false;
        if (strcmp(dir, "/") == 0)
                return 0;
        r = xstage_lookup(x, s, dir, &host, &st, err);
        if (r == 0)
                return 0;
        if (r != -ENOENT)
                return r;
        oci_layer_entry_init(&e);
        e.path = dir;
        e.uid = 0;
        e.gid = 0;
        e.mode = 0755;
        r = xwrite_entries_layer(x, s, &e, 1, err);
        if (r < 0)
                return r;
        *ret_layer = true;
        return 0;
}

int
xapply_config(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, bool *ret_layer, struct err **err)
{
        struct oci_exec_config *c = &s->cfg->config;
        const struct build_df_instr *node = in->node;

        *ret_layer = false;
        s->cfg->has_config = true;
        switch (in->kind) {
        case BUILD_DF_ENV:
                for (size_t i = 0; i + 1 < in->n_args; i += 2)
                        oci_image_config_setenv(s->cfg, in->args[i], in->args[i + 1]);
                return 0;
        case BUILD_DF_LABEL:
                for (size_t i = 0; i + 1 < in->n_args; i += 2)
                        oci_map_set(&c->labels, in->args[i], in->args[i + 1]);
                return 0;
        case BUILD_DF_EXPOSE:
                for (size_t i = 0; i < in->n_args; i++) {
                        _cleanup_free_ char *p =
                            strchr(in->args[i], '/') ? xstrdup(in->args[i]) : xasprintf("%s/tcp", in->args[i]);

                        for (char *q = p; *q; q++)
                                *q = (char) (*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
                        if (!oci_strv_contains(c->exposed_ports, p))
                                c->exposed_ports = oci_strv_append(c->exposed_ports, p);
                }
                return 0;
        case BUILD_DF_VOLUME:
                for (size_t i = 0; i < in->n_args; i++) {
                        if (!*in->args[i])
                                return err_set(err, ERR_PARSE, "%s:%d: VOLUME with an empty path", x->df_name,
                                               in->line);
                        if (!oci_strv_contains(c->volumes, in->args[i]))
                                c->volumes = oci_strv_append(c->volumes, in->args[i]);
                }
                return 0;
        case BUILD_DF_USER:
                free(c->user);
                c->user = xstrdup(in->n_args ? in->args[0] : "");
                return 0;
        case BUILD_DF_WORKDIR:
                return do_workdir(x, s, in, ret_layer, err);
        case BUILD_DF_CMD:
                oci_strv_free(c->cmd);
                c->cmd = xcommand_vec(s, in->args, in->n_args, node->json);
                s->cmd_set = true;
                return 0;
        case BUILD_DF_ENTRYPOINT:
                oci_strv_free(c->entrypoint);
                c->entrypoint = xcommand_vec(s, in->args, in->n_args, node->json);
                /* Docker: an ENTRYPOINT resets a CMD inherited from the base. */
                if (!s->cmd_set) {
                        oci_strv_free(c->cmd);
                        c->cmd = NULL;
                }
                return 0;
        case BUILD_DF_STOPSIGNAL:
                free(c->stop_signal);
                c->stop_signal = xstrdup(in->args[0]);
                return 0;
        case BUILD_DF_HEALTHCHECK:
                return do_healthcheck(x, s, in, err);
        case BUILD_DF_SHELL:
                oci_strv_free(c->shell);
                c->shell = oci_strv_from((const char *const *) in->args, in->n_args);
                return 0;
        case BUILD_DF_ONBUILD:
                if (node->sub) {
                        _cleanup_free_ char *t = onbuild_text(node);

                        c->on_build = oci_strv_append(c->on_build, t);
                }
                return 0;
        case BUILD_DF_MAINTAINER:
                free(s->cfg->author);
                s->cfg->author = xstrdup(in->n_args ? in->args[0] : "");
                return 0;
        default:
                return 0;
        }
}
