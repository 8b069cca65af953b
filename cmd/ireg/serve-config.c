/* ireg serve: the JSON settings file.  Every key is known or refused: a
 * misspelled section ("htpaswd", "tsl") would otherwise leave a registry
 * open or on plain HTTP without a word. */
#include "cmd/ireg/serve-config.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "registry/auth/auth.h"
#include "registry/common/config-keys.h"
#include "registry/server/policy.h"
#include "registry/s3/s3.h"

static int
check_keys(json_t *obj, const char *where, const char *const *known, const char *file)
{
        const char *key = reg_config_unknown_key(obj, known);

        if (key) {
                fprintf(stderr, "ireg: error: %s: %s%s%s: unknown key\n", file, where, *where ? "." : "", key);
                return -1;
        }
        return 0;
}

/* *RET = OBJ.KEY when present and not already set by a flag. */
static int
take_str(json_t *obj, const char *where, const char *key, const char **ret, const char *file)
{
        json_t *v = json_object_get(obj, key);

        if (!v)
                return 0;
        if (!json_is_string(v) || json_string_length(v) == 0) {
                fprintf(stderr, "ireg: error: %s: %s%s%s: expected a non-empty string\n", file, where,
                        *where ? "." : "", key);
                return -1;
        }
        if (!*ret)
                *ret = json_string_value(v);
        return 0;
}

static int
take_int(json_t *obj, const char *key, json_int_t min, json_int_t max, const char *unit, bool *have,
         json_int_t *ret, const char *file)
{
        json_t *v = json_object_get(obj, key);

        if (!v)
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
                fprintf(stderr, "ireg: error: %s: %s: want %s from %lld to %lld\n", file, key, unit,
                        (long long) min, (long long) max);
                return -1;
        }
        if (!*have) {
                *ret = json_integer_value(v);
                *have = true;
        }
        return 0;
}

/* "storage": {"s3": {"endpoint", "region", "bucket", "prefix",
 * "access_key", "secret_key", "redirect"}}; only "bucket" is required. */
static int
load_storage(json_t *st, struct serve_settings *s, const char *file)
{
        static const char *const known[] = { "s3", NULL };
        static const char *const known_s3[] = { "endpoint",   "region",     "bucket",   "prefix",
                                                "access_key", "secret_key", "redirect", NULL };
        json_t *s3, *redir;

        if (!json_is_object(st)) {
                fprintf(stderr, "ireg: error: %s: storage: expected an object\n", file);
                return -1;
        }
        if (check_keys(st, "storage", known, file) < 0)
                return -1;
        s3 = json_object_get(st, "s3");
        if (!s3)
                return 0;
        if (!json_is_object(s3)) {
                fprintf(stderr, "ireg: error: %s: storage.s3: expected an object\n", file);
                return -1;
        }
        if (check_keys(s3, "storage.s3", known_s3, file) < 0 ||
            take_str(s3, "storage.s3", "endpoint", &s->s3_endpoint, file) < 0 ||
            take_str(s3, "storage.s3", "region", &s->s3_region, file) < 0 ||
            take_str(s3, "storage.s3", "bucket", &s->s3_bucket, file) < 0 ||
            take_str(s3, "storage.s3", "prefix", &s->s3_prefix, file) < 0 ||
            take_str(s3, "storage.s3", "access_key", &s->s3_access_key, file) < 0 ||
            take_str(s3, "storage.s3", "secret_key", &s->s3_secret_key, file) < 0)
                return -1;
        if (!s->s3_bucket) {
                fprintf(stderr, "ireg: error: %s: storage.s3.bucket: required\n", file);
                return -1;
        }
        redir = json_object_get(s3, "redirect");
        if (redir && !json_is_boolean(redir)) {
                fprintf(stderr, "ireg: error: %s: storage.s3.redirect: expected true or false\n", file);
                return -1;
        }
        s->s3_redirect = redir && json_is_true(redir);
        s->have_s3 = true;
        return 0;
}

void
serve_settings_s3(const struct serve_settings *s, struct s3_config *ret)
{
        *ret = (struct s3_config) {
                .endpoint = s->s3_endpoint ? s->s3_endpoint : "http://127.0.0.1:7480",
                .region = s->s3_region,
                .bucket = s->s3_bucket,
                .prefix = s->s3_prefix,
                .access_key = s->s3_access_key,
                .secret_key = s->s3_secret_key,
        };
}

int
serve_config_load(const char *file, struct serve_settings *s, json_t **ret_conf)
{
        static const char *const known[] = { "addr",     "root",      "log",      "threads",
                                             "timeout",  "max_conns", "max_conns_per_ip",
                                             "chunk_min_length",      "tls",      "auth",
                                             "storage",  "policies", NULL };
        static const char *const known_tls[] = { "cert", "key", "client_ca", NULL };
        json_error_t je;
        json_t *conf, *tls;

        *ret_conf = NULL;
        conf = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
        if (!conf || !json_is_object(conf)) {
                fprintf(stderr, "ireg: error: %s:%d:%d: %s\n", file, je.line, je.column,
                        conf ? "not a JSON object" : je.text);
                json_decref(conf);
                return -1;
        }
        if (check_keys(conf, "", known, file) < 0 || take_str(conf, "", "addr", &s->addr, file) < 0 ||
            take_str(conf, "", "root", &s->root, file) < 0 || take_str(conf, "", "log", &s->log, file) < 0 ||
            take_int(conf, "threads", 1, 1024, "threads", &s->have_threads, &s->threads, file) < 0 ||
            take_int(conf, "timeout", 1, 86400, "seconds", &s->have_timeout, &s->timeout, file) < 0 ||
            take_int(conf, "max_conns", 1, 1 << 20, "connections", &s->have_max_conns, &s->max_conns, file) < 0 ||
            take_int(conf, "max_conns_per_ip", 1, 1 << 20, "connections", &s->have_max_conns_per_ip,
                     &s->max_conns_per_ip, file) < 0 ||
            take_int(conf, "chunk_min_length", 0, (json_int_t) 4 << 30, "bytes", &s->have_chunk_min,
                     &s->chunk_min, file) < 0)
                goto fail;
        tls = json_object_get(conf, "tls");
        if (tls) {
                if (!json_is_object(tls)) {
                        fprintf(stderr, "ireg: error: %s: tls: expected an object\n", file);
                        goto fail;
                }
                if (check_keys(tls, "tls", known_tls, file) < 0 || take_str(tls, "tls", "cert", &s->cert, file) < 0 ||
                    take_str(tls, "tls", "key", &s->key, file) < 0 ||
                    take_str(tls, "tls", "client_ca", &s->ca, file) < 0)
                        goto fail;
        }
        if (json_object_get(conf, "auth")) {
                struct err *e = NULL;

                if (reg_auth_config_parse(json_object_get(conf, "auth"), &s->auth, &e) < 0) {
                        fprintf(stderr, "ireg: error: %s: %s\n", file, err_msg(&e));
                        err_clear(&e);
                        goto fail;
                }
        }
        if (json_object_get(conf, "storage") && load_storage(json_object_get(conf, "storage"), s, file) < 0)
                goto fail;
        if (json_object_get(conf, "policies")) {
                struct err *e = NULL;

                if (reg_policy_parse(json_object_get(conf, "policies"), "policies", &s->policy, &e) < 0) {
                        fprintf(stderr, "ireg: error: %s: %s\n", file, err_msg(&e));
                        err_clear(&e);
                        goto fail;
                }
        }
        *ret_conf = conf;
        return 0;
fail:
        json_decref(conf);
        return -1;
}
