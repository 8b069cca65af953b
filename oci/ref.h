/* Image references with Docker's grammar (distribution/reference):
 *
 *     reference := name [ ":" tag ] [ "@" digest ]
 *     name      := [ domain "/" ] path
 *     domain    := host [ ":" port ]      host: DNS name, or "[" IPv6 "]"
 *     path      := component ( "/" component )*
 *     component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *     tag       := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *
 * The first "/"-separated part is a domain when it is "localhost", contains
 * a "." or a ":", starts with "[" (IPv6), or has an upper-case letter (as
 * Docker does: "Foo/bar" has domain "Foo"); otherwise the whole name is the
 * path.  The name (domain "/" path, after normalisation) is at most 255
 * characters.  Stricter than Docker: a port must be 1-65535.  In DOCKER mode
 * a bare 64-hex-digit string is refused (it is an image ID, not a name).
 *
 * OCI_REF_RAW splits the domain with the same rule as the other modes (unlike
 * distribution's non-normalising Parse, which takes any host-like first
 * component as a domain).
 *
 * Normalisation modes:
 *  - OCI_REF_DOCKER (what pull/push use): no domain → "docker.io"; a
 *    single-component path on docker.io gets "library/"; "index.docker.io"
 *    and "registry-1.docker.io" become "docker.io"; no tag and no digest →
 *    tag "latest".  "alpine" → "docker.io/library/alpine:latest".
 *  - OCI_REF_LOCAL (names in the local store, as podman does): no domain →
 *    "localhost", path kept as written (no "library/"); a domain that is
 *    written is kept (docker.io names normalised as above); no tag and no
 *    digest → "latest".  "app:1.0" → "localhost/app:1.0", while
 *    "docker.io/alpine" → "docker.io/library/alpine:latest".  The store keeps
 *    oci_ref_string() of this form as org.opencontainers.image.ref.name, so a
 *    pulled "alpine" and a built "alpine" never collide.  To resolve a short
 *    name typed by a user against the store, try the LOCAL form first, then
 *    the DOCKER form (podman's order).
 *  - OCI_REF_RAW: exactly what was written: domain NULL when absent, no
 *    "library/", tag NULL when absent.
 *
 * Errors: ERR_REFERENCE_INVALID (message says what and where, with the
 * reference quoted), ERR_TAG_INVALID for a bad tag, ERR_DIGEST_INVALID (or
 * ERR_UNSUPPORTED for an unknown algorithm) for a bad digest, ERR_NAME_INVALID
 * for a name over 255 characters.
 */
#ifndef OCI_REF_H
#define OCI_REF_H

#include <stdbool.h>

#include "common/cleanup.h"
#include "common/err.h"

#define OCI_REF_DOCKER_DOMAIN "docker.io"
#define OCI_REF_DOCKER_REGISTRY "registry-1.docker.io"
#define OCI_REF_LOCAL_DOMAIN "localhost"
#define OCI_REF_DEFAULT_TAG "latest"

enum oci_ref_mode {
        OCI_REF_DOCKER,
        OCI_REF_LOCAL,
        OCI_REF_RAW,
};

/* A parsed reference.  Every field is owned by the struct; domain may be
 * NULL only in OCI_REF_RAW mode; tag and digest may each be NULL (after
 * normalisation at least one is set, except in RAW mode).  digest is in
 * canonical "alg:hex" form. */
struct oci_ref {
        char *domain; /* "docker.io", "localhost:5000", "[::1]:5000" */
        char *path;   /* "library/alpine" */
        char *tag;    /* "latest" */
        char *digest; /* "sha256:..." */
};

/* Parse S in OCI_REF_DOCKER mode into a new reference (*ret_ref, free with
 * oci_ref_free).  Errors as described above. */
int oci_ref_parse(const char *s, struct oci_ref **ret_ref, struct err **err);

/* Parse S with the given normalisation MODE. */
int oci_ref_parse_mode(const char *s, enum oci_ref_mode mode, struct oci_ref **ret_ref,
                       struct err **err);

/* Free REF and its strings; NULL is a no-op. */
void oci_ref_free(struct oci_ref *ref);
DEFINE_FREEP(struct oci_ref, oci_ref_free)
#define _cleanup_oci_ref_ __attribute__((cleanup(oci_ref_freep)))

/* A deep copy of REF (aborts on OOM). */
struct oci_ref *oci_ref_dup(const struct oci_ref *ref);

/* Replace REF's tag (TAG NULL removes it) after validating it
 * (ERR_TAG_INVALID); REF is unchanged on failure. */
int oci_ref_set_tag(struct oci_ref *ref, const char *tag, struct err **err);
/* Replace REF's digest (NULL removes it) after validating it; REF is
 * unchanged on failure. */
int oci_ref_set_digest(struct oci_ref *ref, const char *digest, struct err **err);

/* "domain/path" ("docker.io/library/alpine"), or just path without a domain.
 * Newly allocated. */
char *oci_ref_name(const struct oci_ref *ref);

/* The full string "domain/path[:tag][@digest]".  Newly allocated.  Parsing
 * it again in the same mode gives the same reference. */
char *oci_ref_string(const struct oci_ref *ref);

/* Docker's familiar form: "docker.io/" and then "library/" dropped
 * ("alpine:latest", "user/app:1"), other domains kept.  Newly allocated. */
char *oci_ref_familiar(const struct oci_ref *ref);

/* The host[:port] to contact for REF's registry: "registry-1.docker.io" for
 * docker.io (and for a NULL domain), else the domain as written.  Borrowed
 * from REF or static. */
const char *oci_ref_registry_host(const struct oci_ref *ref);

/* The repository name used in /v2/<name>/ URLs ("library/alpine").
 * Borrowed from REF. */
const char *oci_ref_repository(const struct oci_ref *ref);

/* What goes in /v2/<name>/manifests/<reference>: the digest when there is
 * one, else the tag (NULL when neither).  Borrowed from REF. */
const char *oci_ref_manifest_reference(const struct oci_ref *ref);

/* True when REF's domain is docker.io. */
bool oci_ref_is_docker_hub(const struct oci_ref *ref);

/* Validate NAME as a distribution-spec repository <name>:
 *   [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
 * at most 255 characters.  ERR_NAME_INVALID naming the position. */
int oci_repo_name_validate(const char *name, struct err **err);

/* Validate TAG: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.  ERR_TAG_INVALID. */
int oci_tag_validate(const char *tag, struct err **err);

/* True when S has the shape of a tag (no error allocated). */
bool oci_tag_ok(const char *s);

#endif
