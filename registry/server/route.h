/* Request routing and header parsing for the registry server: pure
 * functions over strings, no I/O, so they can be unit-tested and fuzzed.
 *
 * OCI distribution-spec v1.1 endpoints (spec.md, "Endpoints"):
 *   end-1   GET            /v2/
 *   end-2   GET/HEAD       /v2/<name>/blobs/<digest>
 *   end-3   GET/HEAD       /v2/<name>/manifests/<reference>
 *   end-4a  POST           /v2/<name>/blobs/uploads/
 *   end-4b  POST           /v2/<name>/blobs/uploads/?digest=<digest>
 *   end-5   PATCH          /v2/<name>/blobs/uploads/<reference>
 *   end-6   PUT            /v2/<name>/blobs/uploads/<reference>?digest=<digest>
 *   end-7   PUT            /v2/<name>/manifests/<reference>
 *   end-8   GET            /v2/<name>/tags/list[?n=&last=]
 *   end-9   DELETE         /v2/<name>/manifests/<reference>
 *   end-10  DELETE         /v2/<name>/blobs/<digest>
 *   end-11  POST           /v2/<name>/blobs/uploads/?mount=<digest>&from=<other>
 *   end-12  GET            /v2/<name>/referrers/<digest>[?artifactType=]
 *   end-13  GET            /v2/<name>/blobs/uploads/<reference>
 * plus DELETE of an upload session, GET /v2/_catalog, /healthz, /metrics.
 *
 * <name> may contain '/', so the path is matched from its right end: the
 * last one or two segments pick the endpoint and everything before them is
 * the name.
 */
#ifndef REGISTRY_SERVER_ROUTE_H
#define REGISTRY_SERVER_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"
#include "registry/common/range.h" /* reg_parse_u64, reg_byte_range_parse */

enum reg_route_kind {
        REG_ROUTE_NONE = 0,  /* no such endpoint: 404 */
        REG_ROUTE_BASE,      /* /v2/ */
        REG_ROUTE_CATALOG,   /* /v2/_catalog */
        REG_ROUTE_TAGS,      /* /v2/<name>/tags/list */
        REG_ROUTE_MANIFEST,  /* /v2/<name>/manifests/<reference> */
        REG_ROUTE_BLOB,      /* /v2/<name>/blobs/<digest> */
        REG_ROUTE_UPLOADS,   /* /v2/<name>/blobs/uploads/ */
        REG_ROUTE_UPLOAD,    /* /v2/<name>/blobs/uploads/<uuid> */
        REG_ROUTE_REFERRERS, /* /v2/<name>/referrers/<digest> */
        REG_ROUTE_HEALTH,    /* /healthz */
        REG_ROUTE_METRICS,   /* /metrics */
        REG_ROUTE_TOKEN,     /* the token endpoint (path configured) */
        REG_ROUTE__COUNT
};

/* Upload session ids: 32 lowercase hex characters. */
#define REG_UUID_LEN 32

struct reg_route {
        enum reg_route_kind kind;
        char name[LIMIT_REF_NAME + 1];  /* repository, "" when none */
        char ref[LIMIT_REF_TAG + 140];  /* tag, digest or uuid, "" when none */
        bool ref_is_digest;             /* ref is a (validated) digest */
};

/* Short stable name of KIND for logs and metrics ("manifest"). */
const char *reg_route_kind_name(enum reg_route_kind kind);

/* Parse PATH (already percent-decoded, without the query string) into
 * *ret.  TOKEN_PATH, when not NULL, is routed to REG_ROUTE_TOKEN.  An
 * unknown path gives kind REG_ROUTE_NONE and returns 0.  A known endpoint
 * with a bad name fails with ERR_NAME_INVALID, a bad digest with
 * ERR_DIGEST_INVALID (or ERR_UNSUPPORTED for an unknown algorithm), a bad
 * tag with ERR_TAG_INVALID, a bad upload id with ERR_BLOB_UPLOAD_UNKNOWN;
 * the message names the offending part.  On such a failure *ret is still
 * written: its kind says which endpoint the path was for (REG_ROUTE_NONE
 * when even that is unknown) and its name is the repository when that part
 * was valid ("" otherwise), ref is "", so the caller can authorize the
 * request before it answers the error. */
int reg_route_parse(const char *path, const char *token_path, struct reg_route *ret,
                    struct err **err);

/* Repository name grammar of the distribution-spec:
 *   [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
 * at most LIMIT_REF_NAME characters.  ERR_NAME_INVALID with the position. */
int reg_name_validate(const char *name, struct err **err);

/* Tag grammar: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}. */
bool reg_tag_ok(const char *tag);

/* A byte range of a blob GET, resolved against the blob SIZE. */
struct reg_range {
        uint64_t start; /* first byte */
        uint64_t len;   /* number of bytes */
};

/* Parse a Range request header VALUE for a blob of SIZE bytes (RFC 9110
 * 14.1.2, single range only).  Returns 1 and fills *ret for a satisfiable
 * range, 0 when the header should be ignored (absent, not "bytes=", several
 * ranges, malformed: RFC 9110 lets a server ignore them), and
 * -ERR_RANGE_INVALID when the range cannot be satisfied (416). */
int reg_range_parse(const char *value, uint64_t size, struct reg_range *ret, struct err **err);

/* True when S is a valid upload id (REG_UUID_LEN lowercase hex chars). */
bool reg_uuid_ok(const char *s);

#endif
