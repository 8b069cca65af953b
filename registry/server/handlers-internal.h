/* Shared by the endpoint handlers, one file per concern: handlers.c
 * (routing, auth, token, dispatch), handlers-blob.c (blob downloads and
 * deletes), handlers-upload.c (upload sessions and mounts),
 * handlers-manifest.c (manifests and referrers), handlers-tags.c (tag
 * lists and the catalog).  Handlers reach storage only through the driver
 * interface (storage.h) and never learn which driver it is.  Not a public
 * API. */
#ifndef REGISTRY_SERVER_HANDLERS_INTERNAL_H
#define REGISTRY_SERVER_HANDLERS_INTERNAL_H

#include <jansson.h>

#include "registry/server/server-internal.h"

#define ST(r) ((r)->srv->store)
#define OPS(r) ((r)->srv->store->ops)

/* An empty header list. */
extern const char *const REG_NO_HEADERS[];

/* ROOT as compact JSON with Content-Type CT and headers H; takes ROOT. */
enum MHD_Result reg_respond_json(struct reg_req *r, int status, const char *ct, json_t *root,
                                 const char *const *h);

/* handlers-blob.c */
/* A response of bytes [START, START + LEN) of BR for R; takes BR (closed
 * with the response, or at once on failure: NULL).  Readers that lend an
 * fd are sent with sendfile from the sender threads when SENDFILE_OK and
 * the body is large; everything else goes through a read callback, which
 * is how a driver without an fd streams. */
struct MHD_Response *reg_blob_response(struct reg_req *r, struct reg_blob_reader *br, uint64_t start,
                                       uint64_t len, bool sendfile_ok);
enum MHD_Result reg_handle_blob_get(struct reg_req *r);
enum MHD_Result reg_handle_blob_delete(struct reg_req *r);

/* handlers-upload.c */
/* Begin of POST .../blobs/uploads/ (mount, monolithic or a new session)
 * and of PATCH/PUT .../blobs/uploads/UUID (the body goes to a writer). */
enum MHD_Result reg_begin_uploads(struct reg_req *r);
enum MHD_Result reg_begin_upload(struct reg_req *r);
/* A piece of an upload's body. */
void reg_upload_body(struct reg_req *r, const char *data, size_t len);
enum MHD_Result reg_handle_uploads_post(struct reg_req *r);
enum MHD_Result reg_handle_upload(struct reg_req *r);

/* handlers-manifest.c */
enum MHD_Result reg_handle_manifest_get(struct reg_req *r);
enum MHD_Result reg_handle_manifest_put(struct reg_req *r);
enum MHD_Result reg_handle_manifest_delete(struct reg_req *r);
enum MHD_Result reg_handle_referrers(struct reg_req *r);

/* handlers-tags.c */
enum MHD_Result reg_handle_catalog(struct reg_req *r);
enum MHD_Result reg_handle_tags(struct reg_req *r);

#endif
