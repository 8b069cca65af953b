/* Lint checks: for each check a Dockerfile that triggers it (at the right
 * line) and one that does not; skipping and error mode. */
#include "tests/unit/lint-test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void
unpinned(void **state)
{
        expect("FROM ubuntu\n" OK_TAIL, "UnpinnedBaseImage", 1);
        expect("FROM a\nFROM docker.io/library/alpine:latest\n" OK_TAIL, "UnpinnedBaseImage", 2);
        expect("FROM localhost:5000/app\n" OK_TAIL, "UnpinnedBaseImage", 1);
        expect("ARG IMG=debian\nFROM ${IMG}\n" OK_TAIL, "UnpinnedBaseImage", 2);
        expect_none("FROM ubuntu:22.04 AS b\nFROM b\nFROM scratch\nFROM alpine@sha256:0123\n"
                    "FROM localhost:5000/app:1.0\nARG V=3.19\nFROM alpine:$V\nFROM $UNKNOWN\n" OK_TAIL,
                    "UnpinnedBaseImage");
}

static void
run_as_root(void **state)
{
        expect("FROM a:1\nRUN x\n", "RunAsRoot", 1);
        expect("FROM a:1\nUSER app\nUSER root\n", "RunAsRoot", 3);
        expect("FROM a:1\nUSER 0:0\n", "RunAsRoot", 2);
        expect("FROM a:1 AS base\nUSER app\nFROM b:1\n", "RunAsRoot", 3);
        /* A USER in an earlier stage the final one builds on carries over. */
        expect_none("FROM a:1 AS base\nUSER app\nFROM base\nRUN x\n", "RunAsRoot");
        expect_none("FROM a:1\nUSER root\nRUN apt-get x\nUSER 1000:1000\n", "RunAsRoot");
        /* A scratch stage without CMD/ENTRYPOINT exports files (buildx's
         * `--output` stages); nothing runs it. */
        expect_none("FROM golang:1 AS build\nRUN go build\nFROM scratch AS binaries\nCOPY --from=build /x /\n",
                    "RunAsRoot");
        expect_none("FROM scratch AS a\nCOPY x /\nFROM a\nCOPY y /\n", "RunAsRoot");
        /* ... but one that runs a program runs it as root. */
        expect("FROM scratch\nCOPY app /\nENTRYPOINT [\"/app\"]\n", "RunAsRoot", 1);
        expect("FROM scratch AS base\nCMD [\"/app\"]\nFROM base\n", "RunAsRoot", 3);
}

static void
add_instead_of_copy(void **state)
{
        expect("FROM a:1\nADD src/ /app/\n" OK_TAIL, "AddInsteadOfCopy", 2);
        expect("FROM a:1\nADD [\"a b\", \"c\", \"/d/\"]\n" OK_TAIL, "AddInsteadOfCopy", 2);
        expect_none("FROM a:1\nADD https://example.com/x.bin /x\nADD rootfs.tar.gz /\n"
                    "ADD git@github.com:a/b.git /src\nADD --checksum=sha256:00 file /f\nCOPY a /b\n" OK_TAIL,
                    "AddInsteadOfCopy");
        /* ADD of a heredoc writes inline content, no local file. */
        expect_none("FROM a:1\nADD <<EOT /etc/motd\nhello\nEOT\nADD --chmod=755 <<EOF /x.sh\necho\nEOF\n" OK_TAIL,
                    "AddInsteadOfCopy");
}

static void
secrets(void **state)
{
        expect("FROM a:1\nARG DB_PASSWORD\n" OK_TAIL, "SecretsUsedInArgOrEnv", 2);
        expect("FROM a:1\nENV GITHUB_TOKEN=x\n" OK_TAIL, "SecretsUsedInArgOrEnv", 2);
        expect("ARG AWS_SECRET_ACCESS_KEY=x\nFROM a:1\n" OK_TAIL, "SecretsUsedInArgOrEnv", 1);
        expect("FROM a:1\nENV SIGNING_KEY abc\n" OK_TAIL, "SecretsUsedInArgOrEnv", 2);
        expect("FROM a:1\nARG apikey=1\n" OK_TAIL, "SecretsUsedInArgOrEnv", 2);
        expect_none("FROM a:1\nARG VERSION=1\nENV PATH=/x KEYBOARD=us GPG_PUBLIC_KEY=x MONKEY=1\n" OK_TAIL,
                    "SecretsUsedInArgOrEnv");
        /* BuildKit's rule: whole words between '_' only, and names that
         * point at a secret (a file, a version) rather than hold one. */
        expect("FROM a:1\nARG AUTH\n" OK_TAIL, "SecretsUsedInArgOrEnv", 2);
        expect("FROM a:1\nENV registry_credentials=x\n" OK_TAIL, "SecretsUsedInArgOrEnv", 2);
        expect_none("FROM a:1\nARG MYSQL_PASSWORD_FILE=/run/secrets/db\nENV GITHUB_TOKEN_FILE=/t\n"
                    "ARG SECRET_VERSION=2\nARG Public_Key_File\nARG DBPASSWORD\nENV AUTHOR=me\n" OK_TAIL,
                    "SecretsUsedInArgOrEnv");
}

static void
apt(void **state)
{
        const char *bad = "FROM a:1\nRUN apt-get update && apt-get install -y curl\n" OK_TAIL;
        const char *good = "FROM a:1\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends curl \\\n"
                           " && rm -rf /var/lib/apt/lists/*\n" OK_TAIL;

        expect(bad, "AptGetNoInstallRecommends", 2);
        expect(bad, "AptGetListsNotCleaned", 2);
        expect_none(good, "AptGetNoInstallRecommends");
        expect_none(good, "AptGetListsNotCleaned");
        /* The flag may come before "install"; JSON form and heredocs count. */
        expect_none("FROM a:1\nRUN apt-get --no-install-recommends install -y x; rm -rf /var/lib/apt/lists\n" OK_TAIL,
                    "AptGetNoInstallRecommends");
        expect("FROM a:1\nRUN [\"apt-get\", \"install\", \"-y\", \"x\"]\n" OK_TAIL, "AptGetNoInstallRecommends", 2);
        expect("FROM a:1\nRUN <<EOF\nset -e\napt-get install -y --no-install-recommends x\nEOF\n" OK_TAIL,
               "AptGetListsNotCleaned", 2);
        /* Cleaning in another RUN does not help the layer. */
        expect("FROM a:1\nRUN apt-get install --no-install-recommends -y x\nRUN rm -rf /var/lib/apt/lists/*\n" OK_TAIL,
               "AptGetListsNotCleaned", 2);
        expect_none("FROM a:1\nRUN apt-get update\nRUN echo install\n" OK_TAIL, "AptGetListsNotCleaned");
}

/* AptGetListsNotCleaned: apt-get dist-clean, lists on a cache mount, and
 * stages that do not end up in the final image. */
static void
apt_lists_exemptions(void **state)
{
        const char *inst = "apt-get update && apt-get install -y --no-install-recommends curl";
        char buf[512];

        snprintf(buf, sizeof(buf), "FROM a:1\nRUN %s && apt-get dist-clean\n" OK_TAIL, inst);
        expect_none(buf, "AptGetListsNotCleaned");
        snprintf(buf, sizeof(buf), "FROM a:1\nRUN --mount=type=cache,target=/var/lib/apt %s\n" OK_TAIL, inst);
        expect_none(buf, "AptGetListsNotCleaned");
        snprintf(buf, sizeof(buf),
                 "FROM a:1\nRUN --mount=type=cache,sharing=locked,dst=/var/lib/apt/lists/ \\\n"
                 "    --mount=type=cache,target=/var/cache/apt %s\n" OK_TAIL,
                 inst);
        expect_none(buf, "AptGetListsNotCleaned");
        /* A bind mount there, or a cache elsewhere, keeps them. */
        snprintf(buf, sizeof(buf), "FROM a:1\nRUN --mount=type=bind,target=/var/lib/apt/lists %s\n" OK_TAIL, inst);
        expect(buf, "AptGetListsNotCleaned", 2);
        snprintf(buf, sizeof(buf), "FROM a:1\nRUN --mount=type=cache,target=/var/cache/apt %s\n" OK_TAIL, inst);
        expect(buf, "AptGetListsNotCleaned", 2);
        /* A build stage the final image only copies from. */
        snprintf(buf, sizeof(buf), "FROM a:1 AS build\nRUN %s\nFROM b:1\nCOPY --from=build /x /x\n" OK_TAIL, inst);
        expect_none(buf, "AptGetListsNotCleaned");
        /* A stage the final one builds on is part of the image. */
        snprintf(buf, sizeof(buf), "FROM a:1 AS base\nRUN %s\nFROM b:1 AS other\nFROM base\n" OK_TAIL, inst);
        expect(buf, "AptGetListsNotCleaned", 2);
        /* Skipping works for the deferred findings too. */
        {
                const char *skip[] = {"AptGetListsNotCleaned"};
                struct build_df_lint_opts o = {.skip = skip, .n_skip = 1};

                snprintf(buf, sizeof(buf), "FROM a:1\nRUN %s\n" OK_TAIL, inst);
                expect_none_opts(buf, &o, "AptGetListsNotCleaned");
        }
}

static void
maintainer(void **state)
{
        expect("FROM a:1\nMAINTAINER me\n" OK_TAIL, "MaintainerDeprecated", 2);
        expect_none("FROM a:1\nLABEL maintainer=me\n" OK_TAIL, "MaintainerDeprecated");
}

static void
json_args(void **state)
{
        expect("FROM a:1\nCMD run --fast\n" OK_TAIL, "JSONArgsRecommended", 2);
        expect("FROM a:1\nENTRYPOINT /app\n" OK_TAIL, "JSONArgsRecommended", 2);
        expect_none("FROM a:1\nCMD [\"run\", \"--fast\"]\nENTRYPOINT [\"/app\"]\nCMD []\n" OK_TAIL,
                    "JSONArgsRecommended");
}

static void
duplicate_stage(void **state)
{
        expect("FROM a:1 AS build\nFROM b:1 AS Build\n" OK_TAIL, "DuplicateStageName", 2);
        expect_none("FROM a:1 AS build\nFROM b:1 AS test\nFROM c:1\n" OK_TAIL, "DuplicateStageName");
}

static void
undefined_var(void **state)
{
        expect("FROM a:1\nWORKDIR $APP_DIR\n" OK_TAIL, "UndefinedVar", 2);
        expect("FROM a:1\nARG APP_DIR=/x\nCOPY --chown=${USR} a b\n" OK_TAIL, "UndefinedVar", 3);
        /* Meta ARGs are not in a stage's scope until declared again. */
        expect("ARG V=1\nFROM a:$V\nENV X=$V\n" OK_TAIL, "UndefinedVar", 3);
        /* ENV values see the environment from before the instruction. */
        expect("FROM a:1\nENV A=1 B=$A\n" OK_TAIL, "UndefinedVar", 2);
        /* Stages do not share ARGs, only ENVs of a parent stage. */
        expect("FROM a:1 AS one\nARG X=1\nFROM one\nENV Y=$X\n" OK_TAIL, "UndefinedVar", 4);
        {
                struct build_df_lint *l = lint_opts("FROM a:1\nARG APP_DIR=/x\nWORKDIR $APP_DIRR\n" OK_TAIL, NULL);
                assert_int_equal(count(l, "UndefinedVar", 3), 1);
                assert_non_null(strstr(l->findings[0].message, "did you mean $APP_DIR?"));
                build_df_lint_free(l);
        }
        expect_none(
            "ARG V=1\nARG BASE\nFROM $BASE:$V\nARG V\nENV A=1\nENV B=$A C=${V} D=\\$NOTAVAR E='$LITERAL'\n"
            "WORKDIR ${UNSET:-/default}\nUSER ${U:+x}\nLABEL x=$PATH\nFROM --platform=$BUILDPLATFORM a:1 AS one\n"
            "ENV FROMONE=1\nFROM one\nCOPY --from=one $FROMONE /\nRUN echo $NOT_CHECKED_IN_RUN\n" OK_TAIL,
            "UndefinedVar");
}

/* The automatic platform ARGs are defined in the global scope (global ARG
 * values, FROM), not inside a stage until declared there. */
static void
undefined_var_platform(void **state)
{
        expect_none("ARG PLAT=${BUILDPLATFORM}\nARG OSARCH=$TARGETOS-$TARGETARCH$TARGETVARIANT\n"
                    "ARG B=$BUILDOS/$BUILDARCH/$BUILDVARIANT T=$TARGETPLATFORM S=$TARGETSTAGE\nFROM a:1\n" OK_TAIL,
                    "UndefinedVar");
        expect("FROM a:1\nENV X=$TARGETARCH\n" OK_TAIL, "UndefinedVar", 2);
        expect_none("FROM a:1\nARG TARGETARCH\nENV X=$TARGETARCH\n" OK_TAIL, "UndefinedVar");
        /* Other undeclared names in a global ARG still are undefined. */
        expect("ARG A=$NOPE\nFROM a:1\n" OK_TAIL, "UndefinedVar", 1);
}

/* A fake base image store for the lint's base callback. */
struct fake_base {
        const char *image; /* the only image it knows */
        const char *const *env;
        size_t n_env;
        const char *workdir, *user, *os, *arch;
        char seen[256]; /* "image|platform;" of every call */
};

static int
fake_base(void *data, const char *image, const char *platform, struct build_df_lint_base *ret)
{
        struct fake_base *fb = data;
        size_t n = strlen(fb->seen);

        snprintf(fb->seen + n, sizeof(fb->seen) - n, "%s|%s;", image, platform ? platform : "-");
        if (strcmp(image, fb->image) != 0)
                return 0;
        ret->env = fb->env;
        ret->n_env = fb->n_env;
        ret->workdir = fb->workdir;
        ret->user = fb->user;
        ret->os = fb->os;
        ret->arch = fb->arch;
        return 1;
}

static void
base_env_hook(void **state)
{
        static const char *const env[] = {"PATH=/go/bin:/usr/local/go/bin", "GOPATH=/go", "GOLANG_VERSION=1.22.1"};
        struct fake_base fb = {.image = "golang:1.22", .env = env, .n_env = 3};
        struct build_df_lint_opts o = {.base = fake_base, .base_data = &fb};
        const char *text = "FROM golang:1.22\nWORKDIR $GOPATH/src\nENV V=$GOLANG_VERSION\n" OK_TAIL;

        /* Without the hook the base image's ENV is unknown. */
        expect(text, "UndefinedVar", 2);
        expect_none_opts(text, &o, "UndefinedVar");
        assert_string_equal(fb.seen, "golang:1.22|-;");
        /* The name after global ARG defaults; stages built on it inherit. */
        fb.seen[0] = '\0';
        expect_none_opts("ARG GO=1.22\nFROM golang:${GO} AS b\nFROM b\nENV X=$GOPATH\n" OK_TAIL, &o, "UndefinedVar");
        assert_string_equal(fb.seen, "golang:1.22|-;");
        /* The platform asked for: the constant --platform, else the target. */
        fb.seen[0] = '\0';
        o.platform = "linux/arm64";
        expect_none_opts("FROM golang:1.22\nFROM --platform=linux/amd64 golang:1.22\nENV X=$GOPATH\n" OK_TAIL, &o,
                         "UndefinedVar");
        assert_string_equal(fb.seen, "golang:1.22|linux/arm64;golang:1.22|linux/amd64;");
        /* An image the hook does not know: still undefined; its name is not
         * asked for scratch or stage bases. */
        fb.seen[0] = '\0';
        expect_opts("FROM scratch AS s\nFROM s\nFROM alpine:3\nENV X=$GOPATH\n" OK_TAIL, &o, "UndefinedVar", 4);
        assert_string_equal(fb.seen, "alpine:3|linux/arm64;");
        /* Its User counts for RunAsRoot, its WorkingDir for WORKDIR checks. */
        o.platform = NULL;
        fb.user = "nobody";
        fb.workdir = "/go";
        expect_none_opts("FROM golang:1.22\nWORKDIR src\nCOPY a .\n", &o, "RunAsRoot");
        expect_none_opts("FROM golang:1.22\nWORKDIR src\nCOPY a .\n", &o, "WorkdirRelativePath");
        expect_none_opts("FROM golang:1.22\nWORKDIR src\nCOPY a .\n", &o, "CopyRelativeDestination");
        expect("FROM golang:1.22\nWORKDIR src\n", "WorkdirRelativePath", 2);
        fb.user = "0";
        expect_opts("FROM golang:1.22\n", &o, "RunAsRoot", 1);
}

static void
privileged_port(void **state)
{
        expect("FROM a:1\nEXPOSE 8080 80/tcp\n" OK_TAIL, "ExposePrivilegedPort", 2);
        expect_none("FROM a:1\nEXPOSE 8080 1024/udp $PORT 3000-3005\n" OK_TAIL, "ExposePrivilegedPort");
}

static void
bad_json(void **state)
{
        expect("FROM a:1\nCMD ['echo', 'hi']\n" OK_TAIL, "JSONArgsInvalid", 2);
        expect("FROM a:1\nENTRYPOINT [\"a\", \"b\"\n" OK_TAIL, "JSONArgsInvalid", 2);
        expect("FROM a:1\nCOPY [ \"a\", \"b\" \n" OK_TAIL, "JSONArgsInvalid", 2);
        /* Not also reported as shell form. */
        expect_none("FROM a:1\nCMD ['echo', 'hi']\n" OK_TAIL, "JSONArgsRecommended");
        expect_none("FROM a:1\nRUN [ -f /x ] && echo y\nCMD [\"a\"]\nCOPY [\"a\", \"b\"]\n" OK_TAIL, "JSONArgsInvalid");
        /* The shell's test command with quoted operands (moby, buildx). */
        expect_none("FROM a:1\nRUN [ \"$TARGETARCH\" = \"amd64\" ] && echo x\nRUN [ \"$X\" ] || exit 1\n"
                    "RUN [ 'a' != \"$B\" ]\n" OK_TAIL,
                    "JSONArgsInvalid");
        expect("FROM a:1\nRUN [ 'apt-get', 'update' ]\n" OK_TAIL, "JSONArgsInvalid", 2);
        expect("FROM a:1\nCMD [ 'serve' ]\n" OK_TAIL, "JSONArgsInvalid", 2);
}

static void
empty_continuation(void **state)
{
        expect("FROM a:1\nRUN a \\\n\n  b\n" OK_TAIL, "NoEmptyContinuation", 3);
        expect_none("FROM a:1\nRUN a \\\n  # comment\n  b\n\n" OK_TAIL, "NoEmptyContinuation");
}

static void
skip_and_error(void **state)
{
        const char *text = "FROM ubuntu\nMAINTAINER me\n";
        const char *skip1[] = {"maintainerdeprecated", "RunAsRoot"};
        const char *all[] = {"all"};
        const char *bad[] = {"NoSuchCheck"};
        struct build_df_lint_opts o = {.skip = skip1, .n_skip = 2};
        struct build_df_lint *l;
        struct build_df_file *f = NULL;
        _cleanup_err_ struct err *err = NULL;

        l = lint_opts(text, NULL);
        assert_int_equal(l->n_findings, 3);
        assert_false(l->error);
        /* Sorted by line. */
        assert_int_equal(l->findings[0].line, 1);
        assert_int_equal(l->findings[2].line, 2);
        build_df_lint_free(l);

        l = lint_opts(text, &o);
        assert_int_equal(l->n_findings, 1);
        assert_string_equal(l->findings[0].rule, "UnpinnedBaseImage");
        build_df_lint_free(l);

        o = (struct build_df_lint_opts){.skip = all, .n_skip = 1, .error = true};
        l = lint_opts(text, &o);
        assert_int_equal(l->n_findings, 0);
        assert_true(l->error);
        build_df_lint_free(l);

        /* The directive: skip list and error mode. */
        l = lint_opts("# check=skip=UnpinnedBaseImage,RunAsRoot,Bogus;error=true\nFROM ubuntu\nMAINTAINER me\n", NULL);
        assert_int_equal(l->n_findings, 1);
        assert_string_equal(l->findings[0].rule, "MaintainerDeprecated");
        assert_true(l->error);
        build_df_lint_free(l);
        l = lint_opts("# check=skip=all\nFROM ubuntu\nMAINTAINER me\n", NULL);
        assert_int_equal(l->n_findings, 0);
        assert_false(l->error);
        build_df_lint_free(l);

        /* An unknown name from the caller is an error naming it. */
        assert_int_equal(build_df_parse(text, strlen(text), "Dockerfile", &f, &err), 0);
        o = (struct build_df_lint_opts){.skip = bad, .n_skip = 1};
        l = NULL;
        assert_true(build_df_lint_run(f, &o, &l, &err) < 0);
        assert_null(l);
        assert_int_equal(err_code(&err), EINVAL);
        assert_non_null(strstr(err_msg(&err), "NoSuchCheck"));
        build_df_file_free(f);
        build_df_lint_free(NULL);
}

static void
rule_table(void **state)
{
        size_t n, i, j;
        const struct build_df_lint_rule *r = build_df_lint_rules(&n);

        assert_int_equal(n, 41);
        for (i = 0; i < n; i++) {
                assert_non_null(r[i].name);
                assert_true(strlen(r[i].description) > 10);
                for (j = 0; j < i; j++)
                        assert_string_not_equal(r[i].name, r[j].name);
        }
}

/* Many names and stages: stage lookup and variable scopes are hashed (a
 * 40-stage file finds the right parent after the tables grow), and large
 * generated files finish quickly instead of taking quadratic time. */
static void
many_names(void **state)
{
        struct df_text {
                char *s;
                size_t len;
        } t = {0};
        FILE *m;
        struct build_df_lint *l;
        struct timespec a, b;
        int i;

        /* 40 named stages; stage 39 builds on "S7" (case-insensitive) and
         * uses its ENV; a duplicate name far down is reported. */
        m = open_memstream(&t.s, &t.len);
        for (i = 0; i < 40; i++)
                fprintf(m, "FROM %s AS s%d\nENV V%d=1\n", i == 39 ? "S7" : "alpine:3", i, i);
        fprintf(m, "ENV A=$V7 B=$V8\nFROM alpine:3 AS S20\n" OK_TAIL);
        fclose(m);
        l = lint_opts(t.s, NULL);
        assert_int_equal(count(l, "UndefinedVar", 81), 1); /* $V8 only */
        assert_int_equal(count(l, "DuplicateStageName", 82), 1);
        build_df_lint_free(l);
        free(t.s);

        clock_gettime(CLOCK_MONOTONIC, &a);
        /* A chain of 5,000 stages under 5,000 ENV names, then 20,000 ENV
         * names and 5,000 undefined uses in one stage. */
        t.s = NULL;
        m = open_memstream(&t.s, &t.len);
        fprintf(m, "FROM alpine:3 AS c0\nENV");
        for (i = 0; i < 5000; i++)
                fprintf(m, " e%d=1", i);
        fprintf(m, "\n");
        for (i = 0; i < 5000; i++)
                fprintf(m, "FROM c%d AS c%d\n", i, i + 1);
        fprintf(m, "FROM alpine:3\nENV");
        for (i = 0; i < 20000; i++)
                fprintf(m, " f%d=1", i);
        fprintf(m, "\nENV");
        for (i = 0; i < 5000; i++)
                fprintf(m, " g%d=$u%d", i, i);
        /* A RUN line of 20,000 words is scanned for heredocs. */
        fprintf(m, "\nRUN");
        for (i = 0; i < 20000; i++)
                fprintf(m, " w%d", i);
        fprintf(m, "\n" OK_TAIL);
        fclose(m);
        l = lint_opts(t.s, NULL);
        clock_gettime(CLOCK_MONOTONIC, &b);
        assert_true(l->n_findings >= 5000);
        build_df_lint_free(l);
        free(t.s);
        /* Minutes before the tables were hashed; well under a second now
         * (generous for a sanitizer build on a loaded machine). */
        assert_true(b.tv_sec - a.tv_sec < 60);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(unpinned),
            cmocka_unit_test(run_as_root),
            cmocka_unit_test(add_instead_of_copy),
            cmocka_unit_test(secrets),
            cmocka_unit_test(apt),
            cmocka_unit_test(maintainer),
            cmocka_unit_test(json_args),
            cmocka_unit_test(duplicate_stage),
            cmocka_unit_test(undefined_var),
            cmocka_unit_test(undefined_var_platform),
            cmocka_unit_test(base_env_hook),
            cmocka_unit_test(apt_lists_exemptions),
            cmocka_unit_test(privileged_port),
            cmocka_unit_test(bad_json),
            cmocka_unit_test(empty_continuation),
            cmocka_unit_test(skip_and_error),
            cmocka_unit_test(rule_table),
            cmocka_unit_test(many_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
