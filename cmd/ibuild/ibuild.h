/* ibuild's verbs, one file each (crun's layout): main.c dispatches. */
#ifndef CMD_IBUILD_IBUILD_H
#define CMD_IBUILD_IBUILD_H

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
/* `ibuild [OPTIONS] CONTEXT`: build (build.c). */
int ibuild_build(int argc, char **argv);

#endif
