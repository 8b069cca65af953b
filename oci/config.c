/* Image configs (image-spec config.md, Docker's container config): parse,
 * validate, edit, serialise (see oci/model.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "digest/digest.h"
#include "oci/model-internal.h"
#include "oci/model.h"

void
oci_healthcheck_free(struct oci_healthcheck *h)
{
        if (!h)
                return;
        oci_strv_free(h->test);
        json_decref(h->extra);
        free(h);
}

static void
exec_config_clear(struct oci_exec_config *c)
{
        free(c->user);
        oci_strv_free(c->exposed_ports);
        oci_strv_free(c->env);
        oci_strv_free(c->entrypoint);
        oci_strv_free(c->cmd);
        oci_strv_free(c->volumes);
        free(c->working_dir);
        json_decref(c->labels);
        free(c->stop_signal);
        oci_healthcheck_free(c->healthcheck);
        oci_strv_free(c->shell);
        oci_strv_free(c->on_build);
        json_decref(c->extra);
        memset(c, 0, sizeof(*c));
}

void
oci_history_clear(struct oci_history *h)
{
        if (!h)
                return;
        free(h->created);
        free(h->created_by);
        free(h->author);
        free(h->comment);
        json_decref(h->extra);
        memset(h, 0, sizeof(*h));
}

void
oci_image_config_free(struct oci_image_config *c)
{
        if (!c)
                return;
        free(c->created);
        free(c->author);
        free(c->architecture);
        free(c->os);
        free(c->os_version);
        oci_strv_free(c->os_features);
        free(c->variant);
        exec_config_clear(&c->config);
        free(c->rootfs_type);
        oci_strv_free(c->diff_ids);
        json_decref(c->rootfs_extra);
        for (size_t i = 0; i < c->n_history; i++)
                oci_history_clear(&c->history[i]);
        free(c->history);
        json_decref(c->extra);
        free(c->raw);
        free(c);
}

struct oci_image_config *
oci_image_config_new(const char *os, const char *arch, const char *variant)
{
        struct oci_image_config *c = xcalloc(1, sizeof(*c));

        c->os = xstrdup(os ? os : "linux");
        c->architecture = xstrdup(arch ? arch : "amd64");
        c->variant = variant && *variant ? xstrdup(variant) : NULL;
        c->rootfs_type = xstrdup("layers");
        c->diff_ids = oci_strv_new_empty();
        return c;
}

static json_t *
copy_json(const json_t *j)
{
        json_t *c;

        if (!j)
                return NULL;
        c = json_deep_copy(j);
        if (!c)
                abort();
        return c;
}

static char *
sdup(const char *s)
{
        return s ? xstrdup(s) : NULL;
}

static void
history_copy(struct oci_history *dst, const struct oci_history *src)
{
        dst->created = sdup(src->created);
        dst->created_by = sdup(src->created_by);
        dst->author = sdup(src->author);
        dst->comment = sdup(src->comment);
        dst->empty_layer = src->empty_layer;
        dst->extra = copy_json(src->extra);
}

struct oci_image_config *
oci_image_config_dup(const struct oci_image_config *c)
{
        struct oci_image_config *r;
        const struct oci_exec_config *e = &c->config;
        struct oci_exec_config *f;

        if (!c)
                return NULL;
        r = xcalloc(1, sizeof(*r));
        f = &r->config;
        r->created = sdup(c->created);
        r->author = sdup(c->author);
        r->architecture = sdup(c->architecture);
        r->os = sdup(c->os);
        r->os_version = sdup(c->os_version);
        r->os_features = oci_strv_dup(c->os_features);
        r->variant = sdup(c->variant);
        r->has_config = c->has_config;
        f->user = sdup(e->user);
        f->exposed_ports = oci_strv_dup(e->exposed_ports);
        f->env = oci_strv_dup(e->env);
        f->entrypoint = oci_strv_dup(e->entrypoint);
        f->cmd = oci_strv_dup(e->cmd);
        f->volumes = oci_strv_dup(e->volumes);
        f->working_dir = sdup(e->working_dir);
        f->labels = copy_json(e->labels);
        f->stop_signal = sdup(e->stop_signal);
        if (e->healthcheck) {
                f->healthcheck = xcalloc(1, sizeof(*f->healthcheck));
                *f->healthcheck = *e->healthcheck;
                f->healthcheck->test = oci_strv_dup(e->healthcheck->test);
                f->healthcheck->extra = copy_json(e->healthcheck->extra);
        }
        f->shell = oci_strv_dup(e->shell);
        f->on_build = oci_strv_dup(e->on_build);
        f->args_escaped = e->args_escaped;
        f->extra = copy_json(e->extra);
        r->rootfs_type = sdup(c->rootfs_type);
        r->diff_ids = oci_strv_dup(c->diff_ids);
        r->rootfs_extra = copy_json(c->rootfs_extra);
        if (c->n_history) {
                r->history = xcalloc(c->n_history, sizeof(*r->history));
                for (size_t i = 0; i < c->n_history; i++)
                        history_copy(&r->history[i], &c->history[i]);
                r->n_history = c->n_history;
        }
        r->extra = copy_json(c->extra);
        return r;
}

/* ---- parse ---- */

static int
healthcheck_from_json(const json_t *j, struct oci_healthcheck **ret, struct err **err)
{
        static const char *const known[] = { "Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries",
                                             NULL };
        static const char *const where = "config.Healthcheck";
        struct oci_healthcheck *h;
        int r;

        if (!json_is_object(j))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: must be an object", where);
        h = xcalloc(1, sizeof(*h));
        if ((r = oci_field_strv(j, where, "Test", &h->test, err)) < 0 ||
            (r = oci_field_int64(j, where, "Interval", false, &h->interval, NULL, err)) < 0 ||
            (r = oci_field_int64(j, where, "Timeout", false, &h->timeout, NULL, err)) < 0 ||
            (r = oci_field_int64(j, where, "StartPeriod", false, &h->start_period, NULL, err)) < 0 ||
            (r = oci_field_int64(j, where, "StartInterval", false, &h->start_interval, NULL, err)) < 0 ||
            (r = oci_field_int64(j, where, "Retries", false, &h->retries, NULL, err)) < 0) {
                oci_healthcheck_free(h);
                return r;
        }
        if (h->interval < 0 || h->timeout < 0 || h->start_period < 0 || h->start_interval < 0 || h->retries < 0) {
                oci_healthcheck_free(h);
                return err_set(err, ERR_MANIFEST_INVALID, "%s: durations and Retries must not be negative", where);
        }
        h->extra = oci_extra_of(j, known);
        *ret = h;
        return 0;
}

static int
exec_config_from_json(const json_t *j, struct oci_exec_config *c, struct err **err)
{
        static const char *const known[] = { "User",       "ExposedPorts", "Env",        "Entrypoint", "Cmd",
                                             "Volumes",    "WorkingDir",   "Labels",     "StopSignal", "Healthcheck",
                                             "Shell",      "OnBuild",      "ArgsEscaped", NULL };
        static const char *const where = "config";
        json_t *hc;
        int r;

        if (!json_is_object(j))
                return err_set(err, ERR_MANIFEST_INVALID, "config: must be an object");
        if ((r = oci_field_string(j, where, "User", false, &c->user, err)) < 0 ||
            (r = oci_field_keys(j, where, "ExposedPorts", &c->exposed_ports, err)) < 0 ||
            (r = oci_field_strv(j, where, "Env", &c->env, err)) < 0 ||
            (r = oci_field_strv(j, where, "Entrypoint", &c->entrypoint, err)) < 0 ||
            (r = oci_field_strv(j, where, "Cmd", &c->cmd, err)) < 0 ||
            (r = oci_field_keys(j, where, "Volumes", &c->volumes, err)) < 0 ||
            (r = oci_field_string(j, where, "WorkingDir", false, &c->working_dir, err)) < 0 ||
            (r = oci_field_map(j, where, "Labels", &c->labels, err)) < 0 ||
            (r = oci_field_string(j, where, "StopSignal", false, &c->stop_signal, err)) < 0 ||
            (r = oci_field_strv(j, where, "Shell", &c->shell, err)) < 0 ||
            (r = oci_field_strv(j, where, "OnBuild", &c->on_build, err)) < 0 ||
            (r = oci_field_bool(j, where, "ArgsEscaped", &c->args_escaped, err)) < 0)
                return r;
        hc = json_object_get(j, "Healthcheck");
        if (hc && !json_is_null(hc) && (r = healthcheck_from_json(hc, &c->healthcheck, err)) < 0)
                return r;
        c->extra = oci_extra_of(j, known);
        return 0;
}

static int
history_from_json(const json_t *j, size_t i, struct oci_history *h, struct err **err)
{
        static const char *const known[] = { "created", "created_by", "author", "comment", "empty_layer", NULL };
        char where[64];
        int r;

        snprintf(where, sizeof(where), "history[%zu]", i);
        if (!json_is_object(j))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: must be an object", where);
        if ((r = oci_field_string(j, where, "created", false, &h->created, err)) < 0 ||
            (r = oci_field_string(j, where, "created_by", false, &h->created_by, err)) < 0 ||
            (r = oci_field_string(j, where, "author", false, &h->author, err)) < 0 ||
            (r = oci_field_string(j, where, "comment", false, &h->comment, err)) < 0 ||
            (r = oci_field_bool(j, where, "empty_layer", &h->empty_layer, err)) < 0)
                return r;
        h->extra = oci_extra_of(j, known);
        return 0;
}

int
oci_image_config_validate(const struct oci_image_config *c, struct err **err)
{
        size_t n;

        if (!c->architecture || !*c->architecture)
                return err_set(err, ERR_MANIFEST_INVALID, "architecture: missing required field");
        if (!c->os || !*c->os)
                return err_set(err, ERR_MANIFEST_INVALID, "os: missing required field");
        if (!c->rootfs_type)
                return err_set(err, ERR_MANIFEST_INVALID, "rootfs.type: missing required field");
        if (strcmp(c->rootfs_type, "layers") != 0)
                return err_set(err, ERR_MANIFEST_INVALID, "rootfs.type: must be \"layers\", not \"%.100s\"",
                               c->rootfs_type);
        if (!c->diff_ids)
                return err_set(err, ERR_MANIFEST_INVALID, "rootfs.diff_ids: missing required field");
        n = oci_strv_len(c->diff_ids);
        if (n > LIMIT_LAYERS)
                return err_set(err, ERR_MANIFEST_INVALID, "rootfs.diff_ids: too many entries (%zu, at most %d)", n,
                               LIMIT_LAYERS);
        for (size_t i = 0; i < n; i++) {
                struct digest d;
                struct err *e = NULL;
                int r = digest_parse(c->diff_ids[i], &d, &e);

                if (r < 0) {
                        r = err_set(err, ERR_MANIFEST_INVALID, "rootfs.diff_ids[%zu]: %s", i, e ? e->msg : "invalid");
                        err_clear(&e);
                        return r;
                }
        }
        return 0;
}

int
oci_image_config_from_json(const json_t *j, struct oci_image_config **ret_config, struct err **err)
{
        static const char *const known[] = { "created", "author",   "architecture", "os",      "os.version",
                                             "os.features", "variant", "config",   "rootfs",  "history", NULL };
        static const char *const rootfs_known[] = { "type", "diff_ids", NULL };
        _cleanup_(oci_image_config_freep) struct oci_image_config *c = NULL;
        json_t *cfg, *rootfs, *hist, *e;
        size_t i;
        int r;

        if (!json_is_object(j))
                return err_set(err, ERR_MANIFEST_INVALID, "config: must be a JSON object");
        c = xcalloc(1, sizeof(*c));
        if ((r = oci_field_string(j, "", "created", false, &c->created, err)) < 0 ||
            (r = oci_field_string(j, "", "author", false, &c->author, err)) < 0 ||
            (r = oci_field_string(j, "", "architecture", true, &c->architecture, err)) < 0 ||
            (r = oci_field_string(j, "", "os", true, &c->os, err)) < 0 ||
            (r = oci_field_string(j, "", "os.version", false, &c->os_version, err)) < 0 ||
            (r = oci_field_strv(j, "", "os.features", &c->os_features, err)) < 0 ||
            (r = oci_field_string(j, "", "variant", false, &c->variant, err)) < 0)
                return r;
        cfg = json_object_get(j, "config");
        if (cfg && !json_is_null(cfg)) {
                c->has_config = true;
                if ((r = exec_config_from_json(cfg, &c->config, err)) < 0)
                        return r;
        }
        rootfs = json_object_get(j, "rootfs");
        if (!rootfs || json_is_null(rootfs))
                return err_set(err, ERR_MANIFEST_INVALID, "rootfs: missing required field");
        if (!json_is_object(rootfs))
                return err_set(err, ERR_MANIFEST_INVALID, "rootfs: must be an object");
        if ((r = oci_field_string(rootfs, "rootfs", "type", true, &c->rootfs_type, err)) < 0 ||
            (r = oci_field_strv(rootfs, "rootfs", "diff_ids", &c->diff_ids, err)) < 0)
                return r;
        if (!c->diff_ids)
                return err_set(err, ERR_MANIFEST_INVALID, "rootfs.diff_ids: missing required field");
        c->rootfs_extra = oci_extra_of(rootfs, rootfs_known);
        hist = json_object_get(j, "history");
        if (hist && !json_is_null(hist)) {
                if (!json_is_array(hist))
                        return err_set(err, ERR_MANIFEST_INVALID, "history: must be an array");
                if (json_array_size(hist) > 4 * LIMIT_LAYERS)
                        return err_set(err, ERR_MANIFEST_INVALID, "history: too many entries (%zu, at most %d)",
                                       json_array_size(hist), 4 * LIMIT_LAYERS);
                c->history = xcalloc(json_array_size(hist) + 1, sizeof(*c->history));
                json_array_foreach(hist, i, e) {
                        c->n_history = i + 1;
                        if ((r = history_from_json(e, i, &c->history[i], err)) < 0)
                                return r;
                }
        }
        if ((r = oci_image_config_validate(c, err)) < 0)
                return r;
        c->extra = oci_extra_of(j, known);
        *ret_config = steal_ptr(&c);
        return 0;
}

static int
config_from_doc(const json_t *j, const void *raw, size_t raw_len, void *ret, struct err **err)
{
        struct oci_image_config *c = NULL;
        int r = oci_image_config_from_json(j, &c, err);

        if (r == 0) {
                c->raw = oci_raw_copy(raw, raw_len);
                c->raw_len = raw_len;
                *(struct oci_image_config **) ret = c;
        }
        return r;
}

int
oci_image_config_parse(const void *buf, size_t len, struct oci_image_config **ret_config, struct err **err)
{
        return oci_json_parse_doc(buf, len, LIMIT_CONFIG_SIZE, "image config", config_from_doc, ret_config, err);
}

/* ---- edit ---- */

void
oci_image_config_add_diff_id(struct oci_image_config *c, const char *diff_id)
{
        c->diff_ids = oci_strv_append(c->diff_ids, diff_id);
}

void
oci_image_config_add_history(struct oci_image_config *c, const struct oci_history *h)
{
        c->history = xrealloc(c->history, (c->n_history + 1) * sizeof(*c->history));
        memset(&c->history[c->n_history], 0, sizeof(c->history[0]));
        history_copy(&c->history[c->n_history], h);
        c->n_history++;
}

/* Index of NAME in ENV ("NAME=..." or a bare "NAME"), or -1. */
static ssize_t
env_find(char *const *env, const char *name)
{
        size_t n = strlen(name);

        if (!env)
                return -1;
        for (size_t i = 0; env[i]; i++)
                if (strncmp(env[i], name, n) == 0 && (env[i][n] == '=' || env[i][n] == '\0'))
                        return (ssize_t) i;
        return -1;
}

const char *
oci_image_config_getenv(const struct oci_image_config *c, const char *name)
{
        ssize_t i = env_find(c->config.env, name);
        const char *eq;

        if (i < 0)
                return NULL;
        eq = strchr(c->config.env[i], '=');
        return eq ? eq + 1 : "";
}

void
oci_image_config_setenv(struct oci_image_config *c, const char *name, const char *value)
{
        ssize_t i = env_find(c->config.env, name);

        if (!value) {
                if (i >= 0) {
                        size_t n = oci_strv_len(c->config.env);

                        free(c->config.env[i]);
                        memmove(&c->config.env[i], &c->config.env[i + 1], (n - (size_t) i) * sizeof(char *));
                }
                return;
        }
        c->has_config = true;
        if (i >= 0) {
                free(c->config.env[i]);
                c->config.env[i] = xasprintf("%s=%s", name, value);
        } else {
                char *kv = xasprintf("%s=%s", name, value);

                c->config.env = oci_strv_append(c->config.env, kv);
                free(kv);
        }
}

struct oci_platform *
oci_image_config_platform(const struct oci_image_config *c)
{
        struct oci_platform *p = xcalloc(1, sizeof(*p));

        p->os = sdup(c->os);
        p->architecture = sdup(c->architecture);
        p->variant = sdup(c->variant);
        p->os_version = sdup(c->os_version);
        p->os_features = oci_strv_dup(c->os_features);
        return p;
}

/* ---- serialise ---- */

static void
set_int(json_t *o, const char *key, int64_t v)
{
        if (v != 0 && json_object_set_new(o, key, json_integer(v)) < 0)
                abort();
}

static json_t *
exec_config_to_json(const struct oci_exec_config *c)
{
        json_t *o = oci_object_from_extra(c->extra);

        oci_set_string(o, "User", c->user);
        oci_set_keys(o, "ExposedPorts", c->exposed_ports);
        oci_set_strv(o, "Env", c->env);
        oci_set_strv(o, "Entrypoint", c->entrypoint);
        oci_set_strv(o, "Cmd", c->cmd);
        oci_set_keys(o, "Volumes", c->volumes);
        oci_set_string(o, "WorkingDir", c->working_dir);
        oci_set_map(o, "Labels", c->labels);
        oci_set_string(o, "StopSignal", c->stop_signal);
        if (c->healthcheck) {
                const struct oci_healthcheck *h = c->healthcheck;
                json_t *hj = oci_object_from_extra(h->extra);

                oci_set_strv(hj, "Test", h->test);
                set_int(hj, "Interval", h->interval);
                set_int(hj, "Timeout", h->timeout);
                set_int(hj, "StartPeriod", h->start_period);
                set_int(hj, "StartInterval", h->start_interval);
                set_int(hj, "Retries", h->retries);
                if (json_object_set_new(o, "Healthcheck", hj) < 0)
                        abort();
        }
        oci_set_strv(o, "Shell", c->shell);
        oci_set_strv(o, "OnBuild", c->on_build);
        if (c->args_escaped && json_object_set_new(o, "ArgsEscaped", json_true()) < 0)
                abort();
        return o;
}

json_t *
oci_image_config_to_json(const struct oci_image_config *c)
{
        json_t *o = oci_object_from_extra(c->extra);
        json_t *rootfs = oci_object_from_extra(c->rootfs_extra);

        oci_set_string(o, "created", c->created);
        oci_set_string(o, "author", c->author);
        oci_set_string(o, "architecture", c->architecture);
        oci_set_string(o, "os", c->os);
        oci_set_string(o, "os.version", c->os_version);
        oci_set_strv(o, "os.features", c->os_features);
        oci_set_string(o, "variant", c->variant);
        {
                json_t *cfg = exec_config_to_json(&c->config);

                if (c->has_config || json_object_size(cfg) > 0) {
                        if (json_object_set_new(o, "config", cfg) < 0)
                                abort();
                } else {
                        json_decref(cfg);
                }
        }
        oci_set_string(rootfs, "type", c->rootfs_type);
        if (c->diff_ids)
                oci_set_strv(rootfs, "diff_ids", c->diff_ids);
        else
                json_object_set_new(rootfs, "diff_ids", json_array());
        if (json_object_set_new(o, "rootfs", rootfs) < 0)
                abort();
        if (c->history) {
                json_t *a = json_array();

                for (size_t i = 0; i < c->n_history; i++) {
                        const struct oci_history *h = &c->history[i];
                        json_t *hj = oci_object_from_extra(h->extra);

                        oci_set_string(hj, "created", h->created);
                        oci_set_string(hj, "created_by", h->created_by);
                        oci_set_string(hj, "author", h->author);
                        oci_set_string(hj, "comment", h->comment);
                        if (h->empty_layer && json_object_set_new(hj, "empty_layer", json_true()) < 0)
                                abort();
                        if (json_array_append_new(a, hj) < 0)
                                abort();
                }
                if (json_object_set_new(o, "history", a) < 0)
                        abort();
        }
        return o;
}

int
oci_image_config_serialize(const struct oci_image_config *c, char **ret_buf, size_t *ret_len, struct err **err)
{
        json_t *j;
        int r;

        if ((r = oci_image_config_validate(c, err)) < 0) {
                err_prefix(err, "image config");
                return r;
        }
        j = oci_image_config_to_json(c);
        r = oci_json_dump(j, ret_buf, ret_len, err);
        json_decref(j);
        return r;
}
