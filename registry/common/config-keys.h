/* Strict JSON settings: every key of a config object must be known, so a
 * misspelled one ("htpaswd") is an error rather than a silent default. */
#ifndef REGISTRY_COMMON_CONFIG_KEYS_H
#define REGISTRY_COMMON_CONFIG_KEYS_H

#include <jansson.h>

/* The first key of object OBJ not in the NULL-terminated list KNOWN, or
 * NULL when all are known (or OBJ is not an object). */
const char *reg_config_unknown_key(json_t *obj, const char *const *known);

#endif
