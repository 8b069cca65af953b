/* ireg's authentication and authorisation decisions (API and config in
 * registry/auth/auth.h). */
#include "registry/auth/auth.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/utf8.h"
#include "digest/digest.h"
#include "oci/ref.h"
#include "registry/auth/auth-internal.h"
#include "registry/common/base64.h"
#include "registry/common/challenge.h"
#include "registry/common/config-keys.h"

struct acl_rule {
        char *user;
        size_t n_repos;
        char **repos;
        unsigned actions;
};

struct reg_auth_config {
        char *htpasswd;
        char *basic_realm;
        bool token;
        char *realm, *service, *issuer, *key, *cert, *rootcertbundle;
        long expiration, refresh_expiration;
        bool anonymous;
        bool client_cert_users;
        bool has_acl;
        size_t n_rules;
        struct acl_rule *rules;
};

enum auth_mode { MODE_NONE, MODE_BASIC, MODE_TOKEN };

struct reg_auth {
        enum auth_mode mode;
        struct reg_auth_config *cfg; /* private deep copy */
        struct reg_htpasswd *htpasswd;
        struct reg_jwt_key *key; /* set when ireg issues tokens */
        unsigned char *cert_der; /* x5c for issued tokens, or NULL */
        size_t cert_der_len;
        struct reg_jwt_trust *trust;
        char *token_path;
};

/* ---- configuration ---- */

void
reg_auth_config_free(struct reg_auth_config *cfg)
{
        if (!cfg)
                return;
        free(cfg->htpasswd);
        free(cfg->basic_realm);
        free(cfg->realm);
        free(cfg->service);
        free(cfg->issuer);
        free(cfg->key);
        free(cfg->cert);
        free(cfg->rootcertbundle);
        for (size_t i = 0; i < cfg->n_rules; i++) {
                free(cfg->rules[i].user);
                for (size_t k = 0; k < cfg->rules[i].n_repos; k++)
                        free(cfg->rules[i].repos[k]);
                free(cfg->rules[i].repos);
        }
        free(cfg->rules);
        free(cfg);
}
DEFINE_FREEP(struct reg_auth_config, reg_auth_config_free)

static int
get_string(json_t *obj, const char *key, const char *where, char **ret, struct err **err)
{
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        if (!json_is_string(v) || json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v))
                return err_set(err, ERR_PARSE, "%s.%s: expected a non-empty string", where, key);
        for (const unsigned char *c = (const unsigned char *) json_string_value(v); *c; c++)
                if (*c < 0x20 || *c == 0x7f)
                        return err_set(err, ERR_PARSE, "%s.%s: control character in value", where, key);
        free(*ret);
        *ret = xstrdup(json_string_value(v));
        return 0;
}

static int
get_bool(json_t *obj, const char *key, const char *where, bool *ret, struct err **err)
{
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        if (!json_is_boolean(v))
                return err_set(err, ERR_PARSE, "%s.%s: expected true or false", where, key);
        *ret = json_is_true(v);
        return 0;
}

static int
get_seconds(json_t *obj, const char *key, const char *where, long min, long *ret, struct err **err)
{
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > 365L * 86400)
                return err_set(err, ERR_PARSE, "%s.%s: expected seconds between %ld and one year", where, key, min);
        *ret = (long) json_integer_value(v);
        return 0;
}

static int
check_keys(json_t *obj, const char *where, const char *const *known, struct err **err)
{
        const char *key = reg_config_unknown_key(obj, known);

        if (key)
                return err_set(err, ERR_PARSE, "%s.%s: unknown key", where, key);
        return 0;
}

static int
parse_rule(json_t *r, size_t idx, struct acl_rule *rule, struct err **err)
{
        static const char *const known[] = {"user", "repos", "actions", NULL};
        json_t *user = json_object_get(r, "user"), *repos = json_object_get(r, "repos"),
               *actions = json_object_get(r, "actions");
        size_t i;
        json_t *v;
        int ret;

        if (!json_is_object(r))
                return err_set(err, ERR_PARSE, "auth.acl[%zu]: expected an object", idx);
        {
                char where[48];

                snprintf(where, sizeof(where), "auth.acl[%zu]", idx);
                ret = check_keys(r, where, known, err);
        }
        if (ret < 0)
                return ret;
        if (!json_is_string(user) || json_string_length(user) == 0)
                return err_set(err, ERR_PARSE, "auth.acl[%zu].user: expected a user name, \"*\" or \"anonymous\"", idx);
        rule->user = xstrdup(json_string_value(user));
        if (json_is_string(repos)) {
                rule->repos = xcalloc(1, sizeof(char *));
                rule->repos[rule->n_repos++] = xstrdup(json_string_value(repos));
        } else if (json_is_array(repos) && json_array_size(repos) > 0) {
                rule->repos = xcalloc(json_array_size(repos), sizeof(char *));
                json_array_foreach(repos, i, v)
                {
                        if (!json_is_string(v) || json_string_length(v) == 0)
                                return err_set(err, ERR_PARSE, "auth.acl[%zu].repos[%zu]: expected a pattern", idx, i);
                        rule->repos[rule->n_repos++] = xstrdup(json_string_value(v));
                }
        } else {
                return err_set(err, ERR_PARSE, "auth.acl[%zu].repos: expected a pattern or a list of patterns", idx);
        }
        if (!json_is_array(actions))
                return err_set(err, ERR_PARSE, "auth.acl[%zu].actions: expected a list of pull/push/delete", idx);
        json_array_foreach(actions, i, v)
        {
                unsigned a = json_is_string(v) ? reg_acl_action(json_string_value(v)) : 0;
                if (!a)
                        return err_set(err, ERR_PARSE, "auth.acl[%zu].actions[%zu]: expected pull, push, delete or *",
                                       idx, i);
                rule->actions |= a;
        }
        return 0;
}

int
reg_auth_config_parse(json_t *auth_obj, struct reg_auth_config **ret, struct err **err)
{
        static const char *const known[] = {"htpasswd",          "realm", "token", "anonymous",
                                            "client_cert_users", "acl",   NULL};
        static const char *const known_token[] = {
            "realm", "service", "issuer", "key", "cert", "rootcertbundle", "expiration", "refresh_expiration", NULL};
        _cleanup_(reg_auth_config_freep) struct reg_auth_config *cfg = xcalloc(1, sizeof(*cfg));
        json_t *token, *acl;
        int r;

        cfg->basic_realm = xstrdup("ireg");
        cfg->service = xstrdup("ireg");
        cfg->issuer = xstrdup("ireg");
        cfg->expiration = 300;
        cfg->refresh_expiration = 86400;
        if (!auth_obj || json_is_null(auth_obj)) {
                *ret = steal_ptr(&cfg);
                return 0;
        }
        if (!json_is_object(auth_obj))
                return err_set(err, ERR_PARSE, "auth: expected an object");
        if ((r = check_keys(auth_obj, "auth", known, err)) < 0 ||
            (r = get_string(auth_obj, "htpasswd", "auth", &cfg->htpasswd, err)) < 0 ||
            (r = get_string(auth_obj, "realm", "auth", &cfg->basic_realm, err)) < 0 ||
            (r = get_bool(auth_obj, "anonymous", "auth", &cfg->anonymous, err)) < 0 ||
            (r = get_bool(auth_obj, "client_cert_users", "auth", &cfg->client_cert_users, err)) < 0)
                return r;

        token = json_object_get(auth_obj, "token");
        if (token) {
                if (!json_is_object(token))
                        return err_set(err, ERR_PARSE, "auth.token: expected an object");
                cfg->token = true;
                if ((r = check_keys(token, "auth.token", known_token, err)) < 0 ||
                    (r = get_string(token, "realm", "auth.token", &cfg->realm, err)) < 0 ||
                    (r = get_string(token, "service", "auth.token", &cfg->service, err)) < 0 ||
                    (r = get_string(token, "issuer", "auth.token", &cfg->issuer, err)) < 0 ||
                    (r = get_string(token, "key", "auth.token", &cfg->key, err)) < 0 ||
                    (r = get_string(token, "cert", "auth.token", &cfg->cert, err)) < 0 ||
                    (r = get_string(token, "rootcertbundle", "auth.token", &cfg->rootcertbundle, err)) < 0 ||
                    /* token.md: never hand out a token with less than 60 s to live. */
                    (r = get_seconds(token, "expiration", "auth.token", 60, &cfg->expiration, err)) < 0 ||
                    (r = get_seconds(token, "refresh_expiration", "auth.token", 60, &cfg->refresh_expiration, err)) < 0)
                        return r;
                if (!cfg->realm)
                        return err_set(err, ERR_PARSE, "auth.token.realm: required (the URL of the token endpoint)");
                if (strncmp(cfg->realm, "http://", 7) != 0 && strncmp(cfg->realm, "https://", 8) != 0)
                        return err_set(err, ERR_PARSE, "auth.token.realm: '%s' is not an http(s) URL", cfg->realm);
                if (!cfg->key && !cfg->rootcertbundle)
                        return err_set(err, ERR_PARSE,
                                       "auth.token: needs \"key\" (ireg issues tokens) or \"rootcertbundle\" "
                                       "(trust an external issuer), or both");
                if (cfg->cert && !cfg->key)
                        return err_set(err, ERR_PARSE, "auth.token.cert: only meaningful with \"key\"");
        }

        acl = json_object_get(auth_obj, "acl");
        if (acl) {
                size_t i;
                json_t *v;
                if (!json_is_array(acl))
                        return err_set(err, ERR_PARSE, "auth.acl: expected a list of rules");
                cfg->has_acl = true;
                cfg->rules = xcalloc(json_array_size(acl) + 1, sizeof(*cfg->rules));
                json_array_foreach(acl, i, v)
                {
                        r = parse_rule(v, i, &cfg->rules[cfg->n_rules], err);
                        cfg->n_rules++; /* counted even on failure so it is freed */
                        if (r < 0)
                                return r;
                }
        }
        *ret = steal_ptr(&cfg);
        return 0;
}

static char *
xstrdup_or_null(const char *s)
{
        return s ? xstrdup(s) : NULL;
}

static struct reg_auth_config *
config_dup(const struct reg_auth_config *c)
{
        struct reg_auth_config *d = xcalloc(1, sizeof(*d));

        *d = *c;
        d->htpasswd = xstrdup_or_null(c->htpasswd);
        d->basic_realm = xstrdup_or_null(c->basic_realm);
        d->realm = xstrdup_or_null(c->realm);
        d->service = xstrdup_or_null(c->service);
        d->issuer = xstrdup_or_null(c->issuer);
        d->key = xstrdup_or_null(c->key);
        d->cert = xstrdup_or_null(c->cert);
        d->rootcertbundle = xstrdup_or_null(c->rootcertbundle);
        d->rules = xcalloc(c->n_rules + 1, sizeof(*d->rules));
        for (size_t i = 0; i < c->n_rules; i++) {
                d->rules[i].user = xstrdup(c->rules[i].user);
                d->rules[i].actions = c->rules[i].actions;
                d->rules[i].n_repos = c->rules[i].n_repos;
                d->rules[i].repos = xcalloc(c->rules[i].n_repos + 1, sizeof(char *));
                for (size_t k = 0; k < c->rules[i].n_repos; k++)
                        d->rules[i].repos[k] = xstrdup(c->rules[i].repos[k]);
        }
        return d;
}

/* ---- the authenticator ---- */

void
reg_auth_free(struct reg_auth *a)
{
        if (!a)
                return;
        reg_auth_config_free(a->cfg);
        reg_htpasswd_free(a->htpasswd);
        reg_jwt_key_free(a->key);
        free(a->cert_der);
        reg_jwt_trust_free(a->trust);
        free(a->token_path);
        free(a);
}
DEFINE_FREEP(struct reg_auth, reg_auth_free)

static void
x509_freep(X509 **p)
{
        X509_free(*p);
}

/* Load the issuing certificate, check it matches the key, keep its DER. */
static int
load_cert(struct reg_auth *a, const char *path, struct err **err)
{
        _cleanup_free_ char *pem = NULL;
        _cleanup_(x509_freep) X509 *cert = NULL;
        EVP_PKEY *pub;
        BIO *bio;
        size_t len;
        int r, n;

        r = fs_read_file(path, REG_AUTH_PEM_MAX, &pem, &len, err);
        if (r < 0)
                return err_prefix(err, "token certificate");
        bio = BIO_new_mem_buf(pem, (int) len);
        cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        ERR_clear_error();
        if (!cert)
                return err_set(err, EINVAL, "%s: no PEM certificate found", path);
        pub = X509_get0_pubkey(cert);
        if (!pub || EVP_PKEY_eq(pub, a->key->pkey) != 1) {
                ERR_clear_error();
                return err_set(err, EINVAL, "%s: certificate does not match the token signing key", path);
        }
        n = i2d_X509(cert, &a->cert_der);
        if (n <= 0)
                return err_set(err, EINVAL, "%s: cannot encode certificate", path);
        a->cert_der_len = (size_t) n;
        return 0;
}

struct reg_auth *
reg_auth_new(const struct reg_auth_config *cfg, struct err **err)
{
        _cleanup_(reg_auth_freep) struct reg_auth *a = xcalloc(1, sizeof(*a));
        struct reg_auth_config empty = {0};
        int r;

        if (!cfg)
                cfg = &empty;
        a->cfg = config_dup(cfg);
        if (!a->cfg->service)
                a->cfg->service = xstrdup("ireg");
        if (!a->cfg->issuer)
                a->cfg->issuer = xstrdup("ireg");
        if (!a->cfg->basic_realm)
                a->cfg->basic_realm = xstrdup("ireg");
        a->mode = cfg->token ? MODE_TOKEN : cfg->htpasswd ? MODE_BASIC : MODE_NONE;

        if (cfg->htpasswd) {
                r = reg_htpasswd_load(cfg->htpasswd, &a->htpasswd, err);
                if (r < 0)
                        return NULL;
        }
        if (a->mode == MODE_TOKEN) {
                const char *p;

                a->trust = reg_jwt_trust_new();
                if (cfg->key) {
                        r = reg_jwt_key_load_private(cfg->key, &a->key, err);
                        if (r < 0)
                                return NULL;
                        if (reg_jwt_trust_add_key(a->trust, a->key, err) < 0)
                                return NULL;
                        if (cfg->cert && load_cert(a, cfg->cert, err) < 0)
                                return NULL;
                        /* The path part of the realm URL is what we serve. */
                        p = strstr(cfg->realm, "://");
                        p = p ? strchr(p + 3, '/') : NULL;
                        a->token_path = xstrdup(p ? p : "/");
                        {
                                char *q = strpbrk(a->token_path, "?#");
                                if (q)
                                        *q = '\0';
                        }
                }
                if (cfg->rootcertbundle && reg_jwt_trust_add_bundle(a->trust, cfg->rootcertbundle, err) < 0)
                        return NULL;
        }
        return steal_ptr(&a);
}

const char *
reg_auth_token_path(const struct reg_auth *a)
{
        return a ? a->token_path : NULL;
}

/* ---- ACL ---- */

static bool
is_anon(const char *user)
{
        return !user || !*user;
}

bool
reg_auth_may(struct reg_auth *a, const char *user, const char *repo, unsigned actions)
{
        bool anon = is_anon(user);
        unsigned granted = 0;

        if (!a)
                return true;
        if (!a->cfg->has_acl) {
                if (a->mode == MODE_NONE)
                        return true;
                if (anon)
                        return a->cfg->anonymous && (actions & ~(unsigned) REG_ACTION_PULL) == 0;
                return true;
        }
        /* Outside mode none an anonymous caller needs "anonymous": true. */
        if (anon && a->mode != MODE_NONE && !a->cfg->anonymous)
                return false;
        for (size_t i = 0; i < a->cfg->n_rules; i++) {
                const struct acl_rule *rule = &a->cfg->rules[i];
                bool who;

                if (strcmp(rule->user, "anonymous") == 0)
                        who = anon;
                else if (strcmp(rule->user, "*") == 0)
                        who = !anon;
                else
                        who = !anon && strcmp(rule->user, user) == 0;
                if (!who || (granted | rule->actions) == granted)
                        continue;
                for (size_t k = 0; k < rule->n_repos; k++)
                        if (reg_acl_glob(rule->repos[k], repo)) {
                                granted |= rule->actions;
                                break;
                        }
        }
        return (granted & actions) == actions;
}

/* ---- helpers ---- */

static void
actions_string(unsigned actions, char *buf, size_t len)
{
        snprintf(buf, len, "%s%s%s%s%s", actions & REG_ACTION_PULL ? "pull" : "",
                 (actions & REG_ACTION_PULL) && (actions & (REG_ACTION_PUSH | REG_ACTION_DELETE)) ? "," : "",
                 actions & REG_ACTION_PUSH ? "push" : "",
                 (actions & REG_ACTION_PUSH) && (actions & REG_ACTION_DELETE) ? "," : "",
                 actions & REG_ACTION_DELETE ? "delete" : "");
}

/* Split "Scheme credentials"; returns the credentials or NULL when the
 * scheme differs. */
static const char *
auth_param(const char *authorization, const char *scheme)
{
        size_t n = strlen(scheme);
        const char *p;

        if (!authorization || strncasecmp(authorization, scheme, n) != 0 || authorization[n] != ' ')
                return NULL;
        p = authorization + n;
        while (*p == ' ')
                p++;
        return p;
}

/* For the token endpoint: empty Basic credentials ("Basic Og==", base64 of
 * ":") or an empty header ask for an anonymous token, not a login.  Returns
 * AUTHORIZATION, or NULL for no or such empty credentials. */
static const char *
effective_authorization(const char *authorization)
{
        const char *b = auth_param(authorization, "Basic");
        if (authorization && !*authorization)
                return NULL;
        if (b && strcmp(b, "Og==") == 0)
                return NULL;
        return authorization;
}

/* Decode Basic credentials into *ret_user / *ret_pass (both secrets). */
static int
basic_decode(const char *b64, char **ret_user, char **ret_pass)
{
        _cleanup_secret_ char *raw = NULL;
        struct err *e = NULL;
        size_t len;
        char *colon;

        if (strlen(b64) > 4096 || reg_b64_decode(b64, strlen(b64), (unsigned char **) &raw, &len, &e) < 0) {
                err_clear(&e);
                return -1;
        }
        colon = strchr(raw, ':');
        if (!colon || strlen(raw) != len || colon == raw)
                return -1;
        *colon = '\0';
        *ret_user = xstrdup(raw);
        *ret_pass = xstrdup(colon + 1);
        return 0;
}

/* Authenticate Basic credentials against the htpasswd file.  Returns 1 and
 * the user when they verify, 0 when they do not. */
static int
basic_login(struct reg_auth *a, const char *creds_b64, char *user_out, size_t user_len, struct err **err)
{
        _cleanup_secret_ char *user = NULL, *pass = NULL;

        if (!a->htpasswd || basic_decode(creds_b64, &user, &pass) < 0)
                return 0;
        /* A file caught half-written or briefly missing while an admin
         * edits it must not fail requests: a failed reload keeps the
         * previous contents, and the next request tries again. */
        {
                struct err *e2 = NULL;
                (void) reg_htpasswd_refresh(a->htpasswd, &e2);
                err_clear(&e2);
        }
        if (strlen(user) >= user_len || !reg_htpasswd_verify(a->htpasswd, user, pass))
                return 0;
        snprintf(user_out, user_len, "%s", user);
        return 1;
}

/* The CN of a subject DN ("CN=alice,O=x", "/O=x/CN=alice"). */
static bool
subject_cn(const char *subject, char *out, size_t len)
{
        for (const char *p = subject; *p; p++) {
                if ((p == subject || p[-1] == ',' || p[-1] == '/' || p[-1] == ' ') && strncmp(p, "CN=", 3) == 0) {
                        size_t n = strcspn(p + 3, ",/+");
                        if (n == 0 || n >= len)
                                return false;
                        memcpy(out, p + 3, n);
                        out[n] = '\0';
                        return true;
                }
        }
        return false;
}

static void
result_deny(struct reg_auth_result *res, int status, const char *msg)
{
        res->allowed = false;
        res->status = status;
        res->error_code = status == 403 ? "DENIED" : "UNAUTHORIZED";
        snprintf(res->message, sizeof(res->message), "%s", msg);
}

static void
basic_challenge(struct reg_auth *a, struct reg_auth_result *res)
{
        const char *p[] = {"realm", a->cfg->basic_realm, NULL};
        struct err *e = NULL;

        if (reg_challenge_format(res->www_authenticate, sizeof(res->www_authenticate), "Basic", p, &e) < 0)
                snprintf(res->www_authenticate, sizeof(res->www_authenticate), "Basic realm=\"ireg\"");
        err_clear(&e);
}

static void
bearer_challenge(struct reg_auth *a, const struct reg_auth_request *req, const char *error, struct reg_auth_result *res)
{
        char acts[32], scope[300];
        struct err *e = NULL;
        const char *p[] = {"realm", a->cfg->realm, "service", a->cfg->service, "scope", NULL, "error", error, NULL};

        if (req->repo && req->actions) {
                actions_string(req->actions, acts, sizeof(acts));
                snprintf(scope, sizeof(scope), "repository:%.255s:%s", req->repo, acts);
                p[5] = scope;
        }
        if (reg_challenge_format(res->www_authenticate, sizeof(res->www_authenticate), "Bearer", p, &e) < 0) {
                /* A name that cannot be quoted (or is too long) loses its
                 * scope, never the realm. */
                err_clear(&e);
                p[5] = NULL;
                if (reg_challenge_format(res->www_authenticate, sizeof(res->www_authenticate), "Bearer", p, &e) < 0)
                        res->www_authenticate[0] = '\0';
        }
        err_clear(&e);
}

/* Does the "access" claim grant ACTIONS on repository REPO? */
static bool
token_grants(json_t *claims, const char *repo, unsigned actions)
{
        json_t *access = json_object_get(claims, "access"), *entry;
        unsigned granted = 0;
        size_t i;

        if (!json_is_array(access))
                return false;
        json_array_foreach(access, i, entry)
        {
                const char *type = json_string_value(json_object_get(entry, "type"));
                const char *name = json_string_value(json_object_get(entry, "name"));
                json_t *acts = json_object_get(entry, "actions"), *v;
                size_t k;

                if (!type || !name || strcmp(type, "repository") != 0 || strcmp(name, repo) != 0 ||
                    !json_is_array(acts))
                        continue;
                json_array_foreach(acts, k, v) if (json_is_string(v)) granted |= reg_acl_action(json_string_value(v));
        }
        return (granted & actions) == actions;
}

/* ---- decisions ---- */

static int
check_token(struct reg_auth *a, const struct reg_auth_request *req, struct reg_auth_result *res, struct err **err)
{
        const char *tok = auth_param(req->authorization, "Bearer");
        json_t *claims = NULL;
        const char *sub;
        struct err *e = NULL;

        if (!tok || !*tok) {
                result_deny(res, 401, req->authorization ? "bearer token required" : "authentication required");
                bearer_challenge(a, req, NULL, res);
                return 0;
        }
        if (reg_jwt_verify(a->trust, tok, &claims, &e) < 0 ||
            reg_jwt_check_claims(claims, a->cfg->issuer, a->cfg->service, time(NULL), &e) < 0 ||
            /* Our long-lived refresh tokens only buy access tokens. */
            (json_is_true(json_object_get(claims, "ireg_refresh")) &&
             err_set(&e, ERR_UNAUTHORIZED, "a refresh token is not an access token") < 0)) {
                result_deny(res, 401, err_msg(&e));
                bearer_challenge(a, req, "invalid_token", res);
                err_clear(&e);
                json_decref(claims);
                return 0;
        }
        sub = json_string_value(json_object_get(claims, "sub"));
        snprintf(res->user, sizeof(res->user), "%s", sub ? sub : "");
        if (!req->repo || token_grants(claims, req->repo, req->actions)) {
                json_decref(claims);
                res->allowed = true;
                res->status = 200;
                return 0;
        }
        json_decref(claims);
        /* A user whom our own ACL would never grant this is denied outright;
         * otherwise the token merely lacks the scope and a new one is due. */
        if (a->key && !is_anon(res->user) && !reg_auth_may(a, res->user, req->repo, req->actions)) {
                result_deny(res, 403, "requested access to the resource is denied");
                return 0;
        }
        result_deny(res, 401, "token does not grant the requested access");
        bearer_challenge(a, req, "insufficient_scope", res);
        return 0;
}

int
reg_auth_check(struct reg_auth *a, const struct reg_auth_request *req, struct reg_auth_result *res, struct err **err)
{
        char cn[256];
        int r;

        memset(res, 0, sizeof(*res));
        res->status = 200;
        if (!a)
                goto allowed;
        /* Only an empty header is anonymous here: empty Basic credentials
         * are decided as a failed login (401 with the challenge), which the
         * server uses to challenge anonymous /v2/ pings. */
        if (req->authorization && !*req->authorization) {
                struct reg_auth_request anon = *req;
                anon.authorization = NULL;
                return reg_auth_check(a, &anon, res, err);
        }

        if (a->mode == MODE_TOKEN)
                return check_token(a, req, res, err);

        if (a->mode == MODE_BASIC && req->authorization) {
                const char *creds = auth_param(req->authorization, "Basic");
                r = creds ? basic_login(a, creds, res->user, sizeof(res->user), err) : 0;
                if (r < 0)
                        return r;
                if (r == 0) {
                        result_deny(res, 401, creds ? "invalid username or password" : "basic credentials required");
                        basic_challenge(a, res);
                        return 0;
                }
        } else if (a->cfg->client_cert_users && req->client_cert_subject &&
                   subject_cn(req->client_cert_subject, cn, sizeof(cn))) {
                snprintf(res->user, sizeof(res->user), "%s", cn);
        } else if (a->mode == MODE_BASIC && !a->cfg->anonymous) {
                result_deny(res, 401, "authentication required");
                basic_challenge(a, res);
                return 0;
        }

        if (!req->repo || reg_auth_may(a, res->user, req->repo, req->actions))
                goto allowed;
        if (is_anon(res->user) && a->mode == MODE_BASIC) {
                result_deny(res, 401, "authentication required");
                basic_challenge(a, res);
                return 0;
        }
        result_deny(res, 403, "requested access to the resource is denied");
        return 0;

allowed:
        res->allowed = true;
        res->status = 200;
        return 0;
}

/* ---- the token endpoint ---- */

struct token_req {
        bool post;
        char *grant_type, *username, *password, *refresh_token, *service, *access_type, *offline_token;
        size_t n_scopes;
        char *scopes[REG_AUTH_SCOPES_MAX];
        bool too_many;
};

static void
token_req_clear(struct token_req *t)
{
        free_secret(t->username);
        free_secret(t->password);
        free_secret(t->refresh_token);
        free(t->grant_type);
        free(t->service);
        free(t->access_type);
        free(t->offline_token);
        for (size_t i = 0; i < t->n_scopes; i++)
                free(t->scopes[i]);
}

static int
take_first(const char *v, void *ud)
{
        char **dst = ud;
        if (!*dst)
                *dst = xstrdup(v);
        return 0;
}

static int
take_scopes(const char *v, void *ud)
{
        struct token_req *t = ud;
        /* Scopes are space-separated, and "scope" may repeat (GET). */
        for (const char *p = v; *p;) {
                size_t n;
                while (*p == ' ')
                        p++;
                n = strcspn(p, " ");
                if (n == 0)
                        break;
                if (t->n_scopes == REG_AUTH_SCOPES_MAX) {
                        t->too_many = true;
                        return 0;
                }
                t->scopes[t->n_scopes++] = xstrndup(p, n);
                p += n;
        }
        return 0;
}

static int
token_req_parse(const char *params, bool post, struct token_req *t, struct err **err)
{
        struct {
                const char *key;
                char **dst;
        } fields[] = {
            {"grant_type", &t->grant_type},       {"username", &t->username}, {"password", &t->password},
            {"refresh_token", &t->refresh_token}, {"service", &t->service},   {"access_type", &t->access_type},
            {"offline_token", &t->offline_token},
        };
        int r;

        t->post = post;
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                /* Passwords only travel in a POST body, never in a URL. */
                if (!post && (fields[i].dst == &t->password || fields[i].dst == &t->refresh_token))
                        continue;
                r = reg_form_each(params, fields[i].key, take_first, fields[i].dst, err);
                if (r < 0)
                        return r;
        }
        return reg_form_each(params, "scope", take_scopes, t, err);
}

/* MSG quotes request input (grant_type, service, scope), cut at a byte
 * count: jansson refuses invalid UTF-8, so each invalid byte becomes '?'. */
static char *
error_body(const char *code, const char *oauth_error, const char *msg)
{
        _cleanup_free_ char *clean = utf8_sanitize(msg, 511);
        json_t *j;

        j = json_pack("{s:[{s:s, s:s}], s:s, s:s}", "errors", "code", code, "message", clean, "error", oauth_error,
                      "error_description", clean);
        char *s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!s)
                abort();
        return s;
}

static void
rfc3339(time_t t, char *buf, size_t len)
{
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
random_id(char *out, size_t len)
{
        unsigned char b[18];
        char *s;

        if (RAND_bytes(b, sizeof(b)) != 1)
                abort();
        s = reg_b64_encode(b, sizeof(b), true);
        snprintf(out, len, "%s", s);
        free(s);
}

/* Sign a token for USER.  ACCESS (consumed) is the access claim, or NULL for
 * a refresh token, which carries "ireg_refresh": true and no access. */
static int
issue(struct reg_auth *a, const char *user, json_t *access, time_t now, long lifetime, char **ret, struct err **err)
{
        char jti[32];
        json_t *claims;
        int r;

        random_id(jti, sizeof(jti));
        claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss", a->cfg->issuer, "sub", user, "aud",
                           a->cfg->service, "exp", (json_int_t) (now + lifetime), "nbf", (json_int_t) now, "iat",
                           (json_int_t) now, "jti", jti);
        if (!claims) {
                json_decref(access);
                return err_set(err, ENOMEM, "building token claims");
        }
        if (access)
                json_object_set_new(claims, "access", access);
        else
                json_object_set_new(claims, "ireg_refresh", json_true());
        r = reg_jwt_sign(a->key, claims, a->cert_der, a->cert_der_len, ret, err);
        json_decref(claims);
        return r;
}

/* Verify one of our own refresh tokens; the user on success. */
static bool
refresh_user(struct reg_auth *a, const char *tok, char *user, size_t len)
{
        json_t *claims = NULL;
        struct err *e = NULL;
        const char *sub;
        bool ok = false;

        if (reg_jwt_verify(a->trust, tok, &claims, &e) == 0 &&
            reg_jwt_check_claims(claims, a->cfg->issuer, a->cfg->service, time(NULL), &e) == 0 &&
            json_is_true(json_object_get(claims, "ireg_refresh"))) {
                sub = json_string_value(json_object_get(claims, "sub"));
                /* The user must still exist. */
                if (sub && *sub && strlen(sub) < len && a->htpasswd && reg_htpasswd_has_user(a->htpasswd, sub)) {
                        snprintf(user, len, "%s", sub);
                        ok = true;
                }
        }
        err_clear(&e);
        json_decref(claims);
        return ok;
}

/* The subset of the requested scopes USER may have, as an access claim, and
 * the granted scopes as a space-separated string. */
static int
grant(struct reg_auth *a, const char *user, const struct token_req *t, json_t **ret_access, char **ret_scope, char *msg,
      size_t msglen)
{
        json_t *access = json_array();
        _cleanup_free_ char *scope = xstrdup("");

        for (size_t i = 0; i < t->n_scopes; i++) {
                struct reg_scope sc;
                struct err *e = NULL;
                json_t *acts = json_array();
                unsigned g = 0;
                char *ns;

                if (reg_scope_parse(t->scopes[i], &sc, &e) < 0) {
                        snprintf(msg, msglen, "%s", err_msg(&e));
                        err_clear(&e);
                        json_decref(acts);
                        json_decref(access);
                        return -1;
                }
                if (strcmp(sc.type, "repository") == 0 && oci_repo_name_validate(sc.name, &e) < 0) {
                        /* ACL patterns match names as text: "team/../x"
                         * matches team's any-depth pattern though no route
                         * ever names it.  A scope must name a repository. */
                        snprintf(msg, msglen, "scope '%.300s': %s", t->scopes[i], err_msg(&e));
                        err_clear(&e);
                        json_decref(acts);
                        json_decref(access);
                        return -1;
                }
                if (strcmp(sc.type, "repository") == 0) {
                        for (unsigned bit = REG_ACTION_PULL; bit <= REG_ACTION_DELETE; bit <<= 1)
                                if ((sc.actions & bit) && reg_auth_may(a, user, sc.name, bit))
                                        g |= bit;
                        if (g & REG_ACTION_PULL)
                                json_array_append_new(acts, json_string("pull"));
                        if (g & REG_ACTION_PUSH)
                                json_array_append_new(acts, json_string("push"));
                        if (g & REG_ACTION_DELETE)
                                json_array_append_new(acts, json_string("delete"));
                } else if (strcmp(sc.type, "registry") == 0 && strcmp(sc.name, "catalog") == 0 && sc.has_unknown) {
                        /* The catalog is filtered per user by the server. */
                        json_array_append_new(acts, json_string("*"));
                }
                if (json_array_size(acts) == 0) {
                        json_decref(acts);
                        continue;
                }
                json_array_append_new(access,
                                      json_pack("{s:s, s:s, s:o}", "type", sc.type, "name", sc.name, "actions", acts));
                {
                        char as[32];
                        if (strcmp(sc.type, "repository") == 0)
                                actions_string(g, as, sizeof(as));
                        else
                                snprintf(as, sizeof(as), "*");
                        ns = xasprintf("%s%s%s:%s:%s", scope, *scope ? " " : "", sc.type, sc.name, as);
                        free(scope);
                        scope = ns;
                }
        }
        *ret_access = access;
        *ret_scope = steal_ptr(&scope);
        return 0;
}

int
reg_auth_token_endpoint(struct reg_auth *a, const char *method, const char *authorization, const char *params,
                        char **ret_body, int *ret_status, char *ret_www_authenticate, size_t wa_len, char *ret_user,
                        size_t user_len, struct err **err)
{
        struct token_req t = {0};
        char user[256] = "", msg[512] = "";
        const char *code = "UNAUTHORIZED", *oauth = "invalid_grant";
        int status = 401, r;
        bool post, want_refresh = false, authenticated = false;
        _cleanup_secret_ char *access_token = NULL, *refresh = NULL;
        _cleanup_free_ char *scope = NULL;
        json_t *access = NULL, *resp;
        time_t now = time(NULL);
        char issued[32];

        if (wa_len)
                ret_www_authenticate[0] = '\0';
        if (ret_user && user_len)
                ret_user[0] = '\0';
        if (!a || !a->key) {
                *ret_body = error_body("UNSUPPORTED", "unsupported", "this registry does not issue tokens");
                *ret_status = 404;
                return 0;
        }
        authorization = effective_authorization(authorization);
        post = strcasecmp(method, "POST") == 0;
        if (!post && strcasecmp(method, "GET") != 0) {
                *ret_body = error_body("UNSUPPORTED", "invalid_request", "the token endpoint takes GET or POST");
                *ret_status = 405;
                return 0;
        }
        {
                struct err *e = NULL;
                if (token_req_parse(params, post, &t, &e) < 0) {
                        snprintf(msg, sizeof(msg), "%s", err_msg(&e));
                        err_clear(&e);
                        status = 400, code = "UNSUPPORTED", oauth = "invalid_request";
                        goto fail;
                }
        }
        if (t.too_many) {
                snprintf(msg, sizeof(msg), "more than %d scopes requested", REG_AUTH_SCOPES_MAX);
                status = 400, code = "UNSUPPORTED", oauth = "invalid_scope";
                goto fail;
        }
        if (t.service && strcmp(t.service, a->cfg->service) != 0) {
                snprintf(msg, sizeof(msg), "unknown service '%.200s' (this is '%s')", t.service, a->cfg->service);
                status = 400, code = "UNSUPPORTED", oauth = "invalid_request";
                goto fail;
        }

        if (post) {
                if (!t.grant_type) {
                        snprintf(msg, sizeof(msg), "grant_type required (password or refresh_token)");
                        status = 400, code = "UNSUPPORTED", oauth = "invalid_request";
                        goto fail;
                }
                if (strcmp(t.grant_type, "password") == 0) {
                        if (!t.username || !t.password || !a->htpasswd || strlen(t.username) >= sizeof(user)) {
                                snprintf(msg, sizeof(msg), "invalid username or password");
                                goto fail;
                        }
                        {
                                struct err *e2 = NULL; /* a failed reload keeps the old contents */
                                (void) reg_htpasswd_refresh(a->htpasswd, &e2);
                                err_clear(&e2);
                        }
                        if (!reg_htpasswd_verify(a->htpasswd, t.username, t.password)) {
                                snprintf(msg, sizeof(msg), "invalid username or password");
                                goto fail;
                        }
                        snprintf(user, sizeof(user), "%s", t.username);
                        want_refresh = t.access_type && strcmp(t.access_type, "offline") == 0;
                } else if (strcmp(t.grant_type, "refresh_token") == 0) {
                        if (!t.refresh_token || !refresh_user(a, t.refresh_token, user, sizeof(user))) {
                                snprintf(msg, sizeof(msg), "invalid refresh token");
                                goto fail;
                        }
                        /* oauth.md: a refresh grant returns the same refresh token. */
                        refresh = xstrdup(t.refresh_token);
                } else {
                        snprintf(msg, sizeof(msg), "unsupported grant_type '%.64s'", t.grant_type);
                        status = 400, code = "UNSUPPORTED", oauth = "unsupported_grant_type";
                        goto fail;
                }
                authenticated = true;
        } else if (authorization) {
                const char *creds = auth_param(authorization, "Basic");
                r = creds ? basic_login(a, creds, user, sizeof(user), err) : 0;
                if (r < 0)
                        goto internal;
                if (r == 0) {
                        snprintf(msg, sizeof(msg), "invalid username or password");
                        goto fail;
                }
                authenticated = true;
                want_refresh = t.offline_token && strcmp(t.offline_token, "true") == 0;
        } else if (!a->cfg->anonymous) {
                snprintf(msg, sizeof(msg), "authentication required");
                goto fail;
        }

        if (grant(a, authenticated ? user : "", &t, &access, &scope, msg, sizeof(msg)) < 0) {
                status = 400, code = "UNSUPPORTED", oauth = "invalid_scope";
                goto fail;
        }
        r = issue(a, authenticated ? user : "", access, now, a->cfg->expiration, &access_token, err);
        if (r < 0)
                goto internal;
        if (want_refresh) {
                r = issue(a, user, NULL, now, a->cfg->refresh_expiration, &refresh, err);
                if (r < 0)
                        goto internal;
        }
        rfc3339(now, issued, sizeof(issued));
        resp = json_pack("{s:s, s:s, s:I, s:s}", "token", access_token, "access_token", access_token, "expires_in",
                         (json_int_t) a->cfg->expiration, "issued_at", issued);
        if (post)
                json_object_set_new(resp, "scope", json_string(scope));
        if (refresh)
                json_object_set_new(resp, "refresh_token", json_string(refresh));
        *ret_body = json_dumps(resp, JSON_COMPACT);
        json_decref(resp);
        if (!*ret_body)
                abort();
        *ret_status = 200;
        if (ret_user && user_len && authenticated)
                snprintf(ret_user, user_len, "%s", user);
        token_req_clear(&t);
        return 0;

fail:
        if (status == 401 && wa_len) {
                const char *p[] = {"realm", a->cfg->basic_realm, NULL};
                struct err *e = NULL;
                if (reg_challenge_format(ret_www_authenticate, wa_len, "Basic", p, &e) < 0)
                        ret_www_authenticate[0] = '\0';
                err_clear(&e);
        }
        *ret_body = error_body(code, oauth, msg);
        *ret_status = status;
        token_req_clear(&t);
        return 0;

internal:
        token_req_clear(&t);
        return err_prefix(err, "token endpoint");
}
