/* Shared between the oci/layout*.c and oci/store*.c files; not an API. */
#ifndef OCI_LAYOUT_INTERNAL_H
#define OCI_LAYOUT_INTERNAL_H

#include "digest/digest.h"
#include "oci/layout.h"

struct oci_layout {
        char *path;
        int dirfd;
};


/* "blobs/<alg>/<hex>" relative to the layout dir, newly allocated. */
char *oci_layout_blob_relpath(const struct digest *d);

#endif
