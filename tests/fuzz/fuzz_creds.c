/* libFuzzer: registry credentials from a docker/podman config.json and a
 * credential helper's answer, plus --creds USER:PASS and host keys.
 * Input: CONFIG '\0' HELPER_OUTPUT '\0' REGISTRY.  PATH holds only the
 * harness's helper "docker-credential-fuzz", which prints HELPER_OUTPUT and
 * exits 1 when it starts with '!' (else 0); any other helper a config names
 * is not found. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "registry/common/creds.h"
#include "tests/fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *config, *out;

static void
init(void)
{
        _cleanup_free_ char *helper = NULL, *script = NULL;
        struct err *e = NULL;

        config = fuzz_path("creds", "config.json");
        out = fuzz_path("creds", "out");
        helper = fuzz_path("creds", "docker-credential-fuzz");
        script = xasprintf("#!/bin/sh\n/bin/cat '%s'\n[ \"$(/usr/bin/head -c1 '%s')\" = '!' ] && exit 1\nexit 0\n",
                           out, out);
        if (fs_write_atomic(helper, script, strlen(script), 0755, &e) < 0 || chmod(helper, 0755) < 0)
                abort();
        setenv("PATH", fuzz_dir("creds"), 1);
}

static void
check(const struct reg_creds *c)
{
        if (!c->source || (!c->username && !c->identity_token) || (c->password && c->identity_token))
                abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *buf, *parts[3] = {"", "", "docker.io"};
        struct reg_creds *c = NULL;
        struct err *e = NULL;
        int r;

        if (size > 65536)
                return 0;
        if (!config)
                init();
        buf = fuzz_split(data, size, '\0', parts, 3);
        if (fs_write_atomic(config, parts[0], strlen(parts[0]), 0600, &e) < 0 ||
            fs_write_atomic(out, parts[1], strlen(parts[1]), 0600, &e) < 0)
                abort();
        r = reg_creds_from_file(config, parts[2], &c, &e);
        if (r == 1) {
                check(c);
                reg_creds_free(c);
        } else if (r < 0 && (!e || !*err_msg(&e))) {
                abort();
        }
        err_clear(&e);
        if (reg_creds_parse_userpass(parts[2], &c, &e) == 0) {
                check(c);
                reg_creds_free(c);
        }
        err_clear(&e);
        free(reg_creds_host(parts[2]));
        free(buf);
        return 0;
}
