/* Platforms (os/architecture/variant) as the image-spec and containerd use
 * them: parse and format "os/arch[/variant]", normalise architecture aliases,
 * match an image's platform against a wanted one, detect the host.
 *
 * Normalisation (containerd's rules): x86_64/x86-64 → amd64, aarch64 → arm64,
 * armhf → arm/v7, armel → arm/v6, i386/i686 → 386; variants "8" → "v8" etc.;
 * arm64's "v8" and amd64's "v1" are dropped, arm without a variant gets "v7".
 * Default variants: arm64 ≡ arm64/v8, amd64 ≡ amd64/v1, arm ≡ arm/v7, so
 * "linux/arm64" matches an image declaring "linux/arm64/v8".
 */
#ifndef OCI_PLATFORM_H
#define OCI_PLATFORM_H

#include <jansson.h>
#include <stdbool.h>

#include "common/cleanup.h"
#include "common/err.h"

/* All strings owned (extra holds a reference).  variant and os_version may be NULL; os_features is a
 * NULL-terminated vector or NULL. */
struct oci_platform {
        char *os;           /* "linux" */
        char *architecture; /* GOARCH: "amd64", "arm64", "arm", "386", ... */
        char *variant;      /* "v8", "v7", NULL */
        char *os_version;   /* "os.version", e.g. Windows builds */
        char **os_features; /* "os.features" */
        json_t *extra;      /* unknown JSON fields, kept for round trips (or NULL) */
};

/* Parse "os", "os/arch" or "os/arch/variant" (also a bare known arch such as
 * "arm64", taken with os "linux"), normalising aliases.  EINVAL with a
 * message naming S on anything else. */
int oci_platform_parse(const char *s, struct oci_platform **ret_platform, struct err **err);

/* A new platform from parts (copied, then normalised); VARIANT may be NULL. */
struct oci_platform *oci_platform_new(const char *os, const char *arch, const char *variant);

/* Normalise P in place (arch aliases, variant spelling, default variants as
 * above). */
void oci_platform_normalize(struct oci_platform *p);

/* "os/arch[/variant]", newly allocated. */
char *oci_platform_format(const struct oci_platform *p);

/* Deep copy (aborts on OOM); NULL → NULL. */
struct oci_platform *oci_platform_dup(const struct oci_platform *p);

/* Free P; NULL is a no-op. */
void oci_platform_free(struct oci_platform *p);
DEFINE_FREEP(struct oci_platform, oci_platform_free)

/* True when HAVE (an image's platform) is exactly WANT after normalisation
 * and default variants (os, arch and variant equal). */
bool oci_platform_equal(const struct oci_platform *want, const struct oci_platform *have);

/* How well HAVE serves WANT: -1 when it cannot run there, 0 for an exact
 * match, higher for a compatible but worse choice (arm/v7 host runs arm/v6
 * and arm/v5 images, arm64 host runs nothing else, amd64 v3 runs v2/v1).
 * os.version is not compared. */
int oci_platform_rank(const struct oci_platform *want, const struct oci_platform *have);

/* True when oci_platform_rank(want, have) >= 0. */
bool oci_platform_match(const struct oci_platform *want, const struct oci_platform *have);

/* The host platform from uname(2): os "linux", machine mapped to GOARCH
 * (x86_64 → amd64, aarch64 → arm64, armv7l → arm/v7, armv6l → arm/v6,
 * i686 → 386, ppc64le, s390x, riscv64, ...).  EINVAL for an unknown machine. */
int oci_platform_host(struct oci_platform **ret_platform, struct err **err);

/* Map a uname machine string to GOARCH and variant (*ret_variant NULL when
 * none); returns false for an unknown machine.  Exposed for tests. */
bool oci_platform_from_machine(const char *machine, const char **ret_arch, const char **ret_variant);

#endif
