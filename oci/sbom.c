/* The SPDX 2.3 JSON document of an image (SPDX 2.3 spec, clauses 6-11),
 * package URLs (github.com/package-url/purl-spec), and the referrer
 * artifact that carries the document (image-spec manifest.md "Guidelines
 * for artifact usage"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "digest/digest.h"
#include "oci/mediatype.h"
#include "oci/model-internal.h"
#include "oci/sbom-internal.h"

#define NOASSERTION "NOASSERTION"

/* ---- purls ---- */

/* Append S percent-encoded (everything but purl's unreserved characters)
 * to the buffer *BUF of length *LEN. */
static void
pct_append(char **buf, size_t *len, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(s);

        *buf = xrealloc(*buf, *len + n * 3 + 1);
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;

                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_' || c == '~') {
                        (*buf)[(*len)++] = (char) c;
                } else {
                        (*buf)[(*len)++] = '%';
                        (*buf)[(*len)++] = hex[c >> 4];
                        (*buf)[(*len)++] = hex[c & 15];
                }
        }
        (*buf)[*len] = '\0';
}

static void
raw_append(char **buf, size_t *len, const char *s)
{
        size_t n = strlen(s);

        *buf = xrealloc(*buf, *len + n + 1);
        memcpy(*buf + *len, s, n + 1);
        *len += n;
}

char *
oci_sbom_purl(const struct oci_sbom_pkg *p, const struct oci_sbom_os *os)
{
        const char *type = p->type == OCI_SBOM_DEB ? "deb" : "apk";
        const char *ns = os && os->id ? os->id : p->type == OCI_SBOM_DEB ? "debian" : "alpine";
        char *buf = NULL, sep = '?';
        size_t len = 0;

        raw_append(&buf, &len, "pkg:");
        raw_append(&buf, &len, type);
        raw_append(&buf, &len, "/");
        pct_append(&buf, &len, ns);
        raw_append(&buf, &len, "/");
        pct_append(&buf, &len, p->name);
        raw_append(&buf, &len, "@");
        pct_append(&buf, &len, p->version);
        /* Qualifiers in key order (purl-spec: sorted lexicographically). */
        if (p->arch) {
                raw_append(&buf, &len, "?arch=");
                pct_append(&buf, &len, p->arch);
                sep = '&';
        }
        if (os && os->id && os->version_id) {
                _cleanup_free_ char *distro = xasprintf("%s-%s", os->id, os->version_id);

                raw_append(&buf, &len, sep == '?' ? "?distro=" : "&distro=");
                pct_append(&buf, &len, distro);
                sep = '&';
        }
        if (p->source && (strcmp(p->source, p->name) != 0 ||
                          (p->source_version && strcmp(p->source_version, p->version) != 0))) {
                _cleanup_free_ char *up = p->source_version && strcmp(p->source_version, p->version) != 0
                                                  ? xasprintf("%s@%s", p->source, p->source_version)
                                                  : xstrdup(p->source);

                raw_append(&buf, &len, sep == '?' ? "?upstream=" : "&upstream=");
                pct_append(&buf, &len, up);
        }
        return buf;
}

/* "pkg:oci/app@sha256%3A...?arch=amd64&repository_url=localhost/app&tag=1.0"
 * for image NAME (may be NULL) at DIGEST. */
static char *
oci_purl(const char *name, const char *digest, const char *arch)
{
        _cleanup_free_ char *repo = NULL, *tag = NULL;
        const char *last;
        char *buf = NULL, sep = '?';
        size_t len = 0;

        if (name) {
                const char *at = strchr(name, '@');
                const char *slash, *colon;

                repo = at ? xstrndup(name, (size_t) (at - name)) : xstrdup(name);
                slash = strrchr(repo, '/');
                colon = strrchr(repo, ':');
                if (colon && (!slash || colon > slash)) {
                        tag = xstrdup(colon + 1);
                        repo[colon - repo] = '\0';
                }
        }
        last = repo ? (strrchr(repo, '/') ? strrchr(repo, '/') + 1 : repo) : "image";
        raw_append(&buf, &len, "pkg:oci/");
        pct_append(&buf, &len, last);
        raw_append(&buf, &len, "@");
        pct_append(&buf, &len, digest);
        if (arch) {
                raw_append(&buf, &len, "?arch=");
                pct_append(&buf, &len, arch);
                sep = '&';
        }
        if (repo) {
                raw_append(&buf, &len, sep == '?' ? "?repository_url=" : "&repository_url=");
                /* The repository keeps its slashes (purl-spec's oci examples). */
                for (char *s = repo; *s; s++) {
                        char one[2] = {*s, 0};

                        if (*s == '/' || *s == ':')
                                raw_append(&buf, &len, one);
                        else
                                pct_append(&buf, &len, one);
                }
                sep = '&';
        }
        if (tag) {
                raw_append(&buf, &len, sep == '?' ? "?tag=" : "&tag=");
                pct_append(&buf, &len, tag);
        }
        return buf;
}

/* ---- time ---- */

bool
oci_sbom_time_normalize(const char *s, char out[21])
{
        struct tm tm = {0};
        const char *p;
        long off = 0;
        time_t t;

        if (!s)
                return false;
        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return false;
        if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                        return false;
                while (*p >= '0' && *p <= '9')
                        p++;
        }
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
                int hh, mm;

                if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59)
                        return false;
                off = (hh * 3600L + mm * 60L) * (*p == '+' ? 1 : -1);
                p += 6;
        } else {
                return false;
        }
        if (*p)
                return false;
        t = timegm(&tm) - off;
        /* Four-digit years only (strftime's %Y does not pad). */
        if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 1000 || tm.tm_year + 1900 > 9999)
                return false;
        strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return true;
}

/* ---- the document ---- */

static const char *
type_name(enum oci_sbom_pkg_type t)
{
        return t == OCI_SBOM_DEB ? "deb" : "apk";
}

static int
cmp_str(const char *a, const char *b)
{
        return strcmp(a ? a : "", b ? b : "");
}

static int
pkg_cmp(const void *a, const void *b)
{
        const struct oci_sbom_pkg *x = a, *y = b;
        int c = (int) x->type - (int) y->type;

        if (c == 0)
                c = strcmp(x->name, y->name);
        if (c == 0)
                c = strcmp(x->version, y->version);
        if (c == 0)
                c = cmp_str(x->arch, y->arch);
        return c;
}

/* An SPDX id (letters, digits, '.', '-') for P, unique for its type, name,
 * version and arch. */
static char *
pkg_spdxid(const struct oci_sbom_pkg *p)
{
        _cleanup_free_ char *key = xasprintf("%s/%s/%s/%s", type_name(p->type), p->name, p->version,
                                             p->arch ? p->arch : "");
        struct digest d;
        char *id;

        digest_buffer(DIGEST_SHA256, key, strlen(key), &d);
        id = xasprintf("SPDXRef-Package-%s-%s-%.16s", type_name(p->type), p->name, d.hex);
        for (char *s = id; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
                      *s == '-'))
                        *s = '-';
        return id;
}

/* "Person: Name (mail)" of a maintainer field "Name <mail>". */
static char *
supplier_of(const char *m)
{
        const char *lt = m ? strchr(m, '<') : NULL, *gt = lt ? strchr(lt, '>') : NULL;
        size_t nl;

        if (!m)
                return NULL;
        if (!lt || !gt)
                return xasprintf("Person: %s", m);
        nl = (size_t) (lt - m);
        while (nl > 0 && m[nl - 1] == ' ')
                nl--;
        return xasprintf("Person: %.*s (%.*s)", (int) nl, m, (int) (gt - lt - 1), lt + 1);
}

static void
set_str(json_t *o, const char *key, const char *v)
{
        json_object_set_new(o, key, oci_json_string(v ? v : NOASSERTION));
}

/* The fields every SPDX package carries, in one order. */
static json_t *
package_new(const char *spdxid, const char *name, const char *version)
{
        json_t *o = json_object();

        set_str(o, "name", name);
        set_str(o, "SPDXID", spdxid);
        set_str(o, "versionInfo", version);
        return o;
}

static void
package_finish(json_t *o, const char *license, const char *purl)
{
        set_str(o, "downloadLocation", NOASSERTION);
        json_object_set_new(o, "filesAnalyzed", json_false());
        set_str(o, "licenseConcluded", NOASSERTION);
        set_str(o, "licenseDeclared", license);
        set_str(o, "copyrightText", NOASSERTION);
        if (purl)
                json_object_set_new(o, "externalRefs",
                                    json_pack("[{s:s, s:s, s:o}]", "referenceCategory", "PACKAGE-MANAGER",
                                              "referenceType", "purl", "referenceLocator", oci_json_string(purl)));
}

static json_t *
relationship(const char *a, const char *type, const char *b)
{
        return json_pack("{s:s, s:s, s:s}", "spdxElementId", a, "relationshipType", type, "relatedSpdxElement", b);
}

/* Declare every LicenseRef- of EXPR (SPDX 2.3 clause 10) once, in REFS
 * (an object licenseId → the licence as recorded). */
static void
collect_refs(json_t *refs, const char *expr, const char *recorded)
{
        _cleanup_free_ char *copy = xstrdup(expr);
        char *save = NULL;

        for (char *t = strtok_r(copy, " ()", &save); t; t = strtok_r(NULL, " ()", &save))
                if (strncmp(t, "LicenseRef-", 11) == 0 && !json_object_get(refs, t))
                        json_object_set_new(refs, t, oci_json_string(recorded));
}

static json_t *
os_package(const struct oci_sbom_os *os)
{
        json_t *o = package_new("SPDXRef-OperatingSystem", os->id, os->version_id);

        if (os->pretty_name)
                set_str(o, "description", os->pretty_name);
        package_finish(o, NULL, NULL);
        json_object_set_new(o, "primaryPackagePurpose", json_string("OPERATING-SYSTEM"));
        return o;
}

static json_t *
image_package(const char *spdxid, const char *name, const char *digest, const char *arch)
{
        json_t *o = package_new(spdxid, name ? name : digest, digest);
        _cleanup_free_ char *purl = digest && strchr(digest, ':') ? oci_purl(name, digest, arch) : NULL;
        const char *hex = digest ? strchr(digest, ':') : NULL;

        package_finish(o, NULL, purl);
        if (hex && strncmp(digest, "sha256:", 7) == 0)
                json_object_set_new(o, "checksums",
                                    json_pack("[{s:s, s:s}]", "algorithm", "SHA256", "checksumValue", hex + 1));
        json_object_set_new(o, "primaryPackagePurpose", json_string("CONTAINER"));
        return o;
}

static json_t *
os_pkg_package(const struct oci_sbom_pkg *p, const struct oci_sbom_os *os, json_t *refs)
{
        _cleanup_free_ char *id = pkg_spdxid(p), *purl = oci_sbom_purl(p, os);
        _cleanup_free_ char *lic = oci_sbom_license_expr(p->license), *sup = supplier_of(p->supplier);
        json_t *o = package_new(id, p->name, p->version);

        if (sup)
                set_str(o, "supplier", sup);
        package_finish(o, lic, purl);
        if (p->homepage && (strncmp(p->homepage, "http://", 7) == 0 || strncmp(p->homepage, "https://", 8) == 0))
                set_str(o, "homepage", p->homepage);
        if (p->source) {
                _cleanup_free_ char *si = xasprintf("source package: %s%s%s", p->source,
                                                    p->source_version ? " " : "",
                                                    p->source_version ? p->source_version : "");

                set_str(o, "sourceInfo", si);
        }
        if (lic)
                collect_refs(refs, lic, p->license);
        return o;
}

int
oci_sbom_spdx_write(const struct oci_sbom_image *img, struct oci_sbom_pkgs *pkgs, char **ret_json,
                    size_t *ret_len, struct err **err)
{
        json_t *doc, *packages, *rels, *refs;
        _cleanup_free_ char *ns = NULL;
        struct digest d;
        char *s;
        size_t kept = 0;

        if (!img->digest || digest_parse(img->digest, &d, NULL) < 0)
                return err_set(err, ERR_DIGEST_INVALID, "SBOM: image digest '%s' is not a digest",
                               img->digest ? img->digest : "");
        if (!img->created)
                return err_set(err, EINVAL, "SBOM of %s: no creation time", img->digest);
        /* Sorted, duplicates (status and status.d/ naming one package) out. */
        if (pkgs->n > 1)
                qsort(pkgs->v, pkgs->n, sizeof(*pkgs->v), pkg_cmp);
        for (size_t i = 0; i < pkgs->n; i++) {
                if (kept > 0 && pkg_cmp(&pkgs->v[kept - 1], &pkgs->v[i]) == 0) {
                        oci_sbom_pkg_clear(&pkgs->v[i]);
                        continue;
                }
                pkgs->v[kept++] = pkgs->v[i];
        }
        pkgs->n = kept;

        /* The namespace is a URI unique to this image (SPDX 2.3 clause
         * 6.5): the manifest digest makes it so, and stable across runs. */
        ns = xasprintf("https://spdx.org/spdxdocs/ibuild-image-%s-%s", digest_alg_name(d.alg), d.hex);
        packages = json_array();
        rels = json_array();
        refs = json_object();
        json_array_append_new(packages, image_package("SPDXRef-Image", img->name, img->digest, img->arch));
        json_array_append_new(rels, relationship("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"));
        if (img->os && img->os->id) {
                json_array_append_new(packages, os_package(img->os));
                json_array_append_new(rels, relationship("SPDXRef-Image", "CONTAINS", "SPDXRef-OperatingSystem"));
        }
        for (size_t i = 0; i < pkgs->n; i++) {
                json_t *p = os_pkg_package(&pkgs->v[i], img->os, refs);

                json_array_append_new(rels, relationship("SPDXRef-Image", "CONTAINS",
                                                         json_string_value(json_object_get(p, "SPDXID"))));
                json_array_append_new(packages, p);
        }
        if (img->base_name || img->base_digest) {
                json_array_append_new(packages,
                                      image_package("SPDXRef-BaseImage", img->base_name, img->base_digest, img->arch));
                json_array_append_new(rels, relationship("SPDXRef-Image", "DESCENDANT_OF", "SPDXRef-BaseImage"));
        }
        doc = json_object();
        json_object_set_new(doc, "spdxVersion", json_string("SPDX-2.3"));
        json_object_set_new(doc, "dataLicense", json_string("CC0-1.0"));
        json_object_set_new(doc, "SPDXID", json_string("SPDXRef-DOCUMENT"));
        set_str(doc, "name", img->name ? img->name : img->digest);
        json_object_set_new(doc, "documentNamespace", json_string(ns));
        json_object_set_new(doc, "creationInfo",
                            json_pack("{s:[s], s:s}", "creators", "Tool: ibuild", "created", img->created));
        json_object_set_new(doc, "packages", packages);
        json_object_set_new(doc, "relationships", rels);
        if (json_object_size(refs) > 0) {
                json_t *infos = json_array();
                const char *key;
                json_t *v;

                /* jansson keeps insertion order: first use first. */
                json_object_foreach(refs, key, v)
                {
                        _cleanup_free_ char *text = xasprintf("The licence as the package database records it: %s",
                                                              json_string_value(v));

                        json_array_append_new(infos, json_pack("{s:s, s:s, s:o}", "licenseId", key, "name",
                                                               key + 11, "extractedText", oci_json_string(text)));
                }
                json_object_set_new(doc, "hasExtractedLicensingInfos", infos);
        }
        json_decref(refs);
        s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(doc);
        if (!s)
                return err_set(err, ENOMEM, "SBOM of %s: serialising the document", img->digest);
        *ret_len = strlen(s);
        *ret_json = s;
        return 0;
}

/* ---- the artifact ---- */

int
oci_sbom_add_artifact(struct oci_layout *layout, const char *json, size_t len,
                      const struct oci_descriptor *subject, const char *created, struct oci_descriptor *ret_desc,
                      struct err **err)
{
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = oci_manifest_new(OCI_MT_MANIFEST);
        _cleanup_free_ char *buf = NULL;
        struct oci_descriptor cfg = {0}, layer = {0}, subj = {0};
        struct digest jd, md;
        size_t blen = 0;
        int r;

        r = oci_layout_add_blob(layout, OCI_EMPTY_DATA, OCI_EMPTY_SIZE, NULL, NULL, err);
        if (r >= 0)
                r = oci_layout_add_blob(layout, json, len, NULL, &jd, err);
        if (r < 0)
                return err_prefix(err, "storing the SBOM of %s", subject->digest);
        oci_descriptor_init_empty(&cfg);
        oci_descriptor_init(&layer, OCI_MT_SPDX_JSON, jd.str, (int64_t) len);
        oci_descriptor_set_annotation(&layer, "org.opencontainers.image.title", "sbom.spdx.json");
        /* The subject is the manifest as a registry serves it: no names. */
        oci_descriptor_init(&subj, subject->media_type, subject->digest, subject->size);
        m->artifact_type = xstrdup(OCI_MT_SPDX_JSON);
        oci_manifest_set_config(m, &cfg);
        oci_manifest_add_layer(m, &layer);
        oci_manifest_set_subject(m, &subj);
        if (created)
                m->annotations = json_pack("{s:s}", OCI_ANNOTATION_CREATED, created);
        oci_descriptor_clear(&cfg);
        oci_descriptor_clear(&layer);
        oci_descriptor_clear(&subj);
        r = oci_manifest_serialize(m, &buf, &blen, err);
        if (r >= 0)
                r = oci_layout_add_blob(layout, buf, blen, NULL, &md, err);
        if (r < 0)
                return err_prefix(err, "storing the SBOM manifest of %s", subject->digest);
        oci_descriptor_init(ret_desc, OCI_MT_MANIFEST, md.str, (int64_t) blen);
        ret_desc->artifact_type = xstrdup(OCI_MT_SPDX_JSON);
        return 0;
}
