/* Dockerfile parser and validator: directives, continuations, heredocs,
 * JSON/shell forms, flags, positions in errors, per-instruction rules. */
#include "tests/unit/test.h"

#include <stdio.h>
#include <stdlib.h>

#include "builder/dockerfile/parser.h"
#include "common/limits.h"

static struct build_df_file *
parse_ok(const char *text)
{
        struct build_df_file *f = NULL;
        _cleanup_err_ struct err *err = NULL;

        if (build_df_parse(text, strlen(text), "Dockerfile", &f, &err) < 0)
                fail_msg("parse failed: %s\n%s", err_msg(&err), text);
        return f;
}

static void
parse_fail(const char *text, const char *needle)
{
        struct build_df_file *f = NULL;
        _cleanup_err_ struct err *err = NULL;

        if (build_df_parse(text, strlen(text), "Dockerfile", &f, &err) == 0) {
                build_df_file_free(f);
                fail_msg("parsed, but must fail:\n%s", text);
        }
        assert_null(f);
        if (strstr(err_msg(&err), needle) == NULL)
                fail_msg("error \"%s\" lacks \"%s\"", err_msg(&err), needle);
}

static void
validate_fail(const char *text, const char *needle)
{
        struct build_df_file *f = parse_ok(text);
        _cleanup_err_ struct err *err = NULL;

        if (build_df_validate(f, &err) == 0) {
                build_df_file_free(f);
                fail_msg("validated, but must fail:\n%s", text);
        }
        if (strstr(err_msg(&err), needle) == NULL)
                fail_msg("error \"%s\" lacks \"%s\"", err_msg(&err), needle);
        assert_int_equal(err_code(&err), ERR_PARSE);
        build_df_file_free(f);
}

static void
validate_ok(const char *text)
{
        struct build_df_file *f = parse_ok(text);
        _cleanup_err_ struct err *err = NULL;

        if (build_df_validate(f, &err) < 0)
                fail_msg("validate failed: %s\n%s", err_msg(&err), text);
        build_df_file_free(f);
}

static void
assert_dump(const char *text, const char *want)
{
        struct build_df_file *f = parse_ok(text);
        _cleanup_free_ char *got = build_df_dump(f);

        if (strcmp(got, want) != 0)
                fail_msg("dump of\n%s\ngot\n%s\nwant\n%s", text, got, want);
        build_df_file_free(f);
}

static void
directives(void **state)
{
        struct build_df_file *f;

        f = parse_ok("# syntax=docker/dockerfile:1\n#ESCAPE = `\n# Check=skip=A,B;error=true\nFROM a\nRUN x `\n y\n");
        assert_int_equal(f->escape, '`');
        assert_string_equal(f->syntax, "docker/dockerfile:1");
        assert_int_equal(f->syntax_line, 1);
        assert_int_equal(f->escape_line, 2);
        assert_string_equal(f->check, "skip=A,B;error=true");
        assert_int_equal(f->n_instrs, 2);
        assert_string_equal(f->instrs[1].args[0], "x  y");
        build_df_file_free(f);

        /* A directive after a plain comment or a blank line is a comment. */
        f = parse_ok("# hello\n# escape=`\nFROM a\n");
        assert_int_equal(f->escape, '\\');
        assert_null(f->syntax);
        build_df_file_free(f);
        f = parse_ok("\n# escape=`\nFROM a\n");
        assert_int_equal(f->escape, '\\');
        build_df_file_free(f);
        /* After the first instruction too. */
        f = parse_ok("FROM a\n# escape=`\n# escape=`\n");
        assert_int_equal(f->escape, '\\');
        build_df_file_free(f);

        parse_fail("# escape=`\n# escape=\\\nFROM a\n", "Dockerfile:2:1: only one escape parser directive");
        parse_fail("# syntax=a\n# SYNTAX=b\nFROM a\n", "only one syntax parser directive");
        parse_fail("# escape=x\nFROM a\n", "Dockerfile:1:10: invalid escape token 'x'");
        parse_fail("# escape=``\nFROM a\n", "invalid escape token");
}

static void
continuations(void **state)
{
        struct build_df_file *f;

        /* Blanks after the escape char, comment and empty lines inside. */
        assert_dump("FROM a\nRUN echo a \\  \t\n# comment\n   # indented comment\n\n  b \\\n c\n",
                    "(from \"a\")\n(run \"echo a   b  c\")\n");
        f = parse_ok("FROM a\nRUN a \\\n\n b\n");
        assert_int_equal(f->n_warnings, 1);
        assert_non_null(strstr(f->warnings[0], "Dockerfile:3: empty continuation line"));
        assert_int_equal(f->instrs[1].start_line, 2);
        assert_int_equal(f->instrs[1].end_line, 4);
        build_df_file_free(f);
        /* An escaped escape char at the end does not continue. */
        assert_dump("FROM a\nENV A x\\\\\nENV B y\n",
                    "(from \"a\")\n(env \"A\" \"x\\\\\\\\\" \"\")\n(env \"B\" \"y\" \"\")\n");
        /* CRLF line endings and a byte order mark. */
        assert_dump("\xEF\xBB\xBF"
                    "FROM a\r\nRUN a \\\r\n  b\r\n",
                    "(from \"a\")\n(run \"a   b\")\n");
        /* Comment lines are dropped; leading blanks before instructions too. */
        assert_dump("  # c\n\t FROM a # not a comment\n", "(from \"a\" \"#\" \"not\" \"a\" \"comment\")\n");
}

static void
heredocs(void **state)
{
        struct build_df_file *f;
        const struct build_df_heredoc *h;

        f = parse_ok("FROM a\n"
                     "RUN <<EOF\n"
                     "echo $A\n"
                     "EOF\n"
                     "RUN <<-'X' 3<<\"Y\"\n"
                     "\tone\n"
                     "\t\tX\n"
                     "X\n"
                     "two\n"
                     "Y\n"
                     "COPY <<F1 <<F2 /dest/\n"
                     "c1\n"
                     "F1\n"
                     "F2\n"
                     "ONBUILD RUN <<E\n"
                     "x\n"
                     "E\n"
                     "RUN [\"<<EOF\"]\n"
                     "RUN '<<EOF' \"<<Q\"\n");
        assert_int_equal(f->n_instrs, 7);
        assert_int_equal(f->instrs[1].n_heredocs, 1);
        h = &f->instrs[1].heredocs[0];
        assert_string_equal(h->name, "EOF");
        assert_string_equal(h->content, "echo $A\n");
        assert_true(h->expand);
        assert_false(h->chomp);
        assert_int_equal(h->fd, -1);
        assert_int_equal(h->start_line, 3);
        assert_int_equal(h->end_line, 4);
        assert_int_equal(f->instrs[1].end_line, 4);
        assert_string_equal(f->instrs[1].args[0], "<<EOF");

        assert_int_equal(f->instrs[2].n_heredocs, 2);
        h = &f->instrs[2].heredocs[0];
        assert_string_equal(h->name, "X");
        /* <<- strips leading tabs, also before the delimiter. */
        assert_string_equal(h->content, "one\n");
        assert_false(h->expand);
        assert_true(h->chomp);
        h = &f->instrs[2].heredocs[1];
        assert_string_equal(h->name, "Y");
        assert_int_equal(h->fd, 3);
        assert_false(h->expand);
        assert_string_equal(h->content, "X\ntwo\n");

        assert_int_equal(f->instrs[3].n_heredocs, 2);
        assert_string_equal(f->instrs[3].heredocs[0].content, "c1\n");
        assert_string_equal(f->instrs[3].heredocs[1].content, "");
        assert_int_equal(f->instrs[3].n_args, 3);

        /* ONBUILD's trigger carries its heredoc. */
        assert_non_null(f->instrs[4].sub);
        assert_int_equal(f->instrs[4].n_heredocs, 0);
        assert_int_equal(f->instrs[4].sub->n_heredocs, 1);
        assert_string_equal(f->instrs[4].sub->heredocs[0].content, "x\n");
        /* Not in JSON form, not when quoted. */
        assert_int_equal(f->instrs[5].n_heredocs, 0);
        assert_true(f->instrs[5].json);
        assert_int_equal(f->instrs[6].n_heredocs, 0);
        build_df_file_free(f);

        /* Only RUN, COPY and ADD take heredocs. */
        f = parse_ok("FROM a\nUSER <<X\nRUN x\n");
        assert_int_equal(f->n_instrs, 3);
        assert_int_equal(f->instrs[1].n_heredocs, 0);
        build_df_file_free(f);
        /* CRLF bodies: the terminator matches, the body keeps its bytes. */
        f = parse_ok("FROM a\r\nRUN <<EOF\r\nhi\r\nEOF\r\n");
        assert_string_equal(f->instrs[1].heredocs[0].content, "hi\r\n");
        build_df_file_free(f);

        parse_fail("FROM a\nRUN <<EOF\necho\n", "Dockerfile:2:1: unterminated heredoc EOF");
        parse_fail("FROM a\nCOPY <<A <<B /x\nA\nno B\n", "unterminated heredoc B");
}

static void
json_forms(void **state)
{
        struct build_df_file *f;

        f = parse_ok("CMD [\"a\", \"b\\u0000c\", \"\\ud83d\\ude00\", \"\\ud800\"]\nCMD [\"a\"] x\nCMD [1,\n");
        assert_true(f->instrs[0].json);
        assert_int_equal(f->instrs[0].n_args, 4);
        assert_int_equal(f->instrs[0].arg_lens[1], 3);
        assert_memory_equal(f->instrs[0].args[1], "b\0c", 3);
        assert_string_equal(f->instrs[0].args[2], "\xF0\x9F\x98\x80");
        assert_string_equal(f->instrs[0].args[3], "\xEF\xBF\xBD");
        /* Trailing text or broken JSON: shell form, as Docker does. */
        assert_false(f->instrs[1].json);
        assert_string_equal(f->instrs[1].args[0], "[\"a\"] x");
        assert_false(f->instrs[2].json);
        build_df_file_free(f);

        assert_dump("COPY [\"a b\", \"c\"]\nVOLUME [\"/v\"]\nVOLUME /a /b\nSHELL [\"sh\",\"-c\"]\n",
                    "(copy \"a b\" \"c\")\n(volume \"/v\")\n(volume \"/a\" \"/b\")\n(shell \"sh\" \"-c\")\n");
        parse_fail("FROM a\nRUN [\"a\", 1]\n", "Dockerfile:2:5: when using JSON array syntax");
        parse_fail("FROM a\nCOPY [\"a\", {\"b\": 1}]\n", "arrays must be comprised of strings only");
        /* Nested non-strings inside invalid JSON: just shell form. */
        assert_dump("CMD [\"a\", [1] x\n", "(cmd \"[\\\"a\\\", [1] x\")\n");
}

static void
flags(void **state)
{
        struct build_df_file *f;
        const struct build_df_instr *in;
        const struct build_df_flag *fl;

        f = parse_ok(
            "FROM a\nCOPY --from=build --chown=\"me:me\" --link --exclude=a \\\n    --exclude=b -- --notaflag /d\n");
        in = &f->instrs[1];
        assert_int_equal(in->n_flags, 5);
        assert_string_equal(in->flags[1].raw, "--chown=me:me");
        assert_string_equal(in->flags[1].value, "me:me");
        assert_null(in->flags[2].value);
        assert_string_equal(in->flags[2].name, "link");
        fl = build_df_flag(in, "from");
        assert_non_null(fl);
        assert_string_equal(fl->value, "build");
        assert_int_equal(fl->pos.line, 2);
        assert_int_equal(fl->pos.col, 6);
        fl = build_df_flag(in, "exclude");
        assert_string_equal(fl->value, "a");
        fl = build_df_flag_next(in, "exclude", fl);
        assert_string_equal(fl->value, "b");
        assert_int_equal(fl->pos.line, 3);
        assert_int_equal(fl->pos.col, 5);
        assert_null(build_df_flag_next(in, "exclude", fl));
        assert_null(build_df_flag(in, "chmod"));
        assert_int_equal(in->n_args, 2);
        assert_string_equal(in->args[0], "--notaflag");
        build_df_file_free(f);
}

static void
arg_shapes(void **state)
{
        assert_dump("ENV a=1 b=\"x y\" c=d\\ e\nENV k the rest  of it\nLABEL \"k\"=v\n",
                    "(env \"a\" \"1\" \"=\" \"b\" \"\\\"x y\\\"\" \"=\" \"c\" \"d\\\\ e\" \"=\")\n"
                    "(env \"k\" \"the rest  of it\" \"\")\n"
                    "(label \"\\\"k\\\"\" \"v\" \"=\")\n");
        assert_dump("ARG a b=2 c=\"x y\"\n", "(arg \"a\" \"b=2\" \"c=\\\"x y\\\"\")\n");
        assert_dump("FROM --platform=$BUILDPLATFORM img AS b\nHEALTHCHECK NONE\nHEALTHCHECK CMD [\"a\"]\n"
                    "ONBUILD COPY --from=x a b\nMaintainer me <m@x>\nexpose 80/tcp 443\nworkdir /a b\n",
                    "(from [\"--platform=$BUILDPLATFORM\"] \"img\" \"AS\" \"b\")\n(healthcheck \"NONE\")\n"
                    "(healthcheck \"CMD\" \"a\")\n(onbuild (copy [\"--from=x\"] \"a\" \"b\"))\n"
                    "(maintainer \"me <m@x>\")\n(expose \"80/tcp\" \"443\")\n(workdir \"/a b\")\n");
        parse_fail("FROM a\nENV a=1 b\n", "Syntax error - can't find = in \"b\"");
        parse_fail("FROM a\nLABEL x\n", "LABEL must have two arguments");
}

static void
errors(void **state)
{
        struct build_df_file *f = NULL;
        _cleanup_err_ struct err *err = NULL;
        _cleanup_free_ char *big = NULL;
        size_t n;

        parse_fail("FROM a\n   RUNN x\n", "Dockerfile:2:4: unknown instruction: RUNN (did you mean RUN?)");
        parse_fail("FROM a\ncopy x y\nHEALTHCHEK CMD x\n",
                   "Dockerfile:3:1: unknown instruction: HEALTHCHEK (did you mean HEALTHCHECK?)");
        parse_fail("FROM a\nfrobnicate x\n", "unknown instruction: FROBNICATE");
        parse_fail("FROM a\nONBUILD ONBUILD RUN x\n", "Chaining ONBUILD");
        parse_fail("", "file with no instructions");
        parse_fail("# only\n\n   \n", "file with no instructions");
        {
                const char text[] = "FROM a\nRUN x\0y\n";
                assert_true(build_df_parse(text, sizeof(text) - 1, "Dockerfile", &f, &err) < 0);
                assert_non_null(strstr(err_msg(&err), "Dockerfile:2:6: NUL byte"));
                err_clear(&err);
        }
        /* Caps: one logical line, the whole file. */
        n = LIMIT_DOCKERFILE_LINE + 10;
        big = xmalloc(n + 32);
        memcpy(big, "FROM a\nRUN a \\\n", 15);
        memset(big + 15, 'x', n);
        big[15 + n] = '\0';
        assert_true(build_df_parse(big, strlen(big), "Dockerfile", &f, &err) < 0);
        assert_int_equal(err_code(&err), ERR_SIZE_INVALID);
        err_clear(&err);
        {
                _cleanup_free_ char *huge = xmalloc((size_t) LIMIT_DOCKERFILE_SIZE + 1);
                memset(huge, '\n', (size_t) LIMIT_DOCKERFILE_SIZE + 1);
                assert_true(build_df_parse(huge, (size_t) LIMIT_DOCKERFILE_SIZE + 1, "Dockerfile", &f, &err) < 0);
                assert_int_equal(err_code(&err), ERR_SIZE_INVALID);
        }
        assert_null(f);
}

static void
validation(void **state)
{
        validate_ok("# a good file\nARG V=1\nFROM --platform=linux/amd64 img:$V AS build\n"
                    "RUN --mount=type=cache,target=/c --mount=type=secret,id=x --network=none echo hi\n"
                    "COPY --from=build --chown=1:1 --chmod=644 --link --exclude=*.md --parents a b /d/\n"
                    "ADD --checksum=sha256:abc --keep-git-dir=true --link=false https://x/y /z\n"
                    "HEALTHCHECK --interval=1m30s --timeout=0s --start-period=1.5s --start-interval=300ms "
                    "--retries=3 CMD curl -f http://localhost/\n"
                    "HEALTHCHECK NONE\nSHELL [\"/bin/bash\", \"-c\"]\nONBUILD RUN x\nENV a=b\nCMD []\n");
        validate_fail(
            "FROM a\nCOPY --form=b x y\n",
            "Dockerfile:2:6: unknown flag --form for COPY (did you mean --from? valid flags: --from, --chown, "
            "--chmod, --link, --exclude, --parents)");
        validate_fail("FROM a\nRUN --foo x\n",
                      "unknown flag --foo for RUN (valid flags: --mount, --network, --security)");
        validate_fail("FROM a\nONBUILD --x=1 RUN y\n", "unknown flag --x: ONBUILD takes no flags");
        validate_fail("FROM a\nWORKDIR --platform=x /a\n", "WORKDIR takes no flags");
        validate_fail("FROM a\nCOPY --from x y\n", "missing a value on flag --from");
        validate_fail("FROM a\nCOPY --link=maybe x y\n", "expecting boolean value for flag --link, not: maybe");
        validate_fail("FROM a\nCOPY --from=a --from=b x y\n", "duplicate flag specified: --from");
        validate_fail("FROM a\nRUN --network=bridge x\n", "unsupported network mode bridge");
        validate_fail("FROM a\nHEALTHCHECK --interval=5 CMD x\n", "invalid duration 5 for --interval");
        validate_fail("FROM a\nHEALTHCHECK --timeout=10us CMD x\n", "--timeout cannot be less than 1ms");
        validate_fail("FROM a\nHEALTHCHECK --retries=x CMD x\n", "--retries must be a number");
        validate_fail("FROM a\nHEALTHCHECK CONNECT TCP 7000\n", "Unknown type \"CONNECT\" in HEALTHCHECK");
        validate_fail("FROM a\nHEALTHCHECK NONE x\n", "HEALTHCHECK NONE takes no arguments");
        validate_fail("FROM a\nHEALTHCHECK CMD\n", "Missing command after HEALTHCHECK CMD");
        validate_fail("FROM a\nHEALTHCHECK\n", "HEALTHCHECK requires at least one argument");
        validate_fail("FROM a b\n", "FROM requires either one or three arguments");
        validate_fail("FROM a AS 1x\n", "invalid name for build stage: \"1x\"");
        validate_fail("FROM a\nCOPY x\n", "COPY requires at least two arguments");
        validate_fail("FROM a\nUSER\n", "USER requires exactly one argument");
        validate_fail("FROM a\nEXPOSE\n", "EXPOSE requires at least one argument");
        validate_fail("FROM a\nENV\n", "ENV requires at least one argument");
        validate_fail("FROM a\nSHELL sh -c\n", "SHELL requires the arguments to be in JSON form");
        validate_fail("FROM a\nONBUILD FROM b\n", "FROM isn't allowed as an ONBUILD trigger");
        validate_fail("FROM a\nONBUILD COPY --bad=1 a b\n", "unknown flag --bad for COPY");
        validate_fail("FROM a\nONBUILD\n", "ONBUILD requires at least one argument");
        validate_fail("RUN x\nFROM a\n", "Dockerfile:1:1: RUN before the first FROM");
        validate_fail("FROM a\nVOLUME [\" \"]\n", "VOLUME specified can not be an empty string");
        validate_fail("FROM a\nARG =x\n", "ARG names can not be blank");
        validate_fail("FROM a\nRUN\n", "RUN requires at least one argument");
}

static void
helpers(void **state)
{
        assert_int_equal(build_df_kind_from_name("run"), BUILD_DF_RUN);
        assert_int_equal(build_df_kind_from_name("HealthCheck"), BUILD_DF_HEALTHCHECK);
        assert_int_equal(build_df_kind_from_name("RUNN"), -1);
        assert_string_equal(build_df_kind_name(BUILD_DF_STOPSIGNAL), "STOPSIGNAL");
        assert_true(build_df_kind_expands(BUILD_DF_COPY));
        assert_false(build_df_kind_expands(BUILD_DF_RUN));
        build_df_file_free(NULL);
}

static void
quoting(void **state)
{
        /* Go strconv.Quote: printable UTF-8 kept, controls and invalid bytes
         * escaped, non-printable code points as \u. */
        assert_dump("CMD [\"\\u00e9 \\u00a0 \\u200b \\u007f \\u0001 \\ud83d\\ude00\"]\nCMD \xff\xfe\n",
                    "(cmd \"\xc3\xa9 \\u00a0 \\u200b \\x7f \\x01 \xF0\x9F\x98\x80\")\n(cmd \"\\xff\\xfe\")\n");
        /* Overlong forms, surrogates and code points past U+10FFFF are
         * invalid UTF-8: escaped byte by byte in a dump, and each byte
         * decodes to U+FFFD in a JSON string (Go's rules). */
        assert_dump("CMD \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80\nCMD [\"\xc0\xaf\"]\n",
                    "(cmd \"\\xc0\\xaf \\xed\\xa0\\x80 \\xf4\\x90\\x80\\x80\")\n"
                    "(cmd \"\xef\xbf\xbd\xef\xbf\xbd\")\n");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(directives), cmocka_unit_test(continuations), cmocka_unit_test(heredocs),
            cmocka_unit_test(json_forms), cmocka_unit_test(flags),         cmocka_unit_test(arg_shapes),
            cmocka_unit_test(errors),     cmocka_unit_test(validation),    cmocka_unit_test(helpers),
            cmocka_unit_test(quoting),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
