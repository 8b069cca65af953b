/* Build outputs: an OCI layout dir, an OCI archive, a docker archive. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/exec/exec.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "oci/layer.h"
#include "oci/layout.h"
#include "registry/client/client.h"

/* Copy DESC of STORE into the layout at DIR named NAME. */
static int
to_layout(struct oci_store *store, const struct oci_descriptor *desc, const char *dir, const char *name,
          struct err **err)
{
        _cleanup_oci_layout_ struct oci_layout *dst = NULL;
        int r;

        r = oci_layout_create(dir, &dst, err);
        if (r < 0)
                return r;
        r = reg_layout_copy(oci_store_layout(store), desc, dst, err);
        if (r < 0)
                return r;
        return oci_layout_tag(dst, name, desc, err);
}

/* manifest.json of `docker save` for DESC (blobs are in blobs/sha256). */
static int
docker_manifest(struct oci_store *store, const struct oci_descriptor *desc, const char *dir, const char *name,
                struct err **err)
{
        _cleanup_free_ char *buf = NULL, *out = NULL, *path = NULL;
        struct oci_manifest *m = NULL;
        struct digest d;
        size_t len;
        json_t *j, *layers, *tags;
        int r;

        r = digest_parse(desc->digest, &d, err);
        if (r >= 0)
                r = oci_layout_read_blob(oci_store_layout(store), &d, LIMIT_MANIFEST_SIZE, &buf, &len, err);
        if (r >= 0)
                r = oci_manifest_parse(buf, len, &m, err);
        if (r < 0)
                return r;
        layers = json_array();
        for (size_t i = 0; i < m->n_layers; i++) {
                const char *dg = m->layers[i].digest;
                char *p = xasprintf("blobs/%.*s/%s", (int) (strchr(dg, ':') - dg), dg, strchr(dg, ':') + 1);

                json_array_append_new(layers, json_string(p));
                free(p);
        }
        tags = json_array();
        if (name)
                json_array_append_new(tags, json_string(name));
        {
                const char *dg = m->config.digest;
                char *cp = xasprintf("blobs/%.*s/%s", (int) (strchr(dg, ':') - dg), dg, strchr(dg, ':') + 1);

                j = json_pack("[{s:s, s:o, s:o}]", "Config", cp, "RepoTags", tags, "Layers", layers);
                free(cp);
        }
        oci_manifest_free(m);
        out = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        path = xasprintf("%s/manifest.json", dir);
        return fs_write_atomic(path, out, strlen(out), 0644, err);
}

/* Tar DIR's content into FILE (atomically). */
static int
tar_dir(const char *dir, const char *file, struct err **err)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp-%d", file, (int) getpid());
        struct oci_layer_write_opts wo;
        struct oci_layer_result res;
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int r;

        if (fd < 0)
                return err_set(err, errno, "%s: %s", tmp, strerror(errno));
        oci_layer_write_opts_init(&wo);
        r = oci_layer_write_dir(AT_FDCWD, dir, &wo, fd, &res, err);
        if (r >= 0 && fsync(fd) < 0)
                r = err_set(err, errno, "%s: %s", tmp, strerror(errno));
        if (r >= 0 && rename(tmp, file) < 0)
                r = err_set(err, errno, "%s: %s", file, strerror(errno));
        if (r < 0)
                unlink(tmp);
        return r;
}

int
build_exec_output(struct oci_store *store, const struct oci_descriptor *desc, const char *spec, const char *name,
                  struct err **err)
{
        _cleanup_free_ char *copy = xstrdup(spec), *type = NULL, *dest = NULL, *oname = NULL;
        char *save = NULL, *tok;
        int r;

        for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(tok, '=');

                if (!eq)
                        return err_set(err, EINVAL, "--output %s: '%s' is not KEY=VALUE", spec, tok);
                *eq = '\0';
                if (strcmp(tok, "type") == 0)
                        type = xstrdup(eq + 1);
                else if (strcmp(tok, "dest") == 0)
                        dest = xstrdup(eq + 1);
                else if (strcmp(tok, "name") == 0)
                        oname = xstrdup(eq + 1);
                else
                        return err_set(err, EINVAL, "--output %s: unknown key '%s'", spec, tok);
        }
        if (!type && dest)
                type = xstrdup("oci");
        if (!type || !dest)
                return err_set(err, EINVAL, "--output %s: needs type= and dest=", spec);
        if (oname)
                name = oname;
        if (strcmp(type, "oci") == 0) {
                const char *n = name ? name : "latest";
                const char *colon = strrchr(n, ':');

                /* In a layout, the name is the tag (skopeo/umoci convention). */
                if (colon && !strchr(colon, '/'))
                        n = colon + 1;
                return to_layout(store, desc, dest, n, err);
        }
        if (strcmp(type, "oci-archive") == 0 || strcmp(type, "docker-archive") == 0 || strcmp(type, "tar") == 0) {
                _cleanup_free_ char *tmp = NULL;
                const char *n = name ? name : "latest";
                const char *colon = strrchr(n, ':');

                r = fs_mkdtemp_in(oci_store_tmp_dir(store), "out-", &tmp, err);
                if (r < 0)
                        return r;
                if (strcmp(type, "docker-archive") == 0) {
                        _cleanup_free_ char *full = NULL;

                        if (name && !(colon && !strchr(colon, '/')))
                                full = xasprintf("%s:latest", name);
                        r = to_layout(store, desc, tmp, colon && !strchr(colon, '/') ? colon + 1 : "latest", err);
                        if (r >= 0)
                                r = docker_manifest(store, desc, tmp, full ? full : name, err);
                } else {
                        r = to_layout(store, desc, tmp, colon && !strchr(colon, '/') ? colon + 1 : n, err);
                }
                if (r >= 0)
                        r = tar_dir(tmp, dest, err);
                fs_rm_rf(tmp, NULL);
                return r < 0 ? err_prefix(err, "--output %s", spec) : 0;
        }
        return err_set(err, EINVAL, "--output %s: unknown type '%s' (oci, oci-archive, docker-archive)", spec, type);
}
