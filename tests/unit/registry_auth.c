/* registry/auth: JWT, htpasswd, ACL, config, request decisions, /token. */
#include "tests/unit/test.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "common/fsutil.h"
#include "registry/auth/auth-internal.h"
#include "registry/auth/auth.h"
#include "registry/common/base64.h"
#include "registry/common/challenge.h"

static char tmpdir[] = "/tmp/ibuild-auth-test.XXXXXX";

/* Files made by `htpasswd -B -C 5` and `htpasswd -s` (apache2-utils). */
static const char HTPASSWD[] = "alice:$2y$05$zPMKHjE1U0CnZLfV8wLqk.WtFpD333W/do5uwW7F6BK6ToAw.njhW\n"
                               "# a comment\n"
                               "\n"
                               "bob:$2y$05$VWHeKGKXWjchHRiQME6B2uMTqSIvQuYk2SSrXypVLNovXpIVp7MEu\r\n"
                               "carol:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n"
                               "robot$ci:$2y$05$E17ujbJzbxfOuYfsJvUSKO9xLc2HzSV0oWd.RJ73CWh3aywQcpKvi\n";

/* The example key of distribution's jwt.md (public half) and its example
 * token signed with it. */
static const char SPEC_PUB[] = "-----BEGIN PUBLIC KEY-----\n"
                               "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEm7zUpx3b+zmVE5cymSs64POG9Qcy\n"
                               "EpJaYCD82+549/R1TduLPyxn/wY8H6h2bxbHPeU0OvXFwBBA9Bo5yvV+Zw==\n"
                               "-----END PUBLIC KEY-----\n";
static const char SPEC_KID[] = "PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6";
static const char SPEC_TOKEN[] =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiIsImtpZCI6IlBZWU86VEVXVTpWN0pIOjI2SlY6QVFUWjpMSkMzOlNYVko6WEdIQTozNEYyOj"
    "JMQVE6WlJNSzpaN1E2In0."
    "eyJpc3MiOiJhdXRoLmRvY2tlci5jb20iLCJzdWIiOiJqbGhhd24iLCJhdWQiOiJyZWdpc3RyeS5kb2NrZXIuY29tIiwiZXhwIjoxNDE1Mzg3"
    "MzE1LCJuYmYiOjE0MTUzODcwMTUsImlhdCI6MTQxNTM4NzAxNSwianRpIjoidFlKQ08xYzZjbnl5N2tBbjBjN3JLUGdiVjFIMWJGd3MiLCJh"
    "Y2Nlc3MiOlt7InR5cGUiOiJyZXBvc2l0b3J5IiwibmFtZSI6InNhbWFsYmEvbXktYXBwIiwiYWN0aW9ucyI6WyJwdXNoIl19XX0."
    "QhflHPfbd6eVF4lM9bwYpFZIV0PfikbyXuLx959ykRTBpe3CYnzs6YBK8FToVb5R47920PVLrh8zuLzdCr9t3w";

static char *
path_of(const char *name)
{
        return xasprintf("%s/%s", tmpdir, name);
}

static void
write_file(const char *name, const char *content)
{
        _cleanup_free_ char *p = path_of(name);
        struct err *e = NULL;
        if (fs_write_atomic(p, content, strlen(content), 0600, &e) < 0)
                fail_msg("%s", err_msg(&e));
}

static void
run(const char *cmd)
{
        if (system(cmd) != 0)
                fail_msg("command failed: %s", cmd);
}

static int
setup(void **state)
{
        _cleanup_free_ char *cmd = NULL;

        if (!mkdtemp(tmpdir))
                return -1;
        write_file("htpasswd", HTPASSWD);
        /* Keys and self-signed certificates, as an operator makes them. */
        cmd = xasprintf("cd %s && "
                        "openssl ecparam -name prime256v1 -genkey -noout -out ec.pem 2>/dev/null && "
                        "openssl req -x509 -new -key ec.pem -subj /CN=ireg-token -days 2 -out ec.crt 2>/dev/null && "
                        "openssl ecparam -name prime256v1 -genkey -noout -out ext.pem 2>/dev/null && "
                        "openssl req -x509 -new -key ext.pem -subj /CN=ext -days 2 -out ext.crt 2>/dev/null && "
                        "openssl genrsa -out rsa.pem 2048 2>/dev/null && "
                        "openssl req -x509 -new -key rsa.pem -subj /CN=rsa -days 2 -out rsa.crt 2>/dev/null && "
                        "openssl ecparam -name secp384r1 -genkey -noout -out p384.pem 2>/dev/null",
                        tmpdir);
        run(cmd);
        return 0;
}

static int
teardown(void **state)
{
        struct err *e = NULL;
        fs_rm_rf(tmpdir, &e);
        err_clear(&e);
        return 0;
}

static struct reg_jwt_key *
load_key(const char *name)
{
        _cleanup_free_ char *p = path_of(name);
        struct reg_jwt_key *k = NULL;
        struct err *e = NULL;
        if (reg_jwt_key_load_private(p, &k, &e) < 0)
                fail_msg("%s", err_msg(&e));
        return k;
}

/* ---- JWT ---- */

static json_t *
claims_of(const char *tok)
{
        const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
        unsigned char *raw;
        size_t n;
        struct err *e = NULL;
        json_t *j;
        assert_int_equal(reg_b64_decode(d1 + 1, (size_t) (d2 - d1 - 1), &raw, &n, &e), 0);
        j = json_loads((char *) raw, 0, NULL);
        free(raw);
        return j;
}

static void
jwt_spec_vector(void **state)
{
        BIO *bio = BIO_new_mem_buf(SPEC_PUB, -1);
        EVP_PKEY *pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        struct reg_jwt_key *k = NULL;
        struct reg_jwt_trust *t = reg_jwt_trust_new();
        struct err *e = NULL;
        json_t *claims = NULL;

        BIO_free(bio);
        assert_non_null(pk);
        assert_int_equal(reg_jwt_key_from_pkey(pk, &k, &e), 0);
        /* libtrust's key ID of the spec's key is the spec's kid. */
        assert_string_equal(k->kid, SPEC_KID);
        assert_string_equal(k->alg, "ES256");
        assert_int_equal(reg_jwt_trust_add_key(t, k, &e), 0);

        /* The spec's example token parses down to the signature check; its
         * example signature does not verify (OpenSSL's CLI agrees), so only
         * its claims are used below. */
        assert_int_equal(reg_jwt_verify(t, SPEC_TOKEN, &claims, &e), -ERR_UNAUTHORIZED);
        assert_non_null(strstr(err_msg(&e), "signature does not verify"));
        err_clear(&e);
        claims = claims_of(SPEC_TOKEN);
        assert_string_equal(json_string_value(json_object_get(claims, "sub")), "jlhawn");
        /* It expired in 2014. */
        assert_int_equal(reg_jwt_check_claims(claims, "auth.docker.com", "registry.docker.com", time(NULL), &e),
                         -ERR_UNAUTHORIZED);
        assert_non_null(strstr(err_msg(&e), "expired"));
        err_clear(&e);
        assert_int_equal(reg_jwt_check_claims(claims, "auth.docker.com", "registry.docker.com", 1415387100, &e), 0);
        assert_int_equal(reg_jwt_check_claims(claims, "auth.docker.com", "other", 1415387100, &e), -ERR_UNAUTHORIZED);
        assert_non_null(strstr(err_msg(&e), "audience"));
        err_clear(&e);
        assert_int_equal(reg_jwt_check_claims(claims, "evil", "registry.docker.com", 1415387100, &e),
                         -ERR_UNAUTHORIZED);
        assert_non_null(strstr(err_msg(&e), "issuer"));
        err_clear(&e);
        /* nbf with leeway */
        assert_int_equal(reg_jwt_check_claims(claims, "auth.docker.com", "registry.docker.com", 1415387015 - 30, &e),
                         0);
        assert_int_equal(reg_jwt_check_claims(claims, "auth.docker.com", "registry.docker.com", 1415387015 - 90, &e),
                         -ERR_UNAUTHORIZED);
        err_clear(&e);
        json_decref(claims);

        reg_jwt_trust_free(t);
        reg_jwt_key_free(k);
}

static void
jwt_malformed(void **state)
{
        struct reg_jwt_trust *t = reg_jwt_trust_new();
        struct err *e = NULL;
        json_t *c = NULL;
        const char *bad[] = {
            "",
            "a.b",
            "a.b.c.d",
            "!!!.e30.AA",
            "e30.!!!.AA",
            /* {"alg":"none"} . {} . "" */
            "eyJhbGciOiJub25lIn0.e30.",
            /* {"alg":"HS256","kid":"x"} */
            "eyJhbGciOiJIUzI1NiIsImtpZCI6IngifQ.e30.AAAA",
            /* {"alg":"ES256"} without kid/x5c */
            "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
            /* {"alg":"ES256","kid":"x"}: unknown kid */
            "eyJhbGciOiJFUzI1NiIsImtpZCI6IngifQ.e30.AAAA",
            /* header is JSON but not an object: [] */
            "W10.e30.AAAA",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (reg_jwt_verify(t, bad[i], &c, &e) >= 0)
                        fail_msg("token %zu verified", i);
                assert_null(c);
                assert_int_equal(err_code(&e), ERR_UNAUTHORIZED);
                err_clear(&e);
        }
        reg_jwt_trust_free(t);
}

/* exp and nbf come from the token: values at the ends of the integer range,
 * reals beyond it, and non-finite-looking reals are refused, never
 * overflowed (a sanitizer build aborts on the overflow). */
static void
jwt_claims_extreme_times(void **state)
{
        static const char *const bad[] = {
                "{\"iss\":\"i\",\"aud\":\"a\",\"exp\":9223372036854775807}",
                "{\"iss\":\"i\",\"aud\":\"a\",\"exp\":-9223372036854775807}",
                "{\"iss\":\"i\",\"aud\":\"a\",\"exp\":1e300}",
                "{\"iss\":\"i\",\"aud\":\"a\",\"exp\":-1e300}",
                "{\"iss\":\"i\",\"aud\":\"a\",\"exp\":2000000000,\"nbf\":-9223372036854775807}",
                "{\"iss\":\"i\",\"aud\":\"a\",\"exp\":2000000000,\"nbf\":9223372036854775807}",
                "{\"iss\":\"i\",\"aud\":\"a\",\"exp\":2000000000,\"nbf\":1e300}",
        };
        struct err *e = NULL;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                json_t *c = json_loads(bad[i], 0, NULL);

                assert_non_null(c);
                assert_int_equal(reg_jwt_check_claims(c, "i", "a", 1900000000, &e), -ERR_UNAUTHORIZED);
                assert_non_null(err_msg(&e)[0]);
                err_clear(&e);
                json_decref(c);
        }
        {
                /* A real exp/nbf in range still works. */
                json_t *c = json_loads("{\"iss\":\"i\",\"aud\":\"a\",\"exp\":2000000000.5,\"nbf\":1.5}", 0,
                                       NULL);
                assert_int_equal(reg_jwt_check_claims(c, "i", "a", 1900000000, &e), 0);
                json_decref(c);
        }
}

static void
jwt_sign_verify(void **state)
{
        const char *keys[] = {"ec.pem", "rsa.pem"};

        for (size_t i = 0; i < 2; i++) {
                struct reg_jwt_key *k = load_key(keys[i]), *other = load_key(i ? "ec.pem" : "ext.pem");
                struct reg_jwt_trust *t = reg_jwt_trust_new(), *t2 = reg_jwt_trust_new();
                json_t *claims = json_pack("{s:s, s:s, s:I}", "iss", "me", "aud", "ireg", "exp",
                                           (json_int_t) time(NULL) + 100),
                       *back = NULL;
                struct err *e = NULL;
                char *tok = NULL, *dot;

                assert_string_equal(k->alg, i ? "RS256" : "ES256");
                assert_int_equal(reg_jwt_sign(k, claims, NULL, 0, &tok, &e), 0);
                assert_int_equal(reg_jwt_trust_add_key(t, k, &e), 0);
                assert_int_equal(reg_jwt_verify(t, tok, &back, &e), 0);
                assert_true(json_equal(claims, back));
                assert_int_equal(reg_jwt_check_claims(back, "me", "ireg", time(NULL), &e), 0);
                json_decref(back);
                back = NULL;

                /* Not trusted by a set holding another key. */
                assert_int_equal(reg_jwt_trust_add_key(t2, other, &e), 0);
                assert_int_equal(reg_jwt_verify(t2, tok, &back, &e), -ERR_UNAUTHORIZED);
                assert_non_null(strstr(err_msg(&e), "untrusted key"));
                err_clear(&e);

                /* The header is the documented shape. */
                dot = strchr(tok, '.');
                {
                        unsigned char *h;
                        size_t n;
                        json_t *hj;
                        assert_int_equal(reg_b64_decode(tok, (size_t) (dot - tok), &h, &n, &e), 0);
                        hj = json_loads((char *) h, 0, NULL);
                        assert_string_equal(json_string_value(json_object_get(hj, "typ")), "JWT");
                        assert_string_equal(json_string_value(json_object_get(hj, "alg")), k->alg);
                        assert_string_equal(json_string_value(json_object_get(hj, "kid")), k->kid);
                        json_decref(hj);
                        free(h);
                }
                /* One flipped bit in the claims breaks the signature. */
                {
                        char *flip = xstrdup(tok);
                        flip[dot - tok + 3] ^= 1;
                        assert_int_equal(reg_jwt_verify(t, flip, &back, &e), -ERR_UNAUTHORIZED);
                        assert_null(back);
                        err_clear(&e);
                        free(flip);
                }
                /* Truncated signature. */
                tok[strlen(tok) - 4] = '\0';
                assert_true(reg_jwt_verify(t, tok, &back, &e) < 0);
                err_clear(&e);

                free(tok);
                json_decref(claims);
                reg_jwt_trust_free(t);
                reg_jwt_trust_free(t2);
                reg_jwt_key_free(k);
                reg_jwt_key_free(other);
        }
}

static void
jwt_x5c_and_bundle(void **state)
{
        struct reg_jwt_key *k = load_key("ec.pem");
        struct reg_jwt_trust *t = reg_jwt_trust_new(), *t2 = reg_jwt_trust_new();
        _cleanup_free_ char *crt = path_of("ec.crt"), *ext = path_of("ext.crt"), *p384 = path_of("p384.pem");
        _cleanup_free_ char *pem = NULL;
        _cleanup_free_ unsigned char *der = NULL;
        json_t *claims = json_pack("{s:s}", "iss", "x"), *back = NULL;
        struct err *e = NULL;
        struct reg_jwt_key *bad = NULL;
        char *tok = NULL;
        size_t len;
        X509 *x;
        BIO *bio;
        int n;

        assert_int_equal(fs_read_file(crt, 1 << 20, &pem, &len, &e), 0);
        bio = BIO_new_mem_buf(pem, (int) len);
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
        n = i2d_X509(x, &der);
        X509_free(x);
        assert_true(n > 0);

        /* A token with x5c verifies against a bundle holding that cert... */
        assert_int_equal(reg_jwt_sign(k, claims, der, (size_t) n, &tok, &e), 0);
        assert_int_equal(reg_jwt_trust_add_bundle(t, crt, &e), 0);
        assert_int_equal(reg_jwt_verify(t, tok, &back, &e), 0);
        json_decref(back);
        /* ...and not against another one. */
        assert_int_equal(reg_jwt_trust_add_bundle(t2, ext, &e), 0);
        assert_int_equal(reg_jwt_verify(t2, tok, &back, &e), -ERR_UNAUTHORIZED);
        assert_non_null(strstr(err_msg(&e), "x5c chain not trusted"));
        err_clear(&e);
        free(tok);

        /* Bundle errors name the file. */
        assert_true(reg_jwt_trust_add_bundle(t2, p384, &e) < 0);
        assert_non_null(strstr(err_msg(&e), "p384.pem"));
        err_clear(&e);
        /* Unsupported curve. */
        assert_true(reg_jwt_key_load_private(p384, &bad, &e) < 0);
        assert_non_null(strstr(err_msg(&e), "P-256"));
        err_clear(&e);

        json_decref(claims);
        reg_jwt_trust_free(t);
        reg_jwt_trust_free(t2);
        reg_jwt_key_free(k);
}

/* ---- htpasswd ---- */

static void
htpasswd_verify(void **state)
{
        _cleanup_free_ char *p = path_of("htpasswd"), *p2 = path_of("ht2");
        struct reg_htpasswd *h = NULL;
        struct err *e = NULL;

        assert_int_equal(reg_htpasswd_load(p, &h, &e), 0);
        assert_true(reg_htpasswd_verify(h, "alice", "wonderland"));
        assert_true(reg_htpasswd_verify(h, "alice", "wonderland")); /* cached */
        assert_false(reg_htpasswd_verify(h, "alice", "wonderlanD"));
        assert_false(reg_htpasswd_verify(h, "alice", ""));
        assert_true(reg_htpasswd_verify(h, "bob", "p:a ss"));
        assert_true(reg_htpasswd_verify(h, "carol", "secret"));
        assert_false(reg_htpasswd_verify(h, "carol", "Secret"));
        assert_true(reg_htpasswd_verify(h, "robot$ci", "tok"));
        assert_false(reg_htpasswd_verify(h, "mallory", "wonderland"));
        assert_true(reg_htpasswd_has_user(h, "bob"));
        assert_false(reg_htpasswd_has_user(h, "mallory"));

        /* Reload on change: alice's password goes, a new user comes. */
        {
                char text[512];
                snprintf(text, sizeof(text), "%s", strchr(HTPASSWD, '\n') + 1);
                strcat(text, "eve:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n");
                write_file("htpasswd", text);
        }
        assert_int_equal(reg_htpasswd_refresh(h, &e), 0);
        assert_false(reg_htpasswd_verify(h, "alice", "wonderland"));
        assert_true(reg_htpasswd_verify(h, "eve", "secret"));
        /* A broken file keeps the old contents and says why. */
        write_file("htpasswd", "broken line\n");
        assert_true(reg_htpasswd_refresh(h, &e) < 0);
        assert_non_null(strstr(err_msg(&e), "htpasswd:1"));
        err_clear(&e);
        assert_true(reg_htpasswd_verify(h, "eve", "secret"));
        write_file("htpasswd", HTPASSWD);
        reg_htpasswd_free(h);
        reg_htpasswd_free(NULL);

        /* MD5 ($apr1$) and crypt are refused with the line number. */
        write_file("ht2", "ok:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\ndave:$apr1$8okaCQNT$TX5.xToHITJnxVEY4de/c1\n");
        assert_int_equal(reg_htpasswd_load(p2, &h, &e), -ERR_PARSE);
        assert_non_null(strstr(err_msg(&e), "ht2:2"));
        assert_non_null(strstr(err_msg(&e), "htpasswd -B"));
        err_clear(&e);
        write_file("ht2", "x:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\nx:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n");
        assert_int_equal(reg_htpasswd_load(p2, &h, &e), -ERR_PARSE);
        assert_non_null(strstr(err_msg(&e), "duplicate"));
        err_clear(&e);
        assert_int_equal(reg_htpasswd_load("/nonexistent/htpasswd", &h, &e), -ENOENT);
        err_clear(&e);
}

/* ---- ACL, scopes, forms ---- */

static void
acl_glob(void **state)
{
        struct {
                const char *pat, *name;
                bool match;
        } cases[] = {
            {"team/app", "team/app", true},
            {"team/app", "team/app2", false},
            {"team/*", "team/app", true},
            {"team/*", "team/a/b", false},
            {"team/*", "team", false},
            {"team/**", "team", true},
            {"team/**", "team/a/b/c", true},
            {"team/**", "teams/a", false},
            {"**", "x", true},
            {"**", "a/b/c", true},
            {"*", "a/b", false},
            {"*/app", "x/app", true},
            {"a/**/z", "a/z", true},
            {"a/**/z", "a/b/c/z", true},
            {"a/**/z", "a/b/c/y", false},
            {"lib?", "lib1", true},
            {"lib?", "lib12", false},
            {"pre-*-post", "pre-x-post", true},
            {"**/cache", "x/y/cache", true},
            {"**/cache", "cache2", false},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                if (reg_acl_glob(cases[i].pat, cases[i].name) != cases[i].match)
                        fail_msg("glob '%s' vs '%s' should be %d", cases[i].pat, cases[i].name, cases[i].match);
        {
                /* Many "**" against a long name that does not match: was
                 * exponential backtracking (seconds to hours per request),
                 * now a table of at most 64 x 64 cells. */
                char name[200] = "a";
                struct timespec t0, t1;

                for (int k = 1; k < 60; k++)
                        strcat(name, "/a");
                clock_gettime(CLOCK_MONOTONIC, &t0);
                assert_false(reg_acl_glob("**/**/**/**/**/**/**/**/**/**/**/**/z", name));
                assert_true(reg_acl_glob("**/**/**/**/**/**/**/**/**/**/**/**/a", name));
                assert_true(reg_acl_glob("a/**/a/**/**/a", name));
                clock_gettime(CLOCK_MONOTONIC, &t1);
                assert_true(t1.tv_sec - t0.tv_sec < 2);
        }
}

static int
collect(const char *v, void *ud)
{
        char *buf = ud;
        strcat(buf, "[");
        strcat(buf, v);
        strcat(buf, "]");
        return 0;
}

static void
scope_and_form(void **state)
{
        struct reg_scope s;
        struct err *e = NULL;
        char buf[256] = "";

        assert_int_equal(reg_scope_parse("repository:team/app:pull,push", &s, &e), 0);
        assert_string_equal(s.type, "repository");
        assert_string_equal(s.name, "team/app");
        assert_int_equal(s.actions, REG_ACTION_PULL | REG_ACTION_PUSH);
        assert_false(s.has_unknown);
        assert_int_equal(reg_scope_parse("repository:localhost:5000/x:delete,frob", &s, &e), 0);
        assert_string_equal(s.name, "localhost:5000/x");
        assert_int_equal(s.actions, REG_ACTION_DELETE);
        assert_true(s.has_unknown);
        assert_int_equal(reg_scope_parse("registry:catalog:*", &s, &e), 0);
        assert_true(s.has_unknown);
        assert_int_equal(reg_scope_parse("repository:x", &s, &e), -EINVAL);
        err_clear(&e);
        assert_int_equal(reg_scope_parse("::pull", &s, &e), -EINVAL);
        err_clear(&e);

        assert_int_equal(reg_form_each("scope=a%3Ab+c&x=1&scope=d&scope&Scope=no", "scope", collect, buf, &e), 0);
        assert_string_equal(buf, "[a:b c][d][]");
        assert_int_equal(reg_form_each("scope=%zz", "scope", collect, buf, &e), -EINVAL);
        assert_non_null(strstr(err_msg(&e), "offset 6"));
        err_clear(&e);
        assert_int_equal(reg_form_each("scope=%2", "scope", collect, buf, &e), -EINVAL);
        err_clear(&e);
        assert_int_equal(reg_form_each("scope=a%00b", "scope", collect, buf, &e), -EINVAL);
        err_clear(&e);
}

/* ---- config ---- */

static void
config_errors(void **state)
{
        struct {
                const char *json, *needle;
        } cases[] = {
            {"[]", "auth: expected an object"},
            {"{\"htpaswd\": \"x\"}", "auth.htpaswd: unknown key"},
            {"{\"anonymous\": 1}", "auth.anonymous"},
            {"{\"token\": {\"realm\": \"http://x/t\", \"key\": \"k\", \"isuser\": \"x\"}}",
             "auth.token.isuser: unknown key"},
            {"{\"token\": {\"service\": \"x\", \"key\": \"k\"}}", "auth.token.realm: required"},
            {"{\"token\": {\"realm\": \"ftp://x\", \"key\": \"k\"}}", "not an http(s) URL"},
            {"{\"token\": {\"realm\": \"http://x/token\"}}", "needs \"key\""},
            {"{\"token\": {\"realm\": \"http://x/t\", \"key\": \"k\", \"expiration\": 5}}", "expiration"},
            {"{\"acl\": {}}", "auth.acl: expected a list"},
            {"{\"realm\": \"a\\nb\"}", "auth.realm: control character"},
            {"{\"acl\": [{\"user\": \"a\", \"repos\": \"x\", \"actions\": [\"pull\"]},"
             " {\"user\": \"b\", \"repos\": \"x\", \"actions\": [\"pul\"]}]}",
             "auth.acl[1].actions[0]"},
            {"{\"acl\": [{\"user\": \"a\", \"repos\": [], \"actions\": []}]}", "auth.acl[0].repos"},
            {"{\"acl\": [{\"repos\": \"x\", \"actions\": []}]}", "auth.acl[0].user"},
            {"{\"acl\": [{\"user\": \"a\", \"repos\": \"x\", \"actions\": [], \"extra\": 1}]}", "auth.acl[0].extra: unknown key"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                json_t *j = json_loads(cases[i].json, 0, NULL);
                struct reg_auth_config *c = NULL;
                struct err *e = NULL;
                assert_non_null(j);
                if (reg_auth_config_parse(j, &c, &e) >= 0)
                        fail_msg("config %zu parsed", i);
                assert_null(c);
                assert_int_equal(err_code(&e), ERR_PARSE);
                if (!strstr(err_msg(&e), cases[i].needle))
                        fail_msg("config %zu: '%s' lacks '%s'", i, err_msg(&e), cases[i].needle);
                err_clear(&e);
                json_decref(j);
        }
}

static struct reg_auth *
auth_from(const char *fmt, ...)
{
        va_list ap;
        _cleanup_free_ char *text = NULL;
        struct reg_auth_config *c = NULL;
        struct reg_auth *a;
        struct err *e = NULL;
        json_t *j;

        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                abort();
        va_end(ap);
        j = json_loads(text, 0, NULL);
        if (!j)
                fail_msg("bad test JSON: %s", text);
        if (reg_auth_config_parse(j, &c, &e) < 0)
                fail_msg("%s", err_msg(&e));
        json_decref(j);
        a = reg_auth_new(c, &e);
        if (!a)
                fail_msg("%s", err_msg(&e));
        reg_auth_config_free(c);
        return a;
}

static char *
basic(const char *user, const char *pass)
{
        _cleanup_free_ char *up = xasprintf("%s:%s", user, pass);
        _cleanup_free_ char *b = reg_b64_encode(up, strlen(up), false);
        return xasprintf("Basic %s", b);
}

static struct reg_auth_result
check(struct reg_auth *a, const char *authz, const char *repo, unsigned actions)
{
        struct reg_auth_request req = {.authorization = authz, .repo = repo, .actions = actions};
        struct reg_auth_result res;
        struct err *e = NULL;
        if (reg_auth_check(a, &req, &res, &e) < 0)
                fail_msg("%s", err_msg(&e));
        return res;
}

/* ---- decisions: none and Basic ---- */

static void
mode_none(void **state)
{
        struct reg_auth *a = auth_from("{}");
        struct reg_auth_result r = check(a, NULL, "any/repo", REG_ACTION_PUSH | REG_ACTION_DELETE);
        assert_true(r.allowed);
        assert_int_equal(r.status, 200);
        assert_true(reg_auth_may(a, NULL, "x", REG_ACTION_DELETE));
        assert_null(reg_auth_token_path(a));
        reg_auth_free(a);
        /* NULL authenticator: allow. */
        r = check(NULL, NULL, "x", REG_ACTION_PUSH);
        assert_true(r.allowed);

        /* An ACL in mode none applies to anonymous and cert users. */
        a = auth_from("{\"client_cert_users\": true, \"acl\": [{\"user\": \"anonymous\", \"repos\": \"**\", "
                      "\"actions\": [\"pull\"]}, {\"user\": \"ci\", \"repos\": \"**\", \"actions\": [\"*\"]}]}");
        r = check(a, NULL, "x", REG_ACTION_PULL);
        assert_true(r.allowed);
        r = check(a, NULL, "x", REG_ACTION_PUSH);
        assert_false(r.allowed);
        assert_int_equal(r.status, 403);
        {
                struct reg_auth_request req = {
                    .repo = "x", .actions = REG_ACTION_PUSH, .client_cert_subject = "O=Org,CN=ci"};
                struct err *e = NULL;
                assert_int_equal(reg_auth_check(a, &req, &r, &e), 0);
                assert_true(r.allowed);
                assert_string_equal(r.user, "ci");
        }
        reg_auth_free(a);
}

static void
mode_basic(void **state)
{
        _cleanup_free_ char *good = basic("alice", "wonderland"), *bad = basic("alice", "nope"),
                            *bobh = basic("bob", "p:a ss"), *unknown = basic("mallory", "x");
        struct reg_auth *a =
            auth_from("{\"htpasswd\": \"%s/htpasswd\", \"realm\": \"my \\\"reg\\\"\", \"anonymous\": true, \"acl\": ["
                      "{\"user\": \"alice\", \"repos\": [\"alice/**\", \"shared/*\"], \"actions\": [\"pull\", "
                      "\"push\", \"delete\"]},"
                      "{\"user\": \"*\", \"repos\": \"shared/*\", \"actions\": [\"pull\"]},"
                      "{\"user\": \"anonymous\", \"repos\": \"public/*\", \"actions\": [\"pull\"]}]}",
                      tmpdir);
        struct reg_auth_result r;

        r = check(a, good, "alice/app", REG_ACTION_PUSH);
        assert_true(r.allowed);
        assert_string_equal(r.user, "alice");
        assert_null(r.error_code);

        r = check(a, bad, "alice/app", REG_ACTION_PULL);
        assert_false(r.allowed);
        assert_int_equal(r.status, 401);
        assert_string_equal(r.error_code, "UNAUTHORIZED");
        assert_string_equal(r.www_authenticate, "Basic realm=\"my \\\"reg\\\"\"");
        assert_null(strstr(r.message, "nope"));

        r = check(a, unknown, "public/x", REG_ACTION_PULL);
        assert_int_equal(r.status, 401);
        r = check(a, "Bearer abc", "public/x", REG_ACTION_PULL);
        assert_int_equal(r.status, 401);
        r = check(a, "Basic !!!", "public/x", REG_ACTION_PULL);
        assert_int_equal(r.status, 401);

        /* Authenticated but not allowed: 403 DENIED. */
        r = check(a, bobh, "alice/app", REG_ACTION_PULL);
        assert_false(r.allowed);
        assert_int_equal(r.status, 403);
        assert_string_equal(r.error_code, "DENIED");
        assert_string_equal(r.user, "bob");
        assert_string_equal(r.www_authenticate, "");
        r = check(a, bobh, "shared/lib", REG_ACTION_PULL);
        assert_true(r.allowed);
        r = check(a, bobh, "shared/lib", REG_ACTION_PUSH);
        assert_int_equal(r.status, 403);
        r = check(a, good, "shared/lib", REG_ACTION_PUSH | REG_ACTION_PULL);
        assert_true(r.allowed);

        /* Anonymous: public pull yes; the rest asks for credentials. */
        r = check(a, NULL, "public/x", REG_ACTION_PULL);
        assert_true(r.allowed);
        assert_string_equal(r.user, "");
        r = check(a, NULL, "public/x", REG_ACTION_PUSH);
        assert_int_equal(r.status, 401);
        assert_non_null(strstr(r.www_authenticate, "Basic realm="));
        r = check(a, NULL, NULL, 0);
        assert_true(r.allowed);
        /* An empty header is anonymous; empty Basic credentials are a
         * failed login (the server relies on that for /v2/ pings). */
        r = check(a, "", "public/x", REG_ACTION_PULL);
        assert_true(r.allowed);
        r = check(a, "", "alice/x", REG_ACTION_PULL);
        assert_int_equal(r.status, 401);
        assert_string_equal(r.message, "authentication required");
        r = check(a, "Basic Og==", NULL, 0);
        assert_int_equal(r.status, 401);
        assert_string_equal(r.www_authenticate, "Basic realm=\"my \\\"reg\\\"\"");

        assert_true(reg_auth_may(a, "alice", "alice/deep/x", REG_ACTION_DELETE));
        assert_false(reg_auth_may(a, "bob", "alice/x", REG_ACTION_PULL));
        assert_true(reg_auth_may(a, NULL, "public/x", REG_ACTION_PULL));
        assert_false(reg_auth_may(a, "", "shared/x", REG_ACTION_PULL));
        reg_auth_free(a);

        /* Without "anonymous", /v2/ itself needs credentials; without an
         * ACL every authenticated user may do everything. */
        a = auth_from("{\"htpasswd\": \"%s/htpasswd\"}", tmpdir);
        r = check(a, NULL, NULL, 0);
        assert_int_equal(r.status, 401);
        assert_string_equal(r.www_authenticate, "Basic realm=\"ireg\"");
        r = check(a, bobh, "any/thing", REG_ACTION_DELETE);
        assert_true(r.allowed);
        /* The file vanishes or breaks mid-edit: the old contents serve. */
        {
                _cleanup_free_ char *p = path_of("htpasswd");
                assert_int_equal(unlink(p), 0);
                r = check(a, bobh, "any/thing", REG_ACTION_PULL);
                assert_true(r.allowed);
                write_file("htpasswd", "alice:$2y$05$zPMK");
                r = check(a, bobh, "any/thing", REG_ACTION_PULL);
                assert_true(r.allowed);
                write_file("htpasswd", HTPASSWD);
        }
        reg_auth_free(a);

        /* A missing htpasswd file fails at startup, naming it. */
        {
                json_t *j = json_pack("{s:s}", "htpasswd", "/nonexistent/ht");
                struct reg_auth_config *c = NULL;
                struct err *e = NULL;
                assert_int_equal(reg_auth_config_parse(j, &c, &e), 0);
                assert_null(reg_auth_new(c, &e));
                assert_non_null(strstr(err_msg(&e), "/nonexistent/ht"));
                err_clear(&e);
                reg_auth_config_free(c);
                json_decref(j);
        }
}

/* ---- decisions: tokens ---- */

static json_t *
token_call(struct reg_auth *a, const char *method, const char *authz, const char *params, int want_status, char *wa,
           size_t walen)
{
        char *body = NULL;
        int status = 0;
        struct err *e = NULL;
        json_t *j;

        if (reg_auth_token_endpoint(a, method, authz, params, &body, &status, wa, walen, NULL, 0, &e) < 0)
                fail_msg("%s", err_msg(&e));
        if (status != want_status)
                fail_msg("token %s %s: status %d, want %d: %s", method, params, status, want_status, body);
        j = json_loads(body, 0, NULL);
        assert_non_null(j);
        free(body);
        return j;
}

static void
mode_token_issuer(void **state)
{
        _cleanup_free_ char *good = basic("alice", "wonderland"), *bad = basic("alice", "x"),
                            *bobh = basic("bob", "p:a ss");
        struct reg_auth *a = auth_from(
            "{\"htpasswd\": \"%s/htpasswd\", \"token\": {\"realm\": \"https://reg.example:5000/auth/token\","
            "\"service\": \"reg.example\", \"issuer\": \"ireg-test\", \"key\": \"%s/ec.pem\", \"cert\": \"%s/ec.crt\"},"
            "\"acl\": [{\"user\": \"alice\", \"repos\": \"team/**\", \"actions\": [\"pull\", \"push\"]},"
            "{\"user\": \"*\", \"repos\": \"team/**\", \"actions\": [\"pull\"]}]}",
            tmpdir, tmpdir, tmpdir);
        char wa[256];
        json_t *resp, *claims, *access;
        const char *tok;
        _cleanup_free_ char *bearer = NULL;
        struct reg_auth_result r;

        assert_string_equal(reg_auth_token_path(a), "/auth/token");

        /* No token: 401 with the Bearer challenge carrying the scope. */
        r = check(a, NULL, "team/app", REG_ACTION_PULL | REG_ACTION_PUSH);
        assert_int_equal(r.status, 401);
        assert_string_equal(r.www_authenticate, "Bearer realm=\"https://reg.example:5000/auth/token\","
                                                "service=\"reg.example\",scope=\"repository:team/app:pull,push\"");
        r = check(a, good, "team/app", REG_ACTION_PULL);
        assert_int_equal(r.status, 401);
        /* A name that cannot be quoted drops the scope, keeps the realm. */
        r = check(a, NULL, "bad\nname", REG_ACTION_PULL);
        assert_int_equal(r.status, 401);
        assert_string_equal(r.www_authenticate,
                            "Bearer realm=\"https://reg.example:5000/auth/token\",service=\"reg.example\"");

        /* GET /token with Basic credentials. */
        resp = token_call(a, "GET", good,
                          "service=reg.example&scope=repository%3Ateam%2Fapp%3Apull%2Cpush&scope=repository:other:pull",
                          200, wa, sizeof(wa));
        tok = json_string_value(json_object_get(resp, "token"));
        assert_non_null(tok);
        assert_string_equal(tok, json_string_value(json_object_get(resp, "access_token")));
        assert_int_equal(json_integer_value(json_object_get(resp, "expires_in")), 300);
        assert_int_equal(strlen(json_string_value(json_object_get(resp, "issued_at"))), 20);
        assert_null(json_object_get(resp, "refresh_token"));
        claims = claims_of(tok);
        assert_string_equal(json_string_value(json_object_get(claims, "sub")), "alice");
        assert_string_equal(json_string_value(json_object_get(claims, "iss")), "ireg-test");
        assert_string_equal(json_string_value(json_object_get(claims, "aud")), "reg.example");
        assert_non_null(json_object_get(claims, "jti"));
        access = json_object_get(claims, "access");
        /* Only the granted subset: "other" is not in alice's ACL. */
        assert_int_equal(json_array_size(access), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(access, 0), "name")), "team/app");
        assert_int_equal(json_array_size(json_object_get(json_array_get(access, 0), "actions")), 2);
        json_decref(claims);

        bearer = xasprintf("Bearer %s", tok);
        r = check(a, bearer, "team/app", REG_ACTION_PUSH | REG_ACTION_PULL);
        assert_true(r.allowed);
        assert_string_equal(r.user, "alice");
        r = check(a, bearer, NULL, 0);
        assert_true(r.allowed);
        /* Scope not in the token but allowed by the ACL: ask for a new one. */
        r = check(a, bearer, "team/other", REG_ACTION_PULL);
        assert_int_equal(r.status, 401);
        assert_non_null(strstr(r.www_authenticate, "error=\"insufficient_scope\""));
        assert_non_null(strstr(r.www_authenticate, "scope=\"repository:team/other:pull\""));
        /* Never allowed for alice: 403. */
        r = check(a, bearer, "other", REG_ACTION_PULL);
        assert_int_equal(r.status, 403);
        assert_string_equal(r.error_code, "DENIED");
        r = check(a, bearer, "team/app", REG_ACTION_DELETE);
        assert_int_equal(r.status, 403);
        json_decref(resp);

        /* A tampered token is invalid. */
        {
                char *t2 = xstrdup(bearer);
                t2[strlen(t2) - 3] = t2[strlen(t2) - 3] == 'A' ? 'B' : 'A';
                r = check(a, t2, "team/app", REG_ACTION_PULL);
                assert_int_equal(r.status, 401);
                assert_non_null(strstr(r.www_authenticate, "error=\"invalid_token\""));
                free(t2);
        }

        /* bob gets pull only: the token is 200 with the subset. */
        resp = token_call(a, "GET", bobh, "scope=repository:team/app:pull,push", 200, wa, sizeof(wa));
        claims = claims_of(json_string_value(json_object_get(resp, "token")));
        access = json_object_get(claims, "access");
        assert_int_equal(json_array_size(json_object_get(json_array_get(access, 0), "actions")), 1);
        json_decref(claims);
        json_decref(resp);

        /* Bad credentials / anonymous not allowed: 401 with Basic challenge. */
        resp = token_call(a, "GET", bad, "scope=repository:team/app:pull", 401, wa, sizeof(wa));
        assert_string_equal(wa, "Basic realm=\"ireg\"");
        json_decref(resp);
        resp = token_call(a, "GET", NULL, "scope=repository:team/app:pull", 401, wa, sizeof(wa));
        json_decref(resp);
        resp = token_call(a, "GET", "Basic Og==", "scope=repository:team/app:pull", 401, wa, sizeof(wa));
        {
                char *dump = json_dumps(resp, 0);
                assert_non_null(strstr(dump, "authentication required"));
                free(dump);
        }
        json_decref(resp);
        resp = token_call(a, "GET", good, "service=other", 400, wa, sizeof(wa));
        json_decref(resp);
        resp = token_call(a, "GET", good, "scope=bogus", 400, wa, sizeof(wa));
        json_decref(resp);
        resp = token_call(a, "PUT", good, "", 405, wa, sizeof(wa));
        json_decref(resp);

        /* OAuth2 POST: password grant with a refresh token, then refresh. */
        resp = token_call(a, "POST", NULL,
                          "grant_type=password&username=alice&password=wonderland&service=reg.example"
                          "&client_id=test&access_type=offline&scope=repository:team/x:push",
                          200, wa, sizeof(wa));
        assert_string_equal(json_string_value(json_object_get(resp, "scope")), "repository:team/x:push");
        {
                const char *rt = json_string_value(json_object_get(resp, "refresh_token"));
                _cleanup_free_ char *form = NULL;
                json_t *resp2;
                assert_non_null(rt);
                /* A refresh token is not an access token. */
                {
                        _cleanup_free_ char *rb = xasprintf("Bearer %s", rt);
                        r = check(a, rb, NULL, 0);
                        assert_int_equal(r.status, 401);
                        assert_string_equal(r.message, "a refresh token is not an access token");
                        r = check(a, rb, "team/x", REG_ACTION_PULL);
                        assert_int_equal(r.status, 401);
                }
                form =
                    xasprintf("grant_type=refresh_token&refresh_token=%s&client_id=t&scope=repository:team/x:pull", rt);
                resp2 = token_call(a, "POST", NULL, form, 200, wa, sizeof(wa));
                assert_string_equal(json_string_value(json_object_get(resp2, "refresh_token")), rt);
                claims = claims_of(json_string_value(json_object_get(resp2, "access_token")));
                assert_string_equal(json_string_value(json_object_get(claims, "sub")), "alice");
                json_decref(claims);
                json_decref(resp2);
                /* An access token is not a refresh token. */
                free(form);
                form = xasprintf("grant_type=refresh_token&refresh_token=%s",
                                 json_string_value(json_object_get(resp, "access_token")));
                resp2 = token_call(a, "POST", NULL, form, 401, wa, sizeof(wa));
                json_decref(resp2);
        }
        json_decref(resp);
        resp = token_call(a, "POST", NULL, "grant_type=password&username=alice&password=no", 401, wa, sizeof(wa));
        json_decref(resp);
        resp = token_call(a, "POST", NULL, "grant_type=magic", 400, wa, sizeof(wa));
        json_decref(resp);
        resp = token_call(a, "POST", NULL, "username=alice", 400, wa, sizeof(wa));
        json_decref(resp);
        /* GET offline_token=true (docker login) returns a refresh token. */
        resp = token_call(a, "GET", good, "offline_token=true&client_id=docker", 200, wa, sizeof(wa));
        assert_non_null(json_object_get(resp, "refresh_token"));
        json_decref(resp);

        /* Request text that is not UTF-8 (or a message cut inside a
         * character) is quoted with '?' for each bad byte, not a crash:
         * jansson refuses invalid UTF-8 and the body builder aborted
         * (found by fuzz_auth). */
        resp = token_call(a, "POST", NULL, "grant_type=password%FF%FE%FDx&username=alice&password=wonderland", 400, wa,
                          sizeof(wa));
        assert_string_equal(json_string_value(json_object_get(resp, "error_description")),
                            "unsupported grant_type 'password???x'");
        json_decref(resp);
        resp = token_call(a, "GET", good, "service=%C3", 400, wa, sizeof(wa));
        assert_non_null(strstr(json_string_value(json_object_get(resp, "error_description")), "unknown service '?'"));
        json_decref(resp);
        reg_auth_free(a);
}

static void
mode_token_external(void **state)
{
        struct reg_auth *a = auth_from("{\"token\": {\"realm\": \"https://auth.example/token\", \"service\": \"svc\","
                                       "\"issuer\": \"ext-issuer\", \"rootcertbundle\": \"%s/ext.crt\"}}",
                                       tmpdir);
        struct reg_jwt_key *ext = load_key("ext.pem"), *other = load_key("ec.pem");
        json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:[{s:s, s:s, s:[s]}]}", "iss", "ext-issuer", "sub", "u",
                                   "aud", "svc", "exp", (json_int_t) time(NULL) + 60, "access", "type", "repository",
                                   "name", "r", "actions", "pull");
        char *tok = NULL, *authz;
        struct err *e = NULL;
        struct reg_auth_result r;

        assert_null(reg_auth_token_path(a));
        assert_int_equal(reg_jwt_sign(ext, claims, NULL, 0, &tok, &e), 0);
        authz = xasprintf("Bearer %s", tok);
        r = check(a, authz, "r", REG_ACTION_PULL);
        assert_true(r.allowed);
        assert_string_equal(r.user, "u");
        r = check(a, authz, "r", REG_ACTION_PUSH);
        assert_int_equal(r.status, 401);
        assert_non_null(strstr(r.www_authenticate, "insufficient_scope"));
        free(authz);
        free(tok);

        /* Signed by a key the bundle does not hold. */
        assert_int_equal(reg_jwt_sign(other, claims, NULL, 0, &tok, &e), 0);
        authz = xasprintf("Bearer %s", tok);
        r = check(a, authz, "r", REG_ACTION_PULL);
        assert_int_equal(r.status, 401);
        assert_non_null(strstr(r.message, "untrusted key"));
        free(authz);
        free(tok);

        /* Expired. */
        json_object_set_new(claims, "exp", json_integer((json_int_t) time(NULL) - 120));
        assert_int_equal(reg_jwt_sign(ext, claims, NULL, 0, &tok, &e), 0);
        authz = xasprintf("Bearer %s", tok);
        r = check(a, authz, "r", REG_ACTION_PULL);
        assert_int_equal(r.status, 401);
        assert_non_null(strstr(r.message, "expired"));
        free(authz);
        free(tok);

        {
                char wa[64];
                json_t *resp = token_call(a, "GET", NULL, "", 404, wa, sizeof(wa));
                json_decref(resp);
        }
        json_decref(claims);
        reg_jwt_key_free(ext);
        reg_jwt_key_free(other);
        reg_auth_free(a);
}

/* ---- many threads at once (the server is multi-threaded) ---- */

struct worker {
        struct reg_auth *a;
        const char *basic, *bearer;
        int failures;
};

static void *
work(void *arg)
{
        struct worker *w = arg;
        for (int i = 0; i < 150; i++) {
                struct reg_auth_request req = {
                    .authorization = (i & 1) ? w->basic : w->bearer, .repo = "team/app", .actions = REG_ACTION_PULL};
                struct reg_auth_result res;
                struct err *e = NULL;
                if (reg_auth_check(w->a, &req, &res, &e) < 0 || !res.allowed)
                        w->failures++;
                err_clear(&e);
        }
        return NULL;
}

static void
threads(void **state)
{
        /* Basic credentials are checked against the file (token mode
         * authenticates /token with it; here both paths run side by side
         * in two authenticators sharing nothing but the key files). */
        _cleanup_free_ char *good = basic("alice", "wonderland");
        struct reg_auth *basic_a = auth_from("{\"htpasswd\": \"%s/htpasswd\"}", tmpdir);
        struct reg_auth *tok_a = auth_from("{\"htpasswd\": \"%s/htpasswd\", \"token\": {\"realm\": \"http://h/token\","
                                           " \"key\": \"%s/rsa.pem\"}}",
                                           tmpdir, tmpdir);
        char wa[64];
        json_t *resp = token_call(tok_a, "GET", good, "scope=repository:team/app:pull", 200, wa, sizeof(wa));
        _cleanup_free_ char *bearer = xasprintf("Bearer %s", json_string_value(json_object_get(resp, "token")));
        struct worker w[4];
        pthread_t t[4];

        json_decref(resp);
        for (int i = 0; i < 4; i++) {
                w[i] = (struct worker){.a = (i & 1) ? tok_a : basic_a, .basic = good, .bearer = good, .failures = 0};
                if (i & 1)
                        w[i].basic = w[i].bearer = bearer;
                assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
        }
        /* Rewrite the htpasswd file meanwhile: reloads race with checks. */
        for (int k = 0; k < 5; k++) {
                struct timespec ts = {0, 3 * 1000 * 1000};
                write_file("htpasswd", HTPASSWD);
                nanosleep(&ts, NULL);
        }
        for (int i = 0; i < 4; i++) {
                assert_int_equal(pthread_join(t[i], NULL), 0);
                assert_int_equal(w[i].failures, 0);
        }
        reg_auth_free(basic_a);
        reg_auth_free(tok_a);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(jwt_spec_vector),   cmocka_unit_test(jwt_malformed),
            cmocka_unit_test(jwt_claims_extreme_times),
            cmocka_unit_test(jwt_sign_verify),   cmocka_unit_test(jwt_x5c_and_bundle),
            cmocka_unit_test(htpasswd_verify),   cmocka_unit_test(acl_glob),
            cmocka_unit_test(scope_and_form),    cmocka_unit_test(config_errors),
            cmocka_unit_test(mode_none),         cmocka_unit_test(mode_basic),
            cmocka_unit_test(mode_token_issuer), cmocka_unit_test(mode_token_external),
            cmocka_unit_test(threads),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
