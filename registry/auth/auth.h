/* Server-side authentication and authorisation for ireg: htpasswd Basic
 * auth, the Docker token specification (issuing and verifying JWTs), ACLs.
 *
 * The server hands every request to reg_auth_check() and the token endpoint
 * to reg_auth_token_endpoint(); nothing here does I/O on the network.
 *
 * Configuration: the "auth" object of ireg's JSON config file.
 *
 *   "auth": {
 *     "htpasswd": "/path/htpasswd",   Basic credentials, bcrypt ($2y$/$2b$/$2a$,
 *                                     as `htpasswd -B` writes) or {SHA}; the file
 *                                     is re-read when its mtime/size changes.
 *     "realm": "ireg",                Basic realm (default "ireg").
 *     "token": {                      Docker token auth (Bearer)
 *       "realm": "https://host:port/token",   where clients get tokens
 *       "service": "ireg",            the "aud" a token must carry (default "ireg")
 *       "issuer": "ireg",             the "iss" a token must carry (default "ireg")
 *       "key": "/path/key.pem",       if set, ireg issues tokens itself at the
 *       "cert": "/path/cert.pem",     path of "realm": ES256 for a P-256 key,
 *                                     RS256 for an RSA key; "cert" (optional) is
 *                                     sent as x5c and must match the key.
 *       "rootcertbundle": "/path/bundle.pem",  certificates whose keys are trusted
 *                                     to sign tokens (an external issuer; ireg's own
 *                                     key is always trusted when "key" is set).
 *       "expiration": 300,            seconds an issued access token lives
 *       "refresh_expiration": 86400 },seconds an issued refresh token lives
 *     "anonymous": false,             may requests without credentials be served
 *                                     (within the ACL; token mode: may /token issue
 *                                     tokens to anonymous callers)
 *     "client_cert_users": false,     a verified TLS client certificate's CN is the
 *                                     user when no Authorization header is sent
 *                                     (modes none and Basic; tokens carry their own)
 *     "acl": [ { "user": "alice" | "*" | "anonymous",
 *                "repos": "PATTERN" | ["PATTERN", ...],
 *                "actions": ["pull", "push", "delete"] | ["*"] } ]
 *   }
 *
 * Modes: "token" present → Bearer; else "htpasswd" present → Basic; else none
 * (every request allowed unless an "acl" is given, which then applies to
 * anonymous / client-certificate users).
 *
 * ACL: a request is allowed when the union of the actions of every rule whose
 * user matches and whose pattern matches the repository covers the requested
 * actions.  "user": "*" matches any authenticated user, "anonymous" matches
 * only unauthenticated callers, any other string one user name exactly.
 * Repository patterns are matched against the whole name, component by
 * component ('/'-separated): "*" matches any characters within one component,
 * "?" one character within a component, and a "**" component matches zero or
 * more whole components: PREFIX followed by a "**" component matches PREFIX
 * and everything below it; "**" alone matches every repository.
 * Without an "acl" key: mode none allows everything; Basic/token modes allow
 * authenticated users everything and anonymous callers (if allowed) pull.
 *
 * Token mode checks a Bearer token's signature against the trusted keys,
 * "iss" = issuer, "aud" = service, "exp"/"nbf" (60 s leeway), and that its
 * "access" claims cover the requested actions on the repository; the ACL is
 * applied when tokens are issued, not again when they are presented (it only
 * picks 403 DENIED over 401 insufficient_scope for a token lacking access:
 * 403 when ireg issues tokens and its ACL would never grant the subject that
 * access).  Refresh tokens (OAuth2, ours) are refused as access tokens.
 * Repository patterns also accept fnmatch(3) brackets ("[ab]") within a
 * component.
 *
 * Secrets (passwords, tokens, keys) are wiped before they are freed and never
 * appear in error messages.
 */
#ifndef REGISTRY_AUTH_AUTH_H
#define REGISTRY_AUTH_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

enum {
        REG_ACTION_PULL = 1,
        REG_ACTION_PUSH = 2,
        REG_ACTION_DELETE = 4,
};

/* Parsed "auth" object; immutable once parsed. */
struct reg_auth_config;

/* Parse AUTH_OBJ (the "auth" object; not consumed, may be NULL for "no
 * auth") into *ret (caller frees with reg_auth_config_free).  Unknown keys,
 * wrong types and bad ACL entries fail with ERR_PARSE naming the key (and the
 * ACL index).  Files named in it are not opened yet. */
int reg_auth_config_parse(json_t *auth_obj, struct reg_auth_config **ret, struct err **err);
void reg_auth_config_free(struct reg_auth_config *cfg);

/* The authenticator: loads the htpasswd file, keys and certificates named by
 * CFG (which the caller may free afterwards).  CFG NULL = no auth.  Errors
 * name the file.  Thread-safe: reg_auth_check etc. may be called from many
 * threads at once. */
struct reg_auth *reg_auth_new(const struct reg_auth_config *cfg, struct err **err);
void reg_auth_free(struct reg_auth *a);

struct reg_auth_request {
        const char *authorization;       /* Authorization header value, or NULL */
        const char *repo;                /* repository name; NULL for /v2/ and _catalog */
        unsigned actions;                /* REG_ACTION_* bitmask (0 with repo NULL) */
        const char *client_cert_subject; /* verified client cert subject DN ("CN=x,O=y"), or NULL */
        const char *remote;              /* peer address, for messages only; may be NULL */
};

struct reg_auth_result {
        bool allowed;
        int status;                  /* 200, 401 or 403 */
        char user[256];              /* authenticated user name, "" when anonymous */
        char www_authenticate[1024]; /* header value to send with a 401, else "" */
        const char *error_code;      /* "UNAUTHORIZED" / "DENIED" / NULL when allowed (static) */
        char message[256];           /* human-readable reason for the error body, no secrets */
};

/* Decide REQ.  Returns 0 and fills *RES for every decision, including
 * denials (bad credentials are a 401, not an error); negative with ERR only
 * when the decision itself could not be made.  An htpasswd file that fails
 * to reload (missing, half-written) keeps serving its previous contents.
 * With repo NULL only authentication is checked.
 * An empty Authorization header counts as anonymous.  Empty Basic
 * credentials ("Basic Og==", what containers/image sends without any) are a
 * failed login: 401 with the challenge.  The server maps them to
 * anonymous itself where that is wanted (and uses them to challenge
 * anonymous /v2/ pings, so clients learn to send credentials). */
int reg_auth_check(struct reg_auth *a, const struct reg_auth_request *req, struct reg_auth_result *res,
                   struct err **err);

/* May USER (NULL or "" = anonymous) perform every action in ACTIONS on REPO
 * under the configured ACL?  Used to filter _catalog.  Always true in mode
 * none without ACL. */
bool reg_auth_may(struct reg_auth *a, const char *user, const char *repo, unsigned actions);

/* Does repository NAME match PATTERN (the ACL's syntax, above)?  Also what
 * ireg's policies match repositories with. */
bool reg_acl_glob(const char *pattern, const char *name);

/* When ireg issues tokens: the URL path part of the configured realm
 * ("/token" for "https://h:5000/token") the server must route to
 * reg_auth_token_endpoint; NULL when ireg does not issue tokens. */
const char *reg_auth_token_path(const struct reg_auth *a);

/* The token endpoint.  METHOD "GET" with PARAMS = the raw query string
 * (service, scope (repeatable), account, offline_token, client_id), or
 * "POST" with PARAMS = the raw application/x-www-form-urlencoded body
 * (grant_type=password with username/password, or grant_type=refresh_token
 * with refresh_token; service, scope, client_id, access_type=offline).
 * AUTHORIZATION is the request's Authorization header or NULL.
 *
 * On return 0: *ret_status is 200 with a JSON body {token, access_token,
 * expires_in, issued_at[, refresh_token]}, or 400/401 with a distribution
 * error JSON body; for 401 RET_WWW_AUTHENTICATE (WA_LEN bytes) receives the
 * Basic challenge to send.  *ret_body is owned by the caller (and holds a
 * secret: wipe it).  The granted access is the subset of the requested scope
 * the ACL allows for the authenticated (or anonymous) user; possibly empty.
 * RET_USER (USER_LEN bytes; may be NULL) receives the authenticated user,
 * "" when anonymous or refused, for the caller's access log.
 * Negative only on internal failure (signing). */
int reg_auth_token_endpoint(struct reg_auth *a, const char *method, const char *authorization, const char *params,
                            char **ret_body, int *ret_status, char *ret_www_authenticate, size_t wa_len,
                            char *ret_user, size_t user_len, struct err **err);

#endif
