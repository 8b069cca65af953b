/* The oci module's umbrella header: include this to get the whole image
 * model.  A plain list of the module's sub-headers. */
#ifndef OCI_OCI_H
#define OCI_OCI_H

#include "oci/layer.h"
#include "oci/layout.h"
#include "oci/mediatype.h"
#include "oci/model.h"
#include "oci/platform.h"
#include "oci/ref.h"
#include "oci/store.h"

#endif
