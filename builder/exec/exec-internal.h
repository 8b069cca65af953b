/* Shared between the executor's files; not an API.  The files, in the
 * order a build meets them:
 *   exec.c           build_exec_run: Dockerfile, context, plan; shared helpers
 *   exec-sched.c     stages in parallel (--jobs)
 *   exec-step.c      one stage: its base, then each step
 *   exec-base.c      base images (store, oci: layout, registry pull)
 *   exec-stage.c     a stage's layers, snapshots and merged view
 *   exec-config.c    config instructions, WORKDIR, history
 *   exec-run.c       RUN and its --mount list
 *   exec-mount.c     RUN --mount spec parsing
 *   exec-ssh.c       --ssh agents and RUN's ssh forwarders
 *   exec-copy.c      COPY/ADD: sources, digest, layer (exec-copy-internal.h)
 *   exec-copy-dest.c COPY/ADD: the destination
 *   exec-add.c       ADD: archives and URLs
 *   exec-resolve.c   paths inside a root (the context)
 *   exec-hashcache.c content digests of source files
 *   exec-cache.c     step keys and the build cache
 *   exec-finish.c    the final config and manifest
 *   exec-output.c    --output files; exec-prune.c the store's GC */
#ifndef BUILDER_EXEC_EXEC_INTERNAL_H
#define BUILDER_EXEC_EXEC_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "builder/dockerfile/dockerignore.h"
#include "builder/dockerfile/plan.h"
#include "builder/exec/exec.h"
#include "builder/sandbox/sandbox.h"
#include "digest/digest.h"
#include "oci/layer.h"
#include "oci/model.h"
#include "oci/store.h"

/* One layer of a stage's image. */
struct xlayer {
        struct oci_descriptor desc;
        char *diff_id;  /* "sha256:..." */
        char *snapshot; /* unpacked dir, NULL until needed */
};

/* A stage's image as it is built. */
struct xstage {
        struct oci_image_config *cfg;
        struct xlayer *layers;
        size_t n_layers;
        char key[DIGEST_STR_MAX]; /* cache key of the last step */
        bool cmd_set;             /* CMD written in this stage */
        bool done;
        char *base_name, *base_digest;
};

/* A base image loaded for a platform (exec-base.c). */
struct xbase {
        char *ref;
        char *platform;
        struct oci_image_config *cfg;
        struct oci_descriptor *layers;
        size_t n_layers;
        char *digest; /* the manifest's */
};
struct xhashcache; /* content digests of source files (exec-hashcache.c) */

struct xctx {
        const struct build_exec_opts *o;
        struct oci_store *store;
        struct oci_layout *layout; /* the store's, borrowed */
        struct build_idmap idmap;
        struct build_plan *plan;
        struct build_df_file *df;
        struct xstage *stages; /* indexed like plan->stages */
        char *context;
        int ctx_fd;
        struct build_ignore *ignore;
        struct build_context *ctxlist; /* walked lazily */
        char *work;                    /* per-build temp dir under STORE/tmp */
        char *empty_dir;               /* an empty lower for scratch */
        const char *df_name;
        const char *plan_platform; /* during build_plan_new */
        size_t steps, cached;
        int pos;
        pthread_mutex_t lock; /* counters, ctxlist, unpacking */
        volatile int failed;  /* a parallel stage failed: stop */
        struct xbase **bases; /* base images loaded so far (exec-base.c) */
        size_t n_bases;
        pthread_mutex_t bases_lock;
        struct xhashcache *hashcache; /* may be NULL: no caching */
        struct xssh_agents *ssh;      /* --ssh agents (exec-ssh.c), NULL: none started */
};

/* Shared helpers (exec.c).  xevent reports EV to the caller's event
 * callback, if any; xnow_sec is a monotonic clock in seconds;
 * xcreated_now the image timestamp (SOURCE_DATE_EPOCH, else now; caller
 * frees). */
void xevent(struct xctx *x, enum build_event ev, double secs, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
double xnow_sec(void);
char *xcreated_now(const struct xctx *x);

/* Base images (exec-base.c).  xbase_get loads REF for PLATFORM once per
 * build (from an oci: layout, the store, or a registry pull into the
 * store; borrowed, valid until xbases_free); a platform the image lacks is
 * an error naming both when the platform was asked for (--platform, or
 * FROM --platform other than this machine's).  xplan_base_config is the
 * plan's base_config callback (DATA is the xctx). */
int xbase_get(struct xctx *x, const char *ref, const char *platform, struct xbase **ret, struct err **err);
void xbases_free(struct xctx *x);
/* Read blob DIGEST ("sha256:...") of LAY, at most CAP bytes. */
int xread_json_blob(struct oci_layout *lay, const char *digest, size_t cap, char **ret, size_t *ret_len,
                    struct err **err);
int xplan_base_config(void *data, const char *image, const char *platform, struct build_plan_base_config *ret,
                      struct err **err);

/* Stages (exec-stage.c).  xstage_clear frees S's content and zeroes it;
 * xstage_set replaces S's config by CFG (owned by S from then on) and its
 * layers by copies of the N LAYERS (diff ids from CFG). */
void xstage_clear(struct xstage *s);
void xstage_set(struct xstage *s, struct oci_image_config *cfg, const struct oci_descriptor *layers, size_t n);

/* Make sure every layer of S is unpacked into its snapshot dir. */
int xstage_unpack(struct xctx *x, struct xstage *s, struct err **err);

/* The lowers of S top-most first (borrowed strings); at least one (the
 * empty dir for a stage without layers). */
const char **xstage_lowers(struct xctx *x, struct xstage *s, size_t *ret_n);

/* Find PATH (absolute, clean) in the merged view of S's snapshots: 0 with
 * *ret_host (caller frees) and *ret_st, -ENOENT when absent. */
int xstage_lookup(struct xctx *x, struct xstage *s, const char *path, char **ret_host, struct stat *ret_st,
                  struct err **err);

/* A merged directory listing of S below PATH (absolute, clean): every
 * entry's image path relative to PATH, its host path and stat.  */
struct xmerged {
        char *rel;
        char *host;
        struct stat st;
};
int xstage_list(struct xctx *x, struct xstage *s, const char *path, struct xmerged **ret, size_t *ret_n,
                struct err **err);
void xmerged_free(struct xmerged *m, size_t n);

/* A temporary stage holding image REF (COPY --from=image); release with
 * xstage_release. */
int xstage_from_image(struct xctx *x, const char *ref, struct xstage *s, struct err **err);
void xstage_release(struct xstage *s);

/* Add a layer written to blob writer output to S: descriptor, diff_id in
 * the config.  */
void xstage_add_layer(struct xstage *s, const struct oci_descriptor *desc, const char *diff_id, const char *snapshot);

/* The layer media type for compression C. */
const char *xlayer_media_type(enum oci_layer_compression c);

/* COPY / ADD.  xcopy_prepare selects the sources and digests them (names,
 * modes, ids, bytes) for the cache key (*ret_digest, caller frees);
 * xcopy_run selects them again and writes the layer into S. */
int xcopy_prepare(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, char **ret_digest,
                  struct err **err);
int xcopy_run(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, struct err **err);

/* The same content digest as xcopy_prepare's for context path REL (clean,
 * relative, "." for the root; already resolved inside the context): the
 * entry itself and, for a directory, everything below it that
 * .dockerignore keeps.  For the cache key of RUN --mount=type=bind. */
int xcontext_digest(struct xctx *x, const char *rel, char **ret_digest, struct err **err);

/* The layer writer's options of this build (compression, threads,
 * SOURCE_DATE_EPOCH) into *WO. */
void xwrite_opts(const struct xctx *x, struct oci_layer_write_opts *wo);

/* Write entries to a new layer blob in the store and add it to S. */
int xwrite_entries_layer(struct xctx *x, struct xstage *s, const struct oci_layer_entry *e, size_t n, struct err **err);

/* Resolve PATH relative to the root fd ROOT as if ROOT were "/" (symlinks
 * included, never leaving ROOT): *ret is the clean relative path of the
 * final target ("." for the root).  ENOENT when a component is missing. */
int xresolve_in_root(int root, const char *path, bool follow_final, char **ret, struct err **err);

/* The content digest cache (exec-hashcache.c): open it from CACHE_DIR
 * (never fails: an unreadable cache is an empty one; BYPASS hashes every
 * file but still records); close writes it back when records were added
 * and frees it (NULL is a no-op). */
struct xhashcache *xhashcache_open(const char *cache_dir, bool bypass);
int xhashcache_close(struct xhashcache *c, struct err **err);

/* The sha256 of the bytes of regular file DIRFD/PATH whose lstat the
 * caller has in ST: from C when a record matches ST's device, inode, size,
 * mode, mtime and ctime, else read (never following a final symlink) and
 * recorded when the file is not racily new.  C may be NULL. */
int xhashcache_file_digest(struct xhashcache *c, int dirfd, const char *path, const struct stat *st, struct digest *ret,
                           struct err **err);

/* COPY/ADD source patterns: does path P (relative, clean) match pattern
 * PAT?  Each '/'-separated component is matched with fnmatch (as Go's
 * filepath.Match: '*', '?', '[...]' never cross a '/'); a "**" component
 * matches any number of components, none included. */
bool xcopy_path_match(const char *pat, const char *p);

/* COPY/ADD context source SRC as written, cleaned as if rooted at the
 * context root: relative, "." for the root, a leading "/" dropped and
 * ".." never above the root ("../a" is "a", "a/../../b" is "b").  Caller
 * frees. */
char *xcopy_context_rel(const char *src);

/* ADD archive entry NAME made relative to the extraction dir (clean, "."
 * for the dir itself, a leading "/" dropped as Docker's untar does);
 * NULL when it climbs out of it with "..".  Caller frees. */
char *xcopy_archive_rel(const char *name);

/* --ssh agents (exec-ssh.c).  xssh_agents_start starts a private
 * ssh-agent for each --ssh ID=KEY[,KEY] and loads its keys (never
 * prompting: a key that needs a passphrase or cannot be loaded is an error
 * naming the file); xssh_agents_stop kills and removes them (every exit
 * path of the build calls it; NULL is a no-op; a killed ibuild takes its
 * agents with it: each runs under a supervisor that stops it when the pipe
 * from ibuild reaches its end).  xssh_socket is the agent
 * socket for ID, NULL when --ssh did not give it. */
struct xssh_agents;
int xssh_agents_start(struct xctx *x, struct err **err);
void xssh_agents_stop(struct xssh_agents *a);
const char *xssh_socket(struct xctx *x, const char *id);

/* A RUN step's ssh forwarders: for each of the N mounts MOUNTS[IDX[i]]
 * (whose source is the agent socket, with id and mode set: parse_mounts
 * gives them BuildKit's defaults), a listening socket made in a new
 * private dir under the build's work dir, owned by the mount's uid/gid as
 * seen inside the step (through X's id mapping) with its mode; the mount's
 * source becomes that socket (the path is owned by *RET).  A thread relays
 * each connection to the agent, request by request, passing only
 * REQUEST_IDENTITIES and SIGN_REQUEST (anything else gets
 * SSH_AGENT_FAILURE: a step cannot add, remove or lock keys).
 * xssh_fwd_stop stops the thread, closes every connection and removes the
 * dir (NULL is a no-op). */
struct xssh_fwd;
int xssh_fwd_start(struct xctx *x, struct build_mount *mounts, const size_t *idx, size_t n, struct xssh_fwd **ret,
                   struct err **err);
void xssh_fwd_stop(struct xssh_fwd *f);

/* The build cache (exec-cache.c).  xkey_add adds TAG and S (NULL: empty),
 * length-prefixed, to key C.  xstep_key is the cache key of step IN over
 * S's key with SOURCES (xcopy_prepare's or xrun_sources' digest, may be
 * NULL).  xcache_get loads the entry KEY into S (0 on a hit, -ENOENT on a
 * miss); xcache_put records S under KEY.  xput_config writes S's config as
 * a blob: *ret_digest (caller frees) and, when RET_SIZE, its size. */
void xkey_add(struct digest_ctx *c, const char *tag, const char *s);
int xstep_key(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, const char *sources,
              char ret[DIGEST_STR_MAX]);
int xcache_get(struct xctx *x, struct xstage *s, const char *key);
int xcache_put(struct xctx *x, struct xstage *s, const char *key, struct err **err);
int xput_config(struct xctx *x, struct xstage *s, char **ret_digest, size_t *ret_size, struct err **err);

/* Config instructions (exec-config.c).  xapply_config applies IN (not
 * RUN, COPY, ADD) to S's config; *ret_layer tells whether it added a layer
 * (WORKDIR of a missing dir).  xadd_history adds S's history entry for a
 * step (EMPTY: no layer).  xcommand_vec is the argument vector of
 * CMD/ENTRYPOINT/HEALTHCHECK/RUN: JSON (exec form) as is, else through S's
 * SHELL (caller frees). */
int xapply_config(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, bool *ret_layer,
                  struct err **err);
void xadd_history(struct xctx *x, struct xstage *s, const char *created_by, bool empty);
char **xcommand_vec(const struct xstage *s, char *const *args, size_t n, bool json);

/* RUN (exec-run.c).  xdo_run runs IN in the sandbox over S and adds its
 * layer to S.  xrun_sources is what IN's --mount=type=bind sources add to
 * its cache key (*ret, caller frees). */
int xdo_run(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, struct err **err);
int xrun_sources(struct xctx *x, const struct build_plan_instr *in, char **ret, struct err **err);

/* Stages: xrun_stage runs stage SI from its base through its last step
 * (exec-step.c); xrun_parallel runs the plan's order with up to --jobs
 * stages at once (exec-sched.c). */
int xrun_stage(struct xctx *x, int si, struct err **err);
int xrun_parallel(struct xctx *x, struct err **err);

/* The final image of stage S (exec-finish.c): config and manifest blobs
 * in the store, *ret filled. */
int xfinish(struct xctx *x, struct xstage *s, struct build_exec_result *ret, struct err **err);

/* WORKDIR-relative absolute clean path. */
char *xabs_path(const char *workdir, const char *p);

#endif
