/* libFuzzer: ireg's "auth" configuration and every request-side input of
 * registry/auth: the Authorization header (Basic and Bearer), repository
 * names against ACL patterns, and the token endpoint's query string / form
 * body.
 *
 * Input: CONFIG '\0' AUTHORIZATION '\0' REPO '\0' PARAMS (missing parts
 * empty).  CONFIG is the "auth" JSON object; file names in it are replaced
 * by the harness's own (an htpasswd file with {SHA} users alice:secret and
 * bob:hunter2, a P-256 key; "cert" and "rootcertbundle" are dropped), so
 * the fuzzer explores the logic and never opens arbitrary paths. */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "registry/auth/auth-internal.h"
#include "registry/auth/auth.h"
#include "registry/common/base64.h"
#include "tests/fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *htpasswd_path, *key_path;

static char *
sha_line(const char *user, const char *pass)
{
        unsigned char md[SHA_DIGEST_LENGTH];
        _cleanup_free_ char *b = NULL;

        SHA1((const unsigned char *) pass, strlen(pass), md);
        b = reg_b64_encode(md, sizeof(md), false);
        return xasprintf("%s:{SHA}%s\n", user, b);
}

static void
init(void)
{
        _cleanup_free_ char *a = sha_line("alice", "secret"), *b = sha_line("bob", "hunter2");
        _cleanup_free_ char *text = xasprintf("# users\n%s%s", a, b);
        struct err *e = NULL;
        EVP_PKEY *pk;
        FILE *f;

        htpasswd_path = fuzz_path("auth", "htpasswd");
        key_path = fuzz_path("auth", "key.pem");
        if (fs_write_atomic(htpasswd_path, text, strlen(text), 0600, &e) < 0)
                abort();
        pk = EVP_EC_gen("P-256");
        f = fopen(key_path, "we");
        if (!pk || !f || !PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL))
                abort();
        fclose(f);
        EVP_PKEY_free(pk);
}

/* Point file names at the harness's files. */
static void
sanitize(json_t *cfg)
{
        json_t *tok = json_object_get(cfg, "token");

        if (json_is_string(json_object_get(cfg, "htpasswd")))
                json_object_set_new(cfg, "htpasswd", json_string(htpasswd_path));
        if (json_is_object(tok)) {
                if (json_is_string(json_object_get(tok, "key")))
                        json_object_set_new(tok, "key", json_string(key_path));
                json_object_del(tok, "cert");
                json_object_del(tok, "rootcertbundle");
        }
}

/* The "token" of a 200 answer from the token endpoint, as a Bearer header. */
static char *
bearer_of(const char *body)
{
        json_t *j = json_loads(body, 0, NULL);
        const char *t = json_string_value(json_object_get(j, "token"));
        char *h;

        if (!j)
                abort(); /* the endpoint always answers JSON */
        h = t ? xasprintf("Bearer %s", t) : NULL;
        json_decref(j);
        return h;
}

static void
endpoint(struct reg_auth *a, const char *method, const char *authorization, const char *params, const char *repo,
         unsigned actions)
{
        char *body = NULL, wa[1024];
        int status = 0;
        struct err *e = NULL;

        if (reg_auth_token_endpoint(a, method, authorization, params, &body, &status, wa, sizeof(wa), NULL, 0, &e) < 0) {
                err_clear(&e);
                return;
        }
        if (!body || (status != 200 && status != 400 && status != 401))
                abort();
        if (status == 200 || body[0] == '{') {
                char *h = bearer_of(body);
                if (h) {
                        struct reg_auth_request rq = {.authorization = h, .repo = repo, .actions = actions};
                        struct reg_auth_result res;
                        if (reg_auth_check(a, &rq, &res, &e) == 0 && res.allowed != (res.status == 200))
                                abort();
                        err_clear(&e);
                        free(h);
                }
        }
        free(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *buf, *parts[4] = {"", "", "", ""};
        json_t *cfg_json;
        struct reg_auth_config *cfg = NULL;
        struct reg_auth *a;
        struct err *e = NULL;
        unsigned actions = (unsigned) (size % 8);

        if (size > 16384)
                return 0;
        if (!key_path)
                init();
        buf = fuzz_split(data, size, '\0', parts, 4);
        (void) reg_acl_glob(parts[2], parts[3]);
        cfg_json = json_loads(parts[0], JSON_REJECT_DUPLICATES, NULL);
        if (!cfg_json) {
                free(buf);
                return 0;
        }
        sanitize(cfg_json);
        if (reg_auth_config_parse(cfg_json, &cfg, &e) < 0) {
                if (!e || !*err_msg(&e))
                        abort();
                err_clear(&e);
                json_decref(cfg_json);
                free(buf);
                return 0;
        }
        a = reg_auth_new(cfg, &e);
        reg_auth_config_free(cfg);
        if (a) {
                struct reg_auth_request rq = {
                        .authorization = parts[1],
                        .repo = parts[2][0] ? parts[2] : NULL,
                        .actions = parts[2][0] ? actions : 0,
                        .client_cert_subject = size % 3 == 0 ? "CN=alice,O=x" : NULL,
                };
                struct reg_auth_result res;

                if (reg_auth_check(a, &rq, &res, &e) == 0) {
                        if (res.allowed != (res.status == 200) || (!res.allowed && !res.error_code))
                                abort();
                        if (res.status == 401 && !res.www_authenticate[0])
                                abort(); /* a 401 always carries a challenge */
                }
                err_clear(&e);
                (void) reg_auth_may(a, parts[1], parts[2], actions);
                if (reg_auth_token_path(a)) {
                        endpoint(a, "GET", parts[1][0] ? parts[1] : NULL, parts[3], parts[2], actions);
                        endpoint(a, "POST", NULL, parts[3], parts[2], actions);
                }
                reg_auth_free(a);
        }
        err_clear(&e);
        json_decref(cfg_json);
        free(buf);
        return 0;
}
