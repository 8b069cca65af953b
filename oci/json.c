/* JSON helpers of the image model: loading with caps, deterministic dumps,
 * string vectors and maps, and typed field readers (model-internal.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strv.h"
#include "oci/model-internal.h"
#include "oci/model.h"

/* ---- strv ---- */

size_t
oci_strv_len(char *const *v)
{
        size_t n = 0;

        if (v)
                while (v[n])
                        n++;
        return n;
}

char **
oci_strv_new_empty(void)
{
        return xcalloc(1, sizeof(char *));
}

char **
oci_strv_dup(char *const *v)
{
        size_t n;
        char **r;

        if (!v)
                return NULL;
        n = oci_strv_len(v);
        r = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                r[i] = xstrdup(v[i]);
        return r;
}

char **
oci_strv_from(const char *const *s, size_t n)
{
        char **r = xcalloc(n + 1, sizeof(char *));

        for (size_t i = 0; i < n; i++)
                r[i] = xstrdup(s[i]);
        return r;
}

void
oci_strv_free(char **v)
{
        strv_free(v);
}

char **
oci_strv_append(char **v, const char *s)
{
        size_t n = oci_strv_len(v);

        v = xrealloc(v, (n + 2) * sizeof(char *));
        v[n] = xstrdup(s);
        v[n + 1] = NULL;
        return v;
}

bool
oci_strv_contains(char *const *v, const char *s)
{
        if (!v || !s)
                return false;
        for (; *v; v++)
                if (strcmp(*v, s) == 0)
                        return true;
        return false;
}

bool
oci_strv_equal(char *const *a, char *const *b)
{
        if (!a || !b)
                return a == b;
        for (; *a && *b; a++, b++)
                if (strcmp(*a, *b) != 0)
                        return false;
        return *a == NULL && *b == NULL;
}

/* ---- strings ---- */

/* Length of a valid UTF-8 sequence at S (1-4), or 0 when invalid. */
static size_t
utf8_seq(const unsigned char *s)
{
        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                return (s[1] & 0xc0) == 0x80 ? 2 : 0;
        if (s[0] >= 0xe0 && s[0] <= 0xef) {
                if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
                        return 0;
                if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f))
                        return 0;
                return 3;
        }
        if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
                        return 0;
                if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
                        return 0;
                return 4;
        }
        return 0;
}

json_t *
oci_json_string(const char *s)
{
        json_t *j = json_string(s);
        size_t n, o = 0;
        char *buf;

        if (j)
                return j;
        /* Not UTF-8 (e.g. a label from a Latin-1 Dockerfile): replace each
         * bad byte with U+FFFD rather than fail or write invalid JSON. */
        n = strlen(s);
        buf = xmalloc(n * 3 + 1);
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                size_t k = utf8_seq(p);

                if (k == 0) {
                        memcpy(buf + o, "\xef\xbf\xbd", 3);
                        o += 3;
                        p++;
                } else {
                        memcpy(buf + o, p, k);
                        o += k;
                        p += k;
                }
        }
        buf[o] = '\0';
        j = json_string(buf);
        free(buf);
        if (!j)
                abort();
        return j;
}

/* ---- maps ---- */

const char *
oci_map_get(const json_t *map, const char *key)
{
        json_t *v;

        if (!map || !key || !json_is_object(map))
                return NULL;
        v = json_object_get(map, key);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

void
oci_map_set(json_t **map, const char *key, const char *value)
{
        if (!value) {
                if (*map)
                        json_object_del(*map, key);
                return;
        }
        if (!*map)
                *map = json_object();
        {
                json_t *k = oci_json_string(key);

                if (!*map || json_object_set_new(*map, json_string_value(k), oci_json_string(value)) < 0)
                        abort();
                json_decref(k);
        }
}

/* ---- load / dump ---- */

int
oci_json_load(const void *buf, size_t len, size_t cap, const char *what, json_t **ret_json, struct err **err)
{
        json_error_t jerr;
        json_t *j;

        if (len > cap)
                return err_set(err, ERR_MANIFEST_INVALID, "%s: too large (%zu bytes, at most %zu)", what, len, cap);
        if (len == 0)
                return err_set(err, ERR_MANIFEST_INVALID, "%s: empty document", what);
        /* Duplicate keys are refused: two parsers reading different values
         * from the same bytes is how signature/digest checks get bypassed. */
        j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
                return err_set(err, ERR_MANIFEST_INVALID, "%s: invalid JSON at line %d column %d: %s", what,
                               jerr.line, jerr.column, jerr.text);
        *ret_json = j;
        return 0;
}

int
oci_json_dump(const json_t *j, char **ret_buf, size_t *ret_len, struct err **err)
{
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

        if (!s)
                return err_set(err, ENOMEM, "serialising JSON failed");
        *ret_len = strlen(s);
        *ret_buf = s;
        return 0;
}

/* ---- field readers ---- */

const char *
oci_field_path(char *buf, size_t size, const char *where, const char *key)
{
        if (where && *where)
                snprintf(buf, size, "%s.%s", where, key);
        else
                snprintf(buf, size, "%s", key);
        return buf;
}

static json_t *
field(const json_t *obj, const char *key)
{
        json_t *v = json_object_get(obj, key);

        return json_is_null(v) ? NULL : v;
}

static const char *
type_name(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        case JSON_NULL:
                return "null";
        }
        return "?";
}

int
oci_field_string(const json_t *obj, const char *where, const char *key, bool required, char **ret,
                 struct err **err)
{
        char p[256];
        json_t *v = field(obj, key);

        if (!v) {
                if (required)
                        return err_set(err, ERR_MANIFEST_INVALID, "%s: missing required field",
                                       oci_field_path(p, sizeof(p), where, key));
                return 0;
        }
        if (!json_is_string(v))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: must be a string, not %s",
                               oci_field_path(p, sizeof(p), where, key), type_name(v));
        *ret = xstrdup(json_string_value(v));
        return 0;
}

int
oci_field_strv(const json_t *obj, const char *where, const char *key, char ***ret, struct err **err)
{
        char p[256];
        json_t *v = field(obj, key), *e;
        size_t i;
        char **r;

        if (!v)
                return 0;
        if (!json_is_array(v))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: must be an array of strings, not %s",
                               oci_field_path(p, sizeof(p), where, key), type_name(v));
        json_array_foreach(v, i, e) {
                if (!json_is_string(e))
                        return err_set(err, ERR_MANIFEST_INVALID, "%s[%zu]: must be a string, not %s",
                                       oci_field_path(p, sizeof(p), where, key), i, type_name(e));
        }
        r = xcalloc(json_array_size(v) + 1, sizeof(char *));
        json_array_foreach(v, i, e) r[i] = xstrdup(json_string_value(e));
        *ret = r;
        return 0;
}

int
oci_field_map(const json_t *obj, const char *where, const char *key, json_t **ret, struct err **err)
{
        char p[256];
        json_t *v = field(obj, key), *e;
        const char *k;

        if (!v)
                return 0;
        if (!json_is_object(v))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: must be an object of strings, not %s",
                               oci_field_path(p, sizeof(p), where, key), type_name(v));
        json_object_foreach(v, k, e) {
                if (!json_is_string(e))
                        return err_set(err, ERR_MANIFEST_INVALID, "%s[\"%.100s\"]: must be a string, not %s",
                                       oci_field_path(p, sizeof(p), where, key), k, type_name(e));
        }
        *ret = json_deep_copy(v);
        if (!*ret)
                abort();
        return 0;
}

int
oci_field_keys(const json_t *obj, const char *where, const char *key, char ***ret, struct err **err)
{
        char p[256];
        json_t *v = field(obj, key), *e;
        const char *k;
        char **r;
        size_t i = 0;

        if (!v)
                return 0;
        if (!json_is_object(v))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: must be an object, not %s",
                               oci_field_path(p, sizeof(p), where, key), type_name(v));
        r = xcalloc(json_object_size(v) + 1, sizeof(char *));
        json_object_foreach(v, k, e) r[i++] = xstrdup(k);
        *ret = r;
        return 0;
}

int
oci_field_int64(const json_t *obj, const char *where, const char *key, bool required, int64_t *ret,
                bool *ret_present, struct err **err)
{
        char p[256];
        json_t *v = field(obj, key);

        if (!v) {
                if (required)
                        return err_set(err, ERR_MANIFEST_INVALID, "%s: missing required field",
                                       oci_field_path(p, sizeof(p), where, key));
                if (ret_present)
                        *ret_present = false;
                return 0;
        }
        if (!json_is_integer(v))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: must be an integer, not %s",
                               oci_field_path(p, sizeof(p), where, key), type_name(v));
        *ret = (int64_t) json_integer_value(v);
        if (ret_present)
                *ret_present = true;
        return 0;
}

int
oci_field_bool(const json_t *obj, const char *where, const char *key, bool *ret, struct err **err)
{
        char p[256];
        json_t *v = field(obj, key);

        if (!v)
                return 0;
        if (!json_is_boolean(v))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: must be a boolean, not %s",
                               oci_field_path(p, sizeof(p), where, key), type_name(v));
        *ret = json_is_true(v);
        return 0;
}

json_t *
oci_extra_of(const json_t *obj, const char *const *known)
{
        json_t *r = json_object();
        const char *k;
        json_t *v;

        if (!r)
                abort();
        json_object_foreach((json_t *) obj, k, v) {
                bool is_known = false;

                for (const char *const *q = known; *q; q++)
                        if (strcmp(*q, k) == 0)
                                is_known = true;
                if (!is_known && json_object_set(r, k, v) < 0)
                        abort();
        }
        if (json_object_size(r) == 0) {
                json_decref(r);
                return NULL;
        }
        /* Deep copy so the caller's document can be released. */
        {
                json_t *c = json_deep_copy(r);

                json_decref(r);
                if (!c)
                        abort();
                return c;
        }
}

json_t *
oci_object_from_extra(const json_t *extra)
{
        json_t *o = extra ? json_deep_copy(extra) : json_object();

        if (!o)
                abort();
        return o;
}

void
oci_set_string(json_t *obj, const char *key, const char *v)
{
        if (v && json_object_set_new(obj, key, oci_json_string(v)) < 0)
                abort();
}

void
oci_set_strv(json_t *obj, const char *key, char *const *v)
{
        json_t *a;

        if (!v)
                return;
        a = json_array();
        if (!a)
                abort();
        for (; *v; v++)
                if (json_array_append_new(a, oci_json_string(*v)) < 0)
                        abort();
        if (json_object_set_new(obj, key, a) < 0)
                abort();
}

void
oci_set_keys(json_t *obj, const char *key, char *const *v)
{
        json_t *o;

        if (!v)
                return;
        o = json_object();
        if (!o)
                abort();
        for (; *v; v++) {
                /* Keys go through the same UTF-8 repair as values. */
                json_t *k = oci_json_string(*v);

                if (json_object_set_new(o, json_string_value(k), json_object()) < 0)
                        abort();
                json_decref(k);
        }
        if (json_object_set_new(obj, key, o) < 0)
                abort();
}

void
oci_set_map(json_t *obj, const char *key, const json_t *map)
{
        json_t *c;

        if (!map)
                return;
        c = json_deep_copy(map);
        if (!c || json_object_set_new(obj, key, c) < 0)
                abort();
}

unsigned char *
oci_raw_copy(const void *buf, size_t len)
{
        unsigned char *r = xmalloc(len + 1);

        memcpy(r, buf, len);
        r[len] = '\0';
        return r;
}
