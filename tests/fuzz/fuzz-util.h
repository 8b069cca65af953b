/* Helpers shared by the libFuzzer harnesses (header-only: the Makefile
 * builds each tests/fuzz/fuzz_*.c on its own). */
#ifndef TESTS_FUZZ_FUZZ_UTIL_H
#define TESTS_FUZZ_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"

/* A NUL-terminated copy of DATA (SIZE bytes), cut at SEP into at most N
 * parts: PARTS[i] points into the returned buffer (the caller frees it).
 * The last part keeps any further SEP; parts the input lacks are left as
 * the caller set them (its defaults). */
static inline char *
fuzz_split(const uint8_t *data, size_t size, char sep, char **parts, size_t n)
{
        char *buf = xmalloc(size + 1), *p = buf;

        memcpy(buf, data, size);
        buf[size] = '\0';
        for (size_t i = 0; i < n; i++) {
                char *end = memchr(p, sep, (size_t) (buf + size - p));

                parts[i] = p;
                if (!end || i + 1 == n)
                        break;
                *end = '\0';
                p = end + 1;
        }
        return buf;
}

static inline char **
fuzz_dir_slot(void)
{
        static char *dir;
        return &dir;
}

static inline void
fuzz_dir_remove(void)
{
        char **dir = fuzz_dir_slot();

        fs_rm_rf(*dir, NULL);
        free(*dir);
        *dir = NULL;
}

/* The harness's private directory, made on first use on tmpfs when there
 * is one (else /tmp; files here are written often) and removed at exit.
 * NAME goes into its name. */
static inline const char *
fuzz_dir(const char *name)
{
        char **dir = fuzz_dir_slot();

        if (!*dir) {
                const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

                *dir = xasprintf("%s/fuzz-%s.XXXXXX", base, name);
                if (!mkdtemp(*dir))
                        abort();
                atexit(fuzz_dir_remove);
        }
        return *dir;
}

/* A path inside fuzz_dir(NAME); caller frees. */
static inline char *
fuzz_path(const char *name, const char *file)
{
        return xasprintf("%s/%s", fuzz_dir(name), file);
}

#endif
