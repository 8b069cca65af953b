/* Error objects shared by every module (crun's shape).
 *
 * A function that can fail takes `struct err **err` as its last argument and,
 * on failure, fills it with err_set() and returns the negative code:
 *
 *     if (fd < 0)
 *             return err_set(err, errno, "open %s", path);
 *
 * Codes are either positive errno values or the project codes below, which
 * map one-to-one onto the OCI distribution-spec error codes.  Callers add
 * context with err_prefix() and may inspect err_code() and err_clear() to
 * tolerate a failure.  Library code never prints: cmd/ does.
 */
#ifndef COMMON_ERR_H
#define COMMON_ERR_H

#include <stdarg.h>
#include <stddef.h>

enum {
        /* Project codes start above every errno value. */
        ERR_BASE = 1000,
        ERR_BLOB_UNKNOWN,
        ERR_BLOB_UPLOAD_INVALID,
        ERR_BLOB_UPLOAD_UNKNOWN,
        ERR_DIGEST_INVALID,
        ERR_MANIFEST_BLOB_UNKNOWN,
        ERR_MANIFEST_INVALID,
        ERR_MANIFEST_UNKNOWN,
        ERR_NAME_INVALID,
        ERR_NAME_UNKNOWN,
        ERR_SIZE_INVALID,
        ERR_UNAUTHORIZED,
        ERR_DENIED,
        ERR_UNSUPPORTED,
        ERR_TOOMANYREQUESTS,
        ERR_RANGE_INVALID,
        ERR_TAG_INVALID,      /* reference grammar: bad tag */
        ERR_REFERENCE_INVALID,/* reference grammar: anything else */
        ERR_PARSE,            /* Dockerfile / config syntax */
        ERR_UNSAFE_PATH,      /* archive entry escaping its root */
        ERR_HTTP,             /* unexpected HTTP status from a peer */
        ERR_LAST
};

struct err {
        int code;
        char msg[2048];
};

/* Fill *err (allocating it if NULL) with CODE and a printf message, and
 * return -CODE (or -EIO when CODE is 0).  ERR may itself be NULL, in which
 * case only the return value reports the failure. */
int err_set(struct err **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int err_setv(struct err **err, int code, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* Prepend "CONTEXT: " to an existing error's message; returns -code.  When
 * *err is NULL (the failure carried no message) it becomes the message. */
int err_prefix(struct err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The error's code (0 when ERR or *ERR is NULL) and message ("" when none). */
int err_code(struct err **err);
const char *err_msg(struct err **err);

/* Free *err and set it to NULL.  Accepts NULL and an unset error. */
void err_clear(struct err **err);

/* The OCI distribution-spec name of a project code ("BLOB_UNKNOWN"), or NULL
 * for errno values. */
const char *err_code_name(int code);

#define _cleanup_err_ __attribute__((cleanup(err_clear)))

#endif
