/* Internals shared by the sandbox's files; not part of the API. */
#ifndef BUILDER_SANDBOX_SANDBOX_INTERNAL_H
#define BUILDER_SANDBOX_SANDBOX_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "builder/sandbox/sandbox.h"
#include "common/err.h"

/* Fork a child that unshares CLONE_NEWUSER|FLAGS; the parent writes MAP's
 * uid/gid maps, after which the child is uid/gid 0 in the namespace.
 * Returns 0 in the child, the child's pid in the parent, negative on error
 * (in the parent; the child is then already reaped).  The child has
 * PR_SET_PDEATHSIG(SIGKILL) set. */
pid_t sandbox_fork_userns(const struct build_idmap *map, int flags, struct err **err);

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
