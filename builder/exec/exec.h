/* The build executor: a Dockerfile and a context in, an OCI image in the
 * local store out.
 *
 *     struct build_exec_opts o;
 *     build_exec_opts_init(&o);
 *     o.context = "."; o.store = store; ...
 *     struct build_exec_result r;
 *     if (build_exec_run(&o, &r, err) < 0) ...   // err names file:line
 *     build_output_parse("type=oci,dest=out", &out, err);
 *     build_exec_output(store, &r.manifest, &out, "1.0", err);
 *
 * Stages run in the plan's order (builder/dockerfile/plan.h).  Each stage
 * starts from scratch, a stage, a store image, an "oci:DIR[:NAME]" layout or
 * a registry image (pulled into the store with registry/client).  COPY/ADD
 * write their layer directly from the selected sources (context sources are
 * resolved inside the context root: symlinks never lead out of it); RUN runs
 * in builder/sandbox over the stage's snapshot dirs and its overlay upper dir
 * becomes the layer (builder/snapshot); other instructions change the
 * config and add a history entry with empty_layer.
 *
 * Build cache (STORE/cache/<hex>): each step's key is a sha256 over the
 * parent key, the expanded instruction, the build args it uses and, for
 * COPY/ADD, a digest of the selected sources (paths, modes, ids, bytes);
 * for RUN, each --mount=type=bind source: a context source's content
 * digested the same way, a stage source's cache key.
 * An entry records the config blob and the layer descriptors after the step;
 * a hit reuses them without running anything.  The blobs of the final image
 * are written before anything is named: the store never names a
 * half-written image.
 */
#ifndef BUILDER_EXEC_EXEC_H
#define BUILDER_EXEC_EXEC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder/options/output.h"
#include "builder/sandbox/sandbox.h"
#include "common/err.h"
#include "oci/layer.h"
#include "oci/model.h"
#include "oci/store.h"

enum build_pull_policy {
        BUILD_PULL_MISSING, /* use a store image of that name, pull otherwise */
        BUILD_PULL_ALWAYS,
        BUILD_PULL_NEVER,
};

/* --secret id=ID,src=FILE | id=ID,env=VAR */
struct build_secret {
        const char *id;
        const char *src; /* a file, or NULL */
        const char *env; /* an environment variable, or NULL */
};

/* --ssh ID=SOCKET | ID=KEY[,KEY...]: an ssh agent for RUN
 * --mount=type=ssh,id=ID, never part of a layer or the cache key.  Either
 * SOCKET is an agent's unix socket, or KEYS are private key files that
 * build_exec_run loads into a private ssh-agent (openssh-client's, found on
 * PATH) started for the build and stopped on every exit path.  A step sees
 * a forwarding socket of its own (owned by the mount's uid/gid, with its
 * mode) that relays only REQUEST_IDENTITIES and SIGN_REQUEST to the agent,
 * as BuildKit's read-only agent does. */
struct build_ssh {
        const char *id;
        const char *socket;      /* a unix socket path, or NULL when KEYS are given */
        const char *const *keys; /* key file paths */
        size_t n_keys;
};

/* Progress events for the CLI. */
enum build_event {
        BUILD_EVENT_STEP,   /* a step starts: text = "[stage N/M] INSTRUCTION" */
        BUILD_EVENT_CACHED, /* the step was a cache hit */
        BUILD_EVENT_DONE,   /* the step finished: seconds set */
        BUILD_EVENT_INFO,   /* any other line (pulling a base, warnings) */
};

struct oci_sig_key;

/* Media types of the image written: OCI's, or Docker schema 2's (buildah's
 * --format docker: manifest, config and layer types; the config is the
 * same JSON, whose Healthcheck, OnBuild and Shell Docker tools read). */
enum build_image_format {
        BUILD_FORMAT_OCI,
        BUILD_FORMAT_DOCKER,
};

typedef void (*build_event_fn)(void *data, enum build_event ev, const char *text, double seconds);

struct build_exec_opts {
        const char *context;    /* a directory */
        const char *dockerfile; /* path, "-" for stdin; NULL: CONTEXT/Dockerfile */
        const char *const *build_args; /* "K=V" */
        size_t n_build_args;
        const char *target;   /* stage name, NULL: last */
        const char *platform; /* "linux/arm64", NULL: host */
        const char *const *labels; /* "K=V", applied to the final image */
        size_t n_labels;
        bool no_cache;
        enum build_pull_policy pull;
        const struct build_secret *secrets;
        size_t n_secrets;
        const struct build_ssh *ssh;
        size_t n_ssh;
        enum build_sandbox_net network;
        /* RUN resource limits through cgroup v2 (0 = none; see
         * build_sandbox_config): bytes, pids.max, milli-CPUs. */
        uint64_t memory_max;
        uint64_t pids_max;
        uint32_t cpu_millis;
        enum oci_layer_compression compression;
        enum build_image_format format; /* zstd layers need BUILD_FORMAT_OCI */
        /* --pull-verify-key: a registry base must carry a cosign signature
         * by one of these over the digest used (registry/client's
         * reg_client_verify); images built in the store are not checked. */
        struct oci_sig_key *const *verify_keys;
        size_t n_verify_keys;
        int64_t source_date_epoch; /* < 0: none */
        int jobs;                  /* compressor threads; <= 0: 1 */
        struct oci_store *store;   /* required */
        int output_fd;             /* RUN output goes here (-1: discarded) */
        const char *output_prefix; /* written before each output line, or NULL */
        build_event_fn event;      /* may be NULL */
        void *event_data;
        const volatile sig_atomic_t *cancel; /* may be NULL */
};

void build_exec_opts_init(struct build_exec_opts *o);

struct build_exec_result {
        struct oci_descriptor manifest; /* in the store, not yet named */
        char *config_digest;
        size_t steps, cached;
};

void build_exec_result_clear(struct build_exec_result *r);

/* Run the build.  On success the final manifest and all its blobs are in the
 * store (unnamed: tag with oci_store_tag).  Errors name the Dockerfile line
 * and instruction; a failing RUN also carries the exit status and the tail
 * of its output.  Re-entrant: all state (loaded bases, stages, the content
 * digest cache) lives in a per-call context, so several builds may run at
 * once in one process, on the same store or different ones (the store
 * serialises index.json updates with flock; blob and cache writes are atomic
 * renames of identical content). */
int build_exec_run(const struct build_exec_opts *opts, struct build_exec_result *ret, struct err **err);

/* Export manifest DESC of STORE to the file or directory of OUT (a
 * BUILD_OUTPUT_IMAGE output is the caller's: tag and push), named
 * build_output_name(OUT, NAME); NAME may be NULL ("latest").  An OCI
 * directory names it by its tag (index.json's ref.name, skopeo's and umoci's
 * oci:DIR:TAG); an OCI archive by the whole name as given ("app:1": podman
 * load gives localhost/app:1, ctr import app:1); a docker archive is
 * `docker save`'s format, manifest.json with RepoTags (podman: localhost/app:1,
 * ctr: docker.io/library/app:1).  Written to a temp file, then renamed. */
int build_exec_output(struct oci_store *store, const struct oci_descriptor *desc, const struct build_output *out,
                      const char *name, struct err **err);

/* Read the config of base image REF without network access, for plans
 * that must not pull (ibuild --dry-run; a linter may use it too).  REF is
 * an "oci:DIR[:NAME]" layout, or a name or digest in the local store at
 * STORE_PATH (NULL: the default store, $IBUILD_STORE...; a store that does
 * not exist is empty and is not created).  PLATFORM ("linux/arm64") picks
 * an index's manifest, and a single-platform image for another platform is
 * an error naming both (as in a build with --platform); NULL: this
 * machine's, and a single-platform image of any platform is taken (as a
 * build without --platform does).  Returns 1 with *ret_cfg (free with
 * oci_image_config_free), 0 when REF is not available locally (not in the
 * store: a build would pull it), < 0 when it is but cannot be read (a bad
 * layout, manifest or config, a missing platform), naming REF. */
int build_base_config_lookup_local(const char *store_path, const char *ref, const char *platform,
                                   struct oci_image_config **ret_cfg, struct err **err);

struct build_prune_opts {
        /* Every cache entry, RUN --mount=type=cache dir, the content digest
         * cache and every snapshot, not only what no named image needs. */
        bool all;
        /* Keep blobs and snapshots younger than this (a build running now
         * may need them); < 0: OCI_STORE_GC_GRACE_DEFAULT. */
        int64_t grace_seconds;
};

void build_prune_opts_init(struct build_prune_opts *o);

struct build_prune_result {
        size_t entries_removed, entries_kept; /* build cache entries */
        size_t blobs_removed;
        uint64_t bytes_freed; /* by the blobs */
        size_t snapshots_removed;
};

/* `ibuild prune`: remove the build cache entries that a rebuild of the
 * images named in STORE cannot use (an entry is kept when every layer it
 * records belongs to a named image; with OPTS->all every entry goes), then
 * garbage-collect the blobs neither a named image nor a kept entry needs
 * (oci_store_gc), then remove the unpacked snapshots of layers that no
 * named image and no kept entry has, and stale step dirs.  Rebuilding
 * after a prune works: a removed entry is just a cache miss.  *ret (may be
 * NULL) says what went.  STORE is held EXCLUSIVE (oci_store_hold, waiting
 * for running builds; take it first to wait otherwise) and stays held until
 * the caller releases or frees it; EBUSY when this process holds it shared. */
int build_exec_prune(struct oci_store *store, const struct build_prune_opts *opts, struct build_prune_result *ret,
                     struct err **err);

/* Parse a Go duration ("30s", "1m30s", "500ms", "1h") into nanoseconds. */
int build_exec_parse_duration(const char *s, int64_t *ret_ns, struct err **err);

/* One RUN --mount value ("type=cache,target=/x,sharing=locked,mode=0700"),
 * checked as BuildKit checks it: an unknown key, a key without its value,
 * an unknown type, or a bad boolean (Go's ParseBool), octal mode (<= 07777),
 * uid/gid or tmpfs size ("64m", "1.5g", "1024") is ERR_PARSE naming the
 * spec and the key.  Strings point into ret->buf; free with
 * build_mount_spec_clear.  Unset: type "bind", sharing shared, mode -1. */
struct build_mount_spec {
        char *buf;
        const char *type;
        const char *target;
        const char *source;
        const char *from;
        const char *id;
        const char *env; /* BuildKit's secret-as-environment (not supported by the executor) */
        bool rw;
        bool readonly;
        bool required;
        enum build_mount_sharing sharing;
        mode_t mode;
        uid_t uid;
        gid_t gid;
        uint64_t size;
};
int build_mount_spec_parse(const char *spec, struct build_mount_spec *ret, struct err **err);
void build_mount_spec_clear(struct build_mount_spec *m);

#endif
