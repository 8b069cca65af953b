/* ibuild's verbs, one file each (crun's layout): main.c dispatches. */
#ifndef CMD_IBUILD_IBUILD_H
#define CMD_IBUILD_IBUILD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* `ibuild debug ast FILE` and other debugging aids (debug.c). */
int ibuild_debug(int argc, char **argv);
/* `ibuild --check [-f Dockerfile] [CONTEXT]`: lint without building (check.c). */
int ibuild_check(int argc, char **argv);
/* `ibuild --dry-run ...`: print the build plan, fully expanded (dryrun.c). */
int ibuild_dry_run(int argc, char **argv);
/* `ibuild prune [--all] [--grace SECONDS]`: drop build cache nothing needs
 * (prune.c). */
int ibuild_prune(int argc, char **argv);
/* `ibuild rmi NAME...`: remove image names from the store (prune.c). */
int ibuild_rmi(int argc, char **argv);
/* `ibuild sbom IMAGE`: print the SPDX SBOM of an image (sbom.c). */
int ibuild_sbom(int argc, char **argv);

struct oci_store;
struct oci_descriptor;
struct build_output;
/* `ibuild --sbom` after a build (sbom.c): the SBOM of IMAGE (named NAME,
 * may be NULL) stored in STORE as an unnamed referrer and added to the
 * oci / oci-archive OUTPUTS; *ret_sbom (caller clears) describes its
 * manifest, to push beside the image. */
int ibuild_sbom_attach(struct oci_store *store, const struct oci_descriptor *image, const char *name,
                       const struct build_output *outputs, size_t n_outputs, bool quiet,
                       struct oci_descriptor *ret_sbom, struct err **err);
struct reg_client;
/* Push the SBOM artifact SBOM of STORE to REF's repository by digest,
 * after its image (sbom.c). */
int ibuild_sbom_push(struct reg_client *c, struct oci_store *store, const struct oci_descriptor *sbom, const char *ref,
                     bool quiet, struct err **err);
/* `ibuild [OPTIONS] CONTEXT`: build (build.c). */
int ibuild_build(int argc, char **argv);

#endif
