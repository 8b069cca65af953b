/* registry/common/creds: config files, credential helpers, host rules. */
#include "tests/unit/test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/fsutil.h"
#include "registry/common/base64.h"
#include "registry/common/creds.h"

static char tmpdir[] = "/tmp/ibuild-creds-test.XXXXXX";

static char *
path_of(const char *name)
{
        return xasprintf("%s/%s", tmpdir, name);
}

static void
write_file(const char *name, const char *content, mode_t mode)
{
        _cleanup_free_ char *p = path_of(name);
        struct err *e = NULL;
        if (fs_write_atomic(p, content, strlen(content), mode, &e) < 0)
                fail_msg("%s", err_msg(&e));
}

/* A fake helper: answers for ghcr.io / the Docker Hub URL / "tok.example",
 * "not found" for "missing.example", fails for anything else.  It records
 * what it read on stdin. */
static const char HELPER[] =
    "#!/bin/sh\n"
    "[ \"$1\" = get ] || exit 9\n"
    "server=$(cat)\n"
    "printf '%s\\n' \"$server\" >> \"$(dirname \"$0\")/helper.log\"\n"
    "case \"$server\" in\n"
    "ghcr.io) echo '{\"ServerURL\":\"ghcr.io\",\"Username\":\"gh-user\",\"Secret\":\"gh:secret\"}' ;;\n"
    "https://index.docker.io/v1/) echo '{\"ServerURL\":\"x\",\"Username\":\"hub\",\"Secret\":\"hubpw\"}' ;;\n"
    "tok.example) echo '{\"ServerURL\":\"x\",\"Username\":\"<token>\",\"Secret\":\"refresh-123\"}' ;;\n"
    "junk.example) echo 'not json' ;;\n"
    "missing.example) echo 'credentials not found in native keychain'; exit 1 ;;\n"
    "*) echo \"helper exploded for $server\" >&2; exit 3 ;;\n"
    "esac\n";

static int
setup(void **state)
{
        _cleanup_free_ char *path = NULL;

        if (!mkdtemp(tmpdir))
                return -1;
        write_file("docker-credential-test", HELPER, 0755);
        path = xasprintf("%s:%s", tmpdir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
        setenv("PATH", path, 1);
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

static void
userpass(void **state)
{
        struct reg_creds *c = NULL;
        struct err *e = NULL;

        assert_int_equal(reg_creds_parse_userpass("robot$ci:pa:ss", &c, &e), 0);
        assert_string_equal(c->username, "robot$ci");
        assert_string_equal(c->password, "pa:ss");
        assert_string_equal(c->source, "--creds");
        reg_creds_free(c);
        assert_int_equal(reg_creds_parse_userpass("u:", &c, &e), 0);
        assert_string_equal(c->password, "");
        reg_creds_free(c);
        assert_int_equal(reg_creds_parse_userpass(":p", &c, &e), -EINVAL);
        err_clear(&e);
        assert_int_equal(reg_creds_parse_userpass("nocolon", &c, &e), -EINVAL);
        err_clear(&e);
        reg_creds_free(NULL);
}

static void
hosts(void **state)
{
        struct {
                const char *in, *out;
        } cases[] = {
            {"docker.io", "docker.io"},
            {"https://index.docker.io/v1/", "docker.io"},
            {"index.docker.io", "docker.io"},
            {"registry-1.docker.io", "docker.io"},
            {"HTTP://LocalHost:5000/v2/", "localhost:5000"},
            {"localhost:5000", "localhost:5000"},
            {"quay.io/org/repo", "quay.io"},
            {"ghcr.io", "ghcr.io"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *h = reg_creds_host(cases[i].in);
                assert_string_equal(h, cases[i].out);
                free(h);
        }
}

static char *
b64(const char *s)
{
        return reg_b64_encode(s, strlen(s), false);
}

static void
config_file(void **state)
{
        _cleanup_free_ char *hub = b64("hubuser:hub:pw"), *local = b64("lu:lp"), *text = NULL,
                            *p = path_of("config.json");
        struct reg_creds *c = NULL;
        struct err *e = NULL;

        text = xasprintf("{\"auths\": {"
                         "\"https://index.docker.io/v1/\": {\"auth\": \"%s\"},"
                         "\"http://localhost:5000/v2/\": {\"auth\": \"%s\"},"
                         "\"id.example\": {\"auth\": \"\", \"identitytoken\": \"idtok\"},"
                         "\"placeholder.example\": {}"
                         "}}",
                         hub, local);
        write_file("config.json", text, 0600);

        assert_int_equal(reg_creds_from_file(p, "docker.io", &c, &e), 1);
        assert_string_equal(c->username, "hubuser");
        assert_string_equal(c->password, "hub:pw");
        assert_null(c->identity_token);
        assert_string_equal(c->source, p);
        reg_creds_free(c);
        assert_int_equal(reg_creds_from_file(p, "registry-1.docker.io", &c, &e), 1);
        reg_creds_free(c);
        assert_int_equal(reg_creds_from_file(p, "localhost:5000", &c, &e), 1);
        assert_string_equal(c->username, "lu");
        reg_creds_free(c);
        assert_int_equal(reg_creds_from_file(p, "id.example", &c, &e), 1);
        assert_null(c->username);
        assert_null(c->password);
        assert_string_equal(c->identity_token, "idtok");
        reg_creds_free(c);
        c = NULL;
        assert_int_equal(reg_creds_from_file(p, "placeholder.example", &c, &e), 0);
        assert_null(c);
        assert_int_equal(reg_creds_from_file(p, "localhost:5001", &c, &e), 0);
        assert_null(c);

        /* Malformed files are errors naming the file (and line). */
        write_file("bad.json", "{\n\"auths\": {,}\n}", 0600);
        free(p);
        p = path_of("bad.json");
        assert_int_equal(reg_creds_from_file(p, "x", &c, &e), -EINVAL);
        assert_non_null(strstr(err_msg(&e), "bad.json:2:"));
        err_clear(&e);
        write_file("bad.json", "{\"auths\": {\"x\": {\"auth\": \"!!!\"}}}", 0600);
        assert_int_equal(reg_creds_from_file(p, "x", &c, &e), -EINVAL);
        assert_non_null(strstr(err_msg(&e), "auths.x.auth"));
        err_clear(&e);
        {
                _cleanup_free_ char *nocolon = b64("justuser"), *t2 = NULL;
                t2 = xasprintf("{\"auths\": {\"x\": {\"auth\": \"%s\"}}}", nocolon);
                write_file("bad.json", t2, 0600);
                assert_int_equal(reg_creds_from_file(p, "x", &c, &e), -EINVAL);
                assert_non_null(strstr(err_msg(&e), "USER:PASSWORD"));
                err_clear(&e);
        }
        write_file("bad.json", "[]", 0600);
        assert_int_equal(reg_creds_from_file(p, "x", &c, &e), -EINVAL);
        err_clear(&e);
}

static void
helpers(void **state)
{
        _cleanup_free_ char *p = path_of("helpers.json"), *log = path_of("helper.log"), *logtext = NULL;
        struct reg_creds *c = NULL;
        struct err *e = NULL;
        size_t len;

        write_file("helpers.json",
                   "{\"credHelpers\": {\"ghcr.io\": \"test\", \"tok.example\": \"test\", \"missing.example\": \"test\","
                   "\"boom.example\": \"test\", \"junk.example\": \"test\", \"evil.example\": \"../x\","
                   "\"nohelper.example\": \"does-not-exist\"},"
                   " \"auths\": {\"missing.example\": {\"auth\": \"bTpw\"}},"
                   " \"credsStore\": \"test\"}",
                   0600);
        unlink(log);

        assert_int_equal(reg_creds_from_file(p, "ghcr.io", &c, &e), 1);
        assert_string_equal(c->username, "gh-user");
        assert_string_equal(c->password, "gh:secret");
        assert_string_equal(c->source, "docker-credential-test");
        reg_creds_free(c);

        assert_int_equal(reg_creds_from_file(p, "tok.example", &c, &e), 1);
        assert_null(c->username);
        assert_string_equal(c->identity_token, "refresh-123");
        reg_creds_free(c);

        /* Not in its helper: no credentials.  The auths entry ("m:p") is
         * not a fallback for a host with a helper (Docker's native store
         * answers alone). */
        c = NULL;
        assert_int_equal(reg_creds_from_file(p, "missing.example", &c, &e), 0);
        assert_null(c);
        assert_null(e);

        /* credsStore serves the rest; docker.io is asked as the Hub URL. */
        assert_int_equal(reg_creds_from_file(p, "index.docker.io", &c, &e), 1);
        assert_string_equal(c->username, "hub");
        reg_creds_free(c);

        /* A failing helper is an error carrying its message. */
        assert_true(reg_creds_from_file(p, "boom.example", &c, &e) < 0);
        assert_non_null(strstr(err_msg(&e), "helper exploded for boom.example"));
        assert_non_null(strstr(err_msg(&e), "exit status 3"));
        err_clear(&e);
        assert_int_equal(reg_creds_from_file(p, "junk.example", &c, &e), -EINVAL);
        assert_non_null(strstr(err_msg(&e), "not {\"Username\""));
        err_clear(&e);
        assert_int_equal(reg_creds_from_file(p, "evil.example", &c, &e), -EINVAL);
        assert_non_null(strstr(err_msg(&e), "not valid"));
        err_clear(&e);
        assert_true(reg_creds_from_file(p, "nohelper.example", &c, &e) < 0);
        assert_non_null(strstr(err_msg(&e), "docker-credential-does-not-exist"));
        err_clear(&e);

        /* A credsStore that is not installed is skipped. */
        {
                _cleanup_free_ char *p2 = path_of("store.json");
                c = NULL;
                write_file("store.json", "{\"credsStore\": \"desktop-not-here\", \"auths\": {\"a.example\": {}}}",
                           0600);
                assert_int_equal(reg_creds_from_file(p2, "a.example", &c, &e), 0);
                assert_null(c);
                assert_null(e);
        }

        /* The helper saw exactly the server names, one per call. */
        assert_int_equal(fs_read_file(log, 4096, &logtext, &len, &e), 0);
        assert_string_equal(logtext, "ghcr.io\ntok.example\nmissing.example\nhttps://index.docker.io/v1/\n"
                                     "boom.example\njunk.example\n");
}

/* A helper that exits without reading its stdin: the write of the server
 * name gets EPIPE and a SIGPIPE, which must not kill the caller (a name
 * larger than a pipe buffer makes the timing certain: the write blocks
 * until the helper closes its end). */
static void
helper_not_reading(void **state)
{
        _cleanup_free_ char *p = path_of("deaf.json"), *name = xmalloc(200001);
        struct reg_creds *c = NULL;
        struct err *e = NULL;

        write_file("docker-credential-deaf",
                   "#!/bin/sh\nexec 0<&-\necho '{\"ServerURL\":\"x\",\"Username\":\"u\",\"Secret\":\"s\"}'\n", 0755);
        write_file("deaf.json", "{\"credsStore\": \"deaf\"}", 0600);
        memset(name, 'a', 200000);
        name[200000] = '\0';
        for (int i = 0; i < 3; i++) {
                assert_int_equal(reg_creds_from_file(p, i == 0 ? name : "deaf.example", &c, &e), 1);
                assert_string_equal(c->username, "u");
                reg_creds_free(c);
        }
}

/* Docker's precedence: credHelpers[HOST] > credsStore > auths.  A helper
 * configured for a host answers alone: its "not found" is no credentials,
 * never the inline entry nor the other helper. */
static void
precedence(void **state)
{
        _cleanup_free_ char *p = path_of("prec.json"), *inline_gh = b64("inline:gh"), *inline_m = b64("inline:m"),
                            *inline_o = b64("inline:o"), *t = NULL;
        struct reg_creds *c = NULL;
        struct err *e = NULL;

        write_file("docker-credential-other",
                   "#!/bin/sh\ncat >/dev/null\necho '{\"ServerURL\":\"x\",\"Username\":\"other-user\",\"Secret\":\"o\"}'\n",
                   0755);
        t = xasprintf("{\"auths\": {\"ghcr.io\": {\"auth\": \"%s\"}, \"missing.example\": {\"auth\": \"%s\"},"
                      " \"plain.example\": {\"auth\": \"%s\"}},"
                      " \"credsStore\": \"test\", \"credHelpers\": {\"tok.example\": \"other\"}}",
                      inline_gh, inline_m, inline_o);
        write_file("prec.json", t, 0600);

        /* The store, not the inline entry. */
        assert_int_equal(reg_creds_from_file(p, "ghcr.io", &c, &e), 1);
        assert_string_equal(c->username, "gh-user");
        assert_string_equal(c->source, "docker-credential-test");
        reg_creds_free(c);
        /* credHelpers before credsStore. */
        assert_int_equal(reg_creds_from_file(p, "tok.example", &c, &e), 1);
        assert_string_equal(c->username, "other-user");
        assert_string_equal(c->source, "docker-credential-other");
        reg_creds_free(c);
        /* The store has no entry: none, although auths has one. */
        c = NULL;
        assert_int_equal(reg_creds_from_file(p, "missing.example", &c, &e), 0);
        assert_null(c);
        assert_null(e);

        /* A credHelpers helper without an entry: credsStore is not asked. */
        free(t);
        t = xasprintf("{\"credsStore\": \"other\", \"credHelpers\": {\"missing.example\": \"test\"},"
                      " \"auths\": {\"plain.example\": {\"auth\": \"%s\"}}}",
                      inline_o);
        write_file("prec.json", t, 0600);
        assert_int_equal(reg_creds_from_file(p, "missing.example", &c, &e), 0);
        assert_null(c);
        assert_null(e);
        /* Any other host goes to the store. */
        assert_int_equal(reg_creds_from_file(p, "plain.example", &c, &e), 1);
        assert_string_equal(c->username, "other-user");
        reg_creds_free(c);

        /* No helper at all: auths answers. */
        free(t);
        t = xasprintf("{\"auths\": {\"plain.example\": {\"auth\": \"%s\"}}}", inline_o);
        write_file("prec.json", t, 0600);
        assert_int_equal(reg_creds_from_file(p, "plain.example", &c, &e), 1);
        assert_string_equal(c->username, "inline");
        assert_string_equal(c->password, "o");
        assert_string_equal(c->source, p);
        reg_creds_free(c);
}

static void
collect_warning(const char *msg, void *userdata)
{
        char **all = userdata;
        char *next = xasprintf("%s%s\n", *all ? *all : "", msg);
        free(*all);
        *all = next;
}

/* A credsStore helper that is not installed: a warning naming it, then
 * the auths entry when there is one (what Docker ends up using when its
 * store cannot run), else no credentials. */
static void
missing_store_warns(void **state)
{
        _cleanup_free_ char *p = path_of("nostore.json"), *a = b64("inl:pw"), *t = NULL, *warnings = NULL;
        struct reg_creds_opts opts = {.authfile = p, .warn = collect_warning, .warn_data = &warnings};
        struct reg_creds *c = NULL;
        struct err *e = NULL;

        t = xasprintf("{\"credsStore\": \"not-here\", \"auths\": {\"inl.example\": {\"auth\": \"%s\"}}}", a);
        write_file("nostore.json", t, 0600);
        assert_int_equal(reg_creds_lookup("none.example", &opts, &c, &e), 0);
        assert_null(c);
        assert_null(e);
        assert_non_null(warnings);
        assert_non_null(strstr(warnings, "docker-credential-not-here not found on PATH"));
        assert_non_null(strstr(warnings, p));
        free(warnings);
        warnings = NULL;
        assert_int_equal(reg_creds_lookup("inl.example", &opts, &c, &e), 1);
        assert_string_equal(c->username, "inl");
        assert_string_equal(c->password, "pw");
        reg_creds_free(c);
        assert_non_null(warnings);
        assert_non_null(strstr(warnings, "docker-credential-not-here not found on PATH"));
        /* An installed store warns about nothing. */
        free(warnings);
        warnings = NULL;
        write_file("nostore.json", "{\"credsStore\": \"test\"}", 0600);
        assert_int_equal(reg_creds_lookup("missing.example", &opts, &c, &e), 0);
        assert_null(warnings);
}

static void
lookup_order(void **state)
{
        _cleanup_free_ char *a1 = b64("from-regauth:1"), *a2 = b64("from-xdg:2"), *a3 = b64("from-dockercfg:3"),
                            *a4 = b64("from-home:4"), *a5 = b64("from-podman-home:5"), *dir = NULL;
        char *t = NULL;
        struct reg_creds_opts opts = {0};
        struct reg_creds *c = NULL;
        struct err *e = NULL;

        dir = path_of("xdg/containers");
        assert_int_equal(fs_mkdir_p(dir, 0700, &e), 0);
        free(dir);
        dir = path_of("home/.docker");
        assert_int_equal(fs_mkdir_p(dir, 0700, &e), 0);
        free(dir);
        dir = path_of("dcfg");
        assert_int_equal(fs_mkdir_p(dir, 0700, &e), 0);

        t = xasprintf("{\"auths\": {\"r1\": {\"auth\": \"%s\"}}}", a1);
        write_file("regauth.json", t, 0600);
        free(t);
        t = xasprintf("{\"auths\": {\"r1\": {\"auth\": \"%s\"}, \"r2\": {\"auth\": \"%s\"}}}", a2, a2);
        write_file("xdg/containers/auth.json", t, 0600);
        free(t);
        t = xasprintf(
            "{\"auths\": {\"r1\": {\"auth\": \"%s\"}, \"r2\": {\"auth\": \"%s\"}, \"r3\": {\"auth\": \"%s\"}}}", a3, a3,
            a3);
        write_file("dcfg/config.json", t, 0600);
        free(t);
        t = xasprintf("{\"auths\": {\"r4\": {\"auth\": \"%s\"}}}", a4);
        write_file("home/.docker/config.json", t, 0600);
        free(t);
        free(dir);
        dir = path_of("home/.config/containers");
        assert_int_equal(fs_mkdir_p(dir, 0700, &e), 0);
        free(dir);
        dir = path_of("dcfg");
        t = xasprintf("{\"auths\": {\"r3\": {\"auth\": \"%s\"}}}", a5);
        write_file("home/.config/containers/auth.json", t, 0600);
        free(t);

        t = path_of("regauth.json");
        setenv("REGISTRY_AUTH_FILE", t, 1);
        free(t);
        t = path_of("xdg");
        setenv("XDG_RUNTIME_DIR", t, 1);
        free(t);
        setenv("DOCKER_CONFIG", dir, 1);
        t = path_of("home");
        setenv("HOME", t, 1);
        free(t);

        unsetenv("XDG_CONFIG_HOME");
        const char *want[] = {"from-regauth", "from-xdg", "from-podman-home", "from-home"};
        for (int i = 0; i < 4; i++) {
                char reg[16];
                snprintf(reg, sizeof(reg), "r%d", i + 1);
                assert_int_equal(reg_creds_lookup(reg, NULL, &c, &e), 1);
                assert_string_equal(c->username, want[i]);
                reg_creds_free(c);
        }
        assert_int_equal(reg_creds_lookup("r5", NULL, &c, &e), 0);
        assert_null(c);
        /* $XDG_CONFIG_HOME replaces ~/.config. */
        t = path_of("nowhere");
        setenv("XDG_CONFIG_HOME", t, 1);
        free(t);
        assert_int_equal(reg_creds_lookup("r3", NULL, &c, &e), 1);
        assert_string_equal(c->username, "from-dockercfg");
        reg_creds_free(c);

        /* --creds wins; --authfile is the only file consulted. */
        opts.creds = "flag:pw";
        assert_int_equal(reg_creds_lookup("r1", &opts, &c, &e), 1);
        assert_string_equal(c->username, "flag");
        reg_creds_free(c);
        opts.creds = NULL;
        t = path_of("regauth.json");
        opts.authfile = t;
        assert_int_equal(reg_creds_lookup("r4", &opts, &c, &e), 0);
        assert_int_equal(reg_creds_lookup("r1", &opts, &c, &e), 1);
        reg_creds_free(c);
        free(t);
        opts.authfile = "/nonexistent/auth.json";
        assert_int_equal(reg_creds_lookup("r1", &opts, &c, &e), -ENOENT);
        err_clear(&e);

        /* A malformed file in the chain is an error, not skipped. */
        write_file("regauth.json", "{", 0600);
        assert_int_equal(reg_creds_lookup("r1", NULL, &c, &e), -EINVAL);
        assert_non_null(strstr(err_msg(&e), "regauth.json"));
        err_clear(&e);
        /* A missing one is skipped. */
        setenv("REGISTRY_AUTH_FILE", "/nonexistent/auth.json", 1);
        assert_int_equal(reg_creds_lookup("r1", NULL, &c, &e), 1);
        assert_string_equal(c->username, "from-xdg");
        reg_creds_free(c);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(userpass), cmocka_unit_test(hosts),        cmocka_unit_test(config_file),
            cmocka_unit_test(helpers),  cmocka_unit_test(helper_not_reading), cmocka_unit_test(precedence),
            cmocka_unit_test(missing_store_warns), cmocka_unit_test(lookup_order),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
