/* Rootless sandbox for RUN steps.
 *
 * build_sandbox_run() runs one command in new user, mount, pid, ipc and uts
 * namespaces (and a new network namespace for BUILD_SANDBOX_NET_NONE) with a
 * root filesystem that is an overlay of read-only lower dirs and a writable
 * upper dir.  The upper dir is the step's diff: afterwards it holds exactly
 * what the command changed (overlay whiteouts and opaque-dir xattrs
 * included), never the sandbox's own mount points.
 *
 * Process layout (bubblewrap's order):
 *
 *   caller ──fork──> helper ──unshare(user,mnt,pid,ipc,uts[,net])
 *                      │  caller writes uid/gid maps (identity as root,
 *                      │  newuidmap/newgidmap for a subuid range, or a
 *                      │  single mapping after setgroups=deny)
 *                      └──fork──> init (pid 1): mounts, pivot_root, then
 *                                  └──fork──> the command (caps bounded,
 *                                             ids dropped, no_new_privs)
 *
 * With resource limits set, the caller moves the helper into the step's
 * leaf cgroup (sandbox-cgroup.c) while it still waits for its id maps, so
 * nothing of the step ever runs outside the limits; the leaf is removed
 * once every process of the step is gone.
 *
 * Every process lives in the new pid namespace except the helper; init has
 * PR_SET_PDEATHSIG(SIGKILL) on the helper and the helper on the caller, so
 * when the caller dies, times out or is cancelled, killing init tears down
 * the namespace and all its mounts.  Nothing is mounted in the caller's mount
 * namespace, so no mount can leak.
 *
 * Mount points (/proc, /dev, /etc/{hosts,hostname,resolv.conf}, RUN --mount
 * targets) live on a tmpfs that is the top-most lower dir, so they never
 * reach the upper dir.  /proc is fresh with Docker's masked paths hidden
 * and /proc/sys read-only; /sys is read-only (a fresh sysfs with network
 * none, else the host's bound read-only recursively).
 *
 * When the overlay mount fails (or IBUILD_SNAPSHOTTER=copy) the copy
 * snapshotter takes over with a warning: the lowers are copied into
 * WORK/copyroot, the step runs there, and the differences are written to
 * UPPER in the same overlay form (deletions as char 0/0 whiteouts; a
 * replaced dir as per-entry whiteouts rather than an opaque dir).
 *
 * The caller may be multi-threaded: the children only use malloc (which
 * glibc's fork() makes safe) and close every fd they do not need.
 */
#ifndef BUILDER_SANDBOX_SANDBOX_H
#define BUILDER_SANDBOX_SANDBOX_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "common/err.h"

/* ---- id mappings ------------------------------------------------------ */

enum build_idmap_kind {
        BUILD_IDMAP_IDENTITY, /* caller is root: ids map to themselves */
        BUILD_IDMAP_SUBID,    /* 0 -> caller, 1..N -> /etc/subuid range */
        BUILD_IDMAP_SINGLE,   /* only 0 -> caller: other ids are unusable */
};

struct build_idmap_range {
        uint32_t inside, outside, count;
};

struct build_idmap {
        enum build_idmap_kind kind;
        size_t n_uid, n_gid;
        struct build_idmap_range uid[2], gid[2];
};

/* Decide the mapping for the current user: identity when euid is 0; a
 * subordinate range when the files /etc/subuid and /etc/subgid (SUBUID/SUBGID, NULL
 * for those defaults) list the user and newuidmap/newgidmap exist; else a
 * single mapping, with a warning written to *ret_warning (caller frees;
 * NULL when there is none).  Setting IBUILD_IDMAP=single forces the last. */
int build_idmap_detect(const char *subuid, const char *subgid, struct build_idmap *ret_map,
                       char **ret_warning, struct err **err);

/* Parse the first entry of a subuid/subgid file TEXT for user NAME or
 * numeric ID; 0 with the range start and count on success, -ENOENT (with ERR) if
 * there is none, an error naming the line for malformed entries. */
int build_idmap_parse_subid(const char *text, const char *name, uint32_t id, uint32_t *ret_start,
                            uint32_t *ret_count, struct err **err);

/* Map an in-namespace id to the host id (or (uint32_t)-1 when unmapped). */
uint32_t build_idmap_to_host(const struct build_idmap *map, bool gid, uint32_t inside);

/* Run FN(ARG, ERR) in a forked child that is root in a new user and mount
 * namespace with MAP applied (as root with an identity map it runs in a
 * plain forked child).  Used to unpack, read and delete snapshot trees whose
 * files belong to subordinate ids.  Returns FN's result; FN's error message
 * is carried back.  FN must not rely on memory it changes being visible to
 * the caller: pass results through a file or pipe. */
int build_idmap_call(const struct build_idmap *map, int (*fn)(void *arg, struct err **err), void *arg,
                     struct err **err);

/* ---- users ------------------------------------------------------------ */

struct build_user {
        uid_t uid;
        gid_t gid;
        size_t n_groups;
        gid_t groups[64];
        char home[256]; /* "" when the user has no passwd entry */
};

/* Resolve a Docker USER spec ("name", "uid", "name:group", "uid:gid", ...)
 * against the image's /etc/passwd and /etc/group text (either may be NULL
 * when the file is missing).  Names must exist; numeric ids need not.  A
 * name's primary gid and supplementary groups come from the files, as
 * Docker does. */
int build_user_resolve(const char *spec, const char *passwd, const char *group, struct build_user *ret_user,
                       struct err **err);

/* ---- running a step --------------------------------------------------- */

enum build_sandbox_net {
        BUILD_SANDBOX_NET_HOST,
        BUILD_SANDBOX_NET_NONE,
};

enum build_mount_type {
        BUILD_MOUNT_BIND,
        BUILD_MOUNT_CACHE,
        BUILD_MOUNT_TMPFS,
        BUILD_MOUNT_SECRET,
};

enum build_mount_sharing {
        BUILD_MOUNT_SHARED,  /* concurrent writers share the dir */
        BUILD_MOUNT_LOCKED,  /* flock(): one writer at a time */
        BUILD_MOUNT_PRIVATE, /* a fresh copy per step, discarded after */
};

/* One RUN --mount.  TARGET is absolute inside the container.
 * BIND: SOURCE is a host path (file or dir), read-only unless RW.
 * CACHE: ID (or TARGET when NULL) names a dir under the config's cache_root;
 *        writable unless READONLY; created with MODE/UID/GID (in-image ids).
 * TMPFS: SIZE bytes (0 = kernel default).
 * SECRET: SOURCE is a host file copied onto a private tmpfs and shown at
 *        TARGET (default /run/secrets/ID) with MODE (default 0400), UID/GID.
 * None of these ever appear in the upper dir. */
struct build_mount {
        enum build_mount_type type;
        const char *target;
        const char *source;
        const char *id;
        bool rw;
        bool readonly;
        enum build_mount_sharing sharing;
        mode_t mode;
        uid_t uid;
        gid_t gid;
        uint64_t size;
};

struct build_rlimit {
        int resource; /* RLIMIT_* */
        struct rlimit limit;
};

struct build_sandbox_config {
        char *const *argv; /* argv[0] searched in the env's PATH when it has no '/' */
        char *const *env;  /* NULL-terminated; PATH and HOME get defaults if missing */
        const char *cwd;   /* absolute; created when missing (as Docker does); NULL = "/" */
        const char *user;  /* USER spec; NULL = "0" */
        const char *hostname; /* NULL = "ibuild" */
        enum build_sandbox_net net;

        /* Root filesystem: LOWERS[0] is the top-most layer.  UPPER and WORK
         * must be empty dirs on the same file system, owned by the caller. */
        const char *const *lowers;
        size_t n_lowers;
        const char *upper;
        const char *work;

        const struct build_mount *mounts;
        size_t n_mounts;
        const char *cache_root; /* required for BUILD_MOUNT_CACHE */
        const char *run_dir;    /* where per-run temp dirs go; NULL = $TMPDIR or /tmp */

        struct build_idmap idmap; /* from build_idmap_detect() */

        unsigned timeout_sec; /* 0 = none; on expiry every process is killed */
        const struct build_rlimit *rlimits;
        size_t n_rlimits;
        /* cgroup v2 limits (0 = unset), applied through a leaf cgroup
         * "ibuild-PID-N" under the caller's cgroup when that is delegated
         * (root, systemd Delegate=yes, a rootless podman-style session) and
         * has the controller; else a result warning names the limit and why
         * it was not applied and the step runs without it.  The sandbox's
         * helper is in the leaf before anything of the step runs, so the
         * pids limit counts it and the sandbox's pid 1 too. */
        uint64_t memory_max; /* bytes: memory.max, and memory.swap.max = 0 */
        uint64_t pids_max;   /* pids.max */
        uint32_t cpu_millis; /* milli-CPUs: cpu.max "QUOTA 100000" */

        int stdin_fd; /* -1 = /dev/null */
        int stdout_fd;
        int stderr_fd;

        /* Optional: polled after signals interrupt the wait; when it becomes
         * non-zero the step is killed (for a Ctrl-C handler). */
        const volatile sig_atomic_t *cancel;
};

struct build_sandbox_result {
        int exit_code; /* the command's exit status, 128+N when killed by signal N */
        int signal;    /* the signal that killed it, or 0 */
        bool timed_out;
        bool cancelled;
        bool oom_killed; /* the memory limit's OOM killer killed a process of the step */
        char *warnings; /* newline-separated, NULL when none; caller frees */
};

/* Run CFG->argv as described above.  Returns 0 when the command ran (its
 * status, even non-zero, is in *ret_result) and a negative error when the
 * sandbox could not be set up or the command could not be executed (the
 * message names the failing step and path).  On return, in every case, no
 * process of the step is left and nothing of it is mounted; the run's temp
 * dirs are removed.  ret_result->warnings must be freed by the caller. */
int build_sandbox_run(const struct build_sandbox_config *cfg, struct build_sandbox_result *ret_result,
                      struct err **err);

/* Release what a result holds (NULL ok). */
void build_sandbox_result_clear(struct build_sandbox_result *res);

/* Parse a memory size as docker's --memory takes it: a number (a fraction
 * allowed) with an optional binary unit b, k, m, g, t, p (any case, an
 * optional "i" and "b" after it: 512m, 1g, 1.5GiB, 67108864).  At least
 * 6 MiB, docker's minimum.  Errors name the input and the position. */
int build_sandbox_parse_memory(const char *s, uint64_t *ret_bytes, struct err **err);

/* Parse docker's --cpus ("0.5", "2", "1.25"; 0.01 to 4096) into milli-CPUs;
 * digits beyond the third decimal are dropped. */
int build_sandbox_parse_cpus(const char *s, uint32_t *ret_millis, struct err **err);

/* Parse docker's --pids-limit: a positive count, or 0 / -1 for no limit
 * (*ret_max = 0); at most 4194304 (the kernel's PID_MAX_LIMIT). */
int build_sandbox_parse_pids(const char *s, uint64_t *ret_max, struct err **err);

/* Remove the overlay work dir WORK (its "work" subdir is mode 000). */
int build_sandbox_remove_workdir(const char *work, struct err **err);

#endif
