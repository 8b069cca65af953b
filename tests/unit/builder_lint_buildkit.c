/* BuildKit's build checks: for each a Dockerfile that triggers it (at the
 * right line, with BuildKit's message) and one that does not. */
#include "tests/unit/lint-test.h"

#include <stdlib.h>

/* TEXT yields RULE at LINE with a message containing WANT. */
static void
expect_msg(const char *text, const struct build_df_lint_opts *opts, const char *rule, int line, const char *want)
{
        struct build_df_lint *l = lint_opts(text, opts);
        const char *m = message_of(l, rule);

        if (count(l, rule, line) != 1 || m == NULL || strstr(m, want) == NULL) {
                dump_findings(l);
                build_df_lint_free(l);
                fail_msg("expected %s at line %d saying '%s' in:\n%s", rule, line, want, text);
        }
        build_df_lint_free(l);
}

static void
stage_name_casing(void **state)
{
        expect_msg("FROM a:1 AS BuildStage\n" OK_TAIL, NULL, "StageNameCasing", 1,
                   "Stage name 'BuildStage' should be lowercase");
        expect_none("FROM a:1 AS build-stage_2\nFROM build-stage_2\n" OK_TAIL, "StageNameCasing");
}

static void
from_as_casing(void **state)
{
        expect_msg("FROM a:1 as build\n" OK_TAIL, NULL, "FromAsCasing", 1,
                   "'as' and 'FROM' keywords' casing do not match");
        expect("from a:1 AS build\nuser app\n", "FromAsCasing", 1);
        /* A mixed-case FROM is ConsistentInstructionCasing's business. */
        expect_none("FROM a:1 AS b\nfrom b as c\nFrom c as d\n" OK_TAIL, "FromAsCasing");
}

static void
instruction_casing(void **state)
{
        expect_msg("FROM a:1\nrun x\nUSER app\n", NULL, "ConsistentInstructionCasing", 2,
                   "Command 'run' should match the case of the command majority (uppercase)");
        expect_msg("from a:1\nrun x\nRUN y\nuser app\n", NULL, "ConsistentInstructionCasing", 3,
                   "Command 'RUN' should match the case of the command majority (lowercase)");
        /* A tie goes to upper case; a mixed-case keyword is always wrong. */
        expect("from a:1\nUSER app\n", "ConsistentInstructionCasing", 1);
        expect("FROM a:1\nRun x\nUSER app\n", "ConsistentInstructionCasing", 2);
        /* Global ARGs before the first FROM are not counted. */
        expect_none("arg V=1\nFROM a:$V\nUSER app\n", "ConsistentInstructionCasing");
        expect_none("from a:1\nrun x\nuser app\n", "ConsistentInstructionCasing");
}

static void
reserved_stage_name(void **state)
{
        expect_msg("FROM a:1 AS scratch\n" OK_TAIL, NULL, "ReservedStageName", 1,
                   "Stage name should not use the same name as reserved stage \"scratch\"");
        expect("FROM a:1 AS Context\n" OK_TAIL, "ReservedStageName", 1);
        expect_none("FROM a:1 AS contexts\nFROM scratch\n" OK_TAIL, "ReservedStageName");
}

static void
undefined_arg_in_from(void **state)
{
        expect_msg("ARG VERSION=1\nFROM a:$VERSIN\n" OK_TAIL, NULL, "UndefinedArgInFrom", 2,
                   "FROM argument 'VERSIN' is not declared (did you mean VERSION?)");
        expect("FROM --platform=$PLATFORM a:1\n" OK_TAIL, "UndefinedArgInFrom", 1);
        /* Not reported twice as UndefinedVar. */
        expect_none("FROM a:$NOPE\n" OK_TAIL, "UndefinedVar");
        expect_none("ARG V\nFROM --platform=$BUILDPLATFORM a:${V} AS b\nFROM a:${W:-1}\nFROM $TARGETOS:1\n" OK_TAIL,
                    "UndefinedArgInFrom");
}

static void
workdir_relative(void **state)
{
        expect_msg("FROM a:1\nWORKDIR app\n" OK_TAIL, NULL, "WorkdirRelativePath", 2,
                   "Relative workdir \"app\" can have unexpected results if the base image changes");
        /* After an absolute WORKDIR (here or in the base stage), relative is fine. */
        expect_none("FROM a:1 AS b\nWORKDIR /app\nWORKDIR sub\nFROM b\nWORKDIR more\nWORKDIR $X\n" OK_TAIL,
                    "WorkdirRelativePath");
        expect("FROM a:1 AS b\nWORKDIR /app\nFROM a:1\nWORKDIR rel\n" OK_TAIL, "WorkdirRelativePath", 4);
}

static void
multiple_instructions(void **state)
{
        expect_msg("FROM a:1\nCMD [\"a\"]\nCMD [\"b\"]\n" OK_TAIL, NULL, "MultipleInstructionsDisallowed", 2,
                   "Multiple CMD instructions should not be used in the same stage because only the last one will "
                   "be used");
        expect("FROM a:1\nENTRYPOINT [\"a\"]\nENTRYPOINT [\"b\"]\n" OK_TAIL, "MultipleInstructionsDisallowed", 2);
        expect("FROM a:1\nHEALTHCHECK NONE\nHEALTHCHECK CMD [\"x\"]\n" OK_TAIL, "MultipleInstructionsDisallowed", 2);
        expect_none("FROM a:1 AS b\nCMD [\"a\"]\nFROM b\nCMD [\"b\"]\nENTRYPOINT [\"c\"]\n" OK_TAIL,
                    "MultipleInstructionsDisallowed");
}

static void
legacy_key_value(void **state)
{
        expect_msg("FROM a:1\nENV A 1\n" OK_TAIL, NULL, "LegacyKeyValueFormat", 2,
                   "\"ENV key=value\" should be used instead of legacy \"ENV key value\" format");
        expect("FROM a:1\nLABEL maintainer me\n" OK_TAIL, "LegacyKeyValueFormat", 2);
        expect_none("FROM a:1\nENV A=1 B=\"2 3\"\nLABEL a=b\n" OK_TAIL, "LegacyKeyValueFormat");
}

static void
redundant_target_platform(void **state)
{
        expect_msg("FROM --platform=$TARGETPLATFORM a:1\n" OK_TAIL, NULL, "RedundantTargetPlatform", 1,
                   "Setting platform to predefined $TARGETPLATFORM in FROM is redundant");
        expect("FROM --platform=${TARGETPLATFORM} a:1\n" OK_TAIL, "RedundantTargetPlatform", 1);
        expect_none("FROM --platform=$BUILDPLATFORM a:1\nFROM --platform=${TARGETPLATFORM:-linux/arm64} a:1\n" OK_TAIL,
                    "RedundantTargetPlatform");
}

static void
const_platform(void **state)
{
        expect_msg("FROM --platform=linux/amd64 a:1\n" OK_TAIL, NULL, "FromPlatformFlagConstDisallowed", 1,
                   "FROM --platform flag should not use constant value \"linux/amd64\"");
        /* A stage named after its platform means it. */
        expect_none("FROM --platform=linux/arm64 a:1 AS build-arm64\nFROM --platform=$BUILDPLATFORM a:1\n"
                    "FROM --platform=linux/amd64 a:1 AS linux-base\n" OK_TAIL,
                    "FromPlatformFlagConstDisallowed");
        /* An OS alone names no architecture (found by fuzz_dockerfile). */
        expect("FROM --platform=linux a:1 AS build\n" OK_TAIL, "FromPlatformFlagConstDisallowed", 1);
}

static void
default_arg_in_from(void **state)
{
        expect_msg("ARG TAG\nFROM alpine:${TAG}\n" OK_TAIL, NULL, "InvalidDefaultArgInFrom", 2,
                   "Default value for ARG alpine:${TAG} results in empty or invalid base image name");
        expect("ARG IMG\nFROM $IMG\n" OK_TAIL, "InvalidDefaultArgInFrom", 2);
        expect("ARG IMG=\"Bad/Name\"\nFROM $IMG\n" OK_TAIL, "InvalidDefaultArgInFrom", 2);
        expect_none("ARG TAG=3.19\nARG IMG=\"alpine\"\nARG N\nFROM alpine:${TAG}\nFROM $IMG:${N:-3}\n"
                    "FROM alpine${N:+:$N}\nFROM $UNDECLARED\nFROM $TARGETOS\n" OK_TAIL,
                    "InvalidDefaultArgInFrom");
}

static void
expose_rules(void **state)
{
        expect_msg("FROM a:1\nEXPOSE 8080/TCP\n" OK_TAIL, NULL, "ExposeProtoCasing", 2,
                   "Defined protocol '8080/TCP' in EXPOSE instruction should be lowercase");
        expect_none("FROM a:1\nEXPOSE 8080/tcp 9000/udp 3000\n" OK_TAIL, "ExposeProtoCasing");
        expect_msg("FROM a:1\nEXPOSE 127.0.0.1:8080:8080\n" OK_TAIL, NULL, "ExposeInvalidFormat", 2,
                   "EXPOSE instruction should not define an IP address or host-port mapping, found "
                   "'127.0.0.1:8080:8080'");
        expect("FROM a:1\nEXPOSE 8080:8080/udp\n" OK_TAIL, "ExposeInvalidFormat", 2);
        expect_none("FROM a:1\nEXPOSE 8080 8000-8010/tcp ${PORT}\n" OK_TAIL, "ExposeInvalidFormat");
}

static void
copy_ignored_file(void **state)
{
        const char *pats[] = {"secret.txt", "build/", "*.log"};
        const char *exp[] = {"CopyIgnoredFile"};
        struct build_ignore *ig = NULL, *ig_exc = NULL, *ig_all = NULL;
        const char *text = "FROM a:1\nCOPY secret.txt /x\nCOPY build/out /y\nCOPY ./src/../app.log /z\n"
                           "COPY --from=b secret.txt /w\nCOPY main.go /m\nADD secret.txt /s\n" OK_TAIL;
        struct build_df_lint_opts o = {.experimental = exp, .n_experimental = 1};
        struct build_df_lint *l;

        assert_ok(build_ignore_new(pats, 3, &ig, err));
        o.ignore = ig;
        l = lint_opts(text, &o);
        assert_int_equal(count(l, "CopyIgnoredFile", 0), 4);
        assert_int_equal(count(l, "CopyIgnoredFile", 2), 1);
        assert_int_equal(count(l, "CopyIgnoredFile", 3), 1);
        assert_int_equal(count(l, "CopyIgnoredFile", 4), 1);
        assert_int_equal(count(l, "CopyIgnoredFile", 7), 1);
        assert_string_equal(message_of(l, "CopyIgnoredFile"),
                            "Attempting to Copy file \"secret.txt\" that is excluded by .dockerignore");
        build_df_lint_free(l);
        /* Experimental: off unless asked for (also by the directive). */
        o.experimental = NULL;
        o.n_experimental = 0;
        expect_none_opts(text, &o, "CopyIgnoredFile");
        {
                char *t2 = xasprintf("# check=experimental=CopyIgnoredFile\n%s", text);
                expect_opts(t2, &o, "CopyIgnoredFile", 3);
                free(t2);
        }
        /* With exception patterns nothing is reported (too hard to tell). */
        {
                const char *p2[] = {"build/", "!build/out"};
                assert_ok(build_ignore_new(p2, 2, &ig_exc, err));
                o.ignore = ig_exc;
                o.experimental = exp;
                o.n_experimental = 1;
                expect_none_opts(text, &o, "CopyIgnoredFile");
        }
        /* The context root only when everything is excluded. */
        {
                const char *p3[] = {"*"};
                assert_ok(build_ignore_new(p3, 1, &ig_all, err));
                o.ignore = ig;
                expect_none_opts("FROM a:1\nCOPY . /app\n" OK_TAIL, &o, "CopyIgnoredFile");
                o.ignore = ig_all;
                expect_opts("FROM a:1\nCOPY . /app\n" OK_TAIL, &o, "CopyIgnoredFile", 2);
        }
        build_ignore_free(ig);
        build_ignore_free(ig_exc);
        build_ignore_free(ig_all);
}

static void
definition_description(void **state)
{
        const char *exp[] = {"all"};
        struct build_df_lint_opts o = {.experimental = exp, .n_experimental = 1};

        expect_opts("# a non-descriptive comment\nFROM a:1 AS base\n" OK_TAIL, &o, "InvalidDefinitionDescription", 2);
        {
                struct build_df_lint *l = lint_opts("FROM a:1\n# another comment\nARG VERSION=1\n" OK_TAIL, &o);
                assert_int_equal(count(l, "InvalidDefinitionDescription", 3), 1);
                assert_string_equal(message_of(l, "InvalidDefinitionDescription"),
                                    "Comment for ARG should follow the format: `# VERSION <description>`");
                build_df_lint_free(l);
        }
        expect_none_opts("# syntax=docker/dockerfile:1\nARG X\n# base is a stage for compiling\nFROM a:1 AS base\n"
                         "# VERSION This is the version number.\nARG VERSION=1\n# a comment\n\nARG OTHER\n"
                         "# B the second\nARG A B=2\n" OK_TAIL,
                         &o, "InvalidDefinitionDescription");
        /* Experimental: off by default; without the source text, silent. */
        expect_none("# nothing\nFROM a:1 AS base\n" OK_TAIL, "InvalidDefinitionDescription");
}

/* InvalidBaseImagePlatform: only with a base callback that knows the
 * image's platform. */
struct plat_base {
        const char *os, *arch;
};

static int
plat_base(void *data, const char *image, const char *platform, struct build_df_lint_base *ret)
{
        struct plat_base *pb = data;

        if (strcmp(image, "local/app:1") != 0)
                return 0;
        ret->os = pb->os;
        ret->arch = pb->arch;
        return 1;
}

static void
base_image_platform(void **state)
{
        struct plat_base pb = {"linux", "arm64"};
        struct build_df_lint_opts o = {.base = plat_base, .base_data = &pb, .platform = "linux/amd64"};

        expect_msg("FROM local/app:1\n" OK_TAIL, &o, "InvalidBaseImagePlatform", 1,
                   "Base image local/app:1 was pulled with platform \"linux/arm64\", expected \"linux/amd64\" for "
                   "current build");
        /* A constant --platform is what is expected then. */
        expect_none_opts("FROM --platform=linux/arm64 local/app:1\n" OK_TAIL, &o, "InvalidBaseImagePlatform");
        expect_none_opts("FROM --platform=$BUILDPLATFORM local/app:1\nFROM other:1\n" OK_TAIL, &o,
                         "InvalidBaseImagePlatform");
        pb.arch = "amd64";
        expect_none_opts("FROM local/app:1\n" OK_TAIL, &o, "InvalidBaseImagePlatform");
        /* A target of an OS alone: nothing to compare. */
        o.platform = "linux";
        pb.arch = "arm64";
        expect_none_opts("FROM local/app:1\nFROM --platform=linux local/app:1\n" OK_TAIL, &o,
                         "InvalidBaseImagePlatform");
        o.platform = "linux/amd64";
        /* Unknown base: a documented no-op. */
        expect_none("FROM local/app:1\n" OK_TAIL, "InvalidBaseImagePlatform");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(stage_name_casing),         cmocka_unit_test(from_as_casing),
            cmocka_unit_test(instruction_casing),        cmocka_unit_test(reserved_stage_name),
            cmocka_unit_test(undefined_arg_in_from),     cmocka_unit_test(workdir_relative),
            cmocka_unit_test(multiple_instructions),     cmocka_unit_test(legacy_key_value),
            cmocka_unit_test(redundant_target_platform), cmocka_unit_test(const_platform),
            cmocka_unit_test(default_arg_in_from),       cmocka_unit_test(expose_rules),
            cmocka_unit_test(copy_ignored_file),         cmocka_unit_test(definition_description),
            cmocka_unit_test(base_image_platform),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
