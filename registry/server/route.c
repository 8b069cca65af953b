#include "registry/server/route.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "digest/digest.h"
#include "oci/ref.h"

static const char *const kind_names[REG_ROUTE__COUNT] = {
        [REG_ROUTE_NONE] = "none",         [REG_ROUTE_BASE] = "base",
        [REG_ROUTE_CATALOG] = "catalog",   [REG_ROUTE_TAGS] = "tags",
        [REG_ROUTE_MANIFEST] = "manifest", [REG_ROUTE_BLOB] = "blob",
        [REG_ROUTE_UPLOADS] = "uploads",   [REG_ROUTE_UPLOAD] = "upload",
        [REG_ROUTE_REFERRERS] = "referrers", [REG_ROUTE_HEALTH] = "health",
        [REG_ROUTE_METRICS] = "metrics",   [REG_ROUTE_TOKEN] = "token",
};

const char *
reg_route_kind_name(enum reg_route_kind kind)
{
        if ((int) kind < 0 || kind >= REG_ROUTE__COUNT)
                return "none";
        return kind_names[kind];
}

int
reg_name_validate(const char *name, struct err **err)
{
        /* One grammar for the whole project: oci/ref.h's. */
        return oci_repo_name_validate(name, err);
}

bool
reg_tag_ok(const char *tag)
{
        return oci_tag_ok(tag);
}

bool
reg_uuid_ok(const char *s)
{
        size_t i;

        for (i = 0; s[i]; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return i == REG_UUID_LEN;
}

/* Copy the name (PATH[0..LEN)) into R and validate it. */
static int
take_name(struct reg_route *r, const char *path, size_t len, struct err **err)
{
        if (len == 0)
                return err_set(err, ERR_NAME_INVALID, "repository name is empty");
        if (len > LIMIT_REF_NAME)
                return err_set(err, ERR_NAME_INVALID, "repository name is %zu characters long, over %d",
                               len, LIMIT_REF_NAME);
        memcpy(r->name, path, len);
        r->name[len] = '\0';
        if (reg_name_validate(r->name, err) < 0) {
                r->name[0] = '\0';
                return -ERR_NAME_INVALID;
        }
        return 0;
}

static int
take_digest(struct reg_route *r, const char *s, size_t len, struct err **err)
{
        struct digest d;
        char buf[sizeof(r->ref)];

        if (len >= sizeof(buf))
                return err_set(err, ERR_DIGEST_INVALID, "digest is too long (%zu characters)", len);
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (digest_parse(buf, &d, err) < 0)
                return err_prefix(err, "digest '%s'", buf);
        snprintf(r->ref, sizeof(r->ref), "%s", d.str);
        r->ref_is_digest = true;
        return 0;
}

/* Does the segment ending at END (exclusive) and starting after a '/' equal
 * WORD?  On success *ret_start is the index of its first character. */
static bool
seg_before(const char *path, size_t end, const char *word, size_t *ret_start)
{
        size_t wl = strlen(word);

        if (end < wl + 1)
                return false;
        if (memcmp(path + end - wl, word, wl) != 0 || path[end - wl - 1] != '/')
                return false;
        *ret_start = end - wl;
        return true;
}

int
reg_route_parse(const char *path, const char *token_path, struct reg_route *ret,
                struct err **err)
{
        struct reg_route r = { 0 };
        const char *rest;
        size_t len, last_start, seg_start, s2;
        int rc;

        if (token_path && token_path[0] && strcmp(path, token_path) == 0) {
                r.kind = REG_ROUTE_TOKEN;
                goto done;
        }
        if (strcmp(path, "/healthz") == 0) {
                r.kind = REG_ROUTE_HEALTH;
                goto done;
        }
        if (strcmp(path, "/metrics") == 0) {
                r.kind = REG_ROUTE_METRICS;
                goto done;
        }
        if (strcmp(path, "/v2") == 0 || strcmp(path, "/v2/") == 0) {
                r.kind = REG_ROUTE_BASE;
                goto done;
        }
        if (strncmp(path, "/v2/", 4) != 0)
                goto done;
        rest = path + 4;
        len = strlen(rest);
        if (len > LIMIT_REF_NAME + 300) {
                rc = err_set(err, ERR_NAME_INVALID, "request path is %zu characters long", len);
                goto fail;
        }
        if (strcmp(rest, "_catalog") == 0) {
                r.kind = REG_ROUTE_CATALOG;
                goto done;
        }

        /* /v2/<name>/blobs/uploads/ (trailing slash optional) */
        {
                size_t end = len;
                if (end > 0 && rest[end - 1] == '/')
                        end--;
                if (seg_before(rest, end, "uploads", &seg_start) &&
                    seg_before(rest, seg_start - 1, "blobs", &s2)) {
                        r.kind = REG_ROUTE_UPLOADS;
                        rc = take_name(&r, rest, s2 - 1, err);
                        if (rc < 0)
                                goto fail;
                        goto done;
                }
        }
        if (len == 0 || rest[len - 1] == '/')
                goto done;
        /* The last segment and the one before it. */
        last_start = len;
        while (last_start > 0 && rest[last_start - 1] != '/')
                last_start--;
        if (last_start == 0)
                goto done;
        if (strcmp(rest + last_start, "list") == 0 &&
            seg_before(rest, last_start - 1, "tags", &seg_start)) {
                r.kind = REG_ROUTE_TAGS;
                rc = take_name(&r, rest, seg_start - 1, err);
                if (rc < 0)
                        goto fail;
                goto done;
        }
        if (seg_before(rest, last_start - 1, "manifests", &seg_start)) {
                const char *ref = rest + last_start;
                r.kind = REG_ROUTE_MANIFEST;
                rc = take_name(&r, rest, seg_start - 1, err);
                if (rc < 0)
                        goto fail;
                if (strchr(ref, ':')) {
                        rc = take_digest(&r, ref, strlen(ref), err);
                        if (rc < 0)
                                goto fail;
                } else if (reg_tag_ok(ref)) {
                        snprintf(r.ref, sizeof(r.ref), "%s", ref);
                } else {
                        rc = err_set(err, ERR_TAG_INVALID, "invalid tag '%.*s'", LIMIT_REF_TAG + 8, ref);
                        goto fail;
                }
                goto done;
        }
        if (seg_before(rest, last_start - 1, "uploads", &seg_start) &&
            seg_before(rest, seg_start - 1, "blobs", &s2)) {
                const char *id = rest + last_start;
                r.kind = REG_ROUTE_UPLOAD;
                rc = take_name(&r, rest, s2 - 1, err);
                if (rc < 0)
                        goto fail;
                if (!reg_uuid_ok(id)) {
                        rc = err_set(err, ERR_BLOB_UPLOAD_UNKNOWN, "invalid upload id '%.40s'", id);
                        goto fail;
                }
                snprintf(r.ref, sizeof(r.ref), "%s", id);
                goto done;
        }
        if (seg_before(rest, last_start - 1, "blobs", &seg_start) ||
            seg_before(rest, last_start - 1, "referrers", &seg_start)) {
                r.kind = rest[seg_start] == 'b' ? REG_ROUTE_BLOB : REG_ROUTE_REFERRERS;
                rc = take_name(&r, rest, seg_start - 1, err);
                if (rc < 0)
                        goto fail;
                rc = take_digest(&r, rest + last_start, len - last_start, err);
                if (rc < 0)
                        goto fail;
                goto done;
        }
done:
        *ret = r;
        return 0;
fail:
        /* Which endpoint it was, and the name when that was valid, so the
         * caller can authorize the request before answering the error. */
        r.ref[0] = '\0';
        r.ref_is_digest = false;
        *ret = r;
        return rc;
}

int
reg_range_parse(const char *value, uint64_t size, struct reg_range *ret, struct err **err)
{
        const char *dash, *p, *end;
        uint64_t a = 0, b = 0;
        bool has_a, has_b;

        if (value == NULL)
                return 0;
        while (*value == ' ' || *value == '\t')
                value++;
        if (strncmp(value, "bytes=", 6) != 0)
                return 0;
        p = value + 6;
        while (*p == ' ')
                p++;
        if (strchr(p, ','))
                return 0; /* several ranges: serve the whole blob */
        end = p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        dash = memchr(p, '-', (size_t) (end - p));
        if (!dash)
                return 0;
        has_a = dash > p;
        has_b = dash + 1 < end;
        if (has_a && reg_parse_u64(p, (size_t) (dash - p), &a) < 0)
                return 0;
        if (has_b && reg_parse_u64(dash + 1, (size_t) (end - dash - 1), &b) < 0)
                return 0;
        if (!has_a && !has_b)
                return 0;
        if (!has_a) {
                /* suffix range: the last B bytes */
                if (b == 0 || size == 0)
                        return err_set(err, ERR_RANGE_INVALID, "range '%s' cannot be satisfied", value);
                if (b > size)
                        b = size;
                ret->start = size - b;
                ret->len = b;
                return 1;
        }
        if (has_b && b < a)
                return 0; /* invalid: ignore */
        if (a >= size)
                return err_set(err, ERR_RANGE_INVALID,
                               "range '%s' starts beyond the blob's %llu bytes", value,
                               (unsigned long long) size);
        if (!has_b || b >= size)
                b = size - 1;
        ret->start = a;
        ret->len = b - a + 1;
        return 1;
}
