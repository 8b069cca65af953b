/* Build outputs written to files: an OCI layout dir, an OCI archive, a
 * docker archive (see build_exec_output in exec.h). */
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

/* The tag of NAME ("1" of "app:1"; "latest" when it has none). */
static const char *
tag_of(const char *name)
{
        const char *colon = name ? strrchr(name, ':') : NULL;

        return colon && !strchr(colon, '/') ? colon + 1 : "latest";
}

int
build_exec_output(struct oci_store *store, const struct oci_descriptor *desc, const struct build_output *out,
                  const char *name, struct err **err)
{
        _cleanup_free_ char *tmp = NULL, *full = NULL;
        int r;

        name = build_output_name(out, name);
        switch (out->type) {
        case BUILD_OUTPUT_OCI:
                /* In a layout directory, the name is the tag (skopeo/umoci). */
                r = to_layout(store, desc, out->dest, tag_of(name), err);
                return r < 0 ? err_prefix(err, "--output %s", out->spec) : 0;
        case BUILD_OUTPUT_OCI_ARCHIVE:
        case BUILD_OUTPUT_DOCKER_ARCHIVE:
                break;
        default:
                return err_set(err, EINVAL, "--output %s: not a file or directory output", out->spec);
        }
        full = name ? build_output_with_tag(name) : NULL;
        r = fs_mkdtemp_in(oci_store_tmp_dir(store), "out-", &tmp, err);
        if (r < 0)
                return r;
        if (out->type == BUILD_OUTPUT_OCI_ARCHIVE) {
                r = to_layout(store, desc, tmp, full ? full : "latest", err);
        } else {
                /* `docker save`'s format: manifest.json over blobs/sha256.  No
                 * index.json: podman and ctr would take it over manifest.json's
                 * RepoTags and name the image by a layout's ref name. */
                _cleanup_free_ char *index = xasprintf("%s/index.json", tmp), *marker = xasprintf("%s/oci-layout", tmp);

                r = to_layout(store, desc, tmp, "latest", err);
                if (r >= 0)
                        r = docker_manifest(store, desc, tmp, full, err);
                if (r >= 0 && (unlink(index) < 0 || unlink(marker) < 0))
                        r = err_set(err, errno, "%s: %s", tmp, strerror(errno));
        }
        if (r >= 0)
                r = tar_dir(tmp, out->dest, err);
        fs_rm_rf(tmp, NULL);
        return r < 0 ? err_prefix(err, "--output %s", out->spec) : 0;
}
