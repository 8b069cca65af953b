/* ireg serve: settings from flags and the JSON config file. */
#ifndef CMD_IREG_SERVE_CONFIG_H
#define CMD_IREG_SERVE_CONFIG_H

#include <jansson.h>
#include <stdbool.h>

struct reg_auth_config;
struct reg_policy;

/* What a flag sets first wins: the file fills only what is still unset
 * (NULL, or have_X false). */
struct serve_settings {
        const char *addr, *root, *log, *cert, *key, *ca;
        bool have_threads, have_timeout, have_max_conns, have_max_conns_per_ip, have_chunk_min;
        json_int_t threads, timeout, max_conns, max_conns_per_ip, chunk_min;
        struct reg_auth_config *auth; /* from the file's "auth"; caller frees */
        struct reg_policy *policy;    /* from the file's "policies"; caller frees */
        /* "storage": {"s3": {...}}: the S3 driver instead of root. */
        bool have_s3, s3_redirect;
        const char *s3_endpoint, *s3_region, *s3_bucket, *s3_prefix, *s3_access_key, *s3_secret_key;
};

struct s3_config;

/* S's S3 settings as a client configuration (strings point into S);
 * credentials the file leaves out come from AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY (the client reads them). */
void serve_settings_s3(const struct serve_settings *s, struct s3_config *ret);

/* Read FILE into S.  Unknown keys (at any level), wrong types and values
 * out of range print one "ireg: error: FILE: KEY.PATH: ..." line and
 * return -1.  On success *RET_CONF holds the strings S points into:
 * json_decref it after use. */
int serve_config_load(const char *file, struct serve_settings *s, json_t **ret_conf);

#endif
