/* libFuzzer harness: a raw HTTP request through ireg's own parsing of it.
 * Input: a request as sent ("METHOD TARGET HTTP/1.x", header lines, a
 * blank line; CRLF or bare LF).  The target's path and each query value
 * are decoded with reg_target_unescape (as the server's unescape callback
 * does), the header fields go through reg_framing_check, the path through
 * reg_route_parse, a Range header through reg_range_parse. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry/server/request.h"
#include "registry/server/route.h"
#include "tests/fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 64

static bool
has_control(const char *s)
{
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* Decode S in place and check what the decoder promises. */
static void
unescape_checked(char *s)
{
        bool raw_control = has_control(s), control = false;
        size_t before = strlen(s), n = reg_target_unescape(s, &control);

        if (n > before || n != strlen(s))
                abort();
        /* no control byte ever comes out of an escape */
        if (!raw_control && has_control(s))
                abort();
}

/* Cut the next line off *P (LF or CRLF); NULL at the end. */
static char *
next_line(char **p)
{
        char *line = *p, *nl;

        if (!line)
                return NULL;
        nl = strchr(line, '\n');
        if (nl) {
                if (nl > line && nl[-1] == '\r')
                        nl[-1] = '\0';
                *nl = '\0';
                *p = nl + 1;
        } else {
                *p = NULL;
        }
        return line;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *part = NULL, *buf = fuzz_split(data, size, '\0', &part, 1), *p = buf;
        char *line, *method, *target, *version, *query;
        struct reg_header_field h[MAX_FIELDS];
        size_t n = 0;
        struct reg_route r;
        struct reg_range rg;
        struct err *e = NULL;
        const char *range = NULL;
        int st;

        line = next_line(&p);
        method = line;
        target = method ? strchr(method, ' ') : NULL;
        if (!target)
                goto out;
        *target++ = '\0';
        version = strchr(target, ' ');
        if (version)
                *version++ = '\0';
        while ((line = next_line(&p)) && *line && n < MAX_FIELDS) {
                char *colon = strchr(line, ':');

                if (!colon)
                        continue;
                *colon = '\0';
                h[n].name = line;
                h[n].value = colon + 1;
                while (*h[n].value == ' ' || *h[n].value == '\t')
                        h[n].value++;
                if (strcasecmp(line, "Range") == 0)
                        range = h[n].value;
                n++;
        }
        st = reg_framing_check(h, n, version && strcmp(version, "HTTP/1.0") == 0, &e);
        if (st != REG_FRAMING_OK && st != REG_FRAMING_BAD && st != REG_FRAMING_UNSUPPORTED)
                abort();
        if ((st == REG_FRAMING_OK) != (e == NULL) || (e && !e->msg[0]))
                abort();
        err_clear(&e);

        query = strchr(target, '?');
        if (query)
                *query++ = '\0';
        unescape_checked(target);
        for (char *kv = query, *amp; kv; kv = amp) {
                char *eq;

                amp = strchr(kv, '&');
                if (amp)
                        *amp++ = '\0';
                eq = strchr(kv, '=');
                if (eq)
                        unescape_checked(eq + 1);
                unescape_checked(kv);
        }
        memset(&r, 0, sizeof(r));
        if (reg_route_parse(target, "/token", &r, &e) == 0) {
                if (r.name[0] && reg_name_validate(r.name, NULL) < 0)
                        abort();
                if (has_control(r.name) || has_control(r.ref))
                        abort();
        } else {
                if (!e || !e->msg[0])
                        abort();
                /* a partial route keeps only a valid name, never the ref */
                if (r.ref[0] || (r.name[0] && reg_name_validate(r.name, NULL) < 0))
                        abort();
        }
        err_clear(&e);
        if (range && reg_range_parse(range, 4096, &rg, NULL) == 1 && (rg.len == 0 || rg.start + rg.len > 4096))
                abort();
out:
        free(buf);
        return 0;
}
