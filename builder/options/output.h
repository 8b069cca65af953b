/* ibuild's --output values (docker buildx's syntax): a CSV list of KEY=VALUE
 * fields, parsed into one struct build_output each, before the build starts,
 * so a bad value fails at once and never after a long build.  Pure, so it is
 * unit-tested and fuzzed apart from argv handling in cmd/ibuild. */
#ifndef BUILDER_OPTIONS_OUTPUT_H
#define BUILDER_OPTIONS_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

enum build_output_type {
        BUILD_OUTPUT_OCI,            /* type=oci: an OCI layout directory at dest */
        BUILD_OUTPUT_OCI_ARCHIVE,    /* type=oci-archive (or tar): an OCI layout tar at dest */
        BUILD_OUTPUT_DOCKER_ARCHIVE, /* type=docker-archive (or docker): `docker save`'s tar */
        BUILD_OUTPUT_IMAGE,          /* type=image / type=registry: name in the store, push */
};

struct build_output {
        enum build_output_type type;
        char *spec;   /* the value as given, for messages */
        char *dest;   /* file or directory; NULL for BUILD_OUTPUT_IMAGE */
        char **names; /* name=, split at commas (an oci strv), or NULL: the -t names */
        bool push;    /* type=registry, or type=image,push=true */
};

/* Parse SPEC into *RET (written only on success; free with
 * build_output_clear).  Fields are separated by commas; a field in double
 * quotes may hold commas ("name=a:1,b:1"), a doubled quote inside is one
 * quote.  Keys: type (oci, oci-archive, tar, docker-archive, docker, image,
 * registry; absent with dest: oci), dest, name, push (true/false).  EINVAL
 * quoting SPEC and saying what is wrong or missing. */
int build_output_parse(const char *spec, struct build_output *ret, struct err **err);
void build_output_clear(struct build_output *o);

/* The name an export of O carries: its first name=, else FALLBACK (the
 * first -t name, may be NULL). */
const char *build_output_name(const struct build_output *o, const char *fallback);

/* NAME with a tag, as archives carry it: "app" is "app:latest", NULL is
 * "latest" (a new string). */
char *build_output_with_tag(const char *name);

#endif
