/* The blob-location record (blobinfo-internal.h): parse, update, look up,
 * and keep it in the store. */
#include "registry/client/blobinfo-internal.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "digest/digest.h"
#include "oci/ref.h"

/* A host[:port] as registry references have it (oci/ref.h): names, IPv4
 * and bracketed IPv6, at most 255 bytes; nothing that could carry
 * user:password@ or a path. */
#define HOST_MAX 255

struct location {
        char *host;                /* lower-cased */
        char *repo;
        int64_t time;
};

struct entry {
        char digest[DIGEST_STR_MAX];
        size_t n;
        struct location locs[REG_BLOBINFO_REPOS]; /* newest first */
};

struct reg_blobinfo {
        struct entry *v;
        size_t n, alloc;
        /* Open addressing over v by digest (index + 1; 0: empty), at most
         * half full: a full record is read on every push and pull. */
        size_t *slots;
        size_t nslots;
};

struct reg_blobinfo *
reg_blobinfo_new(void)
{
        return xcalloc(1, sizeof(struct reg_blobinfo));
}

static void
location_clear(struct location *l)
{
        free(l->host);
        free(l->repo);
        memset(l, 0, sizeof(*l));
}

void
reg_blobinfo_free(struct reg_blobinfo *bi)
{
        if (!bi)
                return;
        for (size_t i = 0; i < bi->n; i++)
                for (size_t j = 0; j < bi->v[i].n; j++)
                        location_clear(&bi->v[i].locs[j]);
        free(bi->v);
        free(bi->slots);
        free(bi);
}

size_t
reg_blobinfo_count(const struct reg_blobinfo *bi)
{
        return bi ? bi->n : 0;
}

static bool
host_ok(const char *h)
{
        size_t n = strlen(h);
        if (n == 0 || n > HOST_MAX)
                return false;
        for (const char *p = h; *p; p++)
                if (!isalnum((unsigned char) *p) && *p != '.' && *p != '-' && *p != ':' && *p != '[' && *p != ']')
                        return false;
        return true;
}

/* FNV-1a. */
static size_t
hash_digest(const char *s)
{
        uint64_t h = 14695981039346656037ull;
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ull;
        return (size_t) h;
}

/* The slot holding DIGEST, or the empty slot where it would go. */
static size_t *
slot_of(const struct reg_blobinfo *bi, const char *digest)
{
        size_t mask = bi->nslots - 1;
        for (size_t k = hash_digest(digest) & mask;; k = (k + 1) & mask)
                if (!bi->slots[k] || strcmp(bi->v[bi->slots[k] - 1].digest, digest) == 0)
                        return &bi->slots[k];
}

static void
rehash(struct reg_blobinfo *bi, size_t nslots)
{
        free(bi->slots);
        bi->nslots = nslots;
        bi->slots = xcalloc(nslots, sizeof(*bi->slots));
        for (size_t i = 0; i < bi->n; i++)
                *slot_of(bi, bi->v[i].digest) = i + 1;
}

static struct entry *
find_entry(const struct reg_blobinfo *bi, const char *digest)
{
        if (!bi->nslots)
                return NULL;
        size_t *slot = slot_of(bi, digest);
        return *slot ? &bi->v[*slot - 1] : NULL;
}

/* Put L at its place in E (newest first; among equal times, the one
 * noted last first).  E has room for it. */
static void
insert_location(struct entry *e, struct location l)
{
        size_t k = 0;
        while (k < e->n && e->locs[k].time > l.time)
                k++;
        memmove(&e->locs[k + 1], &e->locs[k], (e->n - k) * sizeof(e->locs[0]));
        e->locs[k] = l;
        e->n++;
}

static int
cmp_newest(const void *a, const void *b)
{
        const struct entry *x = a, *y = b;
        int64_t tx = x->n ? x->locs[0].time : 0, ty = y->n ? y->locs[0].time : 0;
        if (tx != ty)
                return tx > ty ? -1 : 1;
        return strcmp(x->digest, y->digest);
}

/* Keep the REG_BLOBINFO_DIGESTS digests used last. */
static void
trim(struct reg_blobinfo *bi)
{
        if (bi->n <= REG_BLOBINFO_DIGESTS)
                return;
        qsort(bi->v, bi->n, sizeof(*bi->v), cmp_newest);
        for (size_t i = REG_BLOBINFO_DIGESTS; i < bi->n; i++)
                for (size_t j = 0; j < bi->v[i].n; j++)
                        location_clear(&bi->v[i].locs[j]);
        bi->n = REG_BLOBINFO_DIGESTS;
        rehash(bi, bi->nslots);
}

int
reg_blobinfo_note(struct reg_blobinfo *bi, const char *digest, const char *host, const char *repo, int64_t time)
{
        struct digest d;

        if (!digest || !host || !repo || time < 0 || digest_parse(digest, &d, NULL) < 0 || !host_ok(host) ||
            oci_repo_name_validate(repo, NULL) < 0)
                return -EINVAL;
        struct entry *e = find_entry(bi, d.str);
        if (!e) {
                if (bi->n == bi->alloc) {
                        bi->alloc = bi->alloc ? bi->alloc * 2 : 16;
                        bi->v = xrealloc(bi->v, bi->alloc * sizeof(*bi->v));
                }
                e = &bi->v[bi->n++];
                memset(e, 0, sizeof(*e));
                snprintf(e->digest, sizeof(e->digest), "%s", d.str);
                if (2 * bi->n > bi->nslots)
                        rehash(bi, bi->nslots ? 2 * bi->nslots : 64);
                else
                        *slot_of(bi, e->digest) = bi->n;
        }
        for (size_t j = 0; j < e->n; j++)
                if (strcasecmp(e->locs[j].host, host) == 0 && strcmp(e->locs[j].repo, repo) == 0) {
                        struct location l = e->locs[j];
                        if (time > l.time)
                                l.time = time;
                        memmove(&e->locs[j], &e->locs[j + 1], (e->n - j - 1) * sizeof(e->locs[0]));
                        e->n--;
                        insert_location(e, l);
                        return 0;
                }
        /* A new location: it takes the oldest one's place when full. */
        if (e->n == REG_BLOBINFO_REPOS) {
                if (e->locs[e->n - 1].time > time)
                        return 0;
                location_clear(&e->locs[--e->n]);
        }
        struct location l = {.host = xstrdup(host), .repo = xstrdup(repo), .time = time};
        for (char *p = l.host; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        insert_location(e, l);
        /* Trimming on every note of a full record would sort it each time:
         * let it grow to twice the cap first. */
        if (bi->n > 2 * REG_BLOBINFO_DIGESTS)
                trim(bi);
        return 0;
}

void
reg_blobinfo_merge(struct reg_blobinfo *into, const struct reg_blobinfo *from)
{
        if (!from)
                return;
        /* Oldest first, so that equal times keep their order. */
        for (size_t i = 0; i < from->n; i++)
                for (size_t j = from->v[i].n; j-- > 0;)
                        reg_blobinfo_note(into, from->v[i].digest, from->v[i].locs[j].host, from->v[i].locs[j].repo,
                                          from->v[i].locs[j].time);
}

const char *
reg_blobinfo_find(const struct reg_blobinfo *bi, const char *digest, const char *host, const char *not_repo)
{
        const struct entry *e = bi ? find_entry(bi, digest) : NULL;
        if (!e)
                return NULL;
        for (size_t j = 0; j < e->n; j++)
                if (strcasecmp(e->locs[j].host, host) == 0 && (!not_repo || strcmp(e->locs[j].repo, not_repo) != 0))
                        return e->locs[j].repo;
        return NULL;
}

/* ---- the file ----------------------------------------------------------- */

/* One element of "blobs": its valid locations go into BI; what is not
 * valid is counted in *DROPPED (an entry without a valid digest or a
 * locations array as one). */
static void
parse_entry(struct reg_blobinfo *bi, json_t *je, size_t *dropped)
{
        const char *digest = json_string_value(json_object_get(je, "digest"));
        json_t *locs = json_object_get(je, "locations");
        struct digest d;

        if (!json_is_object(je) || !digest || digest_parse(digest, &d, NULL) < 0 || !json_is_array(locs)) {
                (*dropped)++;
                return;
        }
        /* Oldest (last) first, so that equal times keep the file's order. */
        for (size_t i = json_array_size(locs); i-- > 0;) {
                json_t *l = json_array_get(locs, i), *t = json_object_get(l, "time");
                const char *host = json_string_value(json_object_get(l, "host"));
                const char *repo = json_string_value(json_object_get(l, "repository"));
                if (!json_is_object(l) || !json_is_integer(t) ||
                    reg_blobinfo_note(bi, d.str, host, repo, json_integer_value(t)) < 0)
                        (*dropped)++;
        }
}

int
reg_blobinfo_parse(const char *text, size_t len, struct reg_blobinfo **ret, size_t *ret_dropped, struct err **err)
{
        _cleanup_(reg_blobinfo_freep) struct reg_blobinfo *bi = NULL;
        json_error_t je;
        json_t *j, *blobs, *e;
        size_t i, dropped = 0;

        if (len > LIMIT_JSON_SIZE)
                return err_set(err, EINVAL, "%zu bytes, over the %d byte limit", len, LIMIT_JSON_SIZE);
        j = json_loadb(text, len, 0, &je);
        if (!j)
                return err_set(err, EINVAL, "%d:%d: %s", je.line, je.column, je.text);
        if (!json_is_object(j)) {
                json_decref(j);
                return err_set(err, EINVAL, "expected a JSON object");
        }
        json_t *version = json_object_get(j, "version");
        if (!json_is_integer(version) || json_integer_value(version) != 1) {
                json_decref(j);
                return err_set(err, EINVAL, "\"version\" is not 1");
        }
        blobs = json_object_get(j, "blobs");
        if (blobs && !json_is_array(blobs)) {
                json_decref(j);
                return err_set(err, EINVAL, "\"blobs\" is not an array");
        }
        bi = reg_blobinfo_new();
        json_array_foreach(blobs, i, e)
                parse_entry(bi, e, &dropped);
        json_decref(j);
        trim(bi);
        if (ret_dropped)
                *ret_dropped = dropped;
        *ret = steal_ptr(&bi);
        return 0;
}

char *
reg_blobinfo_serialize(struct reg_blobinfo *bi, size_t *ret_len)
{
        trim(bi);
        json_t *blobs = json_array();
        for (size_t i = 0; i < bi->n; i++) {
                const struct entry *e = &bi->v[i];
                json_t *locs = json_array();
                for (size_t k = 0; k < e->n; k++)
                        json_array_append_new(locs, json_pack("{s:s, s:s, s:I}", "host", e->locs[k].host,
                                                              "repository", e->locs[k].repo, "time",
                                                              (json_int_t) e->locs[k].time));
                json_array_append_new(blobs, json_pack("{s:s, s:o}", "digest", e->digest, "locations", locs));
        }
        json_t *j = json_pack("{s:i, s:o}", "version", 1, "blobs", blobs);
        char *s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!s)
                abort();
        if (ret_len)
                *ret_len = strlen(s);
        return s;
}

static char *
record_path(struct oci_store *store)
{
        return xasprintf("%s/%s", oci_store_path(store), REG_BLOBINFO_FILE);
}

/* Read PATH into *ret: an empty record when it does not exist. */
static int
read_record(const char *path, struct reg_blobinfo **ret, size_t *ret_dropped, struct err **err)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = fs_read_file(path, LIMIT_JSON_SIZE, &text, &len, err);
        if (r == -ENOENT) {
                err_clear(err);
                if (ret_dropped)
                        *ret_dropped = 0;
                *ret = reg_blobinfo_new();
                return 0;
        }
        if (r < 0)
                return r;
        r = reg_blobinfo_parse(text, len, ret, ret_dropped, err);
        if (r < 0)
                return err_prefix(err, "%s", path);
        return 0;
}

int
reg_blobinfo_load(struct oci_store *store, struct reg_blobinfo **ret, size_t *ret_dropped, struct err **err)
{
        _cleanup_free_ char *path = record_path(store);
        int lock = oci_store_lock(store, false, err);
        if (lock < 0)
                return lock;
        int r = read_record(path, ret, ret_dropped, err);
        oci_store_unlock(lock);
        return r;
}

int
reg_blobinfo_save(struct oci_store *store, const struct reg_blobinfo *delta, struct err **err)
{
        _cleanup_free_ char *path = record_path(store), *text = NULL;
        _cleanup_(reg_blobinfo_freep) struct reg_blobinfo *bi = NULL;
        size_t len;
        int r;

        if (!delta || delta->n == 0)
                return 0;
        int lock = oci_store_lock(store, true, err);
        if (lock < 0)
                return lock;
        struct err *e = NULL;
        if (read_record(path, &bi, NULL, &e) < 0) {
                /* Garbled (the load already warned about it): start over. */
                err_clear(&e);
                bi = reg_blobinfo_new();
        }
        reg_blobinfo_merge(bi, delta);
        text = reg_blobinfo_serialize(bi, &len);
        r = fs_write_atomic(path, text, len, 0644, err);
        oci_store_unlock(lock);
        return r;
}
