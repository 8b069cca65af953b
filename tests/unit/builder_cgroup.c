/* cgroup v2 limits of the sandbox: the --memory/--cpus/--pids-limit values,
 * the interface files and values written for them, and finding the
 * caller's cgroup from /proc/self/mountinfo and /proc/self/cgroup. */
#include "tests/unit/test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "builder/sandbox/sandbox-internal.h"
#include "builder/sandbox/sandbox.h"
#include "common/fsutil.h"

static void
memory_values(void **state)
{
        static const struct {
                const char *in;
                uint64_t want;
        } ok[] = {
            {"512m", 512ULL << 20},  {"512M", 512ULL << 20}, {"1g", 1ULL << 30},    {"1G", 1ULL << 30},
            {"1gb", 1ULL << 30},     {"1GiB", 1ULL << 30},   {"1.5g", 3ULL << 29},  {"64 MiB", 64ULL << 20},
            {"67108864", 67108864},  {"6291456b", 6291456},  {"8192k", 8ULL << 20}, {"2t", 2ULL << 40},
            {"0.25g", 256ULL << 20}, {"100m", 100ULL << 20}, {"1p", 1ULL << 50},
        };
        uint64_t v;

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                v = 0;
                assert_ok(build_sandbox_parse_memory(ok[i].in, &v, err));
                if (v != ok[i].want)
                        fail_msg("%s: %llu, want %llu", ok[i].in, (unsigned long long) v,
                                 (unsigned long long) ok[i].want);
        }
        v = 42;
        assert_fails(build_sandbox_parse_memory("", &v, err), EINVAL, "memory size ''", "512m");
        assert_fails(build_sandbox_parse_memory(NULL, &v, err), EINVAL, "expected a number", NULL);
        assert_fails(build_sandbox_parse_memory("m", &v, err), EINVAL, "'m'", "expected a number");
        assert_fails(build_sandbox_parse_memory("12x", &v, err), EINVAL, "unexpected 'x' at position 3", NULL);
        assert_fails(build_sandbox_parse_memory("1g2", &v, err), EINVAL, "unexpected '2' at position 3", NULL);
        assert_fails(build_sandbox_parse_memory("1.g", &v, err), EINVAL, "digit after '.' at position 3", NULL);
        assert_fails(build_sandbox_parse_memory("-1g", &v, err), EINVAL, "'-1g'", NULL);
        assert_fails(build_sandbox_parse_memory("5m", &v, err), EINVAL, "below the minimum of 6 MiB", NULL);
        assert_fails(build_sandbox_parse_memory("1000", &v, err), EINVAL, "below the minimum", NULL);
        assert_fails(build_sandbox_parse_memory("99999999999999999999", &v, err), ERANGE, "too large", NULL);
        assert_fails(build_sandbox_parse_memory("99999999999p", &v, err), ERANGE, "too large", NULL);
        /* Failures leave the output alone. */
        assert_int_equal(v, 42);
}

static void
cpus_values(void **state)
{
        static const struct {
                const char *in;
                uint32_t want;
        } ok[] = {{"0.5", 500},      {"2", 2000},     {"1.25", 1250}, {".5", 500},  {"0.01", 10},
                  {"4096", 4096000}, {"0.3333", 333}, {"3.", 3000},   {"0.010", 10}};
        uint32_t v;

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                v = 0;
                assert_ok(build_sandbox_parse_cpus(ok[i].in, &v, err));
                if (v != ok[i].want)
                        fail_msg("%s: %u, want %u", ok[i].in, v, ok[i].want);
        }
        v = 7;
        assert_fails(build_sandbox_parse_cpus("", &v, err), EINVAL, "expected a number such as 0.5", NULL);
        assert_fails(build_sandbox_parse_cpus(".", &v, err), EINVAL, "cpus '.'", NULL);
        assert_fails(build_sandbox_parse_cpus("0", &v, err), EINVAL, "at least 0.01", NULL);
        assert_fails(build_sandbox_parse_cpus("0.009", &v, err), EINVAL, "at least 0.01", NULL);
        assert_fails(build_sandbox_parse_cpus("1,5", &v, err), EINVAL, "unexpected ',' at position 2", NULL);
        assert_fails(build_sandbox_parse_cpus("-1", &v, err), EINVAL, "cpus '-1'", NULL);
        assert_fails(build_sandbox_parse_cpus("4096.5", &v, err), ERANGE, "at most 4096", NULL);
        assert_fails(build_sandbox_parse_cpus("99999999999999999999999", &v, err), ERANGE, "at most", NULL);
        assert_int_equal(v, 7);
}

static void
pids_values(void **state)
{
        uint64_t v = 99;

        assert_ok(build_sandbox_parse_pids("20", &v, err));
        assert_int_equal(v, 20);
        assert_ok(build_sandbox_parse_pids("-1", &v, err));
        assert_int_equal(v, 0);
        v = 99;
        assert_ok(build_sandbox_parse_pids("0", &v, err));
        assert_int_equal(v, 0);
        assert_ok(build_sandbox_parse_pids("4194304", &v, err));
        assert_int_equal(v, 4194304);
        v = 5;
        assert_fails(build_sandbox_parse_pids("4194305", &v, err), ERANGE, "at most 4194304", NULL);
        assert_fails(build_sandbox_parse_pids("", &v, err), EINVAL, "pids limit ''", NULL);
        assert_fails(build_sandbox_parse_pids("-2", &v, err), EINVAL, "'-2'", NULL);
        assert_fails(build_sandbox_parse_pids("10k", &v, err), EINVAL, "'10k'", NULL);
        assert_int_equal(v, 5);
}

/* The values written to the leaf's interface files. */
static void
plan_files(void **state)
{
        struct sandbox_cgroup_file f[SANDBOX_CGROUP_MAX_FILES];
        size_t n;

        n = sandbox_cgroup_plan(64ULL << 20, 20, 500, f);
        assert_int_equal(n, 4);
        assert_string_equal(f[0].name, "memory.max");
        assert_string_equal(f[0].value, "67108864");
        assert_int_equal(f[0].controller, SANDBOX_CG_MEMORY);
        assert_false(f[0].optional);
        assert_string_equal(f[1].name, "memory.swap.max");
        assert_string_equal(f[1].value, "0");
        assert_true(f[1].optional);
        assert_string_equal(f[2].name, "pids.max");
        assert_string_equal(f[2].value, "20");
        assert_int_equal(f[2].controller, SANDBOX_CG_PIDS);
        assert_string_equal(f[3].name, "cpu.max");
        assert_string_equal(f[3].value, "50000 100000");
        assert_int_equal(f[3].controller, SANDBOX_CG_CPU);

        /* Only what is set. */
        n = sandbox_cgroup_plan(0, 0, 2000, f);
        assert_int_equal(n, 1);
        assert_string_equal(f[0].name, "cpu.max");
        assert_string_equal(f[0].value, "200000 100000");
        n = sandbox_cgroup_plan(0, 4194304, 0, f);
        assert_int_equal(n, 1);
        assert_string_equal(f[0].value, "4194304");
        assert_int_equal(sandbox_cgroup_plan(0, 0, 0, f), 0);

        /* cpu.max quotas: 0.01 CPU is the kernel's 1 ms minimum; smaller
         * values (not reachable through the parser) are raised to it. */
        sandbox_cgroup_plan(0, 0, 10, f);
        assert_string_equal(f[0].value, "1000 100000");
        sandbox_cgroup_plan(0, 0, 1, f);
        assert_string_equal(f[0].value, "1000 100000");
        sandbox_cgroup_plan(0, 0, 1250, f);
        assert_string_equal(f[0].value, "125000 100000");
        sandbox_cgroup_plan(0, 0, 4096000, f);
        assert_string_equal(f[0].value, "409600000 100000");
        /* memory.max in bytes, exactly. */
        sandbox_cgroup_plan(1536ULL << 20, 0, 0, f);
        assert_string_equal(f[0].value, "1610612736");
}

static void
sizes_and_controllers(void **state)
{
        char b[48];

        sandbox_cgroup_format_size(64ULL << 20, b, sizeof(b));
        assert_string_equal(b, "64 MiB");
        sandbox_cgroup_format_size(1ULL << 30, b, sizeof(b));
        assert_string_equal(b, "1 GiB");
        sandbox_cgroup_format_size(1536ULL << 20, b, sizeof(b));
        assert_string_equal(b, "1536 MiB");
        sandbox_cgroup_format_size(6291457, b, sizeof(b));
        assert_string_equal(b, "6291457 bytes");
        sandbox_cgroup_format_size(3ULL << 40, b, sizeof(b));
        assert_string_equal(b, "3 TiB");
        sandbox_cgroup_format_size(10240, b, sizeof(b));
        assert_string_equal(b, "10 KiB");

        assert_int_equal(sandbox_cgroup_controllers("cpuset cpu io memory hugetlb pids rdma misc\n"),
                         SANDBOX_CG_MEMORY | SANDBOX_CG_PIDS | SANDBOX_CG_CPU);
        assert_int_equal(sandbox_cgroup_controllers("hugetlb\n"), 0);
        assert_int_equal(sandbox_cgroup_controllers(""), 0);
        assert_int_equal(sandbox_cgroup_controllers(NULL), 0);
        /* Whole words only: "cpuset" is not "cpu". */
        assert_int_equal(sandbox_cgroup_controllers("cpuset memoryx"), 0);
        assert_int_equal(sandbox_cgroup_controllers("pids"), SANDBOX_CG_PIDS);
        assert_string_equal(sandbox_cgroup_controller_name(SANDBOX_CG_CPU), "cpu");
        assert_string_equal(sandbox_cgroup_controller_name(SANDBOX_CG_MEMORY), "memory");
        assert_string_equal(sandbox_cgroup_controller_name(SANDBOX_CG_PIDS), "pids");
}

/* This machine's hybrid layout: v1 hierarchies plus cgroup2 at
 * /sys/fs/cgroup/unified. */
static const char *HYBRID = "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
                            "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
                            "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
                            "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
static const char *PURE = "21 26 0:20 / /proc rw,relatime - proc proc rw\n"
                          "25 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
                          "rw,nsdelegate,memory_recursiveprot\n";

static void
find_cgroup(void **state)
{
        char *dir = NULL;

        assert_ok(sandbox_cgroup_find(HYBRID, "9:name=systemd:/\n4:memory:/process_api/x\n0::/\n", &dir, err));
        assert_string_equal(dir, "/sys/fs/cgroup/unified");
        free(dir);
        assert_ok(sandbox_cgroup_find(HYBRID, "0::/ibuild-deleg/sub\n1:cpu:/\n", &dir, err));
        assert_string_equal(dir, "/sys/fs/cgroup/unified/ibuild-deleg/sub");
        free(dir);
        /* Optional tags ("shared:4") before the separator; a file
         * without a final newline. */
        assert_ok(
            sandbox_cgroup_find(PURE, "0::/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope", &dir, err));
        assert_string_equal(dir, "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope");
        free(dir);
        /* A container that mounts only its own sub-tree (ROOT != "/"),
         * after a mount of another sub-tree that does not contain us. */
        assert_ok(sandbox_cgroup_find("50 40 0:30 /other /mnt/other rw - cgroup2 cgroup2 rw\n"
                                      "51 40 0:30 /machine/ctr /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                                      "0::/machine/ctr/build\n", &dir, err));
        assert_string_equal(dir, "/sys/fs/cgroup/build");
        free(dir);
        assert_ok(sandbox_cgroup_find("51 40 0:30 /machine/ctr/ /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                                      "0::/machine/ctr\n", &dir, err));
        assert_string_equal(dir, "/sys/fs/cgroup");
        free(dir);
        /* A prefix of a path component is not a parent: /machine/ctr is
         * not above /machine/ctr2. */
        assert_fails(sandbox_cgroup_find("51 40 0:30 /machine/ctr /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                                         "0::/machine/ctr2/x\n", &dir, err),
                     ENOENT, "/machine/ctr2/x", "not inside any mounted cgroup v2");
        /* mountinfo's octal escapes in the mount point. */
        assert_ok(
            sandbox_cgroup_find("60 1 0:40 / /mnt/cg\\040two\\134x rw - cgroup2 none rw\n", "0::/a b\n", &dir, err));
        assert_string_equal(dir, "/mnt/cg two\\x/a b");
        free(dir);
        dir = NULL;
        /* An fs type that only starts with cgroup2 is something else; a
         * "-" inside a field is no separator. */
        assert_fails(sandbox_cgroup_find("60 1 0:40 / /a-b rw - cgroup2x none rw\n"
                                         "61 1 0:41 / /c rw - cgroup none rw,pids\n",
                                         "0::/\n", &dir, err),
                     ENOENT, "no cgroup v2 hierarchy is mounted", NULL);
        /* cgroup v1 only: no "0::" line. */
        assert_fails(sandbox_cgroup_find(HYBRID, "4:memory:/\n1:cpu:/\n", &dir, err), ENOENT, "no \"0::\" line", NULL);
        assert_fails(sandbox_cgroup_find(HYBRID, "0::relative\n", &dir, err), EINVAL, "'relative'", "not absolute");
        assert_fails(sandbox_cgroup_find("", "0::/\n", &dir, err), ENOENT, "no cgroup v2 hierarchy", NULL);
        /* Truncated lines are skipped, not read past. */
        assert_fails(sandbox_cgroup_find("40 30 0:37 /\n - cgroup2\n -", "0::/\n", &dir, err), ENOENT, NULL, NULL);
        assert_null(dir);
}

/* The running process's own cgroup, as the sandbox finds it. */
static void
find_own_cgroup(void **state)
{
        _cleanup_free_ char *mi = NULL, *self = NULL, *dir = NULL;
        struct err *e = NULL;

        assert_ok(fs_read_file("/proc/self/mountinfo", 1 << 22, &mi, NULL, err));
        assert_ok(fs_read_file("/proc/self/cgroup", 1 << 20, &self, NULL, err));
        if (!strstr(self, "0::")) {
                /* A v1-only host: the error says so. */
                assert_int_equal(sandbox_cgroup_find(mi, self, &dir, &e), -ENOENT);
                err_clear(&e);
                return;
        }
        assert_ok(sandbox_cgroup_find(mi, self, &dir, err));
        {
                _cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
                _cleanup_free_ char *text = NULL;
                char me[32];

                assert_ok(fs_read_file(procs, 1 << 22, &text, NULL, err));
                snprintf(me, sizeof(me), "\n%d\n", (int) getpid());
                if (strncmp(text, me + 1, strlen(me + 1)) != 0 && !strstr(text, me))
                        fail_msg("%s does not list pid %d", procs, (int) getpid());
        }
}

/* A directory of plain files standing in for a cgroup. */
static char *
fake_cgroup(const char *controllers)
{
        char tmpl[] = "/tmp/ibuild-cgtest-XXXXXX";
        char *dir = mkdtemp(tmpl);
        static const char *const names[] = {"cgroup.subtree_control", "cgroup.procs"};
        char *p;

        assert_non_null(dir);
        dir = xstrdup(dir);
        p = xasprintf("%s/cgroup.controllers", dir);
        assert_ok(fs_write_atomic(p, controllers, strlen(controllers), 0644, err));
        free(p);
        for (size_t i = 0; i < 2; i++) {
                p = xasprintf("%s/%s", dir, names[i]);
                assert_ok(fs_write_atomic(p, "", 0, 0644, err));
                free(p);
        }
        return dir;
}

static void
rm_tree(char *dir)
{
        struct err *e = NULL;

        assert_int_equal(fs_rm_rf(dir, &e), 0);
        free(dir);
}

/* Setup against a directory of plain files: the limits whose controller
 * is missing are warnings naming the limit, the dir and the controllers;
 * the others are enabled in cgroup.subtree_control; a leaf is created and
 * removed again when writing its files fails (plain dirs have none). */
static void
setup_in_plain_dir(void **state)
{
        struct build_sandbox_config cfg = {.memory_max = 64ULL << 20, .pids_max = 20, .cpu_millis = 500};
        struct sandbox_cgroup cg = {.leaf = (char *) "untouched", .dirfd = -7};
        _cleanup_free_ char *warnings = NULL, *sub = NULL, *leaf = NULL;
        char *dir;
        struct err *e = NULL;

        if (geteuid() != 0)
                return; /* access() must accept the plain files as root does */
        dir = fake_cgroup("cpuset cpu io\n");
        assert_int_equal(sandbox_cgroup_setup_in(&cfg, dir, &cg, &warnings, &e), -ENOENT);
        assert_non_null(strstr(err_msg(&e), "writing \"50000 100000\" to cpu.max"));
        assert_non_null(strstr(err_msg(&e), dir));
        err_clear(&e);
        /* Failure leaves the output alone. */
        assert_string_equal(cg.leaf, "untouched");
        assert_non_null(warnings);
        leaf = xasprintf("memory limit 64 MiB ignored: the cgroup v2 controller 'memory' is not available in %s "
                         "(cgroup.controllers: \"cpuset cpu io\"",
                         dir);
        if (!strstr(warnings, leaf))
                fail_msg("warnings '%s' lack '%s'", warnings, leaf);
        assert_non_null(strstr(warnings, "pids limit 20 ignored: the cgroup v2 controller 'pids' is not available"));
        assert_null(strstr(warnings, "cpus limit"));
        sub = xasprintf("%s/cgroup.subtree_control", dir);
        {
                _cleanup_free_ char *text = NULL;

                assert_ok(fs_read_file(sub, 4096, &text, NULL, err));
                assert_string_equal(text, "+cpu");
        }
        free(leaf);
        leaf = xasprintf("%s/ibuild-%d-1", dir, (int) getpid());
        assert_int_equal(access(leaf, F_OK), -1);

        /* No usable controller: still a leaf of its own (removed after). */
        free(warnings);
        warnings = NULL;
        cfg = (struct build_sandbox_config){.pids_max = 20};
        assert_ok(sandbox_cgroup_setup_in(&cfg, dir, &cg, &warnings, err));
        assert_non_null(cg.leaf);
        assert_true(strncmp(cg.leaf, dir, strlen(dir)) == 0);
        assert_int_equal(access(cg.leaf, F_OK), 0);
        assert_int_equal(cg.memory_max, 0);
        assert_non_null(strstr(warnings, "pids limit 20 ignored"));
        free(leaf);
        leaf = xstrdup(cg.leaf);
        {
                struct build_sandbox_result res = {0};

                sandbox_cgroup_finish(&cg, &res);
                assert_null(cg.leaf);
                assert_int_equal(cg.dirfd, -1);
                assert_null(res.warnings);
                assert_false(res.oom_killed);
        }
        assert_int_equal(access(leaf, F_OK), -1);

        /* Nothing asked: nothing done. */
        cfg = (struct build_sandbox_config){0};
        assert_ok(sandbox_cgroup_setup_in(&cfg, dir, &cg, &warnings, err));
        assert_null(cg.leaf);
        rm_tree(dir);
}

/* After the step: an OOM kill in memory.events is reported with the limit. */
static void
finish_reports_oom(void **state)
{
        static const struct {
                const char *events;
                int signal;
                const char *want;
        } cases[] = {
            {"low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n", SIGKILL,
             "killed: out of memory (memory limit 64 MiB)"},
            {"low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n", 0,
             "a process of the step was killed: out of memory (memory limit 64 MiB)"},
            {"low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n", SIGKILL, NULL},
            /* "oom_kill" must be a key at the start of a line. */
            {"xoom_kill 5\n", SIGKILL, NULL},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *dir = fake_cgroup("");
                _cleanup_free_ char *ev = xasprintf("%s/memory.events", dir);
                struct sandbox_cgroup cg = {.leaf = xstrdup(dir), .memory_max = 64ULL << 20};
                struct build_sandbox_result res = {.signal = cases[i].signal};

                assert_ok(fs_write_atomic(ev, cases[i].events, strlen(cases[i].events), 0644, err));
                cg.dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                assert_true(cg.dirfd >= 0);
                sandbox_cgroup_finish(&cg, &res);
                assert_null(cg.leaf);
                if (cases[i].want) {
                        assert_true(res.oom_killed);
                        if (!strstr(res.warnings, cases[i].want))
                                fail_msg("case %zu: '%s' lacks '%s'", i, res.warnings, cases[i].want);
                } else {
                        assert_false(res.oom_killed);
                        assert_null(strstr(res.warnings, "out of memory"));
                }
                /* A plain dir with files cannot be removed like a cgroup:
                 * that is a warning, not silence. */
                assert_non_null(strstr(res.warnings, "removing cgroup"));
                build_sandbox_result_clear(&res);
                rm_tree(dir);
        }
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(memory_values),         cmocka_unit_test(cpus_values),
            cmocka_unit_test(pids_values),           cmocka_unit_test(plan_files),
            cmocka_unit_test(sizes_and_controllers), cmocka_unit_test(find_cgroup),
            cmocka_unit_test(find_own_cgroup),       cmocka_unit_test(setup_in_plain_dir),
            cmocka_unit_test(finish_reports_oom),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
