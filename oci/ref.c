/* Image references: Docker's grammar and normalisation (see oci/ref.h). */
#include "oci/ref.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "digest/digest.h"

static bool
is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_alnum(char c)
{
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool
is_word(char c)
{
        return is_alnum(c) || c == '_';
}

/* A printable rendering of byte C for messages. */
static const char *
show_char(char c, char buf[8])
{
        unsigned char u = (unsigned char) c;

        if (u >= 0x20 && u < 0x7f)
                snprintf(buf, 8, "'%c'", c);
        else
                snprintf(buf, 8, "0x%02x", u);
        return buf;
}

/* Check one path component S[0..len) against
 *   [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 * BASE is S's 0-based offset in the whole input for messages.  Returns NULL
 * when valid, else writes a reason into WHY and returns it.  *ret_upper is set
 * when the failure is an upper-case letter. */
static const char *
component_check(const char *s, size_t len, size_t base, char *why, size_t whylen, bool *ret_upper)
{
        char cb[8];
        size_t i = 0;

        *ret_upper = false;
        if (len == 0) {
                snprintf(why, whylen, "empty path component at position %zu", base + 1);
                return why;
        }
        while (i < len) {
                char c = s[i];

                if (is_lower_alnum(c)) {
                        i++;
                        continue;
                }
                if (c >= 'A' && c <= 'Z') {
                        *ret_upper = true;
                        snprintf(why, whylen, "repository name must be lowercase ('%c' at position %zu)", c,
                                 base + i + 1);
                        return why;
                }
                if (c == '.' || c == '_' || c == '-') {
                        size_t start = i, n;

                        if (i == 0) {
                                snprintf(why, whylen,
                                         "path component must start with a lowercase letter or digit, "
                                         "not %s (position %zu)",
                                         show_char(c, cb), base + i + 1);
                                return why;
                        }
                        while (i < len && (s[i] == '.' || s[i] == '_' || s[i] == '-'))
                                i++;
                        n = i - start;
                        bool ok = (n == 1) || (n == 2 && s[start] == '_' && s[start + 1] == '_');
                        if (!ok) {
                                ok = true;
                                for (size_t k = start; k < i; k++)
                                        if (s[k] != '-')
                                                ok = false;
                        }
                        if (!ok) {
                                snprintf(why, whylen, "invalid separator '%.*s' at position %zu", (int) n,
                                         s + start, base + start + 1);
                                return why;
                        }
                        if (i == len) {
                                snprintf(why, whylen,
                                         "path component must end with a lowercase letter or digit "
                                         "(position %zu)",
                                         base + i);
                                return why;
                        }
                        continue;
                }
                snprintf(why, whylen, "invalid character %s at position %zu", show_char(c, cb), base + i + 1);
                return why;
        }
        return NULL;
}

/* Check PATH[0..len) (components joined by '/').  Returns NULL when valid. */
static const char *
path_check(const char *path, size_t len, size_t base, char *why, size_t whylen, bool *ret_upper)
{
        size_t start = 0;

        *ret_upper = false;
        if (len == 0) {
                snprintf(why, whylen, "missing repository name");
                return why;
        }
        for (size_t i = 0; i <= len; i++) {
                if (i == len || path[i] == '/') {
                        if (i == start) {
                                if (i == len && i > 0)
                                        snprintf(why, whylen, "trailing '/' at position %zu", base + i);
                                else if (i + 1 < len && path[i + 1] == '/')
                                        snprintf(why, whylen, "empty path component ('//') at position %zu",
                                                 base + i + 1);
                                else if (i < len && i > 0 && path[i - 1] == '/')
                                        snprintf(why, whylen, "empty path component ('//') at position %zu",
                                                 base + i);
                                else
                                        snprintf(why, whylen, "empty path component at position %zu",
                                                 base + i + 1);
                                return why;
                        }
                        if (component_check(path + start, i - start, base + start, why, whylen, ret_upper))
                                return why;
                        start = i + 1;
                }
        }
        return NULL;
}

/* Check a domain "host[:port]" where host is a DNS name (components of
 * [A-Za-z0-9] with inner '-', joined by '.') or "[" IPv6 "]". */
static const char *
domain_check(const char *d, size_t len, char *why, size_t whylen)
{
        char cb[8];
        size_t i = 0;

        if (len == 0) {
                snprintf(why, whylen, "empty registry host");
                return why;
        }
        if (d[0] == '[') {
                i = 1;
                while (i < len && (isxdigit((unsigned char) d[i]) || d[i] == ':'))
                        i++;
                if (i >= len || d[i] != ']') {
                        snprintf(why, whylen,
                                 "invalid IPv6 host: only hex digits and ':' allowed inside [] (position %zu)",
                                 i + 1);
                        return why;
                }
                if (i == 1) {
                        snprintf(why, whylen, "empty IPv6 host '[]'");
                        return why;
                }
                i++;
        } else {
                size_t comp = 0;

                for (; i < len && d[i] != ':'; i++) {
                        char c = d[i];

                        if (c == '.') {
                                if (comp == 0 || d[i - 1] == '-') {
                                        snprintf(why, whylen, "invalid registry host '%.*s' at position %zu",
                                                 (int) len, d, i + 1);
                                        return why;
                                }
                                comp = 0;
                                continue;
                        }
                        if (c == '-') {
                                if (comp == 0) {
                                        snprintf(why, whylen,
                                                 "registry host label must not start with '-' (position %zu)",
                                                 i + 1);
                                        return why;
                                }
                                comp++;
                                continue;
                        }
                        if (!is_alnum(c)) {
                                snprintf(why, whylen, "invalid character %s in registry host at position %zu",
                                         show_char(c, cb), i + 1);
                                return why;
                        }
                        comp++;
                }
                if (comp == 0 || d[i - 1] == '-') {
                        snprintf(why, whylen, "invalid registry host '%.*s'", (int) len, d);
                        return why;
                }
        }
        if (i < len) {
                size_t p0;
                unsigned long port = 0;

                if (d[i] != ':') {
                        snprintf(why, whylen, "invalid character %s after IPv6 host at position %zu",
                                 show_char(d[i], cb), i + 1);
                        return why;
                }
                p0 = ++i;
                for (; i < len; i++) {
                        if (d[i] < '0' || d[i] > '9') {
                                snprintf(why, whylen, "invalid port '%.*s': not a number", (int) (len - p0),
                                         d + p0);
                                return why;
                        }
                        if (port <= 65535)
                                port = port * 10 + (unsigned long) (d[i] - '0');
                }
                if (i == p0) {
                        snprintf(why, whylen, "invalid port: empty after ':'");
                        return why;
                }
                if (port == 0 || port > 65535) {
                        snprintf(why, whylen, "invalid port '%.*s': out of range 1-65535", (int) (len - p0),
                                 d + p0);
                        return why;
                }
        }
        return NULL;
}

static bool
tag_shape(const char *t, size_t len)
{
        if (len == 0 || len > LIMIT_REF_TAG || !is_word(t[0]))
                return false;
        for (size_t i = 1; i < len; i++)
                if (!is_word(t[i]) && t[i] != '.' && t[i] != '-')
                        return false;
        return true;
}

/* Describe why T is not a tag. */
static int
tag_error(struct err **err, const char *t, size_t len, const char *ctx)
{
        char cb[8];

        if (len == 0)
                return err_set(err, ERR_TAG_INVALID, "%sempty tag", ctx);
        if (len > LIMIT_REF_TAG)
                return err_set(err, ERR_TAG_INVALID, "%stag too long (%zu characters, at most %d)", ctx, len,
                               LIMIT_REF_TAG);
        if (!is_word(t[0]))
                return err_set(err, ERR_TAG_INVALID,
                               "%stag must start with a letter, digit or '_', not %s", ctx, show_char(t[0], cb));
        for (size_t i = 1; i < len; i++)
                if (!is_word(t[i]) && t[i] != '.' && t[i] != '-')
                        return err_set(err, ERR_TAG_INVALID, "%sinvalid character %s in tag at position %zu",
                                       ctx, show_char(t[i], cb), i + 1);
        return err_set(err, ERR_TAG_INVALID, "%sinvalid tag", ctx);
}

bool
oci_tag_ok(const char *s)
{
        return s && tag_shape(s, strlen(s));
}

int
oci_tag_validate(const char *tag, struct err **err)
{
        if (tag == NULL)
                return err_set(err, ERR_TAG_INVALID, "empty tag");
        if (tag_shape(tag, strlen(tag)))
                return 0;
        return tag_error(err, tag, strlen(tag), "");
}

int
oci_repo_name_validate(const char *name, struct err **err)
{
        char why[512];
        bool upper;
        size_t len;

        if (name == NULL || *name == '\0')
                return err_set(err, ERR_NAME_INVALID, "empty repository name");
        len = strlen(name);
        if (len > LIMIT_REF_NAME)
                return err_set(err, ERR_NAME_INVALID, "repository name too long (%zu characters, at most %d)", len,
                               LIMIT_REF_NAME);
        if (path_check(name, len, 0, why, sizeof(why), &upper))
                return err_set(err, ERR_NAME_INVALID, "invalid repository name \"%s\": %s", name, why);
        return 0;
}

void
oci_ref_free(struct oci_ref *ref)
{
        if (!ref)
                return;
        free(ref->domain);
        free(ref->path);
        free(ref->tag);
        free(ref->digest);
        free(ref);
}

struct oci_ref *
oci_ref_dup(const struct oci_ref *ref)
{
        struct oci_ref *r;

        if (!ref)
                return NULL;
        r = xcalloc(1, sizeof(*r));
        r->domain = ref->domain ? xstrdup(ref->domain) : NULL;
        r->path = ref->path ? xstrdup(ref->path) : NULL;
        r->tag = ref->tag ? xstrdup(ref->tag) : NULL;
        r->digest = ref->digest ? xstrdup(ref->digest) : NULL;
        return r;
}

static bool
is_docker_alias(const char *d)
{
        return strcmp(d, "docker.io") == 0 || strcmp(d, "index.docker.io") == 0 ||
               strcmp(d, "registry-1.docker.io") == 0;
}

int
oci_ref_parse_mode(const char *s, enum oci_ref_mode mode, struct oci_ref **ret_ref, struct err **err)
{
        _cleanup_free_ char *domain = NULL, *path = NULL, *tag = NULL, *dig = NULL;
        struct oci_ref *r;
        char why[512];
        const char *at, *name_end, *slash, *colon;
        size_t name_len, len;
        bool upper;

        if (s == NULL || *s == '\0')
                return err_set(err, ERR_REFERENCE_INVALID, "invalid reference: empty");
        len = strlen(s);
        if (len > LIMIT_REF_TOTAL)
                return err_set(err, ERR_REFERENCE_INVALID, "invalid reference: too long (%zu characters, at most %d)",
                               len, LIMIT_REF_TOTAL);

        /* "@digest" comes last and a digest holds no '@'. */
        at = strchr(s, '@');
        if (at) {
                struct digest d;
                int r2 = digest_parse(at + 1, &d, err);

                if (r2 < 0) {
                        err_prefix(err, "invalid reference \"%s\": digest at position %zu", s,
                                   (size_t) (at - s) + 2);
                        return r2;
                }
                dig = xstrdup(d.str);
                name_end = at;
        } else {
                name_end = s + len;
        }

        /* ":tag" is a ':' after the last '/' (a ':' before a '/' is a port). */
        slash = memrchr(s, '/', (size_t) (name_end - s));
        colon = memrchr(slash ? slash : s, ':', (size_t) (name_end - (slash ? slash : s)));
        if (colon && !slash && s[0] == '[')
                return err_set(err, ERR_REFERENCE_INVALID,
                               "invalid reference \"%s\": an IPv6 registry host must be followed by '/' and a "
                               "repository path",
                               s);
        if (colon) {
                size_t tlen = (size_t) (name_end - colon - 1);
                char ctx[600];

                if (!tag_shape(colon + 1, tlen)) {
                        snprintf(ctx, sizeof(ctx), "invalid reference \"%.400s\": ", s);
                        return tag_error(err, colon + 1, tlen, ctx);
                }
                tag = xstrndup(colon + 1, tlen);
                name_end = colon;
        }
        name_len = (size_t) (name_end - s);
        if (name_len == 0)
                return err_set(err, ERR_REFERENCE_INVALID, "invalid reference \"%s\": missing repository name", s);

        /* The first component is a domain when it looks like one. */
        slash = memchr(s, '/', name_len);
        if (slash) {
                size_t dlen = (size_t) (slash - s);
                bool is_domain = (dlen == 9 && memcmp(s, "localhost", 9) == 0) || memchr(s, '.', dlen) ||
                                 memchr(s, ':', dlen) || s[0] == '[';

                /* Docker treats an upper-case first component as a host too. */
                for (size_t i = 0; i < dlen && !is_domain; i++)
                        if (s[i] >= 'A' && s[i] <= 'Z')
                                is_domain = true;
                if (is_domain) {
                        if (domain_check(s, dlen, why, sizeof(why)))
                                return err_set(err, ERR_REFERENCE_INVALID, "invalid reference \"%s\": %s", s,
                                               why);
                        domain = xstrndup(s, dlen);
                }
        }
        {
                size_t off = domain ? strlen(domain) + 1 : 0;

                if (path_check(s + off, name_len - off, off, why, sizeof(why), &upper))
                        return err_set(err, ERR_REFERENCE_INVALID, "invalid reference \"%s\": %s", s, why);
                path = xstrndup(s + off, name_len - off);
        }

        if (mode == OCI_REF_DOCKER && digest_is_sha256_hex(s))
                return err_set(err, ERR_REFERENCE_INVALID,
                               "invalid reference \"%s\": a repository name cannot be a 64-character hex string "
                               "(did you mean an image ID?)",
                               s);

        if (mode != OCI_REF_RAW) {
                if (!domain)
                        domain = xstrdup(mode == OCI_REF_LOCAL ? OCI_REF_LOCAL_DOMAIN : OCI_REF_DOCKER_DOMAIN);
                if (is_docker_alias(domain)) {
                        free(domain);
                        domain = xstrdup(OCI_REF_DOCKER_DOMAIN);
                        if (!strchr(path, '/')) {
                                char *p = xasprintf("library/%s", path);
                                free(path);
                                path = p;
                        }
                }
                if (!tag && !dig)
                        tag = xstrdup(OCI_REF_DEFAULT_TAG);
        }

        name_len = (domain ? strlen(domain) + 1 : 0) + strlen(path);
        if (name_len > LIMIT_REF_NAME)
                return err_set(err, ERR_NAME_INVALID,
                               "invalid reference \"%.300s\": repository name too long (%zu characters, at most %d)",
                               s, name_len, LIMIT_REF_NAME);

        r = xcalloc(1, sizeof(*r));
        r->domain = steal_ptr(&domain);
        r->path = steal_ptr(&path);
        r->tag = steal_ptr(&tag);
        r->digest = steal_ptr(&dig);
        *ret_ref = r;
        return 0;
}

int
oci_ref_parse(const char *s, struct oci_ref **ret_ref, struct err **err)
{
        return oci_ref_parse_mode(s, OCI_REF_DOCKER, ret_ref, err);
}

int
oci_ref_set_tag(struct oci_ref *ref, const char *tag, struct err **err)
{
        if (tag && oci_tag_validate(tag, err) < 0)
                return -ERR_TAG_INVALID;
        free(ref->tag);
        ref->tag = tag ? xstrdup(tag) : NULL;
        return 0;
}

int
oci_ref_set_digest(struct oci_ref *ref, const char *digest, struct err **err)
{
        struct digest d;
        int r;

        if (digest) {
                r = digest_parse(digest, &d, err);
                if (r < 0)
                        return r;
        }
        free(ref->digest);
        ref->digest = digest ? xstrdup(d.str) : NULL;
        return 0;
}

char *
oci_ref_name(const struct oci_ref *ref)
{
        if (ref->domain)
                return xasprintf("%s/%s", ref->domain, ref->path);
        return xstrdup(ref->path);
}

static char *
with_suffix(const char *name, const struct oci_ref *ref)
{
        return xasprintf("%s%s%s%s%s", name, ref->tag ? ":" : "", ref->tag ? ref->tag : "",
                         ref->digest ? "@" : "", ref->digest ? ref->digest : "");
}

char *
oci_ref_string(const struct oci_ref *ref)
{
        _cleanup_free_ char *name = oci_ref_name(ref);

        return with_suffix(name, ref);
}

char *
oci_ref_familiar(const struct oci_ref *ref)
{
        _cleanup_free_ char *name = NULL;

        if (ref->domain == NULL || strcmp(ref->domain, OCI_REF_DOCKER_DOMAIN) == 0) {
                const char *p = ref->path;

                if (ref->domain && strncmp(p, "library/", 8) == 0 && !strchr(p + 8, '/'))
                        p += 8;
                name = xstrdup(p);
        } else {
                name = oci_ref_name(ref);
        }
        return with_suffix(name, ref);
}

bool
oci_ref_is_docker_hub(const struct oci_ref *ref)
{
        return ref->domain && is_docker_alias(ref->domain);
}

const char *
oci_ref_registry_host(const struct oci_ref *ref)
{
        if (ref->domain == NULL || is_docker_alias(ref->domain))
                return OCI_REF_DOCKER_REGISTRY;
        return ref->domain;
}

const char *
oci_ref_repository(const struct oci_ref *ref)
{
        return ref->path;
}

const char *
oci_ref_manifest_reference(const struct oci_ref *ref)
{
        return ref->digest ? ref->digest : ref->tag;
}
