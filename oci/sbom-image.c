/* The SBOM of an image in a layout: manifest and config → the final
 * filesystem's package databases (sbom-rootfs.c) → packages (sbom-dpkg.c,
 * sbom-apk.c) → the SPDX document (sbom.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/limits.h"
#include "oci/mediatype.h"
#include "oci/platform.h"
#include "oci/sbom-internal.h"

#define DPKG_STATUS "var/lib/dpkg/status"
#define DPKG_STATUS_D "var/lib/dpkg/status.d"
#define APK_INSTALLED "lib/apk/db/installed"

void
oci_sbom_result_clear(struct oci_sbom_result *r)
{
        if (!r)
                return;
        free(r->json);
        free(r->created);
        oci_descriptor_clear(&r->manifest);
        oci_strv_free(r->warnings);
        memset(r, 0, sizeof(*r));
}

static void
add_warning(char ***w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
add_warning(char ***w, const char *fmt, ...)
{
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                abort();
        va_end(ap);
        *w = oci_strv_append(*w ? *w : oci_strv_new_empty(), s);
        free(s);
}

/* The manifest DESC names, or its platform's manifest when it is an index. */
static int
pick_manifest(const struct oci_layout *layout, const struct oci_descriptor *desc, const char *platform,
              struct oci_descriptor *ret, struct err **err)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        _cleanup_(oci_platform_freep) struct oci_platform *want = NULL;
        struct digest d;
        size_t len, i;
        int r;

        if (!oci_mediatype_is_index(desc->media_type)) {
                oci_descriptor_copy(ret, desc);
                return 0;
        }
        r = digest_parse(desc->digest, &d, err);
        if (r >= 0)
                r = oci_layout_read_blob(layout, &d, LIMIT_MANIFEST_SIZE, &buf, &len, err);
        if (r >= 0)
                r = oci_index_parse(buf, len, &idx, err);
        if (r >= 0)
                r = platform ? oci_platform_parse(platform, &want, err) : oci_platform_host(&want, err);
        if (r >= 0)
                r = oci_index_select_platform(idx, want, &i, err);
        if (r < 0)
                return err_prefix(err, "index %s", desc->digest);
        oci_descriptor_copy(ret, &idx->manifests[i]);
        return 0;
}

/* Packages of the dpkg databases in F: status, then status.d/ entries. */
static int
dpkg_packages(const struct oci_sbom_files *f, struct oci_sbom_pkgs *pkgs, char ***warnings, struct err **err)
{
        const struct oci_sbom_file *st = oci_sbom_files_get(f, DPKG_STATUS);
        _cleanup_free_ size_t *idx = NULL;
        size_t n, read = 0;
        int r;

        if (st && st->data) {
                r = oci_sbom_dpkg_parse(st->data, st->len, "/" DPKG_STATUS, pkgs, err);
                if (r < 0)
                        return r;
        }
        n = oci_sbom_files_in_dir(f, DPKG_STATUS_D, &idx);
        for (size_t i = 0; i < n; i++) {
                const struct oci_sbom_file *e = &f->v[idx[i]];
                _cleanup_free_ char *where = xasprintf("/%s", e->path);
                struct err *pe = NULL;
                size_t pl = strlen(e->path);

                /* distroless writes NAME.md5sums beside NAME: not a status. */
                if (!e->data || (pl > 8 && strcmp(e->path + pl - 8, ".md5sums") == 0))
                        continue;
                if (++read > OCI_SBOM_STATUS_D_FILES) {
                        add_warning(warnings, "/%s: more than %d entries: the rest are left out", DPKG_STATUS_D,
                                    OCI_SBOM_STATUS_D_FILES);
                        break;
                }
                if (oci_sbom_dpkg_parse(e->data, e->len, where, pkgs, &pe) < 0) {
                        if (err_code(&pe) == E2BIG) {
                                *err = pe;
                                return -E2BIG;
                        }
                        add_warning(warnings, "%s", err_msg(&pe));
                        err_clear(&pe);
                }
        }
        return 0;
}

/* dpkg records no licence: take them from the DEP-5 copyright files. */
static void
dpkg_licenses(const struct oci_sbom_files *f, struct oci_sbom_pkgs *pkgs)
{
        for (size_t i = 0; i < pkgs->n; i++) {
                struct oci_sbom_pkg *p = &pkgs->v[i];
                _cleanup_free_ char *path = NULL;
                const struct oci_sbom_file *c;

                if (p->type != OCI_SBOM_DEB || p->license)
                        continue;
                path = xasprintf("usr/share/doc/%s/copyright", p->name);
                c = oci_sbom_files_get(f, path);
                if (c && c->data)
                        oci_sbom_dpkg_copyright_licenses(c->data, c->len, &p->license, NULL);
        }
}

static char *
created_of(const struct oci_sbom_opts *opts, const struct oci_image_config *cfg)
{
        char buf[21];

        if (opts->source_date_epoch >= 0) {
                time_t t = (time_t) opts->source_date_epoch;
                struct tm tm;

                if (gmtime_r(&t, &tm) && tm.tm_year + 1900 <= 9999) {
                        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
                        return xstrdup(buf);
                }
        }
        if (cfg && oci_sbom_time_normalize(cfg->created, buf))
                return xstrdup(buf);
        return xstrdup("1970-01-01T00:00:00Z");
}

int
oci_sbom_generate(const struct oci_layout *layout, const struct oci_descriptor *desc,
                  const struct oci_sbom_opts *opts, struct oci_sbom_result *ret, struct err **err)
{
        struct oci_sbom_opts defaults = {.source_date_epoch = -1};
        struct oci_sbom_result res = {0};
        _cleanup_free_ char *mbuf = NULL, *cbuf = NULL;
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        _cleanup_(oci_image_config_freep) struct oci_image_config *cfg = NULL;
        struct oci_sbom_files files = {0};
        struct oci_sbom_pkgs pkgs = {0};
        struct oci_sbom_os os = {0};
        const struct oci_sbom_file *f;
        struct digest d;
        size_t len;
        int r;

        if (!opts)
                opts = &defaults;
        r = pick_manifest(layout, desc, opts->platform, &res.manifest, err);
        if (r >= 0)
                r = digest_parse(res.manifest.digest, &d, err);
        if (r >= 0)
                r = oci_layout_read_blob(layout, &d, LIMIT_MANIFEST_SIZE, &mbuf, &len, err);
        if (r >= 0)
                r = oci_manifest_parse(mbuf, len, &m, err);
        if (r >= 0 && oci_mediatype_is_config(m->config.media_type)) {
                r = digest_parse(m->config.digest, &d, err);
                if (r >= 0)
                        r = oci_layout_read_blob(layout, &d, LIMIT_CONFIG_SIZE, &cbuf, &len, err);
                if (r >= 0)
                        r = oci_image_config_parse(cbuf, len, &cfg, err);
        }
        if (r >= 0)
                r = oci_sbom_read_rootfs(layout, m->layers, m->n_layers, opts->licenses, &files, err);
        if (r < 0)
                goto out;
        res.warnings = files.warnings;
        files.warnings = NULL;
        f = oci_sbom_files_get(&files, "etc/os-release");
        if (!f || !f->data)
                f = oci_sbom_files_get(&files, "usr/lib/os-release");
        if (f && f->data && oci_sbom_os_release_parse(f->data, f->len, &os, NULL) < 0)
                add_warning(&res.warnings, "/%s: not read (too large)", f->path);
        r = dpkg_packages(&files, &pkgs, &res.warnings, err);
        if (r < 0)
                goto out;
        f = oci_sbom_files_get(&files, APK_INSTALLED);
        if (f && f->data) {
                r = oci_sbom_apk_parse(f->data, f->len, "/" APK_INSTALLED, &pkgs, err);
                if (r < 0)
                        goto out;
        }
        if (opts->licenses)
                dpkg_licenses(&files, &pkgs);
        for (size_t i = 0; i < files.n; i++)
                if (!files.v[i].data)
                        add_warning(&res.warnings,
                                    "rpm database /%s found but not read: its packages are not in the SBOM",
                                    files.v[i].path);
        if (pkgs.skipped)
                add_warning(&res.warnings, "%zu malformed package entries left out", pkgs.skipped);
        res.created = created_of(opts, cfg);
        {
                struct oci_sbom_image img = {
                    .name = opts->name,
                    .digest = res.manifest.digest,
                    .arch = cfg ? cfg->architecture : NULL,
                    .base_name = m->annotations ? json_string_value(json_object_get(m->annotations,
                                                                                    OCI_ANNOTATION_BASE_NAME))
                                                : NULL,
                    .base_digest = m->annotations ? json_string_value(json_object_get(m->annotations,
                                                                                      OCI_ANNOTATION_BASE_DIGEST))
                                                  : NULL,
                    .created = res.created,
                    .os = &os,
                };

                r = oci_sbom_spdx_write(&img, &pkgs, &res.json, &res.len, err);
        }
        res.n_packages = pkgs.n;
out:
        oci_sbom_files_clear(&files);
        oci_sbom_pkgs_clear(&pkgs);
        oci_sbom_os_clear(&os);
        if (r < 0) {
                oci_sbom_result_clear(&res);
                return err_prefix(err, "SBOM of %s", desc->digest);
        }
        *ret = res;
        return 0;
}
