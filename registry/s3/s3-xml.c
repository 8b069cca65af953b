/* The XML of S3's answers, read by expat.  One small walker keeps the path
 * of element names from the root and the text of the innermost element;
 * each answer's reader looks at (path, text) as each element ends.
 *
 * The answers come from the network: no DTD (so no entity expansion, the
 * "billion laughs"), bounded depth, text and entry counts, and every
 * failure an EPROTO naming what was wrong and where. */
#include <errno.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "registry/common/range.h"
#include "registry/s3/s3-internal.h"

#define NAME_MAX_LEN 64

struct walk;
/* Called at the end of each element: W's path is that element's. */
typedef int (*end_fn)(struct walk *w, const char *text, size_t len);

struct walk {
        XML_Parser p;
        const char *doc; /* "ListBucketResult": for messages */
        int depth;
        char names[S3_XML_DEPTH_MAX][NAME_MAX_LEN];
        char text[S3_XML_TEXT_MAX + 1];
        size_t text_len;
        end_fn on_end;
        void *user;
        struct err **err;
        int r; /* first failure */
};

static int walk_fail(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
walk_fail(struct walk *w, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        if (w->r < 0)
                return w->r;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        w->r = err_set(w->err, EPROTO, "malformed S3 answer (%s), line %lu: %s", w->doc,
                       (unsigned long) XML_GetCurrentLineNumber(w->p), msg);
        XML_StopParser(w->p, XML_FALSE);
        return w->r;
}

/* Does the current element's path equal PATH ("A/B/C")? */
static bool
at(const struct walk *w, const char *path)
{
        for (int i = 0; i < w->depth; i++) {
                size_t n = strlen(w->names[i]);
                if (strncmp(path, w->names[i], n) != 0)
                        return false;
                path += n;
                if (i + 1 < w->depth) {
                        if (*path != '/')
                                return false;
                        path++;
                }
        }
        return *path == '\0';
}

static void XMLCALL
on_start(void *u, const XML_Char *name, const XML_Char **attrs)
{
        struct walk *w = u;
        /* With namespace processing on, NAME is "URI|local": S3's
         * elements are in its own default namespace (or none). */
        const char *local = strrchr(name, '|');

        local = local ? local + 1 : name;
        if (w->r < 0)
                return;
        if (w->depth >= S3_XML_DEPTH_MAX) {
                walk_fail(w, "elements nested deeper than %d", S3_XML_DEPTH_MAX);
                return;
        }
        if (strlen(local) >= NAME_MAX_LEN) {
                walk_fail(w, "element name longer than %d bytes", NAME_MAX_LEN - 1);
                return;
        }
        strcpy(w->names[w->depth++], local);
        w->text_len = 0;
}

static void XMLCALL
on_end_el(void *u, const XML_Char *name)
{
        struct walk *w = u;

        if (w->r < 0)
                return;
        w->text[w->text_len] = '\0';
        if (w->on_end && w->on_end(w, w->text, w->text_len) < 0) {
                XML_StopParser(w->p, XML_FALSE);
                return;
        }
        w->depth--;
        w->text_len = 0;
}

static void XMLCALL
on_text(void *u, const XML_Char *s, int len)
{
        struct walk *w = u;

        if (w->r < 0)
                return;
        if (w->text_len + (size_t) len > S3_XML_TEXT_MAX) {
                walk_fail(w, "text of <%s> longer than %d bytes", w->depth ? w->names[w->depth - 1] : "?",
                          S3_XML_TEXT_MAX);
                return;
        }
        memcpy(w->text + w->text_len, s, (size_t) len);
        w->text_len += (size_t) len;
}

static void XMLCALL
on_doctype(void *u, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid, int has_internal)
{
        walk_fail(u, "a document type declaration (DTD) is not allowed");
}

static void XMLCALL
on_entity_decl(void *u, const XML_Char *name, int is_param, const XML_Char *value, int value_len, const XML_Char *base,
               const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
        walk_fail(u, "entity declarations are not allowed");
}

/* Parse BUF with ON_END (USER its context; DOC names the document in
 * messages).  RET_ROOT (may be NULL) gets the root element's name: each
 * caller checks it is the one it expects. */
static int
walk(const char *buf, size_t len, const char *doc, end_fn on_end, void *user, char ret_root[NAME_MAX_LEN],
     struct err **err)
{
        _cleanup_free_ struct walk *w = xcalloc(1, sizeof(*w));
        char root[NAME_MAX_LEN] = "";
        int r;

        if (len > S3_XML_BODY_MAX)
                return err_set(err, EPROTO, "S3 answer (%s) of %zu bytes, over the cap of %d", doc, len,
                               S3_XML_BODY_MAX);
        w->p = XML_ParserCreateNS(NULL, '|');
        if (!w->p)
                abort();
        w->doc = doc;
        w->on_end = on_end;
        w->user = user;
        w->err = err;
        XML_SetUserData(w->p, w);
        XML_SetElementHandler(w->p, on_start, on_end_el);
        XML_SetCharacterDataHandler(w->p, on_text);
        XML_SetStartDoctypeDeclHandler(w->p, on_doctype);
        XML_SetEntityDeclHandler(w->p, on_entity_decl);
        XML_SetParamEntityParsing(w->p, XML_PARAM_ENTITY_PARSING_NEVER);
        if (XML_Parse(w->p, buf, (int) len, XML_TRUE) == XML_STATUS_ERROR && w->r == 0)
                w->r = err_set(err, EPROTO, "malformed S3 answer (%s), line %lu: %s", doc,
                               (unsigned long) XML_GetCurrentLineNumber(w->p), XML_ErrorString(XML_GetErrorCode(w->p)));
        snprintf(root, sizeof(root), "%s", w->names[0]);
        r = w->r;
        XML_ParserFree(w->p);
        if (r < 0)
                return r;
        if (!root[0])
                return err_set(err, EPROTO, "malformed S3 answer (%s): empty document", doc);
        if (ret_root)
                memcpy(ret_root, root, NAME_MAX_LEN);
        return 0;
}

static int
expect_root(const char *root, const char *want, struct err **err)
{
        if (strcmp(root, want) != 0)
                return err_set(err, EPROTO, "malformed S3 answer: root element <%s>, expected <%s>", root, want);
        return 0;
}

bool
s3_etag_copy(char out[80], const char *v, size_t len)
{
        if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
                v++;
                len -= 2;
        }
        if (len >= 80)
                return false;
        memcpy(out, v, len);
        out[len] = '\0';
        return true;
}

time_t
s3_parse_iso8601(const char *s)
{
        struct tm tm = {0};
        int n = 0;

        if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                   &tm.tm_sec, &n) != 6 ||
            n != 19)
                return 0;
        if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
            tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
                return 0;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        return timegm(&tm);
}

static int
parse_u64(struct walk *w, const char *what, const char *text, size_t len, uint64_t *ret)
{
        if (reg_parse_u64(text, len, ret) < 0)
                return walk_fail(w, "<%s> '%.40s' is not a number", what, text);
        return 0;
}

static int
parse_bool(struct walk *w, const char *what, const char *text, bool *ret)
{
        if (strcmp(text, "true") == 0)
                *ret = true;
        else if (strcmp(text, "false") == 0)
                *ret = false;
        else
                return walk_fail(w, "<%s> '%.40s' is neither true nor false", what, text);
        return 0;
}

static int
etag(struct walk *w, char out[80], const char *text, size_t len)
{
        if (!s3_etag_copy(out, text, len))
                return walk_fail(w, "<ETag> longer than 79 bytes");
        return 0;
}

/* ---- <Error> ---- */

static int
error_end(struct walk *w, const char *text, size_t len)
{
        struct s3_xml_error *e = w->user;

        if (at(w, "Error/Code"))
                snprintf(e->code, sizeof(e->code), "%s", text);
        else if (at(w, "Error/Message"))
                snprintf(e->message, sizeof(e->message), "%s", text);
        return 0;
}

int
s3_xml_error(const char *buf, size_t len, struct s3_xml_error *ret, struct err **err)
{
        struct s3_xml_error e;
        char root[NAME_MAX_LEN];
        int r;

        memset(&e, 0, sizeof(e));
        r = walk(buf, len, "Error", error_end, &e, root, err);

        if (r < 0)
                return r;
        if (strcmp(root, "Error") != 0)
                return -ENOMSG;
        *ret = e;
        return 0;
}

/* ---- <ListBucketResult> (ListObjectsV2) ---- */

struct list_ctx {
        struct s3_list_page *page;
        const char *strip;
        size_t strip_len;
        size_t keys_cap, prefixes_cap;
        struct s3_list_entry cur;
        bool have_key;
};

static int
stripped(struct walk *w, struct list_ctx *l, const char *text, size_t len, char **ret)
{
        if (len < l->strip_len || memcmp(text, l->strip, l->strip_len) != 0)
                return walk_fail(w, "key '%.200s' outside the prefix '%s'", text, l->strip);
        if (memchr(text, '\0', len))
                return walk_fail(w, "key with a NUL byte");
        *ret = xstrndup(text + l->strip_len, len - l->strip_len);
        return 0;
}

static int
list_end(struct walk *w, const char *text, size_t len)
{
        struct list_ctx *l = w->user;
        struct s3_list_page *p = l->page;

        if (at(w, "ListBucketResult/Contents/Key")) {
                free(l->cur.key);
                l->cur.key = NULL;
                if (stripped(w, l, text, len, &l->cur.key) < 0)
                        return -1;
                l->have_key = true;
        } else if (at(w, "ListBucketResult/Contents/Size")) {
                return parse_u64(w, "Size", text, len, &l->cur.size);
        } else if (at(w, "ListBucketResult/Contents/LastModified")) {
                l->cur.mtime = s3_parse_iso8601(text);
        } else if (at(w, "ListBucketResult/Contents/ETag")) {
                char e[80];
                if (etag(w, e, text, len) < 0)
                        return -1;
                free(l->cur.etag);
                l->cur.etag = xstrdup(e);
        } else if (at(w, "ListBucketResult/Contents")) {
                if (!l->have_key)
                        return walk_fail(w, "<Contents> without <Key>");
                if (p->n_keys >= S3_XML_ENTRIES_MAX)
                        return walk_fail(w, "more than %d keys", S3_XML_ENTRIES_MAX);
                if (p->n_keys == l->keys_cap) {
                        l->keys_cap = l->keys_cap ? 2 * l->keys_cap : 64;
                        p->keys = xrealloc(p->keys, l->keys_cap * sizeof(*p->keys));
                }
                if (!l->cur.etag)
                        l->cur.etag = xstrdup("");
                p->keys[p->n_keys++] = l->cur;
                memset(&l->cur, 0, sizeof(l->cur));
                l->have_key = false;
        } else if (at(w, "ListBucketResult/CommonPrefixes/Prefix")) {
                char *s;
                if (p->n_prefixes >= S3_XML_ENTRIES_MAX)
                        return walk_fail(w, "more than %d common prefixes", S3_XML_ENTRIES_MAX);
                if (stripped(w, l, text, len, &s) < 0)
                        return -1;
                if (p->n_prefixes == l->prefixes_cap) {
                        l->prefixes_cap = l->prefixes_cap ? 2 * l->prefixes_cap : 16;
                        p->prefixes = xrealloc(p->prefixes, l->prefixes_cap * sizeof(*p->prefixes));
                }
                p->prefixes[p->n_prefixes++] = s;
        } else if (at(w, "ListBucketResult/IsTruncated")) {
                return parse_bool(w, "IsTruncated", text, &p->truncated);
        } else if (at(w, "ListBucketResult/NextContinuationToken")) {
                free(p->next_token);
                p->next_token = xstrndup(text, len);
        }
        return 0;
}

void
s3_list_page_free(struct s3_list_page *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n_keys; i++) {
                free(p->keys[i].key);
                free(p->keys[i].etag);
        }
        free(p->keys);
        for (size_t i = 0; i < p->n_prefixes; i++)
                free(p->prefixes[i]);
        free(p->prefixes);
        free(p->next_token);
        free(p);
}

int
s3_xml_list(const char *buf, size_t len, const char *strip, struct s3_list_page **ret, struct err **err)
{
        _cleanup_(s3_list_page_freep) struct s3_list_page *p = xcalloc(1, sizeof(*p));
        struct list_ctx l = {.page = p, .strip = strip ? strip : "", .strip_len = strip ? strlen(strip) : 0};
        char root[NAME_MAX_LEN];
        int r = walk(buf, len, "ListBucketResult", list_end, &l, root, err);

        free(l.cur.key);
        free(l.cur.etag);
        if (r < 0)
                return r;
        r = expect_root(root, "ListBucketResult", err);
        if (r < 0)
                return r;
        if (p->truncated && (!p->next_token || !p->next_token[0]))
                return err_set(err, EPROTO,
                               "malformed S3 answer (ListBucketResult): truncated without a NextContinuationToken");
        if (!p->truncated) {
                free(p->next_token);
                p->next_token = NULL;
        }
        *ret = steal_ptr(&p);
        return 0;
}

/* ---- multipart and copy answers ---- */

struct one_ctx {
        const char *path;
        char *value;
};

static int
one_end(struct walk *w, const char *text, size_t len)
{
        struct one_ctx *o = w->user;

        if (at(w, o->path)) {
                free(o->value);
                o->value = xstrndup(text, len);
        }
        return 0;
}

int
s3_xml_initiate(const char *buf, size_t len, char **ret_upload_id, struct err **err)
{
        struct one_ctx o = {"InitiateMultipartUploadResult/UploadId", NULL};
        _cleanup_free_ char *id = NULL;
        char root[NAME_MAX_LEN];
        int r = walk(buf, len, "InitiateMultipartUploadResult", one_end, &o, root, err);

        id = o.value;
        if (r < 0)
                return r;
        r = expect_root(root, "InitiateMultipartUploadResult", err);
        if (r < 0)
                return r;
        if (!id || !id[0])
                return err_set(err, EPROTO, "malformed S3 answer (InitiateMultipartUploadResult): no UploadId");
        *ret_upload_id = steal_ptr(&id);
        return 0;
}

int
s3_xml_complete(const char *buf, size_t len, char **ret_etag, struct err **err)
{
        struct one_ctx o = {"CompleteMultipartUploadResult/ETag", NULL};
        _cleanup_free_ char *v = NULL;
        char root[NAME_MAX_LEN], e[80] = "";
        int r = walk(buf, len, "CompleteMultipartUploadResult", one_end, &o, root, err);

        v = o.value;
        if (r < 0)
                return r;
        r = expect_root(root, "CompleteMultipartUploadResult", err);
        if (r < 0)
                return r;
        /* RGW answers <ETag></ETag> (or nothing): fine, the caller HEADs
         * the object when it needs the ETag. */
        if (v && !s3_etag_copy(e, v, strlen(v)))
                return err_set(err, EPROTO, "malformed S3 answer (CompleteMultipartUploadResult): ETag too long");
        if (ret_etag)
                *ret_etag = xstrdup(e);
        return 0;
}

struct copy_ctx {
        char etag[80];
        bool have_etag;
        time_t mtime;
};

static int
copy_end(struct walk *w, const char *text, size_t len)
{
        struct copy_ctx *c = w->user;

        if (w->depth != 2)
                return 0;
        if (strcmp(w->names[1], "ETag") == 0) {
                c->have_etag = true;
                return etag(w, c->etag, text, len);
        }
        if (strcmp(w->names[1], "LastModified") == 0)
                c->mtime = s3_parse_iso8601(text);
        return 0;
}

int
s3_xml_copy(const char *buf, size_t len, char ret_etag[80], time_t *ret_mtime, struct err **err)
{
        struct copy_ctx c;
        char root[NAME_MAX_LEN];
        int r;

        memset(&c, 0, sizeof(c));
        r = walk(buf, len, "CopyObjectResult", copy_end, &c, root, err);

        if (r < 0)
                return r;
        if (strcmp(root, "CopyObjectResult") != 0 && strcmp(root, "CopyPartResult") != 0)
                return err_set(err, EPROTO, "malformed S3 answer: root element <%s>, expected <CopyObjectResult>",
                               root);
        if (!c.have_etag || !c.etag[0])
                return err_set(err, EPROTO, "malformed S3 answer (%s): no ETag", root);
        memcpy(ret_etag, c.etag, 80);
        if (ret_mtime)
                *ret_mtime = c.mtime;
        return 0;
}

/* ---- <ListPartsResult> ---- */

struct parts_ctx {
        struct s3_part **parts;
        size_t *n, cap;
        struct s3_part cur;
        bool have_number, have_etag, truncated;
        uint64_t next;
};

static int
parts_end(struct walk *w, const char *text, size_t len)
{
        struct parts_ctx *p = w->user;
        uint64_t v;

        if (at(w, "ListPartsResult/Part/PartNumber")) {
                if (parse_u64(w, "PartNumber", text, len, &v) < 0)
                        return -1;
                if (v < 1 || v > S3_MPU_MAX_PARTS)
                        return walk_fail(w, "part number %llu out of 1..%d", (unsigned long long) v, S3_MPU_MAX_PARTS);
                p->cur.number = (unsigned) v;
                p->have_number = true;
        } else if (at(w, "ListPartsResult/Part/ETag")) {
                p->have_etag = true;
                return etag(w, p->cur.etag, text, len);
        } else if (at(w, "ListPartsResult/Part/Size")) {
                return parse_u64(w, "Size", text, len, &p->cur.size);
        } else if (at(w, "ListPartsResult/Part")) {
                if (!p->have_number || !p->have_etag)
                        return walk_fail(w, "<Part> without <PartNumber> or <ETag>");
                if (*p->n >= S3_MPU_MAX_PARTS)
                        return walk_fail(w, "more than %d parts", S3_MPU_MAX_PARTS);
                if (*p->n == p->cap) {
                        p->cap = p->cap ? 2 * p->cap : 64;
                        *p->parts = xrealloc(*p->parts, p->cap * sizeof(**p->parts));
                }
                (*p->parts)[(*p->n)++] = p->cur;
                memset(&p->cur, 0, sizeof(p->cur));
                p->have_number = p->have_etag = false;
        } else if (at(w, "ListPartsResult/IsTruncated")) {
                return parse_bool(w, "IsTruncated", text, &p->truncated);
        } else if (at(w, "ListPartsResult/NextPartNumberMarker")) {
                return parse_u64(w, "NextPartNumberMarker", text, len, &p->next);
        }
        return 0;
}

int
s3_xml_parts(const char *buf, size_t len, struct s3_part **parts, size_t *n, bool *ret_truncated,
             unsigned *ret_next_marker, struct err **err)
{
        struct parts_ctx p = {.parts = parts, .n = n, .cap = *n};
        char root[NAME_MAX_LEN];
        int r = walk(buf, len, "ListPartsResult", parts_end, &p, root, err);

        if (r < 0)
                return r;
        r = expect_root(root, "ListPartsResult", err);
        if (r < 0)
                return r;
        if (p.truncated && (p.next < 1 || p.next > S3_MPU_MAX_PARTS))
                return err_set(err, EPROTO,
                               "malformed S3 answer (ListPartsResult): truncated without a valid "
                               "NextPartNumberMarker");
        *ret_truncated = p.truncated;
        *ret_next_marker = (unsigned) p.next;
        return 0;
}

/* ---- the CompleteMultipartUpload request ---- */

char *
s3_xml_complete_body(const struct s3_part *parts, size_t n, size_t *ret_len)
{
        /* ETags are hex (and '-'): nothing in them needs escaping, but the
         * XML is built by escaping anyway in case a store's are not. */
        size_t cap = 64 + n * (80 * 6 + 64), len;
        char *out = xmalloc(cap), *o = out;

        o += sprintf(o, "<CompleteMultipartUpload>");
        for (size_t i = 0; i < n; i++) {
                o += sprintf(o, "<Part><PartNumber>%u</PartNumber><ETag>&quot;", parts[i].number);
                for (const char *e = parts[i].etag; *e; e++) {
                        switch (*e) {
                        case '<':
                                o += sprintf(o, "&lt;");
                                break;
                        case '>':
                                o += sprintf(o, "&gt;");
                                break;
                        case '&':
                                o += sprintf(o, "&amp;");
                                break;
                        case '"':
                                o += sprintf(o, "&quot;");
                                break;
                        default:
                                *o++ = *e;
                        }
                }
                o += sprintf(o, "&quot;</ETag></Part>");
        }
        o += sprintf(o, "</CompleteMultipartUpload>");
        len = (size_t) (o - out);
        *ret_len = len;
        return out;
}
