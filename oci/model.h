/* The OCI image model in JSON (jansson): descriptors, image manifests (OCI
 * and Docker schema 2), indexes (OCI and Docker manifest lists), and image
 * configs.
 *
 * Design:
 *  - Typed structs with every field of the specs, plus an `extra` JSON object
 *    per level holding any field we do not know, so parse → serialise keeps
 *    unknown fields.
 *  - Parsing validates (schemaVersion 2, required fields, digest grammar,
 *    size >= 0, media types consistent with the document kind, caps from
 *    common/limits.h, no duplicate keys) and fails with ERR_MANIFEST_INVALID
 *    and a message naming the field ("layers[2].digest: ...").
 *  - A parsed manifest/index/config keeps the exact bytes it came from in
 *    `raw`/`raw_len`.  Anything whose digest matters (a pushed manifest, a
 *    pulled config) must be stored and forwarded from `raw`, never
 *    re-serialised.
 *  - Serialising (oci_*_serialize) is deterministic: compact JSON, keys
 *    sorted (JSON_COMPACT | JSON_SORT_KEYS), UTF-8 as is, no trailing
 *    newline, absent optional fields omitted.  The same struct always gives
 *    the same bytes, hence the same digest.
 *  - Vectors of strings (urls, env, cmd, ...) are NULL-terminated `char **`
 *    ("strv").  NULL means the field is absent (or JSON null); a vector whose
 *    first element is NULL is an empty JSON array.  That difference matters
 *    for Docker (ENTRYPOINT [] resets an inherited entrypoint).
 *  - String maps (annotations, Labels) are JSON objects of strings, NULL when
 *    absent; use oci_map_get/oci_map_set.
 *  - All pointers in the structs are owned by them.  Destructors accept NULL.
 */
#ifndef OCI_MODEL_H
#define OCI_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "oci/mediatype.h"
#include "oci/platform.h"

/* A json_t * dropped (json_decref) when it leaves scope; NULL is fine. */
#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))

/* Well-known annotation keys. */
#define OCI_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
#define OCI_ANNOTATION_CREATED "org.opencontainers.image.created"
#define OCI_ANNOTATION_BASE_NAME "org.opencontainers.image.base.name"
#define OCI_ANNOTATION_BASE_DIGEST "org.opencontainers.image.base.digest"

/* ---- string vectors and string maps ---------------------------------- */

size_t oci_strv_len(char *const *v);
/* Deep copy; NULL → NULL (aborts on OOM). */
char **oci_strv_dup(char *const *v);
/* Free every string and the vector; NULL is a no-op. */
void oci_strv_free(char **v);
/* Append a copy of S to V (V may be NULL: a new vector), returning the
 * possibly moved vector (aborts on OOM). */
char **oci_strv_append(char **v, const char *s);
/* A new empty vector ({NULL}). */
char **oci_strv_new_empty(void);
/* Vector from N strings; the result owns copies. */
char **oci_strv_from(const char *const *s, size_t n);
bool oci_strv_contains(char *const *v, const char *s);
/* Both NULL, or the same strings in the same order. */
bool oci_strv_equal(char *const *a, char *const *b);

/* Value of KEY in a JSON object of strings (NULL when MAP is NULL, KEY is
 * missing or not a string).  Borrowed. */
const char *oci_map_get(const json_t *map, const char *key);
/* Set KEY to a copy of VALUE in *MAP, creating the object when *MAP is NULL;
 * VALUE NULL removes KEY (and an emptied object stays an empty object). */
void oci_map_set(json_t **map, const char *key, const char *value);

/* ---- descriptors ------------------------------------------------------ */

struct oci_descriptor {
        char *media_type;        /* required */
        char *digest;            /* required, "alg:encoded" */
        int64_t size;            /* required, >= 0 */
        char **urls;             /* strv or NULL */
        json_t *annotations;     /* object of strings or NULL */
        unsigned char *data;     /* decoded "data" (base64) or NULL */
        size_t data_len;
        char *artifact_type;     /* "artifactType" or NULL */
        struct oci_platform *platform; /* or NULL */
        json_t *extra;           /* unknown fields or NULL */
};

/* Zero D and set the three required fields (copied). */
void oci_descriptor_init(struct oci_descriptor *d, const char *media_type, const char *digest,
                         int64_t size);
/* Zero D and describe BUF (sha256 digest, size LEN) as MEDIA_TYPE. */
void oci_descriptor_init_bytes(struct oci_descriptor *d, const char *media_type, const void *buf,
                               size_t len);
/* The OCI empty descriptor: OCI_MT_EMPTY, digest of "{}", size 2. */
void oci_descriptor_init_empty(struct oci_descriptor *d);
/* Free D's fields and zero it (D itself is not freed); NULL is a no-op. */
void oci_descriptor_clear(struct oci_descriptor *d);
/* Deep copy SRC into DST (DST's previous fields are not freed). */
void oci_descriptor_copy(struct oci_descriptor *dst, const struct oci_descriptor *src);
/* Annotation KEY of D or NULL (borrowed). */
const char *oci_descriptor_annotation(const struct oci_descriptor *d, const char *key);
/* Set (VALUE NULL: remove) an annotation of D. */
void oci_descriptor_set_annotation(struct oci_descriptor *d, const char *key, const char *value);
/* Parse a descriptor from JSON object J; WHERE names it in errors
 * ("config", "layers[3]").  On success *ret is filled (caller clears it).
 * ERR_MANIFEST_INVALID naming the field. */
int oci_descriptor_from_json(const json_t *j, const char *where, struct oci_descriptor *ret,
                             struct err **err);
/* A new JSON object for D (aborts on OOM). */
json_t *oci_descriptor_to_json(const struct oci_descriptor *d);
/* Check D's required fields and grammar (what from_json checks). */
int oci_descriptor_validate(const struct oci_descriptor *d, const char *where, struct err **err);

/* ---- image manifests (OCI and Docker schema 2) ------------------------ */

struct oci_manifest {
        int schema_version;      /* always 2 */
        char *media_type;        /* OCI_MT_MANIFEST, DOCKER_MT_MANIFEST, or NULL (absent: OCI) */
        char *artifact_type;
        struct oci_descriptor config;
        struct oci_descriptor *layers;
        size_t n_layers;
        struct oci_descriptor *subject; /* or NULL */
        json_t *annotations;
        json_t *extra;
        unsigned char *raw;      /* bytes parsed (NUL-terminated), NULL when built */
        size_t raw_len;
};

/* A new empty manifest of MEDIA_TYPE (may be NULL), schemaVersion 2; set
 * config and add layers before serialising. */
struct oci_manifest *oci_manifest_new(const char *media_type);
/* Parse and validate BUF (LEN bytes, at most LIMIT_MANIFEST_SIZE).  The
 * manifest keeps a copy of the bytes in raw.  ERR_MANIFEST_INVALID naming
 * the field. */
int oci_manifest_parse(const void *buf, size_t len, struct oci_manifest **ret_manifest,
                       struct err **err);
/* Parse from an already-loaded JSON object (raw stays NULL). */
int oci_manifest_from_json(const json_t *j, struct oci_manifest **ret_manifest, struct err **err);
void oci_manifest_free(struct oci_manifest *m);
DEFINE_FREEP(struct oci_manifest, oci_manifest_free)
/* Append a deep copy of D to the layers. */
void oci_manifest_add_layer(struct oci_manifest *m, const struct oci_descriptor *d);
/* Replace the config descriptor with a deep copy of D. */
void oci_manifest_set_config(struct oci_manifest *m, const struct oci_descriptor *d);
/* Replace the subject with a deep copy of D (NULL removes it). */
void oci_manifest_set_subject(struct oci_manifest *m, const struct oci_descriptor *d);
/* Validate M as parse would. */
int oci_manifest_validate(const struct oci_manifest *m, struct err **err);
/* A new JSON object for M (aborts on OOM). */
json_t *oci_manifest_to_json(const struct oci_manifest *m);
/* Validate then serialise M deterministically into *ret_buf (NUL-terminated,
 * caller frees) and *ret_len. */
int oci_manifest_serialize(const struct oci_manifest *m, char **ret_buf, size_t *ret_len,
                           struct err **err);
/* The media type M is served as: media_type, or OCI_MT_MANIFEST when absent. */
const char *oci_manifest_media_type(const struct oci_manifest *m);

/* ---- indexes (OCI image index and Docker manifest list) --------------- */

struct oci_index {
        int schema_version;      /* always 2 */
        char *media_type;        /* OCI_MT_INDEX, DOCKER_MT_MANIFEST_LIST, or NULL */
        char *artifact_type;
        struct oci_descriptor *manifests;
        size_t n_manifests;
        struct oci_descriptor *subject;
        json_t *annotations;
        json_t *extra;
        unsigned char *raw;
        size_t raw_len;
};

struct oci_index *oci_index_new(const char *media_type);
/* Parse and validate BUF (at most LIMIT_MANIFEST_SIZE for registry
 * documents; index.json of a layout uses the same cap). */
int oci_index_parse(const void *buf, size_t len, struct oci_index **ret_index, struct err **err);
int oci_index_from_json(const json_t *j, struct oci_index **ret_index, struct err **err);
void oci_index_free(struct oci_index *idx);
DEFINE_FREEP(struct oci_index, oci_index_free)
/* Append a deep copy of D to manifests. */
void oci_index_add(struct oci_index *idx, const struct oci_descriptor *d);
/* Remove manifests[I] (later entries move down); out-of-range is a no-op. */
void oci_index_remove(struct oci_index *idx, size_t i);
void oci_index_set_subject(struct oci_index *idx, const struct oci_descriptor *d);
int oci_index_validate(const struct oci_index *idx, struct err **err);
json_t *oci_index_to_json(const struct oci_index *idx);
int oci_index_serialize(const struct oci_index *idx, char **ret_buf, size_t *ret_len,
                        struct err **err);
const char *oci_index_media_type(const struct oci_index *idx);
/* Pick the manifest of IDX that best serves platform WANT (see
 * oci_platform_rank; entries without a platform never match, ties go to the
 * first).  *ret_i is its position.  ERR_MANIFEST_UNKNOWN naming WANT and the
 * platforms on offer when none fits. */
int oci_index_select_platform(const struct oci_index *idx, const struct oci_platform *want,
                              size_t *ret_i, struct err **err);

/* ---- references out of a document ------------------------------------- */

enum oci_child_kind {
        OCI_CHILD_CONFIG,   /* a blob */
        OCI_CHILD_LAYER,    /* a blob */
        OCI_CHILD_MANIFEST, /* a manifest or index listed by an index */
        OCI_CHILD_SUBJECT,  /* a manifest; registries must accept it missing */
};

struct oci_child {
        enum oci_child_kind kind;
        const struct oci_descriptor *desc; /* borrowed from the document */
};

/* Everything M references: config, layers in order, then subject.  *ret is
 * a new array (caller frees it, not the descriptors); returns its length. */
size_t oci_manifest_children(const struct oci_manifest *m, struct oci_child **ret);
/* Everything IDX references: manifests in order, then subject. */
size_t oci_index_children(const struct oci_index *idx, struct oci_child **ret);

/* ---- any manifest document -------------------------------------------- */

/* A manifest or an index, as served by /v2/<name>/manifests/. */
struct oci_document {
        const char *media_type;     /* canonical constant from mediatype.h */
        struct oci_manifest *manifest; /* exactly one of these is set */
        struct oci_index *index;
};

/* The media type of raw manifest bytes: the "mediaType" field when it names
 * a known manifest/index type, else by shape ("manifests" → OCI index,
 * "config" + "layers" → OCI manifest, schemaVersion 1 → Docker schema 1).
 * Returns a constant from mediatype.h, or NULL when BUF is not JSON, has an
 * unknown mediaType, or fits no shape. */
const char *oci_detect_media_type(const void *buf, size_t len);

/* Parse BUF as a manifest or index.  CONTENT_TYPE (may be NULL) is the
 * Content-Type it came with: when it is a manifest or index type, the body
 * must be that kind and its mediaType field (if any) must agree; otherwise
 * the kind is detected from the body.  Docker schema 1 is ERR_UNSUPPORTED;
 * anything else invalid is ERR_MANIFEST_INVALID. */
int oci_document_parse(const void *buf, size_t len, const char *content_type,
                       struct oci_document *ret, struct err **err);
/* Free DOC's contents and zero it; NULL is a no-op. */
void oci_document_clear(struct oci_document *doc);
/* Children of whichever document DOC holds. */
size_t oci_document_children(const struct oci_document *doc, struct oci_child **ret);

/* ---- image configs ---------------------------------------------------- */

/* Durations in nanoseconds (Go's time.Duration), 0 = unset. */
struct oci_healthcheck {
        char **test;          /* ["CMD", ...], ["CMD-SHELL", cmd], ["NONE"], or NULL */
        int64_t interval;
        int64_t timeout;
        int64_t start_period;
        int64_t start_interval;
        int64_t retries;
        json_t *extra;
};

/* The image config's "config" object (Docker's field names). */
struct oci_exec_config {
        char *user;           /* "User" */
        char **exposed_ports; /* keys of "ExposedPorts" ("80/tcp") */
        char **env;           /* "Env" ("K=V") */
        char **entrypoint;    /* "Entrypoint" */
        char **cmd;           /* "Cmd" */
        char **volumes;       /* keys of "Volumes" */
        char *working_dir;    /* "WorkingDir" */
        json_t *labels;       /* "Labels" */
        char *stop_signal;    /* "StopSignal" */
        struct oci_healthcheck *healthcheck; /* "Healthcheck" or NULL */
        char **shell;         /* "Shell" */
        char **on_build;      /* "OnBuild" */
        bool args_escaped;    /* "ArgsEscaped", written only when true */
        json_t *extra;
};

struct oci_history {
        char *created;        /* RFC 3339 */
        char *created_by;
        char *author;
        char *comment;
        bool empty_layer;     /* written only when true */
        json_t *extra;
};

struct oci_image_config {
        char *created;        /* RFC 3339 or NULL */
        char *author;
        char *architecture;   /* required */
        char *os;             /* required */
        char *os_version;     /* "os.version" */
        char **os_features;   /* "os.features" */
        char *variant;
        bool has_config;      /* "config" present (written when set or non-empty) */
        struct oci_exec_config config;
        char *rootfs_type;    /* "layers" */
        char **diff_ids;      /* rootfs.diff_ids, strv (never NULL after parse) */
        json_t *rootfs_extra;
        struct oci_history *history;
        size_t n_history;
        json_t *extra;
        unsigned char *raw;
        size_t raw_len;
};

/* A new config for OS/ARCH (VARIANT may be NULL) with rootfs type "layers"
 * and no layers. */
struct oci_image_config *oci_image_config_new(const char *os, const char *arch, const char *variant);
/* Parse and validate BUF (at most LIMIT_CONFIG_SIZE). */
int oci_image_config_parse(const void *buf, size_t len, struct oci_image_config **ret_config,
                           struct err **err);
int oci_image_config_from_json(const json_t *j, struct oci_image_config **ret_config,
                               struct err **err);
void oci_image_config_free(struct oci_image_config *c);
DEFINE_FREEP(struct oci_image_config, oci_image_config_free)
/* Deep copy (aborts on OOM); raw is not copied. */
struct oci_image_config *oci_image_config_dup(const struct oci_image_config *c);
/* Append a diff ID to rootfs.diff_ids. */
void oci_image_config_add_diff_id(struct oci_image_config *c, const char *diff_id);
/* Append a deep copy of H to the history. */
void oci_image_config_add_history(struct oci_image_config *c, const struct oci_history *h);
/* Value of environment variable NAME in config.Env (borrowed) or NULL. */
const char *oci_image_config_getenv(const struct oci_image_config *c, const char *name);
/* Set (VALUE NULL: remove) NAME in config.Env, keeping the order of others. */
void oci_image_config_setenv(struct oci_image_config *c, const char *name, const char *value);
/* The config's platform (new; caller frees). */
struct oci_platform *oci_image_config_platform(const struct oci_image_config *c);
int oci_image_config_validate(const struct oci_image_config *c, struct err **err);
json_t *oci_image_config_to_json(const struct oci_image_config *c);
int oci_image_config_serialize(const struct oci_image_config *c, char **ret_buf, size_t *ret_len,
                               struct err **err);

/* Free a history entry's fields and zero it. */
void oci_history_clear(struct oci_history *h);
void oci_healthcheck_free(struct oci_healthcheck *h);

/* ---- shared helpers ----------------------------------------------------- */

/* Load BUF as one JSON value with duplicate keys rejected and at most CAP
 * bytes; WHAT names the document in errors.  ERR_MANIFEST_INVALID with the
 * line and column of a syntax error. */
int oci_json_load(const void *buf, size_t len, size_t cap, const char *what, json_t **ret_json,
                  struct err **err);
/* Serialise J deterministically (JSON_COMPACT | JSON_SORT_KEYS, no trailing
 * newline) into *ret_buf / *ret_len. */
int oci_json_dump(const json_t *j, char **ret_buf, size_t *ret_len, struct err **err);

#endif
