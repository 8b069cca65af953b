/* Copies between OCI layouts (store ↔ oci:DIR) without a registry. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "registry/client/client.h"

struct copy {
        struct oci_layout *src;
        struct oci_layout *dst;
};

static int
copy_one(const struct oci_walk_item *item, void *userdata, struct err **err)
{
        struct copy *cp = userdata;
        _cleanup_close_ int fd = -1;
        uint64_t size;
        int r;

        if (item->kind == OCI_WALK_SUBJECT)
                return 0;
        if (oci_layout_has_blob(cp->dst, &item->digest))
                return 0;
        if (!oci_layout_has_blob(cp->src, &item->digest)) {
                /* Other platforms' manifests of a single-platform pull, and
                 * foreign layers, may be absent. */
                if (item->kind == OCI_WALK_MANIFEST ||
                    (oci_mediatype_is_nondistributable(item->desc->media_type) && item->desc->urls))
                        return 0;
                return err_set(err, ERR_BLOB_UNKNOWN, "blob %s (%s) is not in %s", item->digest.str,
                               item->referrer, oci_layout_path(cp->src));
        }
        r = oci_layout_open_blob(cp->src, &item->digest, &fd, &size, err);
        if (r < 0)
                return r;
        r = oci_layout_add_blob_fd(cp->dst, fd, &item->digest, item->desc->size, NULL, NULL, err);
        if (r < 0)
                return err_prefix(err, "copying %s", item->digest.str);
        return 0;
}

int
reg_layout_copy(struct oci_layout *src, const struct oci_descriptor *desc, struct oci_layout *dst, struct err **err)
{
        struct copy cp = {.src = src, .dst = dst};
        return oci_layout_walk_from(src, desc, OCI_WALK_SKIP_MISSING, copy_one, &cp, err);
}
