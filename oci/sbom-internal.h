/* Internals shared by oci/sbom*.c; not part of the oci API. */
#ifndef OCI_SBOM_INTERNAL_H
#define OCI_SBOM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "oci/sbom.h"

/* Append P (its strings move into PKGS; P is zeroed) to PKGS: E2BIG naming
 * WHERE past OCI_SBOM_PACKAGES_MAX (P is then cleared). */
int oci_sbom_pkgs_take(struct oci_sbom_pkgs *pkgs, struct oci_sbom_pkg *p, const char *where, struct err **err);

/* Free P's strings and zero it. */
void oci_sbom_pkg_clear(struct oci_sbom_pkg *p);

/* True when S is non-empty, at most OCI_SBOM_FIELD_MAX bytes, and every byte
 * is an ASCII letter or digit or one of EXTRA. */
bool oci_sbom_chars_ok(const char *s, const char *extra);

/* A copy of the LEN bytes at S with leading and trailing blanks removed,
 * or NULL when that is empty or longer than OCI_SBOM_FIELD_MAX. */
char *oci_sbom_field_dup(const char *s, size_t len);

/* A line iterator over LEN bytes at DATA: *line / *line_len get the next
 * line without its "\n" (and a "\r" before it); false at the end. */
struct oci_sbom_lines {
        const char *p, *end;
};
bool oci_sbom_next_line(struct oci_sbom_lines *it, const char **line, size_t *line_len);

/* Common checks of a database input: no NUL byte, at most CAP bytes. */
int oci_sbom_check_input(const char *data, size_t len, size_t cap, const char *where, struct err **err);

#endif
