/* builder/exec: durations, in-root path resolution, and whole builds that
 * need no sandbox (FROM scratch + COPY + config) into a temp store. */
#include "tests/unit/test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/exec/exec-internal.h"
#include "builder/exec/exec.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "oci/layout.h"
#include "oci/store.h"

static void
durations(void **state)
{
        struct err *err = NULL;
        int64_t v;

        (void) state;
        assert_int_equal(build_exec_parse_duration("30s", &v, &err), 0);
        assert_true(v == 30000000000LL);
        assert_int_equal(build_exec_parse_duration("1m30s", &v, &err), 0);
        assert_true(v == 90000000000LL);
        assert_int_equal(build_exec_parse_duration("500ms", &v, &err), 0);
        assert_true(v == 500000000LL);
        assert_int_equal(build_exec_parse_duration("1h", &v, &err), 0);
        assert_true(v == 3600000000000LL);
        assert_int_equal(build_exec_parse_duration("0", &v, &err), 0);
        assert_true(v == 0);
        assert_true(build_exec_parse_duration("10", &v, &err) < 0);
        assert_non_null(strstr(err_msg(&err), "unit"));
        err_clear(&err);
        assert_true(build_exec_parse_duration("", &v, &err) < 0);
        err_clear(&err);
        assert_true(build_exec_parse_duration("5x", &v, &err) < 0);
        err_clear(&err);
        assert_true(build_exec_parse_duration("-1s", &v, &err) < 0);
        err_clear(&err);
        /* Only Go's number syntax: no NaN/Inf, hex floats, exponents, signs
         * or spaces (strtod took them all; "nans" was UB). */
        static const char *const bad[] = {"nans", "infs", "0x1p3s", "1e3s", "+1s", " 1s", ".s", "1.5.5s", NULL};
        for (size_t i = 0; bad[i]; i++) {
                if (build_exec_parse_duration(bad[i], &v, &err) == 0)
                        fail_msg("'%s' parsed as %lld ns", bad[i], (long long) v);
                err_clear(&err);
        }
        assert_int_equal(build_exec_parse_duration("1.5s", &v, &err), 0);
        assert_true(v == 1500000000LL);
        assert_int_equal(build_exec_parse_duration(".5s2.ms", &v, &err), 0);
        assert_true(v == 502000000LL);
}

static void
abs_paths(void **state)
{
        char *p;

        (void) state;
        p = xabs_path("/w", "a/../b");
        assert_string_equal(p, "/w/b");
        free(p);
        p = xabs_path(NULL, ".");
        assert_string_equal(p, "/");
        free(p);
        p = xabs_path("/w", "/x/./y/");
        assert_string_equal(p, "/x/y");
        free(p);
        p = xabs_path("/", "../../etc");
        assert_string_equal(p, "/etc");
        free(p);
}

static char *
mktmp(void)
{
        char t[] = "/tmp/ibuild-unit-exec.XXXXXX";

        assert_non_null(mkdtemp(t));
        return xstrdup(t);
}

static void
put(const char *dir, const char *name, const char *text)
{
        char *p = xasprintf("%s/%s", dir, name);

        assert_int_equal(fs_write_atomic(p, text, strlen(text), 0644, NULL), 0);
        free(p);
}

static void
resolve_in_root(void **state)
{
        char *d = mktmp(), *sub, *r = NULL;
        struct err *err = NULL;
        int fd;

        (void) state;
        sub = xasprintf("%s/a/b", d);
        assert_int_equal(fs_mkdir_p(sub, 0755, NULL), 0);
        put(d, "a/b/f", "x");
        put(d, "etc-passwd", "inside");
        free(sub);
        sub = xasprintf("%s/abs", d);
        assert_int_equal(symlink("/a/b", sub), 0);
        free(sub);
        sub = xasprintf("%s/up", d);
        assert_int_equal(symlink("../../../../a", sub), 0);
        free(sub);
        sub = xasprintf("%s/host", d);
        assert_int_equal(symlink("/etc/passwd", sub), 0);
        free(sub);
        sub = xasprintf("%s/loop", d);
        assert_int_equal(symlink("loop", sub), 0);
        free(sub);
        fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);

        assert_int_equal(xresolve_in_root(fd, "abs/f", true, &r, &err), 0);
        assert_string_equal(r, "a/b/f");
        free(r);
        /* ".." never climbs above the root */
        assert_int_equal(xresolve_in_root(fd, "up/b/f", true, &r, &err), 0);
        assert_string_equal(r, "a/b/f");
        free(r);
        assert_int_equal(xresolve_in_root(fd, "../../a/./b/../b/f", true, &r, &err), 0);
        assert_string_equal(r, "a/b/f");
        free(r);
        /* an absolute target is resolved inside the root: /etc/passwd of
         * the host is never reached */
        assert_int_equal(xresolve_in_root(fd, "host", true, &r, &err), -ENOENT);
        assert_non_null(strstr(err_msg(&err), "host"));
        err_clear(&err);
        assert_int_equal(xresolve_in_root(fd, "host", false, &r, &err), 0);
        assert_string_equal(r, "host");
        free(r);
        assert_true(xresolve_in_root(fd, "loop", true, &r, &err) < 0);
        assert_int_equal(err_code(&err), ELOOP);
        err_clear(&err);
        assert_int_equal(xresolve_in_root(fd, ".", true, &r, &err), 0);
        assert_string_equal(r, ".");
        free(r);
        close(fd);
        fs_rm_rf(d, NULL);
        free(d);
}

struct events {
        int steps, cached;
};

static void
on_event(void *data, enum build_event ev, const char *text, double secs)
{
        struct events *e = data;

        (void) text;
        (void) secs;
        if (ev == BUILD_EVENT_STEP)
                e->steps++;
        if (ev == BUILD_EVENT_CACHED)
                e->cached++;
}

static int
build(const char *ctx, struct oci_store *store, struct events *ev, struct build_exec_result *res, struct err **err)
{
        struct build_exec_opts o;

        build_exec_opts_init(&o);
        o.context = ctx;
        o.store = store;
        o.event = on_event;
        o.event_data = ev;
        o.source_date_epoch = 1000;
        return build_exec_run(&o, res, err);
}

static void
scratch_copy_build(void **state)
{
        char *d = mktmp(), *ctx = xasprintf("%s/ctx", d), *sp = xasprintf("%s/store", d);
        struct oci_store *store = NULL;
        struct build_exec_result res = {0}, res2 = {0};
        struct events ev = {0};
        struct err *err = NULL;
        struct oci_image_config *cfg = NULL;
        struct digest cd;
        char *buf = NULL;
        size_t len;

        (void) state;
        assert_int_equal(fs_mkdir_p(ctx, 0755, NULL), 0);
        put(ctx, "Dockerfile",
            "FROM scratch\nCOPY a.txt /app/\nWORKDIR /app\nENV K=v\nENTRYPOINT [\"/app/a.txt\"]\nLABEL x=y\n");
        put(ctx, "a.txt", "hello\n");
        assert_int_equal(oci_store_open(sp, &store, &err), 0);
        if (build(ctx, store, &ev, &res, &err) < 0)
                fail_msg("%s", err_msg(&err));
        assert_int_equal(res.steps, 5);
        assert_int_equal(res.cached, 0);
        assert_int_equal(digest_parse(res.config_digest, &cd, NULL), 0);
        assert_int_equal(oci_layout_read_blob(oci_store_layout(store), &cd, LIMIT_CONFIG_SIZE, &buf, &len, NULL), 0);
        assert_int_equal(oci_image_config_parse(buf, len, &cfg, NULL), 0);
        assert_string_equal(oci_image_config_getenv(cfg, "K"), "v");
        assert_string_equal(cfg->config.working_dir, "/app");
        assert_string_equal(cfg->config.entrypoint[0], "/app/a.txt");
        assert_string_equal(oci_map_get(cfg->config.labels, "x"), "y");
        assert_int_equal(oci_strv_len(cfg->diff_ids), 1); /* WORKDIR /app exists after COPY */
        assert_string_equal(cfg->created, "1970-01-01T00:16:40Z");
        oci_image_config_free(cfg);
        free(buf);

        /* Everything cached, same digest. */
        ev.cached = 0;
        if (build(ctx, store, &ev, &res2, &err) < 0)
                fail_msg("%s", err_msg(&err));
        assert_int_equal(res2.cached, 5);
        assert_string_equal(res.manifest.digest, res2.manifest.digest);
        build_exec_result_clear(&res2);

        /* A changed source misses from the COPY on. */
        put(ctx, "a.txt", "changed\n");
        if (build(ctx, store, &ev, &res2, &err) < 0)
                fail_msg("%s", err_msg(&err));
        assert_int_equal(res2.cached, 0);
        assert_string_not_equal(res.manifest.digest, res2.manifest.digest);
        build_exec_result_clear(&res2);

        /* Errors name the file and line. */
        put(ctx, "Dockerfile", "FROM scratch\nCOPY nothere /x\n");
        assert_true(build(ctx, store, &ev, &res2, &err) < 0);
        assert_non_null(strstr(err_msg(&err), "Dockerfile:2"));
        assert_non_null(strstr(err_msg(&err), "nothere"));
        err_clear(&err);
        put(ctx, "Dockerfile", "FROM scratch\nHEALTHCHECK --interval=5 CMD true\n");
        assert_true(build(ctx, store, &ev, &res2, &err) < 0);
        assert_non_null(strstr(err_msg(&err), "Dockerfile:2"));
        err_clear(&err);
        put(ctx, "Dockerfile", "FROM not-in-store:1\n");
        {
                struct build_exec_opts o;

                build_exec_opts_init(&o);
                o.context = ctx;
                o.store = store;
                o.pull = BUILD_PULL_NEVER;
                assert_true(build_exec_run(&o, &res2, &err) < 0);
                assert_non_null(strstr(err_msg(&err), "not-in-store"));
                err_clear(&err);
        }

        build_exec_result_clear(&res);
        oci_store_free(store);
        fs_rm_rf(d, NULL);
        free(d);
        free(ctx);
        free(sp);
}

static void
outputs(void **state)
{
        char *d = mktmp(), *ctx = xasprintf("%s/ctx", d), *sp = xasprintf("%s/store", d), *dest;
        struct oci_store *store = NULL;
        struct build_exec_result res = {0};
        struct events ev = {0};
        struct err *err = NULL;
        struct oci_layout *lay = NULL;
        struct oci_descriptor found;
        struct build_output out;
        struct stat st;

        (void) state;
        assert_int_equal(fs_mkdir_p(ctx, 0755, NULL), 0);
        put(ctx, "Dockerfile", "FROM scratch\nCOPY f /f\n");
        put(ctx, "f", "x");
        assert_int_equal(oci_store_open(sp, &store, &err), 0);
        assert_int_equal(build(ctx, store, &ev, &res, &err), 0);
        dest = xasprintf("type=oci,dest=%s/lay", d);
        assert_int_equal(build_output_parse(dest, &out, &err), 0);
        assert_int_equal(build_exec_output(store, &res.manifest, &out, "app:2", &err), 0);
        build_output_clear(&out);
        free(dest);
        dest = xasprintf("%s/lay", d);
        assert_int_equal(oci_layout_open(dest, &lay, &err), 0);
        assert_int_equal(oci_layout_find(lay, "2", &found, &err), 0);
        assert_string_equal(found.digest, res.manifest.digest);
        assert_int_equal(oci_layout_validate(lay, OCI_VALIDATE_REHASH, NULL, &err), 0);
        oci_descriptor_clear(&found);
        oci_layout_free(lay);
        free(dest);
        dest = xasprintf("type=oci-archive,dest=%s/a.tar", d);
        assert_int_equal(build_output_parse(dest, &out, &err), 0);
        assert_int_equal(build_exec_output(store, &res.manifest, &out, NULL, &err), 0);
        build_output_clear(&out);
        free(dest);
        dest = xasprintf("%s/a.tar", d);
        assert_int_equal(stat(dest, &st), 0);
        assert_true(st.st_size > 1024);
        free(dest);
        /* An image output is the caller's (tag, push), not a file. */
        assert_int_equal(build_output_parse("type=registry,name=r/a:1", &out, &err), 0);
        assert_true(build_exec_output(store, &res.manifest, &out, NULL, &err) < 0);
        assert_non_null(strstr(err_msg(&err), "type=registry"));
        err_clear(&err);
        build_output_clear(&out);
        build_exec_result_clear(&res);
        oci_store_free(store);
        fs_rm_rf(d, NULL);
        free(d);
        free(ctx);
        free(sp);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(durations),       cmocka_unit_test(abs_paths), cmocka_unit_test(resolve_in_root),
                cmocka_unit_test(scratch_copy_build), cmocka_unit_test(outputs),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
