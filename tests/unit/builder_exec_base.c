/* builder/exec base images without a sandbox (FROM scratch builds into a
 * temp store): ONBUILD triggers of an image expand with its ENV and are not
 * inherited, a stage's OnBuild is its own, a platform the base lacks is an
 * error naming both, and build_base_config_lookup_local reads local
 * configs only. */
#include "tests/unit/test.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "builder/dockerfile/plan.h"
#include "builder/exec/exec.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "oci/layout.h"
#include "oci/store.h"

/* A platform no test machine is. */
#define FOREIGN "linux/s390x"

struct env {
        char *dir, *ctx, *store_path;
        struct oci_store *store;
};

static void
env_init(struct env *e)
{
        char t[] = "/tmp/ibuild-unit-base.XXXXXX";

        assert_non_null(mkdtemp(t));
        e->dir = xstrdup(t);
        e->ctx = xasprintf("%s/ctx", t);
        e->store_path = xasprintf("%s/store", t);
        assert_int_equal(fs_mkdir_p(e->ctx, 0755, NULL), 0);
        assert_int_equal(oci_store_open(e->store_path, &e->store, NULL), 0);
}

static void
env_clear(struct env *e)
{
        oci_store_free(e->store);
        fs_rm_rf(e->dir, NULL);
        free(e->dir);
        free(e->ctx);
        free(e->store_path);
}

static void
dockerfile(struct env *e, const char *text)
{
        char *p = xasprintf("%s/Dockerfile", e->ctx);

        assert_int_equal(fs_write_atomic(p, text, strlen(text), 0644, NULL), 0);
        free(p);
}

/* Build the context with PLATFORM (may be NULL); tag TAG when not NULL;
 * the config in *ret_cfg when not NULL.  The build's return value. */
static int
build(struct env *e, const char *platform, const char *tag, struct oci_image_config **ret_cfg, struct err **err)
{
        struct build_exec_opts o;
        struct build_exec_result res = {0};
        int r;

        build_exec_opts_init(&o);
        o.context = e->ctx;
        o.store = e->store;
        o.platform = platform;
        o.pull = BUILD_PULL_NEVER;
        o.source_date_epoch = 1000;
        r = build_exec_run(&o, &res, err);
        if (r < 0)
                return r;
        if (tag)
                assert_int_equal(oci_store_tag(e->store, tag, &res.manifest, NULL), 0);
        if (ret_cfg) {
                struct digest cd;
                char *buf = NULL;
                size_t len;

                assert_int_equal(digest_parse(res.config_digest, &cd, NULL), 0);
                assert_int_equal(
                    oci_layout_read_blob(oci_store_layout(e->store), &cd, LIMIT_CONFIG_SIZE, &buf, &len, NULL), 0);
                assert_int_equal(oci_image_config_parse(buf, len, ret_cfg, NULL), 0);
                free(buf);
        }
        build_exec_result_clear(&res);
        return 0;
}

static void
image_onbuild(void **state)
{
        struct env e = {0};
        struct oci_image_config *cfg = NULL;
        struct err *err = NULL;

        (void) state;
        env_init(&e);
        dockerfile(&e, "FROM scratch\nENV BASEVAR=fromimage PATH=/img/bin\nONBUILD LABEL t=$BASEVAR p=${PATH}\n");
        if (build(&e, NULL, "base:1", &cfg, &err) < 0)
                fail_msg("%s", err_msg(&err));
        assert_string_equal(cfg->config.on_build[0], "LABEL t=$BASEVAR p=${PATH}");
        oci_image_config_free(cfg);

        /* The child runs the trigger with the image's ENV (BuildKit), and
         * does not pass it on. */
        dockerfile(&e, "FROM base:1\nLABEL c=1\n");
        if (build(&e, NULL, NULL, &cfg, &err) < 0)
                fail_msg("%s", err_msg(&err));
        assert_string_equal(oci_map_get(cfg->config.labels, "t"), "fromimage");
        assert_string_equal(oci_map_get(cfg->config.labels, "p"), "/img/bin");
        assert_null(cfg->config.on_build);
        oci_image_config_free(cfg);

        /* A stage's triggers run in the child stage; the child's OnBuild is
         * its own ONBUILD lines only. */
        dockerfile(&e, "FROM scratch AS parent\nENV V=p\nONBUILD LABEL x=$V\nFROM parent\nONBUILD LABEL own=1\n");
        if (build(&e, NULL, NULL, &cfg, &err) < 0)
                fail_msg("%s", err_msg(&err));
        assert_string_equal(oci_map_get(cfg->config.labels, "x"), "p");
        assert_int_equal(oci_strv_len(cfg->config.on_build), 1);
        assert_string_equal(cfg->config.on_build[0], "LABEL own=1");
        oci_image_config_free(cfg);
        env_clear(&e);
}

static void
platforms(void **state)
{
        struct env e = {0};
        struct oci_image_config *cfg = NULL;
        struct err *err = NULL;
        char *host = build_plan_host_platform();

        (void) state;
        env_init(&e);
        {
                char *f = xasprintf("%s/f", e.ctx);

                assert_int_equal(fs_write_atomic(f, "x", 1, 0644, NULL), 0);
                free(f);
        }
        dockerfile(&e, "FROM scratch\nCOPY f /f\n");
        if (build(&e, NULL, "base:1", NULL, &err) < 0)
                fail_msg("%s", err_msg(&err));

        /* A platform the single-platform base lacks: an error naming both. */
        dockerfile(&e, "FROM base:1\nLABEL c=1\n");
        assert_true(build(&e, FOREIGN, NULL, NULL, &err) < 0);
        assert_non_null(strstr(err_msg(&err), "Dockerfile:1"));
        assert_non_null(strstr(err_msg(&err), "no image for platform " FOREIGN));
        assert_non_null(strstr(err_msg(&err), host));
        err_clear(&err);
        dockerfile(&e, "FROM --platform=" FOREIGN " base:1\n");
        assert_true(build(&e, NULL, NULL, NULL, &err) < 0);
        assert_non_null(strstr(err_msg(&err), "no image for platform " FOREIGN));
        err_clear(&err);

        /* A list: not supported yet, said so. */
        dockerfile(&e, "FROM base:1\n");
        assert_true(build(&e, "linux/amd64,linux/arm64", NULL, NULL, &err) < 0);
        assert_non_null(strstr(err_msg(&err), "linux/amd64,linux/arm64: multi-platform builds are not supported yet"));
        err_clear(&err);

        /* What works stays: the base's own platform, FROM
         * --platform=$BUILDPLATFORM with a foreign target, scratch. */
        if (build(&e, host, NULL, &cfg, &err) < 0)
                fail_msg("%s", err_msg(&err));
        oci_image_config_free(cfg);
        dockerfile(&e, "FROM --platform=$BUILDPLATFORM base:1 AS b\nFROM scratch\nCOPY --from=b /f /f\n");
        if (build(&e, FOREIGN, NULL, &cfg, &err) < 0)
                fail_msg("%s", err_msg(&err));
        assert_string_equal(cfg->architecture, "s390x");
        oci_image_config_free(cfg);
        dockerfile(&e, "FROM scratch\nLABEL s=1\n");
        if (build(&e, FOREIGN, NULL, &cfg, &err) < 0)
                fail_msg("%s", err_msg(&err));
        assert_string_equal(cfg->architecture, "s390x");
        oci_image_config_free(cfg);
        free(host);
        env_clear(&e);
}

static void
lookup_local(void **state)
{
        struct env e = {0};
        struct oci_image_config *cfg = NULL;
        struct err *err = NULL;
        char *nostore;
        struct stat st;

        (void) state;
        env_init(&e);
        dockerfile(&e, "FROM scratch\nENV K=v\nONBUILD RUN make\n");
        if (build(&e, NULL, "base:1", NULL, &err) < 0)
                fail_msg("%s", err_msg(&err));
        assert_int_equal(build_base_config_lookup_local(e.store_path, "base:1", NULL, &cfg, &err), 1);
        assert_string_equal(oci_image_config_getenv(cfg, "K"), "v");
        assert_string_equal(cfg->config.on_build[0], "RUN make");
        oci_image_config_free(cfg);
        cfg = NULL;
        /* Not in the store: not available (a build would pull it). */
        assert_int_equal(build_base_config_lookup_local(e.store_path, "example.com/app:1", NULL, &cfg, &err), 0);
        assert_null(cfg);
        /* A store that does not exist is empty, and stays absent. */
        nostore = xasprintf("%s/none", e.dir);
        assert_int_equal(build_base_config_lookup_local(nostore, "base:1", NULL, &cfg, &err), 0);
        assert_int_equal(stat(nostore, &st), -1);
        free(nostore);
        /* A platform asked for must be the image's. */
        assert_true(build_base_config_lookup_local(e.store_path, "base:1", FOREIGN, &cfg, &err) < 0);
        assert_non_null(strstr(err_msg(&err), "base:1: no image for platform " FOREIGN));
        err_clear(&err);
        env_clear(&e);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(image_onbuild),
            cmocka_unit_test(platforms),
            cmocka_unit_test(lookup_local),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
