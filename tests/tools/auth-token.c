/* Test tool: drive registry/auth from bats tests.
 *
 *   auth-token endpoint CONFIG.json METHOD PARAMS [AUTHORIZATION]
 *       run the /token endpoint of the "auth" object in CONFIG.json; prints
 *       the status on the first line and the JSON body on the second.
 *   auth-token sign KEY.pem ISSUER AUDIENCE SUBJECT LIFETIME [SCOPE...]
 *       sign a token directly (LIFETIME seconds, may be negative; SCOPE like
 *       repository:NAME:pull,push) and print it.
 *   auth-token check CONFIG.json REPO ACTIONS [AUTHORIZATION]
 *       run reg_auth_check (ACTIONS like pull,push; REPO "-" for none) and
 *       print "STATUS USER" and the WWW-Authenticate value.
 *   auth-token kid KEY.pem
 *       print the libtrust key ID of the key.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "registry/auth/auth-internal.h"
#include "registry/auth/auth.h"

static int
die(struct err **e)
{
        fprintf(stderr, "auth-token: %s\n", err_msg(e));
        return 1;
}

static struct reg_auth *
load(const char *path, struct err **e)
{
        json_error_t je;
        json_t *j = json_load_file(path, 0, &je), *auth;
        struct reg_auth_config *cfg = NULL;
        struct reg_auth *a;

        if (!j) {
                err_set(e, EINVAL, "%s:%d: %s", path, je.line, je.text);
                return NULL;
        }
        auth = json_object_get(j, "auth");
        if (reg_auth_config_parse(auth ? auth : j, &cfg, e) < 0) {
                json_decref(j);
                return NULL;
        }
        json_decref(j);
        a = reg_auth_new(cfg, e);
        reg_auth_config_free(cfg);
        return a;
}

static unsigned
parse_actions(const char *s)
{
        unsigned a = 0;
        _cleanup_free_ char *copy = xstrdup(s);
        for (char *save = NULL, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
                a |= reg_acl_action(w);
        return a;
}

int
main(int argc, char **argv)
{
        struct err *e = NULL;

        if (argc >= 5 && strcmp(argv[1], "endpoint") == 0) {
                struct reg_auth *a = load(argv[2], &e);
                char *body = NULL, wa[1024];
                int status;
                if (!a)
                        return die(&e);
                if (reg_auth_token_endpoint(a, argv[3], argc > 5 && *argv[5] ? argv[5] : NULL, argv[4], &body, &status,
                                            wa, sizeof(wa), NULL, 0, &e) < 0)
                        return die(&e);
                printf("%d\n%s\n", status, body);
                free(body);
                reg_auth_free(a);
                return 0;
        }
        if (argc >= 7 && strcmp(argv[1], "sign") == 0) {
                struct reg_jwt_key *k = NULL;
                time_t now = time(NULL);
                json_t *access = json_array(), *claims;
                char *tok = NULL;

                if (reg_jwt_key_load_private(argv[2], &k, &e) < 0)
                        return die(&e);
                for (int i = 7; i < argc; i++) {
                        struct reg_scope sc;
                        json_t *acts = json_array();
                        if (reg_scope_parse(argv[i], &sc, &e) < 0)
                                return die(&e);
                        for (unsigned bit = 1; bit <= REG_ACTION_DELETE; bit <<= 1)
                                if (sc.actions & bit)
                                        json_array_append_new(acts, json_string(bit == REG_ACTION_PULL   ? "pull"
                                                                                : bit == REG_ACTION_PUSH ? "push"
                                                                                                         : "delete"));
                        json_array_append_new(
                            access, json_pack("{s:s, s:s, s:o}", "type", sc.type, "name", sc.name, "actions", acts));
                }
                claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:o}", "iss", argv[3], "aud", argv[4], "sub",
                                   argv[5], "exp", (json_int_t) (now + atol(argv[6])), "nbf", (json_int_t) now - 1,
                                   "iat", (json_int_t) now, "jti", "test", "access", access);
                if (reg_jwt_sign(k, claims, NULL, 0, &tok, &e) < 0)
                        return die(&e);
                printf("%s\n", tok);
                free(tok);
                json_decref(claims);
                reg_jwt_key_free(k);
                return 0;
        }
        if (argc >= 5 && strcmp(argv[1], "check") == 0) {
                struct reg_auth *a = load(argv[2], &e);
                struct reg_auth_request req = {
                    .authorization = argc > 5 && *argv[5] ? argv[5] : NULL,
                    .repo = strcmp(argv[3], "-") == 0 ? NULL : argv[3],
                    .actions = parse_actions(argv[4]),
                };
                struct reg_auth_result res;
                if (!a)
                        return die(&e);
                if (reg_auth_check(a, &req, &res, &e) < 0)
                        return die(&e);
                printf("%d %s\n%s\n", res.status, res.user, res.www_authenticate);
                reg_auth_free(a);
                return 0;
        }
        if (argc == 3 && strcmp(argv[1], "kid") == 0) {
                struct reg_jwt_key *k = NULL;
                if (reg_jwt_key_load_private(argv[2], &k, &e) < 0)
                        return die(&e);
                printf("%s\n", k->kid);
                reg_jwt_key_free(k);
                return 0;
        }
        fprintf(stderr, "usage: auth-token endpoint|sign|check|kid ... (see the source)\n");
        return 2;
}
