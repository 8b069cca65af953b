/* Image references: cases ported from distribution/reference's
 * reference_test.go and normalize_test.go, plus our error messages. */
#include "tests/unit/test.h"

#include <stdlib.h>

#include "oci/ref.h"

#define HEX64F "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define HEX128F HEX64F HEX64F

/* RAW-mode parse (distribution's reference.Parse): input round-trips. */
struct raw_case {
        const char *input;
        const char *domain; /* NULL: none */
        const char *path;
        const char *tag;
        const char *digest;
};

static const struct raw_case raw_cases[] = {
        { "test_com", NULL, "test_com", NULL, NULL },
        { "test.com:tag", NULL, "test.com", "tag", NULL },
        { "test.com:5000", NULL, "test.com", "5000", NULL },
        { "test.com/repo:tag", "test.com", "repo", "tag", NULL },
        { "test:5000/repo", "test:5000", "repo", NULL, NULL },
        { "test:5000/repo:tag", "test:5000", "repo", "tag", NULL },
        { "test:5000/repo@sha256:" HEX64F, "test:5000", "repo", NULL, "sha256:" HEX64F },
        { "test:5000/repo:tag@sha256:" HEX64F, "test:5000", "repo", "tag", "sha256:" HEX64F },
        { "lowercase:Uppercase", NULL, "lowercase", "Uppercase", NULL },
        { "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux", NULL, NULL },
        { "sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", NULL },
        { "b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app",
          "test.example.com", NULL },
        { "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", NULL },
        { "xn--7o8h.com/myimage:xn--7o8h.com@sha512:" HEX128F, "xn--7o8h.com", "myimage", "xn--7o8h.com",
          "sha512:" HEX128F },
        { "foo_bar.com:8080", NULL, "foo_bar.com", "8080", NULL },
        { "foo/foo_bar.com:8080", NULL, "foo/foo_bar.com", "8080", NULL },
        { "192.168.1.1", NULL, "192.168.1.1", NULL, NULL },
        { "192.168.1.1:tag", NULL, "192.168.1.1", "tag", NULL },
        { "192.168.1.1:5000", NULL, "192.168.1.1", "5000", NULL },
        { "192.168.1.1/repo", "192.168.1.1", "repo", NULL, NULL },
        { "192.168.1.1:5000/repo", "192.168.1.1:5000", "repo", NULL, NULL },
        { "192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", NULL },
        { "[2001:db8::1]/repo", "[2001:db8::1]", "repo", NULL, NULL },
        { "[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", NULL },
        { "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "repo", NULL, NULL },
        { "[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "repo", "tag", NULL },
        { "[2001:db8::1]:5000/repo@sha256:" HEX64F, "[2001:db8::1]:5000", "repo", NULL, "sha256:" HEX64F },
        { "[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo", NULL, NULL },
        { "[::1]:5000/repo", "[::1]:5000", "repo", NULL, NULL },
        { "test-com:8080/foo", "test-com:8080", "foo", NULL, NULL },
        { "xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo", NULL, NULL },
        { "localhost/foo", "localhost", "foo", NULL, NULL },
        { "Foo/bar", "Foo", "bar", NULL, NULL },
        { "docker---rules/docker", NULL, "docker---rules/docker", NULL, NULL },
        { "dock__er/docker", NULL, "dock__er/docker", NULL, NULL },
};

static void
str_eq_or_null(const char *got, const char *want, const char *input, const char *what)
{
        if (want == NULL && got == NULL)
                return;
        if (want == NULL || got == NULL || strcmp(got, want) != 0)
                fail_msg("%s: %s is \"%s\", want \"%s\"", input, what, got ? got : "(null)", want ? want : "(null)");
}

static void
raw_table(void **state)
{
        for (size_t i = 0; i < sizeof(raw_cases) / sizeof(raw_cases[0]); i++) {
                const struct raw_case *c = &raw_cases[i];
                struct oci_ref *r = NULL;
                struct err *e = NULL;
                char *s;

                if (oci_ref_parse_mode(c->input, OCI_REF_RAW, &r, &e) < 0)
                        fail_msg("%s: %s", c->input, e->msg);
                str_eq_or_null(r->domain, c->domain, c->input, "domain");
                str_eq_or_null(r->path, c->path, c->input, "path");
                str_eq_or_null(r->tag, c->tag, c->input, "tag");
                str_eq_or_null(r->digest, c->digest, c->input, "digest");
                s = oci_ref_string(r);
                assert_string_equal(s, c->input);
                free(s);
                oci_ref_free(r);
        }
}

/* Invalid inputs, the code expected and a piece of the message. */
struct bad_case {
        const char *input;
        int code;
        const char *needle;
};

static const struct bad_case bad_cases[] = {
        { "", ERR_REFERENCE_INVALID, "empty" },
        { ":justtag", ERR_REFERENCE_INVALID, "missing repository name" },
        { "@sha256:" HEX64F, ERR_REFERENCE_INVALID, "missing repository name" },
        { "repo@sha256:ffffffffffffffffffffffffffffffffff", ERR_DIGEST_INVALID, "digest" },
        { "validname@invaliddigest:" HEX64F, ERR_UNSUPPORTED, "digest" },
        { "Uppercase:tag", ERR_REFERENCE_INVALID, "must be lowercase" },
        { "test:5000/Uppercase/lowercase:tag", ERR_REFERENCE_INVALID, "must be lowercase" },
        { "docker/Docker", ERR_REFERENCE_INVALID, "must be lowercase ('D' at position 8)" },
        { "aa/asdf$$^/aa", ERR_REFERENCE_INVALID, "invalid character '$' at position 8" },
        { "[2001:db8::1]", ERR_REFERENCE_INVALID, "IPv6" },
        { "[2001:db8::1]:5000", ERR_REFERENCE_INVALID, "IPv6" },
        { "[2001:db8::1]:tag", ERR_REFERENCE_INVALID, "IPv6" },
        { "[fe80::1%eth0]:5000/repo", ERR_REFERENCE_INVALID, "IPv6" },
        { "[fe80::1%@invalidzone]:5000/repo", ERR_DIGEST_INVALID, "" },
        { "[2001:db8:3:4::192.0.2.33]:5000/debian", ERR_REFERENCE_INVALID, "IPv6" },
        { "https://github.com/docker/docker", ERR_REFERENCE_INVALID, "port" },
        { "fc00::1:5000/debian", ERR_REFERENCE_INVALID, "port" },
        { "-docker", ERR_REFERENCE_INVALID, "must start with" },
        { "-docker/docker", ERR_REFERENCE_INVALID, "must start with" },
        { "-docker.io/docker/docker", ERR_REFERENCE_INVALID, "registry host" },
        { "docker-/docker", ERR_REFERENCE_INVALID, "must end with" },
        { "-docker-/docker", ERR_REFERENCE_INVALID, "must start with" },
        { "docker///docker", ERR_REFERENCE_INVALID, "'//'" },
        { "docker.io/docker///docker", ERR_REFERENCE_INVALID, "'//'" },
        { "docker.io/docker/Docker", ERR_REFERENCE_INVALID, "lowercase" },
        { "____/____", ERR_REFERENCE_INVALID, "must start with" },
        { "_docker/_docker", ERR_REFERENCE_INVALID, "must start with" },
        { "dock..er/docker", ERR_REFERENCE_INVALID, "invalid registry host 'dock..er'" },
        { "docker/dock..er", ERR_REFERENCE_INVALID, "invalid separator '..' at position 12" },
        { "dock_.er/docker", ERR_REFERENCE_INVALID, "invalid character '_' in registry host" },
        { "docker/dock_.er", ERR_REFERENCE_INVALID, "invalid separator '_.'" },
        { "dock-.er/docker", ERR_REFERENCE_INVALID, "invalid registry host" },
        { "docker/dock-.er", ERR_REFERENCE_INVALID, "invalid separator '-.'" },
        { "docker/", ERR_REFERENCE_INVALID, "trailing '/'" },
        { "/docker", ERR_REFERENCE_INVALID, "empty path component at position 1" },
        { "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", ERR_REFERENCE_INVALID, "64-character" },
        { "repo:", ERR_TAG_INVALID, "empty tag" },
        { "repo:-tag", ERR_TAG_INVALID, "must start with" },
        { "repo:ta g", ERR_TAG_INVALID, "invalid character ' ' in tag at position 3" },
        { "repo:t@g", ERR_DIGEST_INVALID, "" },
        { "example.com:/repo", ERR_REFERENCE_INVALID, "invalid port: empty" },
        { "example.com:99999/repo", ERR_REFERENCE_INVALID, "out of range" },
        { "example.com:12ab/repo", ERR_REFERENCE_INVALID, "not a number" },
        { "exa_mple.com/repo", ERR_REFERENCE_INVALID, "invalid character '_' in registry host" },
        { "repo\x01", ERR_REFERENCE_INVALID, "0x01" },
        { "repo@", ERR_DIGEST_INVALID, "" },
};

static void
bad_table(void **state)
{
        for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
                const struct bad_case *c = &bad_cases[i];
                struct oci_ref *r = NULL;
                struct err *e = NULL;
                int ret = oci_ref_parse(c->input, &r, &e);

                if (ret >= 0)
                        fail_msg("\"%s\" parsed but must fail", c->input);
                assert_null(r);
                if (ret != -c->code || e == NULL || e->code != c->code)
                        fail_msg("\"%s\": code %d (%s), want %d", c->input, -ret, e ? e->msg : "", c->code);
                if (!strstr(e->msg, c->needle))
                        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", c->input, e->msg, c->needle);
                err_clear(&e);
        }
        /* Without an error object the code still comes back. */
        assert_int_equal(oci_ref_parse("UP", &(struct oci_ref *){ NULL }, NULL), -ERR_REFERENCE_INVALID);
        assert_int_equal(oci_ref_parse("a@sha256:zz", &(struct oci_ref *){ NULL }, NULL), -ERR_DIGEST_INVALID);
}

static void
lengths(void **state)
{
        struct oci_ref *r = NULL;
        struct err *e = NULL;
        char buf[1200];
        size_t n = 0;

        /* 128 "a/" + "a" is 257 characters: too long (reference_test.go). */
        for (int i = 0; i < 128; i++)
                n += (size_t) sprintf(buf + n, "a/");
        sprintf(buf + n, "a:tag");
        assert_int_equal(oci_ref_parse_mode(buf, OCI_REF_RAW, &r, &e), -ERR_NAME_INVALID);
        assert_non_null(strstr(e->msg, "too long"));
        err_clear(&e);

        /* 127 "a/" + "a" is 255: fine, even with a long tag. */
        n = 0;
        for (int i = 0; i < 127; i++)
                n += (size_t) sprintf(buf + n, "a/");
        sprintf(buf + n, "a:tag-puts-this-over-max");
        assert_int_equal(oci_ref_parse_mode(buf, OCI_REF_RAW, &r, &e), 0);
        assert_int_equal(strlen(r->path), 255);
        oci_ref_free(r);
        r = NULL;
        /* Normalised, "docker.io/" pushes the same name over the limit. */
        assert_int_equal(oci_ref_parse(buf, &r, &e), -ERR_NAME_INVALID);
        err_clear(&e);

        /* The namespace-too-long case of normalize_test.go. */
        assert_int_equal(oci_ref_parse("this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_"
                                       "valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_"
                                       "namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_"
                                       "because_its_lenth_is_greater_than_255/docker",
                                       &r, &e),
                         -ERR_NAME_INVALID);
        err_clear(&e);

        /* Tags: 128 characters is the maximum. */
        memset(buf, 0, sizeof(buf));
        strcpy(buf, "repo:");
        memset(buf + 5, 'x', 128);
        assert_int_equal(oci_ref_parse(buf, &r, &e), 0);
        assert_int_equal(strlen(r->tag), 128);
        oci_ref_free(r);
        r = NULL;
        buf[5 + 128] = 'x';
        assert_int_equal(oci_ref_parse(buf, &r, &e), -ERR_TAG_INVALID);
        assert_non_null(strstr(e->msg, "tag too long (129 characters, at most 128)"));
        err_clear(&e);

        /* A huge input is refused up front. */
        {
                char *big = malloc(5000);

                memset(big, 'a', 4999);
                big[4999] = '\0';
                assert_int_equal(oci_ref_parse(big, &r, &e), -ERR_REFERENCE_INVALID);
                assert_non_null(strstr(e->msg, "too long"));
                err_clear(&e);
                free(big);
        }
}

/* ParseNormalizedNamed cases: input, full string, familiar string, domain,
 * path (normalize_test.go TestParseRepositoryInfo / TestNormalizedSplitHostname
 * / TestParseAnyReference, with ":latest" added where no tag or digest). */
struct norm_case {
        const char *input, *full, *familiar, *domain, *path;
};

static const struct norm_case norm_cases[] = {
        { "fooo/bar", "docker.io/fooo/bar:latest", "fooo/bar:latest", "docker.io", "fooo/bar" },
        { "docker.io/fooo/bar", "docker.io/fooo/bar:latest", "fooo/bar:latest", "docker.io", "fooo/bar" },
        { "index.docker.io/fooo/bar", "docker.io/fooo/bar:latest", "fooo/bar:latest", "docker.io", "fooo/bar" },
        { "registry-1.docker.io/fooo/bar", "docker.io/fooo/bar:latest", "fooo/bar:latest", "docker.io",
          "fooo/bar" },
        { "library/ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest", "docker.io", "library/ubuntu" },
        { "ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest", "docker.io", "library/ubuntu" },
        { "docker.io/library/ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest", "docker.io",
          "library/ubuntu" },
        { "nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu:latest", "nonlibrary/ubuntu:latest", "docker.io",
          "nonlibrary/ubuntu" },
        { "other/library", "docker.io/other/library:latest", "other/library:latest", "docker.io", "other/library" },
        { "127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase:latest",
          "127.0.0.1:8000/private/moonbase:latest", "127.0.0.1:8000", "private/moonbase" },
        { "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase:latest", "127.0.0.1:8000/privatebase:latest",
          "127.0.0.1:8000", "privatebase" },
        { "example.com/private/moonbase", "example.com/private/moonbase:latest",
          "example.com/private/moonbase:latest", "example.com", "private/moonbase" },
        { "example.com:8000/privatebasee", "example.com:8000/privatebasee:latest",
          "example.com:8000/privatebasee:latest", "example.com:8000", "privatebasee" },
        { "library/ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base:latest", "ubuntu-12.04-base:latest",
          "docker.io", "library/ubuntu-12.04-base" },
        { "docker.io/foo", "docker.io/library/foo:latest", "foo:latest", "docker.io", "library/foo" },
        { "library/foo/bar", "docker.io/library/foo/bar:latest", "library/foo/bar:latest", "docker.io",
          "library/foo/bar" },
        { "store/foo/bar", "docker.io/store/foo/bar:latest", "store/foo/bar:latest", "docker.io", "store/foo/bar" },
        { "Foo/bar", "Foo/bar:latest", "Foo/bar:latest", "Foo", "bar" },
        { "FOO/bar", "FOO/bar:latest", "FOO/bar:latest", "FOO", "bar" },
        { "test_com/foo", "docker.io/test_com/foo:latest", "test_com/foo:latest", "docker.io", "test_com/foo" },
        { "docker/migrator", "docker.io/docker/migrator:latest", "docker/migrator:latest", "docker.io",
          "docker/migrator" },
        { "redis:latest", "docker.io/library/redis:latest", "redis:latest", "docker.io", "library/redis" },
        { "redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
          "docker.io/library/redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
          "redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c", "docker.io",
          "library/redis" },
        { "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
          "docker.io/library/busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
          "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa", "docker.io",
          "library/busybox" },
        { "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
          "docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9:latest",
          "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9:latest", "docker.io",
          "library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9" },
        { "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
          "docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest",
          "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest", "docker.io",
          "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a" },
        { "192.168.0.1", "docker.io/library/192.168.0.1:latest", "192.168.0.1:latest", "docker.io",
          "library/192.168.0.1" },
        { "192.168.0.1:80", "docker.io/library/192.168.0.1:80", "192.168.0.1:80", "docker.io",
          "library/192.168.0.1" },
        { "[fc00::1]:5000/docker/docker", "[fc00::1]:5000/docker/docker:latest", "[fc00::1]:5000/docker/docker:latest",
          "[fc00::1]:5000", "docker/docker" },
        { "localhost/app:1.0", "localhost/app:1.0", "localhost/app:1.0", "localhost", "app" },
        { "localhost:5000/app", "localhost:5000/app:latest", "localhost:5000/app:latest", "localhost:5000", "app" },
        { "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
          "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest",
          "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest", "docker.io",
          "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev" },
};

static void
normalized_table(void **state)
{
        for (size_t i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
                const struct norm_case *c = &norm_cases[i];
                struct oci_ref *r = NULL, *again = NULL;
                struct err *e = NULL;
                char *full, *fam;

                if (oci_ref_parse(c->input, &r, &e) < 0)
                        fail_msg("%s: %s", c->input, e->msg);
                full = oci_ref_string(r);
                fam = oci_ref_familiar(r);
                str_eq_or_null(full, c->full, c->input, "full");
                str_eq_or_null(fam, c->familiar, c->input, "familiar");
                str_eq_or_null(r->domain, c->domain, c->input, "domain");
                str_eq_or_null(oci_ref_repository(r), c->path, c->input, "path");
                /* Normalisation is idempotent: full and familiar forms parse
                 * back to the same reference. */
                assert_int_equal(oci_ref_parse(full, &again, &e), 0);
                {
                        char *s = oci_ref_string(again);
                        assert_string_equal(s, full);
                        free(s);
                }
                oci_ref_free(again);
                again = NULL;
                assert_int_equal(oci_ref_parse(fam, &again, &e), 0);
                {
                        char *s = oci_ref_string(again);
                        assert_string_equal(s, full);
                        free(s);
                }
                oci_ref_free(again);
                free(full);
                free(fam);
                oci_ref_free(r);
        }
}

static void
local_mode(void **state)
{
        struct oci_ref *r = NULL;
        struct err *e = NULL;
        char *s;

        assert_int_equal(oci_ref_parse_mode("app:1.0", OCI_REF_LOCAL, &r, &e), 0);
        s = oci_ref_string(r);
        assert_string_equal(s, "localhost/app:1.0");
        free(s);
        oci_ref_free(r);

        assert_int_equal(oci_ref_parse_mode("team/app", OCI_REF_LOCAL, &r, &e), 0);
        s = oci_ref_string(r);
        assert_string_equal(s, "localhost/team/app:latest");
        free(s);
        oci_ref_free(r);

        /* A written docker.io domain is normalised as usual. */
        assert_int_equal(oci_ref_parse_mode("docker.io/alpine", OCI_REF_LOCAL, &r, &e), 0);
        s = oci_ref_string(r);
        assert_string_equal(s, "docker.io/library/alpine:latest");
        free(s);
        oci_ref_free(r);

        assert_int_equal(oci_ref_parse_mode("quay.io/x/y@sha256:" HEX64F, OCI_REF_LOCAL, &r, &e), 0);
        assert_null(r->tag);
        s = oci_ref_string(r);
        assert_string_equal(s, "quay.io/x/y@sha256:" HEX64F);
        free(s);
        oci_ref_free(r);

        /* RAW keeps what was written. */
        assert_int_equal(oci_ref_parse_mode("alpine", OCI_REF_RAW, &r, &e), 0);
        assert_null(r->domain);
        assert_null(r->tag);
        assert_string_equal(r->path, "alpine");
        s = oci_ref_familiar(r);
        assert_string_equal(s, "alpine");
        free(s);
        assert_string_equal(oci_ref_registry_host(r), "registry-1.docker.io");
        oci_ref_free(r);
        assert_null(e);
}

static void
helpers(void **state)
{
        struct oci_ref *r = NULL, *d;
        struct err *e = NULL;
        char *s;

        assert_int_equal(oci_ref_parse("alpine", &r, &e), 0);
        assert_true(oci_ref_is_docker_hub(r));
        assert_string_equal(oci_ref_registry_host(r), "registry-1.docker.io");
        assert_string_equal(oci_ref_repository(r), "library/alpine");
        assert_string_equal(oci_ref_manifest_reference(r), "latest");
        s = oci_ref_name(r);
        assert_string_equal(s, "docker.io/library/alpine");
        free(s);

        assert_int_equal(oci_ref_set_digest(r, "sha256:" HEX64F, &e), 0);
        assert_string_equal(oci_ref_manifest_reference(r), "sha256:" HEX64F);
        s = oci_ref_familiar(r);
        assert_string_equal(s, "alpine:latest@sha256:" HEX64F);
        free(s);
        assert_int_equal(oci_ref_set_digest(r, "sha256:abc", &e), -ERR_DIGEST_INVALID);
        err_clear(&e);
        assert_string_equal(r->digest, "sha256:" HEX64F); /* unchanged on failure */
        assert_int_equal(oci_ref_set_tag(r, "-bad", &e), -ERR_TAG_INVALID);
        err_clear(&e);
        assert_string_equal(r->tag, "latest");
        assert_int_equal(oci_ref_set_tag(r, "v2", &e), 0);
        assert_int_equal(oci_ref_set_tag(r, NULL, &e), 0);
        assert_null(r->tag);

        d = oci_ref_dup(r);
        oci_ref_free(r);
        s = oci_ref_string(d);
        assert_string_equal(s, "docker.io/library/alpine@sha256:" HEX64F);
        free(s);
        oci_ref_free(d);
        oci_ref_free(NULL);

        assert_int_equal(oci_ref_parse("localhost:5000/ns/app:1", &r, &e), 0);
        assert_false(oci_ref_is_docker_hub(r));
        assert_string_equal(oci_ref_registry_host(r), "localhost:5000");
        assert_string_equal(oci_ref_repository(r), "ns/app");
        oci_ref_free(r);

        {
                _cleanup_oci_ref_ struct oci_ref *c = NULL;

                assert_int_equal(oci_ref_parse("x", &c, &e), 0);
        }
        assert_null(e);
}

static void
validators(void **state)
{
        static const char *const good_names[] = { "a", "library/alpine", "a/b/c", "a-b", "a--b", "a__b", "a.b",
                                                  "a_b/c.d-e", "0", "x1/y2", NULL };
        static const char *const bad_names[] = { "", "A", "a/", "/a", "a//b", "a_.b", "a..b", "-a", "a-", "a___b",
                                                  "a:b", "a@b", "ä", "a b", NULL };
        static const char *const good_tags[] = { "latest", "v1.0", "_x", "A-b.c_d", "0", NULL };
        static const char *const bad_tags[] = { "", "-x", ".x", "a:b", "a/b", "a b", "ä", NULL };
        struct err *e = NULL;
        char buf[300];

        for (size_t i = 0; good_names[i]; i++)
                if (oci_repo_name_validate(good_names[i], &e) < 0)
                        fail_msg("%s: %s", good_names[i], e->msg);
        for (size_t i = 0; bad_names[i]; i++) {
                if (oci_repo_name_validate(bad_names[i], &e) != -ERR_NAME_INVALID)
                        fail_msg("name \"%s\" accepted", bad_names[i]);
                err_clear(&e);
        }
        assert_int_equal(oci_repo_name_validate("Ab", &e), -ERR_NAME_INVALID);
        assert_non_null(strstr(e->msg, "must be lowercase"));
        err_clear(&e);
        memset(buf, 'a', 256);
        buf[256] = '\0';
        assert_int_equal(oci_repo_name_validate(buf, &e), -ERR_NAME_INVALID);
        assert_non_null(strstr(e->msg, "too long"));
        err_clear(&e);
        buf[255] = '\0';
        assert_int_equal(oci_repo_name_validate(buf, &e), 0);

        for (size_t i = 0; good_tags[i]; i++) {
                assert_true(oci_tag_ok(good_tags[i]));
                assert_int_equal(oci_tag_validate(good_tags[i], &e), 0);
        }
        for (size_t i = 0; bad_tags[i]; i++) {
                assert_false(oci_tag_ok(bad_tags[i]));
                assert_int_equal(oci_tag_validate(bad_tags[i], &e), -ERR_TAG_INVALID);
                err_clear(&e);
        }
        memset(buf, 't', 129);
        buf[129] = '\0';
        assert_false(oci_tag_ok(buf));
        buf[128] = '\0';
        assert_true(oci_tag_ok(buf));
        assert_null(e);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(raw_table),   cmocka_unit_test(bad_table), cmocka_unit_test(lengths),
                cmocka_unit_test(normalized_table), cmocka_unit_test(local_mode), cmocka_unit_test(helpers),
                cmocka_unit_test(validators),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
