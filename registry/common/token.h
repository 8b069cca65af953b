/* The client side of the Docker token protocol (distribution
 * docs/content/spec/auth/token.md and oauth.md): build the token request
 * for a Bearer challenge and parse the token server's answer. */
#ifndef REGISTRY_COMMON_TOKEN_H
#define REGISTRY_COMMON_TOKEN_H

#include <stddef.h>
#include <time.h>

#include "common/err.h"
#include "registry/common/challenge.h"
#include "registry/common/creds.h"

struct reg_token_request {
        char *method;        /* "GET" or "POST" */
        char *url;           /* realm plus, for GET, the query */
        char *body;          /* POST: application/x-www-form-urlencoded body (holds a secret); GET: NULL */
        char *authorization; /* GET with username/password: "Basic ..." (a secret); else NULL */
};

/* Build the request for BEARER (a parsed "Bearer" challenge: realm required,
 * service optional) asking for SCOPES (N strings like
 * "repository:a/b:pull,push"; NULL/0 = the challenge's own scope).
 * CREDS may be NULL (anonymous).  With an identity token the OAuth2 POST
 * form is used (grant_type=refresh_token, CLIENT_ID); otherwise a GET with
 * Basic credentials.  The realm must be an http(s) URL.  *ret is filled
 * only on success; free with reg_token_request_clear. */
int reg_token_request_build(const struct reg_challenge *bearer, const char *const *scopes, size_t n,
                            const struct reg_creds *creds, const char *client_id, struct reg_token_request *ret,
                            struct err **err);
/* Wipe and free the members; the struct itself is the caller's. */
void reg_token_request_clear(struct reg_token_request *r);

/* "Basic base64(user:pass)"; caller frees (a secret). */
char *reg_basic_authorization(const char *user, const char *pass);

/* Parse a token response BODY (LEN bytes, capped by the caller): "token" or
 * "access_token" (the first if both), "expires_in" (default 60; values
 * under 60 count as 60, as token.md asks), "issued_at" (RFC 3339; when
 * absent or unparsable, NOW), optional "refresh_token".
 * *ret_token and *ret_refresh (NULL when absent) are owned by the caller;
 * *ret_expires is the absolute expiry time.  A body that is not JSON or has
 * no token fails with EINVAL (the message never quotes the body). */
int reg_token_response_parse(const char *body, size_t len, time_t now, char **ret_token, time_t *ret_expires,
                             char **ret_refresh, struct err **err);

#endif
