/* builder/options: the values of ibuild's --build-arg, --secret and --ssh. */
#include "tests/unit/test.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "builder/options/options.h"
#include "common/fsutil.h"
#include "oci/model.h"

static void
build_args(void **state)
{
        char *arg = NULL;

        assert_int_equal(build_arg_parse("A=1", &arg, NULL), 1);
        assert_string_equal(arg, "A=1");
        free(arg);
        /* Only the first '=' splits; an empty value is a value. */
        assert_int_equal(build_arg_parse("A=b=c", &arg, NULL), 1);
        assert_string_equal(arg, "A=b=c");
        free(arg);
        assert_int_equal(build_arg_parse("A=", &arg, NULL), 1);
        assert_string_equal(arg, "A=");
        free(arg);
        /* A bare name takes the environment's value, or is skipped. */
        setenv("IBUILD_TEST_ARG", "from env", 1);
        assert_int_equal(build_arg_parse("IBUILD_TEST_ARG", &arg, NULL), 1);
        assert_string_equal(arg, "IBUILD_TEST_ARG=from env");
        free(arg);
        unsetenv("IBUILD_TEST_ARG");
        arg = NULL;
        assert_int_equal(build_arg_parse("IBUILD_TEST_ARG", &arg, NULL), 0);
        assert_null(arg);
        /* No name, or a blank in it. */
        assert_fails(build_arg_parse("=x", &arg, err), EINVAL, "'=x'", "name is empty");
        assert_fails(build_arg_parse("", &arg, err), EINVAL, "name is empty", NULL);
        assert_fails(build_arg_parse("A B=x", &arg, err), EINVAL, "'A B=x'", "blank");
        assert_fails(build_arg_parse("A\t", &arg, err), EINVAL, "blank", NULL);
        assert_null(arg);
        /* A blank in the value is fine. */
        assert_int_equal(build_arg_parse("A=x y", &arg, NULL), 1);
        assert_string_equal(arg, "A=x y");
        free(arg);
}

static void
secrets(void **state)
{
        char dir[] = "/tmp/builder-options-XXXXXX";
        _cleanup_free_ char *file = NULL, *v = NULL;
        char **owned = NULL;
        struct build_secret s;

        assert_non_null(mkdtemp(dir));
        file = xasprintf("%s/token", dir);
        assert_ok(fs_write_atomic(file, "s3cret", 6, 0600, err));

        v = xasprintf("id=tok,src=%s", file);
        assert_ok(build_secret_parse(v, &s, &owned, err));
        assert_string_equal(s.id, "tok");
        assert_string_equal(s.src, file);
        assert_null(s.env);
        free(v);
        v = xasprintf("type=file,source=%s,id=tok", file);
        assert_ok(build_secret_parse(v, &s, &owned, err));
        assert_string_equal(s.src, file);
        assert_ok(build_secret_parse("id=tok,env=HOME", &s, &owned, err));
        assert_string_equal(s.env, "HOME");
        assert_null(s.src);
        /* Neither: the variable named like the id, when it is set. */
        setenv("IBUILD_TEST_SECRET", "x", 1);
        assert_ok(build_secret_parse("id=IBUILD_TEST_SECRET", &s, &owned, err));
        assert_string_equal(s.env, "IBUILD_TEST_SECRET");
        unsetenv("IBUILD_TEST_SECRET");

        memset(&s, 0x5a, sizeof(s));
        assert_fails(build_secret_parse("id=IBUILD_TEST_SECRET", &s, &owned, err), EINVAL, "src=FILE or env=VAR",
                     NULL);
        assert_fails(build_secret_parse("src=/etc/hostname", &s, &owned, err), EINVAL, "id= is required", NULL);
        assert_fails(build_secret_parse("id=,env=HOME", &s, &owned, err), EINVAL, "id is empty", NULL);
        assert_fails(build_secret_parse("id=a,src=", &s, &owned, err), EINVAL, "src= is empty", NULL);
        assert_fails(build_secret_parse("id=a,env=", &s, &owned, err), EINVAL, "env= is empty", NULL);
        assert_fails(build_secret_parse("id=a,mode=0400", &s, &owned, err), EINVAL, "unknown key 'mode'", NULL);
        assert_fails(build_secret_parse("id=a,tok", &s, &owned, err), EINVAL, "'tok' is not KEY=VALUE", NULL);
        assert_fails(build_secret_parse("", &s, &owned, err), EINVAL, "id= is required", NULL);
        free(v);
        v = xasprintf("id=a,src=%s/absent", dir);
        assert_fails(build_secret_parse(v, &s, &owned, err), ENOENT, "absent", "id=a");
        {
                /* Untouched on failure. */
                struct build_secret z;
                memset(&z, 0x5a, sizeof(z));
                assert_memory_equal(&s, &z, sizeof(s));
        }
        oci_strv_free(owned);
        assert_ok(fs_rm_rf(dir, err));
}

/* A listening unix socket at PATH (an agent stand-in); returns the fd. */
static int
unix_socket(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_true(strlen(path) < sizeof(sa.sun_path));
        strcpy(sa.sun_path, path);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        return fd;
}

static void
ssh(void **state)
{
        char dir[] = "/tmp/builder-options-XXXXXX";
        _cleanup_free_ char *sock = NULL, *k1 = NULL, *k2 = NULL, *v = NULL;
        char **owned = NULL;
        struct build_ssh s[4], bad;
        const char *old = getenv("SSH_AUTH_SOCK");
        _cleanup_free_ char *saved = old ? xstrdup(old) : NULL;
        int fd;

        assert_non_null(mkdtemp(dir));
        sock = xasprintf("%s/agent.sock", dir);
        k1 = xasprintf("%s/id_ed25519", dir);
        k2 = xasprintf("%s/id_rsa", dir);
        fd = unix_socket(sock);
        assert_ok(fs_write_atomic(k1, "key1", 4, 0600, err));
        assert_ok(fs_write_atomic(k2, "key2", 4, 0600, err));

        /* "default" alone: $SSH_AUTH_SOCK. */
        setenv("SSH_AUTH_SOCK", sock, 1);
        assert_ok(build_ssh_parse("default", NULL, 0, &s[0], &owned, err));
        assert_string_equal(s[0].id, "default");
        assert_string_equal(s[0].socket, sock);
        assert_int_equal(s[0].n_keys, 0);
        assert_null(s[0].keys);
        /* ID=SOCKET; an empty value is $SSH_AUTH_SOCK too. */
        v = xasprintf("agent=%s", sock);
        assert_ok(build_ssh_parse(v, s, 1, &s[1], &owned, err));
        assert_string_equal(s[1].id, "agent");
        assert_string_equal(s[1].socket, sock);
        assert_ok(build_ssh_parse("other=", s, 2, &s[2], &owned, err));
        assert_string_equal(s[2].socket, sock);
        /* ID=KEY,KEY: key files, in order. */
        free(v);
        v = xasprintf("keys=%s,%s", k1, k2);
        assert_ok(build_ssh_parse(v, s, 3, &s[3], &owned, err));
        assert_null(s[3].socket);
        assert_int_equal(s[3].n_keys, 2);
        assert_string_equal(s[3].keys[0], k1);
        assert_string_equal(s[3].keys[1], k2);
        assert_null(s[3].keys[2]);

        memset(&bad, 0x5a, sizeof(bad));
        assert_fails(build_ssh_parse("default", s, 4, &bad, &owned, err), EINVAL, "id 'default' given twice", NULL);
        assert_fails(build_ssh_parse("=x", s, 4, &bad, &owned, err), EINVAL, "the id is empty", NULL);
        assert_fails(build_ssh_parse("a,b", s, 4, &bad, &owned, err), EINVAL, "has a ','", NULL);
        free(v);
        v = xasprintf("mix=%s,%s", k1, sock);
        assert_fails(build_ssh_parse(v, s, 4, &bad, &owned, err), EINVAL, "must be the only path", NULL);
        free(v);
        v = xasprintf("mix=%s,%s", sock, k1);
        assert_fails(build_ssh_parse(v, s, 4, &bad, &owned, err), EINVAL, "key file after an agent socket", NULL);
        free(v);
        v = xasprintf("two=%s,%s", sock, sock);
        assert_fails(build_ssh_parse(v, s, 4, &bad, &owned, err), EINVAL, "must be the only path", NULL);
        free(v);
        v = xasprintf("gap=%s,,%s", k1, k2);
        assert_fails(build_ssh_parse(v, s, 4, &bad, &owned, err), EINVAL, "empty path", NULL);
        free(v);
        v = xasprintf("dir=%s", dir);
        assert_fails(build_ssh_parse(v, s, 4, &bad, &owned, err), EINVAL, "neither an agent socket nor a key file",
                     dir);
        free(v);
        v = xasprintf("gone=%s/absent", dir);
        assert_fails(build_ssh_parse(v, s, 4, &bad, &owned, err), ENOENT, "absent", NULL);
        unsetenv("SSH_AUTH_SOCK");
        assert_fails(build_ssh_parse("fresh", s, 4, &bad, &owned, err), EINVAL, "SSH_AUTH_SOCK is not set", NULL);
        {
                /* Untouched on failure. */
                struct build_ssh z;
                memset(&z, 0x5a, sizeof(z));
                assert_memory_equal(&bad, &z, sizeof(bad));
        }
        if (saved)
                setenv("SSH_AUTH_SOCK", saved, 1);
        for (size_t i = 0; i < 4; i++)
                free((void *) s[i].keys);
        oci_strv_free(owned);
        close(fd);
        assert_ok(fs_rm_rf(dir, err));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(build_args),
                cmocka_unit_test(secrets),
                cmocka_unit_test(ssh),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
