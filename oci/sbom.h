/* SBOMs of images: the OS packages an image's final filesystem records
 * (dpkg, apk), written as an SPDX 2.3 JSON document, and the OCI artifact
 * that attaches it to the image as a referrer.
 *
 *     oci_sbom_generate(layout, &desc, &opts, &res, err)   layers → packages → SPDX
 *     oci_sbom_add_artifact(layout, res.json, res.len, &desc, created, &sbom, err)
 *
 * Three layers of code, one file each:
 *  - parsers of package databases (sbom-dpkg.c: /var/lib/dpkg/status and
 *    status.d/, /usr/share/doc/PKG/copyright; sbom-apk.c:
 *    /lib/apk/db/installed; os-release in sbom.c): pure functions over
 *    untrusted bytes, every count and length capped;
 *  - the final filesystem (sbom-rootfs.c): files read from the image's
 *    layers top layer first, honouring whiteouts and opaque directories,
 *    without unpacking anything;
 *  - the SPDX writer and the artifact (sbom.c): deterministic for the same
 *    image (packages sorted, timestamps fixed, namespace from the digest).
 *
 * rpm databases (rpmdb.sqlite, Packages, Packages.db) are detected, not
 * read: they come back as a warning. */
#ifndef OCI_SBOM_H
#define OCI_SBOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "oci/layout.h"
#include "oci/model.h"

#define OCI_MT_SPDX_JSON "application/spdx+json"

/* Caps on untrusted package databases. */
#define OCI_SBOM_DB_MAX (64 * 1024 * 1024)     /* one status / installed file */
#define OCI_SBOM_STATUS_D_MAX (1024 * 1024)    /* one status.d/ entry */
#define OCI_SBOM_STATUS_D_FILES 10000          /* status.d/ entries read */
#define OCI_SBOM_COPYRIGHT_MAX (256 * 1024)    /* one copyright file */
#define OCI_SBOM_OS_RELEASE_MAX (64 * 1024)
#define OCI_SBOM_PACKAGES_MAX 200000           /* packages in one SBOM */
#define OCI_SBOM_FIELD_MAX 4096                /* a field value kept */
#define OCI_SBOM_LICENSES_MAX 64               /* licences of one package */

enum oci_sbom_pkg_type {
        OCI_SBOM_DEB,
        OCI_SBOM_APK,
};

/* One installed package.  Strings are owned; any but name and version may
 * be NULL. */
struct oci_sbom_pkg {
        enum oci_sbom_pkg_type type;
        char *name;
        char *version;
        char *arch;
        char *source;         /* source package (dpkg Source:, apk o:) */
        char *source_version; /* dpkg "Source: NAME (VERSION)" */
        char *license;        /* as recorded (apk L:, DEP-5 names joined by " AND ") */
        char *supplier;       /* Maintainer / m: ("Name <mail>") */
        char *homepage;       /* Homepage / U: */
};

struct oci_sbom_pkgs {
        struct oci_sbom_pkg *v;
        size_t n, cap;
        size_t skipped; /* entries refused as malformed (no name, bad characters) */
};

/* Free every package (not the struct); NULL is a no-op. */
void oci_sbom_pkgs_clear(struct oci_sbom_pkgs *pkgs);

/* Parse a dpkg status file (deb822 paragraphs) of LEN bytes (at most
 * OCI_SBOM_DB_MAX) and append its installed packages to PKGS: a paragraph
 * whose Status says something else than "... installed" (config-files,
 * half-installed) is left out; one without Status (distroless status.d/
 * entries) counts as installed.  A paragraph without Package or Version,
 * or whose name or version has characters dpkg refuses, is skipped and
 * counted in pkgs->skipped.  WHERE names the input in errors.  EINVAL for
 * NUL bytes or an oversized input, E2BIG past OCI_SBOM_PACKAGES_MAX. */
int oci_sbom_dpkg_parse(const char *data, size_t len, const char *where, struct oci_sbom_pkgs *pkgs,
                        struct err **err);

/* The licences of a machine-readable (DEP-5) debian/copyright file: the
 * distinct names of its "License:" fields (first line only), in order of
 * appearance, joined with " AND " into *ret (caller frees); 0 with *ret
 * NULL when the file is not DEP-5 (no "Format:" field naming
 * copyright-format) or names none. */
int oci_sbom_dpkg_copyright_licenses(const char *data, size_t len, char **ret, struct err **err);

/* Parse an apk installed database (lib/apk/db/installed: paragraphs of
 * "K:value" lines) and append its packages to PKGS, as dpkg_parse does. */
int oci_sbom_apk_parse(const char *data, size_t len, const char *where, struct oci_sbom_pkgs *pkgs,
                       struct err **err);

/* What /etc/os-release says (os-release(5)); owned strings, NULL when
 * absent. */
struct oci_sbom_os {
        char *id;          /* "debian", "alpine" */
        char *version_id;  /* "12", "3.19.1" */
        char *name;        /* "Debian GNU/Linux" */
        char *pretty_name;
};

/* Parse os-release(5) text: KEY=VALUE lines, values unquoted or in single
 * or double quotes with backslash escapes.  Unknown keys are ignored;
 * values of ID and VERSION_ID with characters outside [A-Za-z0-9._-] are
 * dropped (they go into purls).  EINVAL for an oversized input. */
int oci_sbom_os_release_parse(const char *data, size_t len, struct oci_sbom_os *ret, struct err **err);
void oci_sbom_os_clear(struct oci_sbom_os *os);

/* The package URL of P ("pkg:deb/debian/curl@7.88.1-10?arch=amd64&distro=debian-12",
 * "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1"): the
 * namespace is OS->id (NULL: debian / alpine), the version and qualifier
 * values percent-encoded, qualifiers sorted (arch, distro, upstream).
 * Newly allocated. */
char *oci_sbom_purl(const struct oci_sbom_pkg *p, const struct oci_sbom_os *os);

/* A licence as recorded → an SPDX licence expression: known SPDX ids and
 * AND/OR/WITH/parentheses are kept (ids next to each other without an
 * operator are joined with AND), anything else becomes
 * "LicenseRef-<name with other characters as '-'>".  Newly allocated;
 * NULL for an empty licence. */
char *oci_sbom_license_expr(const char *license);

/* What the document says about the image. */
struct oci_sbom_image {
        const char *name;        /* "localhost/app:1.0", or NULL (the digest is used) */
        const char *digest;      /* manifest digest, required */
        const char *arch;        /* config architecture, or NULL */
        const char *base_name;   /* org.opencontainers.image.base.name, or NULL */
        const char *base_digest; /* org.opencontainers.image.base.digest, or NULL */
        const char *created;     /* document creation time "YYYY-MM-DDThh:mm:ssZ", required */
        const struct oci_sbom_os *os; /* may be NULL */
};

/* Write the SPDX 2.3 JSON document of IMG holding PKGS (sorted here by
 * type, name, version, arch; duplicates dropped): the image as the
 * described CONTAINER package, the OS and base image as packages of their
 * own, each OS package with its purl, source package, supplier and
 * licence; relationships DESCRIBES (document → image), CONTAINS (image →
 * OS and packages), DESCENDANT_OF (image → base).  *ret_json
 * (NUL-terminated, caller frees) and *ret_len. */
int oci_sbom_spdx_write(const struct oci_sbom_image *img, struct oci_sbom_pkgs *pkgs, char **ret_json,
                        size_t *ret_len, struct err **err);

/* "YYYY-MM-DDThh:mm:ssZ" of RFC 3339 time S (fractions dropped, offsets
 * applied) into OUT (21 bytes); false when S is not such a time. */
bool oci_sbom_time_normalize(const char *s, char out[21]);

/* ---- images ----------------------------------------------------------- */

struct oci_sbom_opts {
        const char *name;          /* image name for the document, or NULL */
        int64_t source_date_epoch; /* >= 0: the creation time; < 0: the config's created */
        const char *platform;      /* picks a manifest of an index; NULL: this machine's */
        bool licenses;             /* read /usr/share/doc/PKG/copyright (DEP-5) for dpkg licences */
};

struct oci_sbom_result {
        char *json;            /* the SPDX document */
        size_t len;
        char *created;         /* its creation time */
        struct oci_descriptor manifest; /* the image manifest described (its subject) */
        size_t n_packages;
        char **warnings;       /* strv or NULL: rpm found but not read, entries skipped */
};
void oci_sbom_result_clear(struct oci_sbom_result *r);

/* The SBOM of image DESC (a manifest, or an index: OPTS->platform's
 * manifest) of LAYOUT, from the package databases of its final filesystem.
 * OPTS may be NULL.  Errors name the blob or the file. */
int oci_sbom_generate(const struct oci_layout *layout, const struct oci_descriptor *desc,
                      const struct oci_sbom_opts *opts, struct oci_sbom_result *ret, struct err **err);

/* Final-filesystem reading (sbom-rootfs.c), for oci_sbom_generate and
 * tests: the files of an image's layers an SBOM needs, as the merged
 * filesystem shows them, and its symlinks to resolve paths with. */
struct oci_sbom_file {
        char *path;   /* "var/lib/dpkg/status" (no leading "/") */
        char *data;   /* NUL-terminated; NULL for a file noted, not read */
        size_t len;
};
struct oci_sbom_link {
        char *path;
        char *target;
};
struct oci_sbom_files {
        struct oci_sbom_file *v; /* sorted by path */
        size_t n, cap;
        struct oci_sbom_link *links; /* sorted by path */
        size_t n_links, cap_links;
        char **warnings; /* strv or NULL: files too large, links past the cap */
};
void oci_sbom_files_clear(struct oci_sbom_files *f);

/* Read LAYERS (N_LAYERS layer descriptors of LAYOUT, bottom first as in a
 * manifest; gzip, zstd or plain tar), top layer first, skipping what
 * whiteouts (".wh.NAME") and opaque markers (".wh..wh..opq") of upper layers
 * hide, and keep: os-release, dpkg/status, dpkg/status.d/ entries,
 * apk/db/installed, with LICENSES share/doc/PKG/copyright, every symlink,
 * and note rpm databases (rpm/rpmdb.sqlite, Packages, Packages.db) without
 * reading them.  Nothing is written to disk.  Errors name the layer. */
int oci_sbom_read_rootfs(const struct oci_layout *layout, const struct oci_descriptor *layers, size_t n_layers,
                         bool licenses, struct oci_sbom_files *ret, struct err **err);

/* PATH ("etc/os-release", no leading "/") resolved through F's symlinks as
 * the kernel would inside the image root (absolute targets start at the
 * root, ".." stops there, at most 40 links); newly allocated, or NULL when
 * a loop or the cap is met. */
char *oci_sbom_files_resolve(const struct oci_sbom_files *f, const char *path);

/* The file at PATH (resolved as above) in F, or NULL. */
const struct oci_sbom_file *oci_sbom_files_get(const struct oci_sbom_files *f, const char *path);

/* The files directly in directory DIR (resolved as above), in path order:
 * *ret_idx (caller frees; NULL when none) gets their indexes in F->v, the
 * count is returned. */
size_t oci_sbom_files_in_dir(const struct oci_sbom_files *f, const char *dir, size_t **ret_idx);

/* ---- the artifact ------------------------------------------------------ */

/* Store JSON (LEN bytes) in LAYOUT as an SBOM referrer of SUBJECT: the
 * empty config, one layer of OCI_MT_SPDX_JSON, artifactType
 * OCI_MT_SPDX_JSON, subject SUBJECT, annotation
 * org.opencontainers.image.created = CREATED (may be NULL).  *ret_desc
 * (caller clears) describes the manifest, artifactType set, as an
 * index.json entry lists it.  The manifest is not named. */
int oci_sbom_add_artifact(struct oci_layout *layout, const char *json, size_t len,
                          const struct oci_descriptor *subject, const char *created, struct oci_descriptor *ret_desc,
                          struct err **err);

#endif
