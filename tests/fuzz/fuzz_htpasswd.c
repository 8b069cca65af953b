/* libFuzzer: htpasswd files (ireg's Basic-auth users), loaded, queried,
 * verified and reloaded.  Input: FILE '\0' USER '\0' PASSWORD.  Passwords
 * are only checked against files without bcrypt hashes (bcrypt is slow by
 * design; a high cost in a hostile file would just time the fuzzer out),
 * and a {SHA} line the harness appends for USER must then verify. */
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "registry/auth/auth-internal.h"
#include "registry/common/base64.h"
#include "tests/fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *path;

static void
put(const char *text, size_t len)
{
        struct err *e = NULL;

        if (fs_write_atomic(path, text, len, 0600, &e) < 0)
                abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *parts[3] = {"", "alice", ""}, *buf;
        const char *text, *user, *pass;
        size_t tlen;
        struct reg_htpasswd *h = NULL;
        struct err *e = NULL;
        bool slow;

        if (size > 65536)
                return 0;
        if (!path)
                path = fuzz_path("htpasswd", "htpasswd");
        buf = fuzz_split(data, size, '\0', parts, 3);
        text = parts[0], user = parts[1], pass = parts[2];
        tlen = strlen(text);
        slow = memmem(text, tlen, "$2", 2) != NULL;
        put(text, tlen);
        if (reg_htpasswd_load(path, &h, &e) < 0) {
                if (!e || !*err_msg(&e))
                        abort();
                err_clear(&e);
                free(buf);
                return 0;
        }
        if (!slow && reg_htpasswd_has_user(h, user))
                (void) reg_htpasswd_verify(h, user, pass);
        if (!slow && *user && !strpbrk(user, ":\n\r#") && !reg_htpasswd_has_user(h, user)) {
                /* Append USER with a {SHA} hash of PASSWORD: after a refresh
                 * the user exists and the password verifies. */
                unsigned char md[SHA_DIGEST_LENGTH];
                _cleanup_free_ char *b64 = NULL, *more = NULL;
                bool nl = tlen == 0 || text[tlen - 1] == '\n';

                SHA1((const unsigned char *) pass, strlen(pass), md);
                b64 = reg_b64_encode(md, sizeof(md), false);
                more = xasprintf("%.*s%s%s:{SHA}%s\n", (int) tlen, text, nl ? "" : "\n", user, b64);
                put(more, strlen(more));
                if (reg_htpasswd_refresh(h, &e) < 0)
                        abort();
                if (!reg_htpasswd_has_user(h, user) || !reg_htpasswd_verify(h, user, pass))
                        abort();
        }
        err_clear(&e);
        reg_htpasswd_free(h);
        free(buf);
        return 0;
}
