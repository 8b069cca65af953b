/* Shared between the executor's files; not an API. */
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
        pthread_mutex_t lock;       /* counters, ctxlist, unpacking */
        volatile int failed;        /* a parallel stage failed: stop */
        struct xbase **bases;       /* base images loaded so far (exec-base.c) */
        size_t n_bases;
        pthread_mutex_t bases_lock;
        struct xhashcache *hashcache; /* may be NULL: no caching */
        struct xssh_agents *ssh;      /* --ssh agents (exec-ssh.c), NULL: none started */
};

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

/* Write entries to a new layer blob in the store and add it to S. */
int xwrite_entries_layer(struct xctx *x, struct xstage *s, const struct oci_layer_entry *e, size_t n,
                         struct err **err);

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
int xhashcache_file_digest(struct xhashcache *c, int dirfd, const char *path, const struct stat *st,
                           struct digest *ret, struct err **err);

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

/* WORKDIR-relative absolute clean path. */
char *xabs_path(const char *workdir, const char *p);

#endif
