/* libFuzzer: an OCI layout whose index.json and one blob come from the
 * input, read by oci/layout (list, find, walk, validate) and oci/store
 * (resolve, list, dry-run GC).  A layout handed to `oci:DIR` is untrusted.
 *
 * Input: INDEX '\0' BLOB.  BLOB is stored under its own digest; in INDEX,
 * "@D" becomes that digest and "@S" its size, so the fuzzer can reference
 * the blob without guessing a hash.  The layout also holds the empty config
 * "{}" and a layer "layer" (sha256:dac1d7cfa95021764849fd102524e141488c5e3a90f861dbb5a12d9ac8584f85),
 * which the seeds reference. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "oci/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dir;
static struct oci_layout *layout;
static struct oci_store *store;

static void
cleanup(void)
{
        oci_layout_free(layout);
        oci_store_free(store);
        fs_rm_rf(dir, NULL);
        free(dir);
}

static void
init(void)
{
        /* tmpfs when there is one: every write here is fsync'd. */
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        struct err *e = NULL;

        dir = xasprintf("%s/fuzz-layout.XXXXXX", base);
        if (!mkdtemp(dir))
                abort();
        if (oci_store_open(dir, &store, &e) < 0 || oci_layout_open(dir, &layout, &e) < 0)
                abort();
        if (oci_layout_add_blob(layout, "{}", 2, NULL, NULL, &e) < 0 ||
            oci_layout_add_blob(layout, "layer", 5, NULL, NULL, &e) < 0)
                abort();
        atexit(cleanup);
}

static int
count(const struct oci_walk_item *it, void *userdata, struct err **err)
{
        (void) err;
        (*(size_t *) userdata)++;
        if (it->depth > 16 || !it->referrer || !it->desc)
                abort();
        return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *nul = memchr(data, 0, size);
        size_t ilen = nul ? (size_t) (nul - data) : size;
        const char *blob = nul ? (const char *) nul + 1 : "";
        size_t blen = nul ? size - ilen - 1 : 0;
        struct digest bd;
        char sizestr[32];
        char *index, *out;
        size_t o = 0, n = 0, nentries = 0;
        struct oci_layout_entry *entries = NULL;
        struct oci_descriptor d;
        struct oci_store_image *imgs = NULL;
        struct oci_store_gc_opts gco = {.grace_seconds = 0, .dry_run = true};
        struct oci_store_gc_result gcr;
        struct err *e = NULL;
        bool stored_blob;

        if (!layout)
                init();
        if (size > 1 << 20)
                return 0;
        digest_buffer(DIGEST_SHA256, blob, blen, &bd);
        snprintf(sizestr, sizeof(sizestr), "%zu", blen);
        index = malloc(ilen * (DIGEST_STR_MAX + 32) + 1);
        for (size_t i = 0; i < ilen; i++) {
                if (data[i] == '@' && i + 1 < ilen && (data[i + 1] == 'D' || data[i + 1] == 'S')) {
                        const char *rep = data[i + 1] == 'D' ? bd.str : sizestr;
                        memcpy(index + o, rep, strlen(rep));
                        o += strlen(rep);
                        i++;
                } else {
                        index[o++] = (char) data[i];
                }
        }
        stored_blob = !oci_layout_has_blob(layout, &bd);
        if (oci_layout_add_blob(layout, blob, blen, NULL, NULL, &e) < 0)
                abort();
        out = xasprintf("%s/index.json", dir);
        if (fs_write_atomic(out, index, o, 0644, &e) < 0)
                abort();

        if (oci_layout_list(layout, &entries, &nentries, &e) == 0)
                oci_layout_entries_free(entries, nentries);
        err_clear(&e);
        if (oci_layout_find(layout, "x", &d, &e) == 0)
                oci_descriptor_clear(&d);
        err_clear(&e);
        (void) oci_layout_walk(layout, 0, count, &n, &e);
        err_clear(&e);
        (void) oci_layout_walk(layout, OCI_WALK_SKIP_MISSING, count, &n, &e);
        err_clear(&e);
        (void) oci_layout_validate(layout, OCI_VALIDATE_REHASH, NULL, &e);
        err_clear(&e);
        if (oci_store_resolve(store, "x", &d, NULL, &e) == 0)
                oci_descriptor_clear(&d);
        err_clear(&e);
        if (oci_store_list(store, &imgs, &nentries, &e) == 0)
                oci_store_images_free(imgs, nentries);
        err_clear(&e);
        if (oci_store_gc(store, &gco, &gcr, &e) == 0)
                oci_store_gc_result_clear(&gcr);
        err_clear(&e);

        /* Keep the layout small between runs. */
        if (stored_blob && strcmp(bd.str, OCI_EMPTY_DIGEST) != 0) {
                char *p = oci_layout_blob_path(layout, &bd);
                unlink(p);
                free(p);
        }
        free(out);
        free(index);
        return 0;
}
