/* Helpers shared by oci/model.c and oci/config.c: typed field access on
 * jansson objects with errors naming the field.  Not part of the API. */
#ifndef OCI_MODEL_INTERNAL_H
#define OCI_MODEL_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Every reader below: KEY absent or JSON null → *ret left NULL/0 and 0
 * returned (unless REQUIRED: ERR_MANIFEST_INVALID "WHERE.KEY: missing").
 * A present value of the wrong type is ERR_MANIFEST_INVALID naming
 * "WHERE.KEY".  WHERE may be "" for the top level. */
int oci_field_string(const json_t *obj, const char *where, const char *key, bool required, char **ret,
                     struct err **err);
int oci_field_strv(const json_t *obj, const char *where, const char *key, char ***ret, struct err **err);
int oci_field_map(const json_t *obj, const char *where, const char *key, json_t **ret, struct err **err);
/* Object whose keys are collected into a strv (ExposedPorts, Volumes). */
int oci_field_keys(const json_t *obj, const char *where, const char *key, char ***ret, struct err **err);
int oci_field_int64(const json_t *obj, const char *where, const char *key, bool required, int64_t *ret,
                    bool *ret_present, struct err **err);
int oci_field_bool(const json_t *obj, const char *where, const char *key, bool *ret, struct err **err);

/* A copy of OBJ without the NULL-terminated list of KNOWN keys, or NULL when
 * nothing is left. */
json_t *oci_extra_of(const json_t *obj, const char *const *known);
/* A new object starting from a deep copy of EXTRA (or empty). */
json_t *oci_object_from_extra(const json_t *extra);

/* json_string(S), with invalid UTF-8 bytes replaced by U+FFFD. */
json_t *oci_json_string(const char *s);

/* Setters that skip NULL values. */
void oci_set_string(json_t *obj, const char *key, const char *v);
void oci_set_strv(json_t *obj, const char *key, char *const *v);
void oci_set_keys(json_t *obj, const char *key, char *const *v);
void oci_set_map(json_t *obj, const char *key, const json_t *map);

/* "WHERE.KEY" or "KEY" into BUF. */
const char *oci_field_path(char *buf, size_t size, const char *where, const char *key);

/* Builds a document from its parsed JSON J: on success stores the new
 * object (a struct oci_manifest *, oci_index * or oci_image_config *, its
 * raw/raw_len a copy of RAW) through RET; on failure leaves RET alone. */
typedef int (*oci_from_doc_fn)(const json_t *j, const void *raw, size_t raw_len, void *ret, struct err **err);
/* The parse wrapper of every document type: load BUF (LEN bytes, at most
 * CAP) with oci_json_load and hand it to FROM_DOC; an error is prefixed
 * with WHAT ("manifest", "index", "image config") unless it already starts
 * with it.  RET is written only on success. */
int oci_json_parse_doc(const void *buf, size_t len, size_t cap, const char *what, oci_from_doc_fn from_doc, void *ret,
                       struct err **err);
/* Copy of LEN bytes plus a NUL. */
unsigned char *oci_raw_copy(const void *buf, size_t len);

#endif
