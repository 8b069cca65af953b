/* OCI image layout: index.json (names as org.opencontainers.image.ref.name
 * annotations) and the "oci:DIR[:NAME]" syntax. */
#include "oci/layout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "oci/layout-internal.h"
#include "oci/mediatype.h"

#define INDEX_FILE "index.json"

static int
check_index(const json_t *idx, const char *where, struct err **err)
{
        const json_t *v;

        if (!json_is_object(idx))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: not a JSON object", where);
        v = json_object_get(idx, "schemaVersion");
        if (!json_is_integer(v) || json_integer_value(v) != 2)
                return err_set(err, ERR_MANIFEST_INVALID, "%s: schemaVersion must be the integer 2", where);
        v = json_object_get(idx, "mediaType");
        if (v && (!json_is_string(v) || !oci_mediatype_equal(json_string_value(v), OCI_MT_INDEX)))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: mediaType must be \"%s\"", where, OCI_MT_INDEX);
        v = json_object_get(idx, "manifests");
        if (!json_is_array(v))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: manifests must be an array", where);
        for (size_t i = 0; i < json_array_size(v); i++)
                if (!json_is_object(json_array_get(v, i)))
                        return err_set(err, ERR_MANIFEST_INVALID, "%s: manifests[%zu] is not an object", where, i);
        return 0;
}

int
oci_layout_read_index(const struct oci_layout *layout, json_t **ret_index, struct err **err)
{
        _cleanup_free_ char *data = NULL;
        _cleanup_free_ char *where = xasprintf("%s/%s", layout->path, INDEX_FILE);
        json_t *idx;
        json_error_t jerr;
        size_t len;
        int r;

        r = fs_read_file_at(layout->dirfd, INDEX_FILE, LIMIT_JSON_SIZE, &data, &len, err);
        if (r < 0)
                return err_prefix(err, "%s", layout->path);
        idx = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!idx)
                return err_set(err, ERR_MANIFEST_INVALID, "%s: line %d column %d: %s", where, jerr.line, jerr.column,
                               jerr.text);
        r = check_index(idx, where, err);
        if (r < 0) {
                json_decref(idx);
                return r;
        }
        *ret_index = idx;
        return 0;
}

int
oci_layout_write_index(struct oci_layout *layout, const json_t *index, struct err **err)
{
        _cleanup_free_ char *where = xasprintf("%s/%s", layout->path, INDEX_FILE);
        _cleanup_free_ char *buf = NULL;
        int r;

        r = check_index(index, where, err);
        if (r < 0)
                return err_prefix(err, "refusing to write");
        /* Key order as read, so other tools' fields stay where they were. */
        buf = json_dumps(index, JSON_COMPACT);
        if (!buf)
                return err_set(err, ENOMEM, "serialising %s", where);
        if (strlen(buf) > LIMIT_JSON_SIZE)
                return err_set(err, ERR_SIZE_INVALID, "%s would be over %d bytes", where, LIMIT_JSON_SIZE);
        return fs_write_atomic_at(layout->dirfd, INDEX_FILE, buf, strlen(buf), 0644, err);
}

static bool
is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool
oci_layout_name_valid(const char *name)
{
        const char *p = name;

        if (!name || !*name || strlen(name) > LIMIT_REF_TOTAL)
                return false;
        /* component ("/" component)*, component = alnum+ (sep alnum+)* */
        for (;;) {
                if (!is_alnum(*p))
                        return false;
                while (is_alnum(*p))
                        p++;
                if (*p == '\0')
                        return true;
                if (*p == '/' || strchr("-._:@+", *p)) {
                        if (p[0] == '-' && p[1] == '-')
                                p++;
                        p++;
                        continue;
                }
                return false;
        }
}

static int
name_error(const char *name, struct err **err)
{
        size_t n = name ? strlen(name) : 0;

        if (n == 0)
                return err_set(err, ERR_REFERENCE_INVALID, "empty image name");
        if (n > LIMIT_REF_TOTAL)
                return err_set(err, ERR_REFERENCE_INVALID, "image name of %zu characters is over the limit of %d", n,
                               LIMIT_REF_TOTAL);
        return err_set(err, ERR_REFERENCE_INVALID,
                       "invalid image name \"%s\": want [A-Za-z0-9]+ parts joined by one of - . _ : @ + -- /", name);
}

static const char *
entry_name(const json_t *entry)
{
        const json_t *ann = json_object_get(entry, "annotations");
        const json_t *v = json_object_get(ann, OCI_ANNOTATION_REF_NAME);

        return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *
entry_digest(const json_t *entry)
{
        const json_t *v = json_object_get(entry, "digest");

        return json_is_string(v) ? json_string_value(v) : NULL;
}

int
oci_layout_tag(struct oci_layout *layout, const char *name, const struct oci_descriptor *desc, struct err **err)
{
        _cleanup_json_ json_t *idx = NULL;
        _cleanup_json_ json_t *kept = json_array();
        struct oci_descriptor copy;
        json_t *manifests, *entry;
        size_t i;
        int r;

        if (name && !oci_layout_name_valid(name))
                return name_error(name, err);
        r = oci_descriptor_validate(desc, "descriptor", err);
        if (r < 0)
                return err_prefix(err, "tagging %s in %s", name ? name : "(unnamed)", layout->path);
        if (!oci_mediatype_is_manifest_or_index(desc->media_type))
                return err_set(err, ERR_MANIFEST_INVALID,
                               "tagging %s in %s: %s has media type %s, not a manifest or an index",
                               name ? name : "(unnamed)", layout->path, desc->digest, desc->media_type);
        r = oci_layout_read_index(layout, &idx, err);
        if (r < 0)
                return r;
        manifests = json_object_get(idx, "manifests");
        json_array_foreach(manifests, i, entry)
        {
                const char *n = entry_name(entry);
                const char *d = entry_digest(entry);

                if (name && n && strcmp(n, name) == 0)
                        continue; /* the name moves to DESC */
                if (!name && !n && d && strcmp(d, desc->digest) == 0)
                        return 0; /* already there, unnamed */
                json_array_append(kept, entry);
        }
        oci_descriptor_copy(&copy, desc);
        oci_descriptor_set_annotation(&copy, OCI_ANNOTATION_REF_NAME, name);
        if (copy.annotations && json_object_size(copy.annotations) == 0) {
                json_decref(copy.annotations);
                copy.annotations = NULL;
        }
        json_array_append_new(kept, oci_descriptor_to_json(&copy));
        oci_descriptor_clear(&copy);
        if (json_array_size(kept) > LIMIT_INDEX_MANIFESTS * 64)
                return err_set(err, ERR_SIZE_INVALID, "%s/%s: too many entries", layout->path, INDEX_FILE);
        json_object_set(idx, "manifests", kept);
        return oci_layout_write_index(layout, idx, err);
}

int
oci_layout_find(const struct oci_layout *layout, const char *name, struct oci_descriptor *ret_desc, struct err **err)
{
        _cleanup_json_ json_t *idx = NULL;
        const json_t *found = NULL, *entry;
        size_t i, found_i = 0;
        char where[64];
        int r;

        r = oci_layout_read_index(layout, &idx, err);
        if (r < 0)
                return r;
        json_array_foreach(json_object_get(idx, "manifests"), i, entry)
        {
                const char *n = entry_name(entry);
                if (n && strcmp(n, name) == 0) {
                        found = entry;
                        found_i = i;
                }
        }
        if (!found)
                return err_set(err, ERR_MANIFEST_UNKNOWN, "no image named \"%s\" in %s", name, layout->path);
        snprintf(where, sizeof(where), "manifests[%zu]", found_i);
        r = oci_descriptor_from_json(found, where, ret_desc, err);
        if (r < 0)
                return err_prefix(err, "%s/%s", layout->path, INDEX_FILE);
        return 0;
}

int
oci_layout_select(const struct oci_layout *layout, const char *name, struct oci_descriptor *ret_desc,
                  struct err **err)
{
        struct oci_layout_entry *e = NULL;
        size_t n = 0;
        int r;

        if (name)
                return oci_layout_find(layout, name, ret_desc, err);
        r = oci_layout_list(layout, &e, &n, err);
        if (r < 0)
                return r;
        if (n != 1) {
                oci_layout_entries_free(e, n);
                if (n == 0)
                        return err_set(err, ERR_MANIFEST_UNKNOWN, "no image in %s", layout->path);
                return err_set(err, ERR_REFERENCE_INVALID, "%s holds %zu images: name one (oci:%s:NAME)",
                               layout->path, n, layout->path);
        }
        oci_descriptor_copy(ret_desc, &e[0].desc);
        oci_layout_entries_free(e, n);
        return 0;
}

int
oci_layout_untag(struct oci_layout *layout, const char *name, struct err **err)
{
        _cleanup_json_ json_t *idx = NULL;
        _cleanup_json_ json_t *kept = json_array();
        json_t *entry;
        size_t i;
        bool removed = false;
        int r;

        r = oci_layout_read_index(layout, &idx, err);
        if (r < 0)
                return r;
        json_array_foreach(json_object_get(idx, "manifests"), i, entry)
        {
                const char *n = entry_name(entry);
                if (n && strcmp(n, name) == 0)
                        removed = true;
                else
                        json_array_append(kept, entry);
        }
        if (!removed)
                return err_set(err, ERR_MANIFEST_UNKNOWN, "no image named \"%s\" in %s", name, layout->path);
        json_object_set(idx, "manifests", kept);
        return oci_layout_write_index(layout, idx, err);
}

void
oci_layout_entries_free(struct oci_layout_entry *entries, size_t n)
{
        if (!entries)
                return;
        for (size_t i = 0; i < n; i++) {
                free(entries[i].name);
                oci_descriptor_clear(&entries[i].desc);
        }
        free(entries);
}

int
oci_layout_list(const struct oci_layout *layout, struct oci_layout_entry **ret_entries, size_t *ret_n, struct err **err)
{
        _cleanup_json_ json_t *idx = NULL;
        struct oci_layout_entry *entries;
        const json_t *manifests, *entry;
        size_t i, n;
        int r;

        r = oci_layout_read_index(layout, &idx, err);
        if (r < 0)
                return r;
        manifests = json_object_get(idx, "manifests");
        n = json_array_size(manifests);
        entries = xcalloc(n ? n : 1, sizeof(*entries));
        json_array_foreach(manifests, i, entry)
        {
                char where[64];
                const char *name = entry_name(entry);

                snprintf(where, sizeof(where), "manifests[%zu]", i);
                r = oci_descriptor_from_json(entry, where, &entries[i].desc, err);
                if (r < 0) {
                        oci_layout_entries_free(entries, i);
                        return err_prefix(err, "%s/%s", layout->path, INDEX_FILE);
                }
                entries[i].name = name ? xstrdup(name) : NULL;
        }
        *ret_entries = entries;
        *ret_n = n;
        return 0;
}

bool
oci_layout_is_ref(const char *s)
{
        return s && strncmp(s, "oci:", 4) == 0;
}

int
oci_layout_parse_ref(const char *s, char **ret_dir, char **ret_name, struct err **err)
{
        const char *rest, *colon;
        _cleanup_free_ char *dir = NULL;
        _cleanup_free_ char *name = NULL;

        if (!oci_layout_is_ref(s))
                return err_set(err, ERR_REFERENCE_INVALID, "\"%s\": an OCI layout reference starts with \"oci:\"",
                               s ? s : "");
        rest = s + 4;
        colon = strchr(rest, ':');
        dir = colon ? xstrndup(rest, (size_t) (colon - rest)) : xstrdup(rest);
        if (dir[0] == '\0')
                return err_set(err, ERR_REFERENCE_INVALID, "\"%s\": empty directory after \"oci:\"", s);
        if (colon) {
                name = xstrdup(colon + 1);
                if (!oci_layout_name_valid(name)) {
                        name_error(name, err);
                        return err_prefix(err, "\"%s\"", s);
                }
        }
        *ret_dir = steal_ptr(&dir);
        *ret_name = steal_ptr(&name);
        return 0;
}
