/* ibuild's --output values (see output.h). */
#include "builder/options/output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "oci/model.h"

/* Split SPEC into CSV fields (RFC 4180 quoting, as Go's encoding/csv reads a
 * buildx --output value).  Returns an oci strv, or NULL with *ERR. */
static char **
csv_fields(const char *spec, struct err **err)
{
        char **fields = oci_strv_new_empty();
        size_t len = strlen(spec);
        _cleanup_free_ char *cur = xmalloc(len + 1);
        const char *p = spec;

        for (;;) {
                size_t n = 0;

                if (*p == '"') {
                        p++;
                        for (;;) {
                                if (*p == '\0') {
                                        err_set(err, EINVAL, "--output %s: a quote is not closed", spec);
                                        goto fail;
                                }
                                if (*p == '"' && p[1] == '"') {
                                        cur[n++] = '"';
                                        p += 2;
                                } else if (*p == '"') {
                                        p++;
                                        break;
                                } else {
                                        cur[n++] = *p++;
                                }
                        }
                        if (*p != ',' && *p != '\0') {
                                err_set(err, EINVAL, "--output %s: text after a closing quote", spec);
                                goto fail;
                        }
                } else {
                        while (*p != ',' && *p != '\0') {
                                if (*p == '"') {
                                        err_set(
                                            err, EINVAL,
                                            "--output %s: a quote inside a field (quote the whole field: \"name=a,b\")",
                                            spec);
                                        goto fail;
                                }
                                cur[n++] = *p++;
                        }
                }
                cur[n] = '\0';
                fields = oci_strv_append(fields, cur);
                if (*p == '\0')
                        return fields;
                p++; /* the comma */
        }
fail:
        oci_strv_free(fields);
        return NULL;
}

static const struct {
        const char *name;
        enum build_output_type type;
        bool push;
} types[] = {
    {"oci", BUILD_OUTPUT_OCI, false},
    {"oci-archive", BUILD_OUTPUT_OCI_ARCHIVE, false},
    {"tar", BUILD_OUTPUT_OCI_ARCHIVE, false},
    {"docker-archive", BUILD_OUTPUT_DOCKER_ARCHIVE, false},
    {"docker", BUILD_OUTPUT_DOCKER_ARCHIVE, false},
    {"image", BUILD_OUTPUT_IMAGE, false},
    {"registry", BUILD_OUTPUT_IMAGE, true},
};

int
build_output_parse(const char *spec, struct build_output *ret, struct err **err)
{
        char **fields = csv_fields(spec, err);
        struct build_output o = {0};
        const char *type = NULL, *push = NULL;
        bool have_type = false;

        if (!fields)
                return -EINVAL;
        for (size_t i = 0; fields[i]; i++) {
                char *f = fields[i], *eq = strchr(f, '=');

                if (!*f && !fields[i + 1] && i > 0)
                        break; /* a trailing comma */
                if (!eq || eq == f) {
                        err_set(err, EINVAL, "--output %s: '%s' is not KEY=VALUE", spec, f);
                        goto fail;
                }
                *eq = '\0';
                if (strcmp(f, "type") == 0) {
                        type = eq + 1;
                } else if (strcmp(f, "dest") == 0) {
                        if (!eq[1]) {
                                err_set(err, EINVAL, "--output %s: dest= is empty", spec);
                                goto fail;
                        }
                        free(o.dest);
                        o.dest = xstrdup(eq + 1);
                } else if (strcmp(f, "name") == 0) {
                        _cleanup_free_ char *c = xstrdup(eq + 1);
                        char *save = NULL;

                        for (char *n = strtok_r(c, ",", &save); n; n = strtok_r(NULL, ",", &save))
                                o.names = oci_strv_append(o.names, n);
                        if (!o.names) {
                                err_set(err, EINVAL, "--output %s: name= is empty", spec);
                                goto fail;
                        }
                } else if (strcmp(f, "push") == 0) {
                        push = eq + 1;
                        if (strcmp(push, "true") != 0 && strcmp(push, "false") != 0) {
                                err_set(err, EINVAL, "--output %s: push=%s: use true or false", spec, push);
                                goto fail;
                        }
                } else {
                        err_set(err, EINVAL, "--output %s: unknown key '%s' (type, dest, name, push)", spec, f);
                        goto fail;
                }
        }
        if (!type && o.dest)
                type = "oci";
        if (!type) {
                err_set(err, EINVAL, "--output %s: type= is missing (oci, oci-archive, docker-archive, registry)",
                        spec);
                goto fail;
        }
        for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
                if (strcmp(type, types[t].name) == 0) {
                        o.type = types[t].type;
                        o.push = types[t].push;
                        have_type = true;
                }
        }
        if (!have_type) {
                err_set(err, EINVAL,
                        "--output %s: unknown type '%s' (oci, oci-archive, docker-archive, image, registry)", spec,
                        type);
                goto fail;
        }
        if (o.type == BUILD_OUTPUT_IMAGE) {
                if (o.dest) {
                        err_set(err, EINVAL, "--output %s: type=%s takes name=, not dest=", spec, type);
                        goto fail;
                }
                if (push)
                        o.push = strcmp(push, "true") == 0;
        } else {
                if (!o.dest) {
                        err_set(err, EINVAL, "--output %s: type=%s needs dest=%s", spec, type,
                                o.type == BUILD_OUTPUT_OCI ? "DIR" : "FILE");
                        goto fail;
                }
                if (push) {
                        err_set(err, EINVAL, "--output %s: push= is for type=image or type=registry", spec);
                        goto fail;
                }
                if (o.names && o.names[1]) {
                        err_set(err, EINVAL, "--output %s: type=%s holds one name, not %zu", spec, type,
                                oci_strv_len(o.names));
                        goto fail;
                }
        }
        o.spec = xstrdup(spec);
        oci_strv_free(fields);
        *ret = o;
        return 0;
fail:
        oci_strv_free(fields);
        build_output_clear(&o);
        return -EINVAL;
}

void
build_output_clear(struct build_output *o)
{
        free(o->spec);
        free(o->dest);
        oci_strv_free(o->names);
        memset(o, 0, sizeof(*o));
}

const char *
build_output_name(const struct build_output *o, const char *fallback)
{
        return o->names && o->names[0] ? o->names[0] : fallback;
}

char *
build_output_with_tag(const char *name)
{
        const char *colon = name ? strrchr(name, ':') : NULL;

        if (!name)
                return xstrdup("latest");
        return colon && !strchr(colon, '/') ? xstrdup(name) : xasprintf("%s:latest", name);
}
