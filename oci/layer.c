/* Layer codec: the parts shared by writing and applying. */
#include "oci/layer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "oci/layer-internal.h"

const char *
oci_layer_compression_name(enum oci_layer_compression c)
{
        switch (c) {
        case OCI_LAYER_GZIP:
                return "gzip";
        case OCI_LAYER_ZSTD:
                return "zstd";
        case OCI_LAYER_UNCOMPRESSED:
        default:
                return "none";
        }
}

enum oci_layer_compression
oci_layer_detect_compression(const void *buf, size_t len)
{
        const unsigned char *p = buf;

        /* RFC 1952 member header: ID1 ID2. */
        if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
                return OCI_LAYER_GZIP;
        /* RFC 8878 frame magic 0xFD2FB528, little-endian. */
        if (len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
                return OCI_LAYER_ZSTD;
        return OCI_LAYER_UNCOMPRESSED;
}

static int
map_ranges(const struct oci_layer_idrange *r, size_t n, bool to_image, uint32_t id, uint32_t *ret_id)
{
        for (size_t i = 0; i < n; i++) {
                uint32_t from = to_image ? r[i].host_id : r[i].image_id;
                uint32_t to = to_image ? r[i].image_id : r[i].host_id;

                if (id >= from && (uint64_t) id - from < r[i].count) {
                        *ret_id = to + (id - from);
                        return 0;
                }
        }
        return -EOVERFLOW;
}

int
oci_layer_map_id(const struct oci_layer_idmap *m, bool is_gid, bool to_image, uint32_t id, uint32_t *ret_id)
{
        uint32_t out;

        if (!m) {
                *ret_id = id;
                return 0;
        }
        if (m->map) {
                if (m->map(m->userdata, is_gid, to_image, id, &out) < 0)
                        return -EOVERFLOW;
                *ret_id = out;
                return 0;
        }
        if (is_gid && m->ngid > 0)
                return map_ranges(m->gid_ranges, m->ngid, to_image, id, ret_id);
        if (!is_gid && m->nuid > 0)
                return map_ranges(m->uid_ranges, m->nuid, to_image, id, ret_id);
        *ret_id = id;
        return 0;
}

bool
oci_layer_is_overlay_xattr(const char *name)
{
        return strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0;
}

static uint64_t
hash_str(const char *s)
{
        /* FNV-1a */
        uint64_t h = 1469598103934665603ULL;

        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 1099511628211ULL;
        }
        return h;
}

static void
strset_grow(struct oci_layer_strset *s)
{
        size_t ncap = s->cap ? s->cap * 2 : 64;
        char **nslots = xcalloc(ncap, sizeof(char *));

        for (size_t i = 0; i < s->cap; i++) {
                if (!s->slots[i])
                        continue;
                size_t j = hash_str(s->slots[i]) & (ncap - 1);
                while (nslots[j])
                        j = (j + 1) & (ncap - 1);
                nslots[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = nslots;
        s->cap = ncap;
}

bool
oci_layer_strset_has(const struct oci_layer_strset *s, const char *key)
{
        if (s->cap == 0)
                return false;
        for (size_t j = hash_str(key) & (s->cap - 1); s->slots[j]; j = (j + 1) & (s->cap - 1))
                if (strcmp(s->slots[j], key) == 0)
                        return true;
        return false;
}

bool
oci_layer_strset_add(struct oci_layer_strset *s, const char *key)
{
        size_t j;

        if (oci_layer_strset_has(s, key))
                return false;
        if ((s->n + 1) * 2 > s->cap)
                strset_grow(s);
        for (j = hash_str(key) & (s->cap - 1); s->slots[j]; j = (j + 1) & (s->cap - 1))
                ;
        s->slots[j] = xstrdup(key);
        s->n++;
        return true;
}

void
oci_layer_strset_free(struct oci_layer_strset *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->cap; i++)
                free(s->slots[i]);
        free(s->slots);
        s->slots = NULL;
        s->cap = s->n = 0;
}
