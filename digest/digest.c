#include "digest/digest.h"

/* sha256 contexts use OpenSSL's low-level SHA256_CTX, deprecated since 3.0
 * but public and stable, because it is the only OpenSSL interface whose
 * state can be read out and put back (digest_ctx_save/restore): EVP keeps
 * it behind the provider.  It runs the same block code (SHA-NI) as EVP. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"

struct digest_ctx {
        enum digest_alg alg;
        EVP_MD_CTX *md; /* sha512 */
        SHA256_CTX sha256;
        uint64_t size;
};

struct digest_verifier {
        struct digest_ctx *ctx;
        struct digest expected;
        int64_t expected_size;
};

static const EVP_MD *
alg_md(enum digest_alg alg)
{
        return alg == DIGEST_SHA512 ? EVP_sha512() : EVP_sha256();
}

static size_t
alg_hexlen(enum digest_alg alg)
{
        return alg == DIGEST_SHA512 ? 128 : 64;
}

const char *
digest_alg_name(enum digest_alg alg)
{
        return alg == DIGEST_SHA512 ? "sha512" : "sha256";
}

static bool
is_component_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_separator(char c)
{
        return c == '+' || c == '.' || c == '_' || c == '-';
}

static bool
is_encoded_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '=' || c == '_' || c == '-';
}

/* Returns the length of the algorithm part, or 0 when it breaks the grammar. */
static size_t
scan_algorithm(const char *s)
{
        size_t i = 0;
        bool need_component = true;

        for (; s[i] && s[i] != ':'; i++) {
                if (is_component_char(s[i]))
                        need_component = false;
                else if (is_separator(s[i]) && !need_component)
                        need_component = true;
                else
                        return 0;
        }
        return need_component ? 0 : i;
}

bool
digest_grammar_ok(const char *s)
{
        size_t alen = scan_algorithm(s);
        const char *e;

        if (alen == 0 || s[alen] != ':' || s[alen + 1] == '\0')
                return false;
        for (e = s + alen + 1; *e; e++)
                if (!is_encoded_char(*e))
                        return false;
        return true;
}

int
digest_parse(const char *s, struct digest *ret, struct err **err)
{
        struct digest d;
        size_t alen, hexlen, i;
        const char *enc;

        if (s == NULL || *s == '\0')
                return err_set(err, ERR_DIGEST_INVALID, "invalid digest: empty");
        if (strlen(s) >= 1024)
                return err_set(err, ERR_DIGEST_INVALID, "invalid digest: too long");
        if (!strchr(s, ':'))
                return err_set(err, ERR_DIGEST_INVALID, "invalid digest '%s': missing 'algorithm:' prefix", s);
        alen = scan_algorithm(s);
        if (alen == 0 || s[alen] != ':')
                return err_set(err, ERR_DIGEST_INVALID,
                               "invalid digest '%s': bad algorithm (lower-case letters and digits, "
                               "separated by one of + . _ -)",
                               s);
        enc = s + alen + 1;
        if (*enc == '\0')
                return err_set(err, ERR_DIGEST_INVALID, "invalid digest '%s': empty encoded part", s);
        for (i = 0; enc[i]; i++) {
                unsigned char c = (unsigned char) enc[i];

                if (is_encoded_char(enc[i]))
                        continue;
                /* Control bytes are shown as hex: messages reach logs and
                 * HTTP error bodies. */
                if (c >= 0x20 && c < 0x7f)
                        return err_set(err, ERR_DIGEST_INVALID,
                                       "invalid digest '%s': character '%c' not allowed in encoded part", s, c);
                return err_set(err, ERR_DIGEST_INVALID,
                               "invalid digest: byte 0x%02x at position %zu not allowed in encoded part", c,
                               alen + 1 + i + 1);
        }

        if (alen == 6 && memcmp(s, "sha256", 6) == 0)
                d.alg = DIGEST_SHA256;
        else if (alen == 6 && memcmp(s, "sha512", 6) == 0)
                d.alg = DIGEST_SHA512;
        else
                return err_set(err, ERR_UNSUPPORTED, "unsupported digest algorithm '%.*s' in '%s'", (int) alen, s, s);

        hexlen = alg_hexlen(d.alg);
        if (strlen(enc) != hexlen)
                return err_set(err, ERR_DIGEST_INVALID, "invalid digest '%s': %s needs %zu hex characters, got %zu", s,
                               digest_alg_name(d.alg), hexlen, strlen(enc));
        if (!digest_is_hex(enc, hexlen))
                return err_set(err, ERR_DIGEST_INVALID, "invalid digest '%s': %s must be lower-case hex", s,
                               digest_alg_name(d.alg));
        memcpy(d.str, s, alen + 1 + hexlen + 1);
        memcpy(d.hex, enc, hexlen + 1);
        *ret = d;
        return 0;
}

bool
digest_is_hex(const char *s, size_t len)
{
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

bool
digest_is_sha256_hex(const char *s)
{
        return strnlen(s, 65) == 64 && digest_is_hex(s, 64);
}

void
digest_hex(const unsigned char *bytes, size_t n, char *out)
{
        static const char hex[] = "0123456789abcdef";
        size_t i;

        for (i = 0; i < n; i++) {
                out[2 * i] = hex[bytes[i] >> 4];
                out[2 * i + 1] = hex[bytes[i] & 15];
        }
        out[2 * n] = '\0';
}

struct digest_ctx *
digest_ctx_new(enum digest_alg alg)
{
        struct digest_ctx *c = xcalloc(1, sizeof(*c));

        c->alg = alg;
        if (alg == DIGEST_SHA256) {
                SHA256_Init(&c->sha256);
                return c;
        }
        c->md = EVP_MD_CTX_new();
        if (!c->md || EVP_DigestInit_ex(c->md, alg_md(alg), NULL) != 1)
                abort();
        return c;
}

void
digest_ctx_update(struct digest_ctx *ctx, const void *data, size_t len)
{
        if (len == 0)
                return;
        if (ctx->alg == DIGEST_SHA256)
                SHA256_Update(&ctx->sha256, data, len);
        else
                EVP_DigestUpdate(ctx->md, data, len);
        ctx->size += len;
}

void
digest_ctx_final(struct digest_ctx *ctx, struct digest *ret)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        size_t plen;

        if (ctx->alg == DIGEST_SHA256) {
                SHA256_Final(md, &ctx->sha256);
                n = SHA256_DIGEST_LENGTH;
        } else {
                EVP_DigestFinal_ex(ctx->md, md, &n);
        }
        plen = (size_t) snprintf(ret->str, sizeof(ret->str), "%s:", digest_alg_name(ctx->alg));
        digest_hex(md, n, ret->hex);
        memcpy(ret->str + plen, ret->hex, 2 * (size_t) n + 1);
        ret->alg = ctx->alg;
}

void
digest_ctx_reset(struct digest_ctx *ctx)
{
        if (ctx->alg == DIGEST_SHA256)
                SHA256_Init(&ctx->sha256);
        else
                EVP_DigestInit_ex(ctx->md, alg_md(ctx->alg), NULL);
        ctx->size = 0;
}

uint64_t
digest_ctx_size(const struct digest_ctx *ctx)
{
        return ctx->size;
}

void
digest_ctx_free(struct digest_ctx *ctx)
{
        if (!ctx)
                return;
        EVP_MD_CTX_free(ctx->md);
        free(ctx);
}

/* ---- saved sha256 state ---- */

#define STATE_PREFIX "sha256-state:1:"
/* SHA-256 counts the message in bits in 64 bits (FIPS 180-4, 5.1.1). */
#define STATE_SIZE_MAX (UINT64_C(1) << 61)

int
digest_ctx_save(const struct digest_ctx *ctx, char *buf, size_t len, struct err **err)
{
        const SHA256_CTX *c = &ctx->sha256;
        char pending[2 * SHA256_CBLOCK + 1];
        int n;

        if (ctx->alg != DIGEST_SHA256)
                return err_set(err, ERR_UNSUPPORTED, "saving a %s hash state is not supported",
                               digest_alg_name(ctx->alg));
        /* OpenSSL keeps the partial block as bytes in data[] (md32_common.h). */
        digest_hex((const unsigned char *) c->data, c->num, pending);
        n = snprintf(buf, len,
                     STATE_PREFIX "%" PRIu64 ":%08x%08x%08x%08x%08x%08x%08x%08x:%s", ctx->size,
                     (unsigned) c->h[0], (unsigned) c->h[1], (unsigned) c->h[2], (unsigned) c->h[3],
                     (unsigned) c->h[4], (unsigned) c->h[5], (unsigned) c->h[6], (unsigned) c->h[7],
                     pending);
        if (n < 0 || (size_t) n >= len)
                return err_set(err, ENOSPC, "hash state needs %d bytes, buffer has %zu", n, len);
        return n;
}

static int
hex_nibble(char c)
{
        return c >= '0' && c <= '9' ? c - '0' : c - 'a' + 10;
}

struct digest_ctx *
digest_ctx_restore(const char *s, size_t len, struct err **err)
{
        struct digest_ctx *ctx;
        const char *p = s, *end = s + len, *colon;
        uint64_t size = 0;
        uint32_t h[8];
        size_t num, i;

        /* One trailing newline is allowed: the state may be a text file. */
        if (len > 0 && end[-1] == '\n')
                end--;
        if ((size_t) (end - p) < strlen(STATE_PREFIX) || memcmp(p, STATE_PREFIX, strlen(STATE_PREFIX)) != 0) {
                err_set(err, ERR_DIGEST_INVALID, "hash state: does not start with '%s'", STATE_PREFIX);
                return NULL;
        }
        p += strlen(STATE_PREFIX);
        colon = memchr(p, ':', (size_t) (end - p));
        if (!colon || colon == p || colon - p > 19 || (p[0] == '0' && colon - p > 1)) {
                err_set(err, ERR_DIGEST_INVALID, "hash state: bad byte count");
                return NULL;
        }
        for (; p < colon; p++) {
                if (*p < '0' || *p > '9') {
                        err_set(err, ERR_DIGEST_INVALID, "hash state: bad byte count");
                        return NULL;
                }
                size = size * 10 + (uint64_t) (*p - '0');
        }
        if (size >= STATE_SIZE_MAX) {
                err_set(err, ERR_DIGEST_INVALID, "hash state: byte count %" PRIu64 " is over the SHA-256 limit",
                        size);
                return NULL;
        }
        p++;
        if (end - p < 65 || !digest_is_hex(p, 64) || p[64] != ':') {
                err_set(err, ERR_DIGEST_INVALID, "hash state: the chaining value is not 64 hex characters");
                return NULL;
        }
        for (i = 0; i < 8; i++) {
                uint32_t w = 0;
                for (size_t k = 0; k < 8; k++)
                        w = w << 4 | (uint32_t) hex_nibble(p[8 * i + k]);
                h[i] = w;
        }
        p += 65;
        num = (size_t) (size % SHA256_CBLOCK);
        if ((size_t) (end - p) != 2 * num || (num && !digest_is_hex(p, 2 * num))) {
                err_set(err, ERR_DIGEST_INVALID,
                        "hash state: %zu pending bytes need %zu hex characters, got %zu", num, 2 * num,
                        (size_t) (end - p));
                return NULL;
        }
        ctx = digest_ctx_new(DIGEST_SHA256);
        for (i = 0; i < 8; i++)
                ctx->sha256.h[i] = h[i];
        ctx->sha256.Nl = (SHA_LONG) (size << 3);
        ctx->sha256.Nh = (SHA_LONG) (size >> 29);
        for (i = 0; i < num; i++)
                ((unsigned char *) ctx->sha256.data)[i] =
                        (unsigned char) (hex_nibble(p[2 * i]) << 4 | hex_nibble(p[2 * i + 1]));
        ctx->sha256.num = (unsigned int) num;
        ctx->size = size;
        return ctx;
}

void
digest_buffer(enum digest_alg alg, const void *data, size_t len, struct digest *ret)
{
        struct digest_ctx *c = digest_ctx_new(alg);

        digest_ctx_update(c, data, len);
        digest_ctx_final(c, ret);
        digest_ctx_free(c);
}

int
digest_fd(enum digest_alg alg, int fd, struct digest *ret, uint64_t *ret_size, struct err **err)
{
        _cleanup_free_ unsigned char *buf = xmalloc(1 << 20);
        struct digest_ctx *c = digest_ctx_new(alg);
        uint64_t total = 0;

        for (;;) {
                ssize_t n = read(fd, buf, 1 << 20);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        digest_ctx_free(c);
                        return err_set(err, errno, "read: %s", strerror(errno));
                }
                if (n == 0)
                        break;
                digest_ctx_update(c, buf, (size_t) n);
                total += (uint64_t) n;
        }
        digest_ctx_final(c, ret);
        digest_ctx_free(c);
        if (ret_size)
                *ret_size = total;
        return 0;
}

int
digest_file(enum digest_alg alg, const char *path, struct digest *ret, uint64_t *ret_size, struct err **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return err_set(err, errno, "open %s: %s", path, strerror(errno));
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        if (digest_fd(alg, fd, ret, ret_size, err) < 0)
                return err_prefix(err, "hashing %s", path);
        return 0;
}

struct digest_verifier *
digest_verifier_new(const struct digest *expected, int64_t expected_size)
{
        struct digest_verifier *v = xcalloc(1, sizeof(*v));

        v->expected = *expected;
        v->expected_size = expected_size;
        v->ctx = digest_ctx_new(expected->alg);
        return v;
}

int
digest_verifier_update(struct digest_verifier *v, const void *data, size_t len, struct err **err)
{
        if (v->expected_size >= 0 && digest_ctx_size(v->ctx) + len > (uint64_t) v->expected_size)
                return err_set(err, ERR_SIZE_INVALID, "content of %s is larger than the expected %lld bytes",
                               v->expected.str, (long long) v->expected_size);
        digest_ctx_update(v->ctx, data, len);
        return 0;
}

int
digest_verifier_finish(struct digest_verifier *v, struct err **err)
{
        struct digest got;
        uint64_t size = digest_ctx_size(v->ctx);

        if (v->expected_size >= 0 && size != (uint64_t) v->expected_size)
                return err_set(err, ERR_SIZE_INVALID, "size mismatch for %s: expected %lld bytes, got %llu",
                               v->expected.str, (long long) v->expected_size, (unsigned long long) size);
        digest_ctx_final(v->ctx, &got);
        if (strcmp(got.str, v->expected.str) != 0)
                return err_set(err, ERR_DIGEST_INVALID, "digest mismatch: expected %s, got %s", v->expected.str,
                               got.str);
        return 0;
}

void
digest_verifier_free(struct digest_verifier *v)
{
        if (!v)
                return;
        digest_ctx_free(v->ctx);
        free(v);
}
