#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
err_setv(struct err **err, int code, const char *fmt, va_list ap)
{
        if (code <= 0)
                code = code < 0 ? -code : EIO;
        if (err == NULL)
                return -code;
        if (*err == NULL) {
                *err = calloc(1, sizeof(**err));
                if (*err == NULL)
                        abort();
        }
        (*err)->code = code;
        vsnprintf((*err)->msg, sizeof((*err)->msg), fmt, ap);
        return -code;
}

int
err_set(struct err **err, int code, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = err_setv(err, code, fmt, ap);
        va_end(ap);
        return r;
}

int
err_prefix(struct err **err, const char *fmt, ...)
{
        char prefix[1024], joined[sizeof(((struct err *) 0)->msg) + sizeof(prefix) + 2];
        va_list ap;

        if (err == NULL)
                return -EIO;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        if (*err == NULL)
                return err_set(err, EIO, "%s", prefix);
        snprintf(joined, sizeof(joined), "%s: %s", prefix, (*err)->msg);
        snprintf((*err)->msg, sizeof((*err)->msg), "%.*s", (int) sizeof((*err)->msg) - 1, joined);
        return -(*err)->code;
}

int
err_code(struct err **err)
{
        return err && *err ? (*err)->code : 0;
}

const char *
err_msg(struct err **err)
{
        return err && *err ? (*err)->msg : "";
}

void
err_clear(struct err **err)
{
        if (err == NULL)
                return;
        free(*err);
        *err = NULL;
}

const char *
err_code_name(int code)
{
        static const char *const names[] = {
                [ERR_BLOB_UNKNOWN - ERR_BASE] = "BLOB_UNKNOWN",
                [ERR_BLOB_UPLOAD_INVALID - ERR_BASE] = "BLOB_UPLOAD_INVALID",
                [ERR_BLOB_UPLOAD_UNKNOWN - ERR_BASE] = "BLOB_UPLOAD_UNKNOWN",
                [ERR_DIGEST_INVALID - ERR_BASE] = "DIGEST_INVALID",
                [ERR_MANIFEST_BLOB_UNKNOWN - ERR_BASE] = "MANIFEST_BLOB_UNKNOWN",
                [ERR_MANIFEST_INVALID - ERR_BASE] = "MANIFEST_INVALID",
                [ERR_MANIFEST_UNKNOWN - ERR_BASE] = "MANIFEST_UNKNOWN",
                [ERR_NAME_INVALID - ERR_BASE] = "NAME_INVALID",
                [ERR_NAME_UNKNOWN - ERR_BASE] = "NAME_UNKNOWN",
                [ERR_SIZE_INVALID - ERR_BASE] = "SIZE_INVALID",
                [ERR_UNAUTHORIZED - ERR_BASE] = "UNAUTHORIZED",
                [ERR_DENIED - ERR_BASE] = "DENIED",
                [ERR_UNSUPPORTED - ERR_BASE] = "UNSUPPORTED",
                [ERR_TOOMANYREQUESTS - ERR_BASE] = "TOOMANYREQUESTS",
                [ERR_RANGE_INVALID - ERR_BASE] = "RANGE_INVALID",
                [ERR_TAG_INVALID - ERR_BASE] = "TAG_INVALID",
                [ERR_REFERENCE_INVALID - ERR_BASE] = "REFERENCE_INVALID",
                [ERR_PARSE - ERR_BASE] = "PARSE_ERROR",
                [ERR_UNSAFE_PATH - ERR_BASE] = "UNSAFE_PATH",
                [ERR_HTTP - ERR_BASE] = "HTTP_ERROR",
        };
        if (code <= ERR_BASE || code >= ERR_LAST)
                return NULL;
        return names[code - ERR_BASE];
}
