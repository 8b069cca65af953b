/* registry/server/policy: repository globs, rule parsing, signatures
 * required to pull (over the filesystem driver) and immutable tags. */
#include "tests/unit/test.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "common/fsutil.h"
#include "oci/mediatype.h"
#include "oci/signature.h"
#include "registry/server/policy.h"
#include "registry/server/storage.h"

static void
globs(void **state)
{
        (void) state;
        assert_true(reg_policy_glob("prod/**", "prod/app"));
        assert_true(reg_policy_glob("prod/**", "prod/team/app"));
        assert_false(reg_policy_glob("prod/**", "production/app"));
        assert_true(reg_policy_glob("prod/**", "prod")); /* as the ACL: the prefix and below */
        assert_true(reg_policy_glob("prod/*", "prod/app"));
        assert_false(reg_policy_glob("prod/*", "prod/team/app"));
        assert_true(reg_policy_glob("*/app", "x/app"));
        assert_false(reg_policy_glob("*/app", "x/y/app"));
        assert_true(reg_policy_glob("**/app", "x/y/app"));
        assert_true(reg_policy_glob("team/ap?", "team/app"));
        assert_false(reg_policy_glob("team/ap?", "team/ap/x"));
        assert_true(reg_policy_glob("**", "anything/at/all"));
        assert_true(reg_policy_glob("exact/name", "exact/name"));
        assert_false(reg_policy_glob("exact/name", "exact/names"));
}

static char *dir;

static int
parse(const char *json, struct reg_policy **p, struct err **err)
{
        json_t *j = json_loads(json, 0, NULL);
        int r;

        assert_non_null(j);
        r = reg_policy_parse(j, "policies", p, err);
        json_decref(j);
        return r;
}

static void
bad_rules(void **state)
{
        struct reg_policy *p = NULL;

        (void) state;
        assert_fails(parse("{}", &p, err), EINVAL, "a list of rules", NULL);
        assert_fails(parse("[{\"immutable_tags\": true}]", &p, err), EINVAL, "policies[0]", "\"repos\" is missing");
        assert_fails(parse("[{\"repos\": \"a/**\"}]", &p, err), EINVAL, "needs require_signature or immutable_tags",
                     NULL);
        assert_fails(parse("[{\"repos\": \"a\", \"immutable_tags\": 1}]", &p, err), EINVAL, "true or false", NULL);
        assert_fails(parse("[{\"repos\": \"a\", \"immutable\": true}]", &p, err), EINVAL, "unknown key 'immutable'",
                     NULL);
        assert_fails(parse("[{\"repos\": \"a\", \"require_signature\": []}]", &p, err), EINVAL, "1 to 64", NULL);
        assert_fails(parse("[{\"repos\": \"a\", \"require_signature\": [\"/nonexistent/k.pub\"]}]", &p, err), ENOENT,
                     "/nonexistent/k.pub", "require_signature[0]");
        assert_null(p);
}

/* Store BUF as manifest (or blob when MT is NULL) in NAME; *ret its digest. */
static void
put(struct reg_store *s, const char *name, const char *buf, const char *mt, const char *tag, struct digest *ret)
{
        struct err *e = NULL;

        digest_buffer(DIGEST_SHA256, buf, strlen(buf), ret);
        assert_int_equal(s->ops->blob_put_buf(s, ret, buf, strlen(buf), &e), 0);
        if (mt) {
                assert_int_equal(s->ops->manifest_put(s, name, ret, mt, &e), 0);
                if (tag)
                        assert_int_equal(s->ops->tag_put(s, name, tag, ret, &e), 0);
        }
}

/* A cosign signature manifest in NAME over DIGEST for identity REF, signed by KEY. */
static void
sign(struct reg_store *s, const char *name, const char *digest, const char *ref, struct oci_sig_key *key)
{
        _cleanup_free_ char *payload = NULL, *sig = NULL, *man = NULL, *tag = oci_sig_tag(digest);
        struct digest pd, md;
        size_t plen = 0;

        assert_ok(oci_sig_payload_build(ref, digest, &payload, &plen, err));
        assert_ok(oci_sig_sign(key, payload, plen, &sig, err));
        put(s, name, payload, NULL, NULL, &pd);
        man = xasprintf(
            "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\",\"config\":{\"mediaType\":\"" OCI_MT_CONFIG
            "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"" OCI_MT_COSIGN_SIMPLESIGNING
            "\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"" OCI_ANNOTATION_COSIGN_SIGNATURE "\":\"%s\"}}]}",
            pd.str, plen, pd.str, plen, sig);
        put(s, name, man, OCI_MT_MANIFEST, tag, &md);
}

static void
pulls(void **state)
{
        _cleanup_free_ char *root = xasprintf("%s/store", dir), *kp = xasprintf("%s/ci", dir),
                            *op = xasprintf("%s/other", dir), *rules = NULL, *kfile = NULL, *ofile = NULL;
        struct reg_store *s = reg_store_fs_new(root, NULL);
        struct oci_sig_key *key = NULL, *other = NULL;
        struct reg_policy *p = NULL;
        struct digest img, img2, sbom;
        const char *man =
            "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\",\"config\":{\"mediaType\":\"" OCI_MT_CONFIG
            "\",\"digest\":\"sha256:"
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":2},\"layers\":[]}";
        const char *man2 =
            "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" OCI_MT_CONFIG "\",\"digest\":\"sha256:"
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":2},\"layers\":[]}";
        const char *art =
            "{\"schemaVersion\":2,\"artifactType\":\"application/spdx+json\",\"config\":{\"mediaType\":\"" OCI_MT_EMPTY
            "\",\"digest\":\"" OCI_EMPTY_DIGEST "\",\"size\":2},\"layers\":[]}";

        (void) state;
        assert_non_null(s);
        assert_ok(oci_sig_key_generate(kp, NULL, err));
        assert_ok(oci_sig_key_generate(op, NULL, err));
        kfile = xasprintf("%s.key", kp);
        assert_ok(oci_sig_key_load(kfile, true, &key, err));
        ofile = xasprintf("%s.key", op);
        assert_ok(oci_sig_key_load(ofile, true, &other, err));
        rules = xasprintf("[{\"repos\": \"prod/**\", \"require_signature\": [\"%s.pub\"]}, {\"repos\": \"rel/*\", "
                          "\"immutable_tags\": true}]",
                          kp);
        assert_ok(parse(rules, &p, err));
        assert_true(reg_policy_immutable(p, "rel/app"));
        assert_false(reg_policy_immutable(p, "prod/app"));

        put(s, "prod/app", man, OCI_MT_MANIFEST, "v1", &img);
        put(s, "prod/app", man2, OCI_MT_MANIFEST, "v2", &img2);
        put(s, "prod/app", art, OCI_MT_MANIFEST, NULL, &sbom);
        /* Unsigned: refused, naming the key; another repository is free. */
        assert_fails(reg_policy_check_pull(p, s, "prod/app", &img, err), ERR_DENIED, "has no signature", "ci.pub");
        assert_ok(reg_policy_check_pull(p, s, "dev/app", &img, err));
        /* Artifacts stay pullable. */
        assert_ok(reg_policy_check_pull(p, s, "prod/app", &sbom, err));
        /* Signed by another key: refused, saying why. */
        sign(s, "prod/app", img.str, "registry.example/prod/app", other);
        assert_fails(reg_policy_check_pull(p, s, "prod/app", &img, err), ERR_DENIED, "no valid signature",
                     "does not verify");
        /* Asked again (a cached verdict): the reason is still said. */
        assert_fails(reg_policy_check_pull(p, s, "prod/app", &img, err), ERR_DENIED, "no valid signature",
                     "does not verify");
        {
                /* The signature manifest itself (an image config, payload layers) stays pullable. */
                _cleanup_free_ char *t = oci_sig_tag(img.str);
                struct digest sm;

                assert_int_equal(s->ops->tag_get(s, "prod/app", t, &sm, NULL), 0);
                assert_ok(reg_policy_check_pull(p, s, "prod/app", &sm, err));
        }
        /* The right key: allowed (the new signature manifest is seen at once, past the cached refusal). */
        sign(s, "prod/app", img.str, "registry.example/prod/app", key);
        assert_ok(reg_policy_check_pull(p, s, "prod/app", &img, err));
        assert_ok(reg_policy_check_pull(p, s, "prod/app", &img, err)); /* cached */
        /* A signature over another digest, or naming another repository, does not count. */
        sign(s, "prod/app", img.str, "registry.example/prod/other", key);
        assert_fails(reg_policy_check_pull(p, s, "prod/app", &img, err), ERR_DENIED, "wrong identity", NULL);
        {
                /* img2's signature tag holds a signature over img's digest. */
                _cleanup_free_ char *tag = oci_sig_tag(img2.str), *tag1 = oci_sig_tag(img.str);
                struct digest sd;

                sign(s, "prod/app", img.str, "registry.example/prod/app", key);
                assert_int_equal(s->ops->tag_get(s, "prod/app", tag1, &sd, NULL), 0);
                assert_int_equal(s->ops->tag_put(s, "prod/app", tag, &sd, NULL), 0);
                assert_fails(reg_policy_check_pull(p, s, "prod/app", &img2, err), ERR_DENIED, "wrong digest", NULL);
        }
        oci_sig_key_free(key);
        oci_sig_key_free(other);
        reg_policy_free(p);
        reg_store_free(s);
}

static int
setup(void **state)
{
        (void) state;
        dir = xstrdup("/tmp/reg-policy-test.XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
        (void) state;
        fs_rm_rf(dir, NULL);
        free(dir);
        return 0;
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(globs),
            cmocka_unit_test(bad_rules),
            cmocka_unit_test(pulls),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
