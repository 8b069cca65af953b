/* Internals shared by the sandbox's files; not part of the API. */
#ifndef BUILDER_SANDBOX_SANDBOX_INTERNAL_H
#define BUILDER_SANDBOX_SANDBOX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "builder/sandbox/sandbox.h"
#include "common/err.h"

struct sandbox_cgroup;

/* Fork a child that unshares CLONE_NEWUSER|FLAGS; the parent moves it into
 * cgroup CG (when not NULL and it has a leaf) and writes MAP's uid/gid
 * maps, and only then lets it run on, as uid/gid 0 in the namespace.
 * Returns 0 in the child, the child's pid in the parent, negative on error
 * (in the parent; the child is then already reaped).  The child has
 * PR_SET_PDEATHSIG(SIGKILL) set. */
pid_t sandbox_fork_userns(const struct build_idmap *map, int flags, const struct sandbox_cgroup *cg,
                          struct err **err);

/* Append a line to the newline-separated *WARNINGS (allocated as needed). */
void sandbox_warn(char **warnings, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- cgroup v2 limits (sandbox-cgroup.c) ----------------------------- */

/* Controllers as a bit mask. */
enum {
        SANDBOX_CG_MEMORY = 1u << 0,
        SANDBOX_CG_PIDS = 1u << 1,
        SANDBOX_CG_CPU = 1u << 2,
        SANDBOX_CG_ALL = SANDBOX_CG_MEMORY | SANDBOX_CG_PIDS | SANDBOX_CG_CPU,
};

/* The step's leaf cgroup; LEAF is NULL when there is none. */
struct sandbox_cgroup {
        char *leaf;          /* absolute path of the leaf dir */
        int dirfd;           /* O_PATH fd of LEAF, or -1 */
        uint64_t memory_max; /* the applied memory limit (for the OOM message), 0 = none */
};

/* One interface file of the leaf and the value written to it. */
struct sandbox_cgroup_file {
        const char *name;  /* "memory.max", "memory.swap.max", "pids.max", "cpu.max" */
        char value[48];
        unsigned controller; /* SANDBOX_CG_* it belongs to */
        bool optional;       /* skipped when the kernel has no such file */
};
#define SANDBOX_CGROUP_MAX_FILES 4

/* The files and values for the limits (0 = unset): memory.max in bytes
 * plus memory.swap.max 0, pids.max, cpu.max "QUOTA 100000" (QUOTA in µs per
 * 100 ms period, at least the kernel's 1000).  Returns how many of
 * RET_FILES were filled. */
size_t sandbox_cgroup_plan(uint64_t memory_max, uint64_t pids_max, uint32_t cpu_millis,
                           struct sandbox_cgroup_file ret_files[SANDBOX_CGROUP_MAX_FILES]);

/* The SANDBOX_CG_* mask of the controller names in TEXT (the content of a
 * cgroup.controllers or cgroup.subtree_control file; NULL = none). */
unsigned sandbox_cgroup_controllers(const char *text);

/* "memory", "pids" or "cpu" for one SANDBOX_CG_* bit. */
const char *sandbox_cgroup_controller_name(unsigned bit);

/* "64 MiB", "1 GiB", "1000 bytes": the largest binary unit dividing BYTES. */
void sandbox_cgroup_format_size(uint64_t bytes, char *buf, size_t len);

/* From the text of /proc/self/mountinfo and /proc/self/cgroup, the
 * directory of the caller's cgroup v2 cgroup (caller frees): the "0::PATH"
 * line resolved against the first cgroup2 mount whose root contains PATH.
 * ENOENT with a message when there is no such line or mount. */
int sandbox_cgroup_find(const char *mountinfo, const char *proc_cgroup, char **ret_dir, struct err **err);

/* Create the step's leaf under the caller's delegated cgroup and write
 * CFG's limits into it (see sandbox-cgroup.c for the layout).  Limits that
 * cannot be applied become WARNINGS lines naming the limit and the reason;
 * *ret_cg then may have no leaf.  Fails only on unexpected errors with a
 * created leaf (which is removed again). */
int sandbox_cgroup_setup(const struct build_sandbox_config *cfg, struct sandbox_cgroup *ret_cg, char **warnings,
                         struct err **err);

/* The same with DIR as the caller's cgroup directory (unit tests point it
 * at a directory of plain files). */
int sandbox_cgroup_setup_in(const struct build_sandbox_config *cfg, const char *dir, struct sandbox_cgroup *ret_cg,
                            char **warnings, struct err **err);

/* Move process PID into CG's leaf (a no-op without a leaf). */
int sandbox_cgroup_enter(const struct sandbox_cgroup *cg, pid_t pid, struct err **err);

/* After the step: note an OOM kill in RES (oom_killed and a warning; RES's
 * signal/timed_out must be final), kill anything left in the leaf, remove
 * it (a warning in RES when that fails) and release CG.  NULL or no leaf:
 * nothing to do. */
void sandbox_cgroup_finish(struct sandbox_cgroup *cg, struct build_sandbox_result *res);

/* Carry an error from a child to its parent over a pipe: the child writes
 * one record.  The parent reads every record until EOF: the first error
 * becomes ERR (returned negative), a status record fills *ret_status
 * (left untouched when there is none). */
void sandbox_report_err(int fd, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int sandbox_read_report(int fd, int *ret_status, struct err **err);

/* Everything init needs, computed by the caller before forking. */
struct sandbox_ctx {
        const struct build_sandbox_config *cfg;
        const char *run_dir;   /* per-run temp dir, owned by the caller */
        char *root;            /* RUN_DIR/root: the overlay's mount point */
        char *skel;            /* RUN_DIR/skel: tmpfs with the mount points */
        char *secrets;         /* RUN_DIR/secrets: tmpfs with secret copies */
        char *etc;             /* RUN_DIR/etc: resolv.conf, hosts, hostname */
        char **mount_src;      /* per mount: the resolved host source dir/file */
        bool *mount_fresh;     /* per cache mount: dir just created, set owner */
        int report_fd;         /* write end of the report pipe */
        bool copy_mode;        /* no overlay: the root is COPY_ROOT */
        const char *copy_root; /* the copy snapshotter's full tree */
};

/* Init's main: set up the mount namespace and run the command as pid 1's
 * child.  Never returns; failures are reported on ctx->report_fd. */
__attribute__((noreturn)) void sandbox_init_main(struct sandbox_ctx *ctx);

/* The copy snapshotter (sandbox-copy.c), run inside the build's user namespace.
 * Merge CFG's lower dirs (overlay form, bottom-up) into the existing empty
 * dir DEST. */
int sandbox_copy_populate(const struct build_sandbox_config *cfg, const char *dest, struct err **err);

/* Compare ROOT (the step's tree) with CFG's merged lowers and write the
 * differences to CFG->upper in overlay form (which must be empty).  IGNORE
 * lists the mount points the sandbox created (absolute paths): empty
 * placeholders there are not differences. */
int sandbox_copy_diff(const struct build_sandbox_config *cfg, const char *root, char *const *ignore, size_t n_ignore,
                      struct err **err);

/* Report record tags. */
enum { SANDBOX_REC_ERR = 'E', SANDBOX_REC_STATUS = 'S' };

/* Write a status record (the command's raw wait status) to FD. */
void sandbox_report_status(int fd, int status);

#endif
