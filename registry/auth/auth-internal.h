/* Pieces of registry/auth exposed to its unit tests, fuzz harness and test
 * tools; not an API for other modules (use registry/auth/auth.h). */
#ifndef REGISTRY_AUTH_AUTH_INTERNAL_H
#define REGISTRY_AUTH_AUTH_INTERNAL_H

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/err.h"
#include "common/limits.h"

/* Caps on untrusted or configured input (values in common/limits.h). */
#define REG_AUTH_TOKEN_MAX LIMIT_AUTH_TOKEN
#define REG_AUTH_HTPASSWD_MAX LIMIT_HTPASSWD
#define REG_AUTH_PEM_MAX LIMIT_PEM
#define REG_AUTH_PARAMS_MAX LIMIT_TOKEN_PARAMS
#define REG_AUTH_SCOPES_MAX LIMIT_TOKEN_SCOPES
#define REG_AUTH_LEEWAY 60 /* seconds of clock skew on exp/nbf */

/* ---- JWT (jwt.c) ---- */

/* libtrust key ID of a public key: base32 of the first 240 bits of
 * sha256(DER SubjectPublicKeyInfo), in 12 ':'-separated groups of 4 (what
 * CNCF distribution matches a token's "kid" against).  OUT holds 60 bytes. */
#define REG_JWT_KID_LEN 60
int reg_jwt_kid(EVP_PKEY *pkey, char out[REG_JWT_KID_LEN], struct err **err);

/* A signing (private) or verifying (public) key with its JWS algorithm. */
struct reg_jwt_key {
        EVP_PKEY *pkey;
        const char *alg; /* "ES256" (EC P-256) or "RS256" (RSA >= 2048 bits) */
        char kid[REG_JWT_KID_LEN];
};

/* Wrap PKEY (reference taken over by the new key on success). */
int reg_jwt_key_from_pkey(EVP_PKEY *pkey, struct reg_jwt_key **ret, struct err **err);
/* Load a PEM private key file (PKCS#8, SEC1 or PKCS#1). */
int reg_jwt_key_load_private(const char *path, struct reg_jwt_key **ret, struct err **err);
void reg_jwt_key_free(struct reg_jwt_key *k);

/* Sign CLAIMS (a JSON object, not consumed) with KEY: header
 * {"typ":"JWT","alg":ALG,"kid":KID} plus "x5c" when X5C_DER is non-NULL (a
 * DER certificate, base64 in the header).  *ret_token owned by caller. */
int reg_jwt_sign(const struct reg_jwt_key *key, json_t *claims, const unsigned char *x5c_der, size_t x5c_len,
                 char **ret_token, struct err **err);

/* The keys and certificates trusted to sign tokens. */
struct reg_jwt_trust;
struct reg_jwt_trust *reg_jwt_trust_new(void);
void reg_jwt_trust_free(struct reg_jwt_trust *t);
/* Trust every certificate in the PEM bundle at PATH (by kid, and as roots for
 * x5c chains).  Fails naming PATH when it holds no certificate. */
int reg_jwt_trust_add_bundle(struct reg_jwt_trust *t, const char *path, struct err **err);
/* Trust the public half of KEY (by kid). */
int reg_jwt_trust_add_key(struct reg_jwt_trust *t, const struct reg_jwt_key *key, struct err **err);

/* Parse TOKEN, find its signing key (x5c chain to a trusted root, else kid
 * among the trusted keys) and check the signature; only ES256 and RS256 are
 * accepted, and the algorithm must match the key type.  On success *ret_claims
 * is the claims object (caller decrefs).  Claims are not checked here.
 * EINVAL / ERR_UNAUTHORIZED with a message that never contains the token. */
int reg_jwt_verify(const struct reg_jwt_trust *t, const char *token, json_t **ret_claims, struct err **err);

/* Check the registered claims: iss == ISSUER, aud == AUDIENCE (string or
 * array containing it), NOW within [nbf - leeway, exp + leeway]; exp is
 * required. */
int reg_jwt_check_claims(json_t *claims, const char *issuer, const char *audience, time_t now, struct err **err);

/* ---- htpasswd (htpasswd.c) ---- */

struct reg_htpasswd;
/* Load PATH ("user:hash" lines; bcrypt $2y$/$2b$/$2a$ or {SHA}).  Other hash
 * schemes fail with ERR_PARSE naming PATH:LINE. */
int reg_htpasswd_load(const char *path, struct reg_htpasswd **ret, struct err **err);
void reg_htpasswd_free(struct reg_htpasswd *h);
/* Re-read the file if its mtime, size or inode changed.  On a failed
 * reload the old contents stay and the error is returned. */
int reg_htpasswd_refresh(struct reg_htpasswd *h, struct err **err);
/* True when USER exists and PASSWORD matches (constant time in the hash
 * comparison; an unknown user costs the same bcrypt as a known one). */
bool reg_htpasswd_verify(struct reg_htpasswd *h, const char *user, const char *password);
/* Is USER in the file (for refresh tokens, which carry no password)? */
bool reg_htpasswd_has_user(struct reg_htpasswd *h, const char *user);

/* ---- ACL (acl.c) ---- */

/* reg_acl_glob (auth.h) is the repository pattern matcher. */

/* Parse an action list word ("pull", "push", "delete", "*") to REG_ACTION_*
 * bits; 0 for unknown words. */
unsigned reg_acl_action(const char *word);

/* One requested or granted scope: repository:NAME:ACTIONS. */
struct reg_scope {
        char type[32];
        char name[256];
        unsigned actions; /* known actions */
        bool has_unknown; /* an action word we do not know, e.g. "*" on registry:catalog */
};
/* Parse one scope string "repository:a/b:pull,push" (the name may contain
 * ':' for a port, so the actions are after the last ':'). */
int reg_scope_parse(const char *s, struct reg_scope *ret, struct err **err);

/* ---- helpers shared by the files (auth.c) ---- */

/* Decode application/x-www-form-urlencoded PARAMS and return the value of
 * every KEY occurrence through CB.  Fails on bad %-escapes. */
int reg_form_each(const char *params, const char *key, int (*cb)(const char *value, void *userdata), void *userdata,
                  struct err **err);

#endif
