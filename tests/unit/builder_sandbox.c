/* Pure parts of the sandbox: USER resolution, subordinate id files, id
 * mapping arithmetic, and build_idmap_call's error transport. */
#include "tests/unit/test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/sandbox/sandbox.h"

static const char *PASSWD = "root:x:0:0:root:/root:/bin/sh\n"
                            "# a comment\n"
                            "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                            "broken line without fields\n"
                            "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
                            "bob:x:1001:100::/home/bob:/bin/sh\n"
                            "carol:x:notanumber:5::/:/bin/sh\n";
static const char *GROUP = "root:x:0:\n"
                           "users:x:100:bob\n"
                           "alice:x:1000:\n"
                           "staff:x:50:alice,bob\n"
                           "wheel:x:10:carol,alice\n";

static void
user_by_name(void **state)
{
        struct build_user u;
        struct err *e = NULL;

        assert_int_equal(build_user_resolve("alice", PASSWD, GROUP, &u, &e), 0);
        assert_int_equal(u.uid, 1000);
        assert_int_equal(u.gid, 1000);
        assert_string_equal(u.home, "/home/alice");
        /* Supplementary groups: every group listing alice. */
        assert_int_equal(u.n_groups, 2);
        assert_int_equal(u.groups[0], 50);
        assert_int_equal(u.groups[1], 10);

        assert_int_equal(build_user_resolve("bob", PASSWD, GROUP, &u, &e), 0);
        assert_int_equal(u.uid, 1001);
        assert_int_equal(u.gid, 100);
        assert_int_equal(u.n_groups, 2);
        assert_null(e);
}

static void
user_numeric(void **state)
{
        struct build_user u;
        struct err *e = NULL;

        /* A uid with a passwd entry takes its gid and home. */
        assert_int_equal(build_user_resolve("1000", PASSWD, GROUP, &u, &e), 0);
        assert_int_equal(u.uid, 1000);
        assert_int_equal(u.gid, 1000);
        assert_string_equal(u.home, "/home/alice");
        /* Unknown uids are fine, with gid 0 and no home. */
        assert_int_equal(build_user_resolve("4242", PASSWD, GROUP, &u, &e), 0);
        assert_int_equal(u.uid, 4242);
        assert_int_equal(u.gid, 0);
        assert_string_equal(u.home, "");
        assert_int_equal(u.n_groups, 0);
        /* Empty and NULL spec mean root; no files at all is fine for ids. */
        assert_int_equal(build_user_resolve(NULL, NULL, NULL, &u, &e), 0);
        assert_int_equal(u.uid, 0);
        assert_int_equal(build_user_resolve("7:8", NULL, NULL, &u, &e), 0);
        assert_int_equal(u.uid, 7);
        assert_int_equal(u.gid, 8);
        assert_int_equal(u.n_groups, 1);
        assert_int_equal(u.groups[0], 8);
        assert_null(e);
}

static void
user_with_group(void **state)
{
        struct build_user u;
        struct err *e = NULL;

        assert_int_equal(build_user_resolve("alice:staff", PASSWD, GROUP, &u, &e), 0);
        assert_int_equal(u.uid, 1000);
        assert_int_equal(u.gid, 50);
        /* An explicit group replaces the supplementary list. */
        assert_int_equal(u.n_groups, 1);
        assert_int_equal(u.groups[0], 50);
        assert_int_equal(build_user_resolve("bob:1234", PASSWD, GROUP, &u, &e), 0);
        assert_int_equal(u.gid, 1234);
        assert_int_equal(build_user_resolve("0:wheel", PASSWD, GROUP, &u, &e), 0);
        assert_int_equal(u.uid, 0);
        assert_int_equal(u.gid, 10);
        assert_null(e);
}

static void
user_errors(void **state)
{
        struct build_user u = {.uid = 99};
        struct err *e = NULL;

        assert_int_equal(build_user_resolve("mallory", PASSWD, GROUP, &u, &e), -ENOENT);
        assert_non_null(strstr(err_msg(&e), "unable to find user mallory"));
        assert_int_equal(u.uid, 99); /* untouched on failure */
        err_clear(&e);
        assert_int_equal(build_user_resolve("alice:nogroup", PASSWD, GROUP, &u, &e), -ENOENT);
        assert_non_null(strstr(err_msg(&e), "unable to find group nogroup"));
        err_clear(&e);
        /* carol's passwd line has a bad uid: the entry does not count. */
        assert_int_equal(build_user_resolve("carol", PASSWD, GROUP, &u, &e), -ENOENT);
        err_clear(&e);
        assert_int_equal(build_user_resolve(":0", PASSWD, GROUP, &u, &e), -EINVAL);
        err_clear(&e);
        assert_int_equal(build_user_resolve("root:", PASSWD, GROUP, &u, &e), -EINVAL);
        err_clear(&e);
        assert_int_equal(build_user_resolve("-1", PASSWD, GROUP, &u, &e), -ENOENT);
        err_clear(&e);
        assert_int_equal(build_user_resolve("99999999999", PASSWD, GROUP, &u, &e), -ENOENT);
        err_clear(&e);
}

static void
subid_parse(void **state)
{
        const char *text = "# comment\n"
                           "\n"
                           "other:100000:65536\n"
                           "1001:300000:1000\n"
                           "builder:200000:65536\n";
        uint32_t start = 0, count = 0;
        struct err *e = NULL;

        assert_int_equal(build_idmap_parse_subid(text, "builder", 1000, &start, &count, &e), 0);
        assert_int_equal(start, 200000);
        assert_int_equal(count, 65536);
        /* By numeric uid when the name has no entry. */
        assert_int_equal(build_idmap_parse_subid(text, "nobody", 1001, &start, &count, &e), 0);
        assert_int_equal(start, 300000);
        assert_int_equal(count, 1000);
        assert_null(e);
        assert_int_equal(build_idmap_parse_subid(text, "nobody", 5, &start, &count, &e), -ENOENT);
        err_clear(&e);
        assert_int_equal(build_idmap_parse_subid("a:1\nbuilder:x:1\n", "builder", 5, &start, &count, &e),
                         -EINVAL);
        assert_non_null(strstr(err_msg(&e), "line 1"));
        err_clear(&e);
        assert_int_equal(build_idmap_parse_subid("builder:1:99999999999\n", "builder", 5, &start, &count, &e),
                         -EINVAL);
        err_clear(&e);
        /* A zero-sized range is no range. */
        assert_int_equal(build_idmap_parse_subid("builder:1:0\n", "builder", 5, &start, &count, &e), -ENOENT);
        err_clear(&e);
}

static void
idmap_arith(void **state)
{
        struct build_idmap m = {.kind = BUILD_IDMAP_SUBID, .n_uid = 2, .n_gid = 1};

        m.uid[0] = (struct build_idmap_range){0, 1000, 1};
        m.uid[1] = (struct build_idmap_range){1, 200000, 65536};
        m.gid[0] = (struct build_idmap_range){0, 1000, 1};
        assert_int_equal(build_idmap_to_host(&m, false, 0), 1000);
        assert_int_equal(build_idmap_to_host(&m, false, 1), 200000);
        assert_int_equal(build_idmap_to_host(&m, false, 65536), 265535);
        assert_int_equal(build_idmap_to_host(&m, false, 65537), UINT32_MAX);
        assert_int_equal(build_idmap_to_host(&m, true, 0), 1000);
        assert_int_equal(build_idmap_to_host(&m, true, 1), UINT32_MAX);
}

static int
fail_fn(void *arg, struct err **err)
{
        return err_set(err, ENOSPC, "disk full writing %s", (const char *) arg);
}

static int
touch_fn(void *arg, struct err **err)
{
        int fd = open(arg, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

        if (fd < 0)
                return err_set(err, errno, "create %s", (const char *) arg);
        close(fd);
        return 0;
}

static void
idmap_call_transport(void **state)
{
        struct build_idmap m;
        char *warning = NULL;
        struct err *e = NULL;
        char dir[] = "/tmp/ibuild-unit-XXXXXX";
        char *file;
        struct stat st;

        assert_int_equal(build_idmap_detect(NULL, NULL, &m, &warning, &e), 0);
        free(warning);
        assert_non_null(mkdtemp(dir));
        file = xasprintf("%s/made-inside", dir);
        /* The child's error comes back with its code and message. */
        assert_int_equal(build_idmap_call(&m, fail_fn, (void *) "x.bin", &e), -ENOSPC);
        assert_string_equal(err_msg(&e), "disk full writing x.bin");
        err_clear(&e);
        assert_int_equal(build_idmap_call(&m, touch_fn, file, &e), 0);
        assert_null(e);
        /* Created as namespace root, i.e. by the caller on the host. */
        assert_int_equal(stat(file, &st), 0);
        assert_int_equal(st.st_uid, getuid());
        unlink(file);
        rmdir(dir);
        free(file);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(user_by_name),   cmocka_unit_test(user_numeric),
                cmocka_unit_test(user_with_group), cmocka_unit_test(user_errors),
                cmocka_unit_test(subid_parse),    cmocka_unit_test(idmap_arith),
                cmocka_unit_test(idmap_call_transport),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
