/* Content digests: streaming sha256/sha512, the OCI digest grammar, and a
 * verifying sink.
 *
 * OCI image-spec descriptor.md, "Digests":
 *   digest    ::= algorithm ":" encoded
 *   algorithm ::= algorithm-component (algorithm-separator algorithm-component)*
 *   algorithm-component ::= [a-z0-9]+
 *   algorithm-separator ::= [+._-]
 *   encoded   ::= [a-zA-Z0-9=_-]+
 * with the registered algorithms sha256 ([a-f0-9]{64}) and sha512
 * ([a-f0-9]{128}).
 */
#ifndef DIGEST_DIGEST_H
#define DIGEST_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum digest_alg {
        DIGEST_SHA256,
        DIGEST_SHA512,
};

/* "sha512:" + 128 hex + NUL */
#define DIGEST_STR_MAX 136

/* 128 hex + NUL */
#define DIGEST_HEX_MAX 129

/* A parsed, validated digest: `str` is the canonical "alg:hex" form and `hex`
 * the encoded part alone.  Both are arrays, so a struct digest may be copied
 * by value freely. */
struct digest {
        enum digest_alg alg;
        char str[DIGEST_STR_MAX];
        char hex[DIGEST_HEX_MAX];
};

/* Parse S as a digest of a registered algorithm.  Fails with
 * ERR_DIGEST_INVALID for anything the grammar forbids (message says what),
 * and ERR_UNSUPPORTED for a grammatical digest of an unknown algorithm. */
int digest_parse(const char *s, struct digest *ret, struct err **err);

/* True when S matches the general grammar (any algorithm). */
bool digest_grammar_ok(const char *s);

/* True when S is LEN > 0 characters of lower-case hex ([0-9a-f]), the
 * encoding of the registered algorithms.  Reads at most LEN bytes. */
bool digest_is_hex(const char *s, size_t len);

/* True when the NUL-terminated S is exactly 64 lower-case hex characters:
 * a sha256 encoded part, as in an image ID and in the file names of blobs,
 * build cache entries and layer snapshots. */
bool digest_is_sha256_hex(const char *s);

/* Name of ALG ("sha256"). */
const char *digest_alg_name(enum digest_alg alg);

/* Streaming hash context. */
struct digest_ctx;

struct digest_ctx *digest_ctx_new(enum digest_alg alg);
void digest_ctx_update(struct digest_ctx *ctx, const void *data, size_t len);
/* Finish into *ret; the context may then be reset with digest_ctx_reset. */
void digest_ctx_final(struct digest_ctx *ctx, struct digest *ret);
void digest_ctx_reset(struct digest_ctx *ctx);
/* Bytes fed so far. */
uint64_t digest_ctx_size(const struct digest_ctx *ctx);
void digest_ctx_free(struct digest_ctx *ctx);

/* Saved state of a sha256 context, so a hash started in one process
 * continues in another (an upload finished by another registry replica)
 * without re-reading what was hashed.  One line of text:
 *   sha256-state:1:<bytes hashed, decimal>:<H0..H7, 64 hex>:<pending bytes, hex>
 * where the pending bytes are the (bytes hashed % 64) bytes of the
 * unfinished block.  Fits in DIGEST_STATE_MAX bytes with its NUL. */
#define DIGEST_STATE_MAX 256

/* Write CTX's state, NUL-terminated, into BUF (LEN bytes; DIGEST_STATE_MAX
 * is always enough).  Returns its length; ERR_UNSUPPORTED for an algorithm
 * other than sha256. */
int digest_ctx_save(const struct digest_ctx *ctx, char *buf, size_t len, struct err **err);
/* A new sha256 context continuing from the saved state S (LEN bytes, need
 * not be NUL-terminated; one trailing newline allowed).  S is untrusted:
 * anything but the exact form above (a byte count at or over 2^61, a
 * pending part of the wrong length, upper-case or stray characters) is
 * NULL with ERR_DIGEST_INVALID saying what.  Whoever can write S can make
 * the context produce any digest, so S must live where the data does. */
struct digest_ctx *digest_ctx_restore(const char *s, size_t len, struct err **err);

/* One-shot helpers. */
void digest_buffer(enum digest_alg alg, const void *data, size_t len, struct digest *ret);
int digest_fd(enum digest_alg alg, int fd, struct digest *ret, uint64_t *ret_size, struct err **err);
int digest_file(enum digest_alg alg, const char *path, struct digest *ret, uint64_t *ret_size,
                struct err **err);

/* A verifying sink: feed bytes, then finish checks they hash to EXPECTED and,
 * when expected_size >= 0, that exactly that many bytes came.  Writing more
 * than expected_size fails early (ERR_SIZE_INVALID) so a hostile peer cannot
 * stream forever. */
struct digest_verifier;

struct digest_verifier *digest_verifier_new(const struct digest *expected, int64_t expected_size);
int digest_verifier_update(struct digest_verifier *v, const void *data, size_t len, struct err **err);
/* ERR_DIGEST_INVALID on a digest mismatch, ERR_SIZE_INVALID on a size one;
 * the message names both values. */
int digest_verifier_finish(struct digest_verifier *v, struct err **err);
void digest_verifier_free(struct digest_verifier *v);

/* Hex of N bytes into OUT (2n+1 bytes). */
void digest_hex(const unsigned char *bytes, size_t n, char *out);

#endif
