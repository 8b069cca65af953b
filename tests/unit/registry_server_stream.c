/* The HTTP download path over a driver whose blob readers lend no file
 * descriptor (as an object store's): bodies go through the read
 * callback, whole and with Range, sendfile never tried. */
#include "tests/unit/test.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "registry/server/server.h"
#include "registry/server/storage.h"

/* Over BLOB_SENDFILE_MIN (handlers-blob.c), so an fd would be sent with
 * sendfile. */
#define BLOB_LEN (3 * 1024 * 1024 + 17)

static char root[64];
static unsigned char *blob;
static struct digest blob_d;
static atomic_ullong bytes_read;
static int (*fs_blob_open)(struct reg_store *, const struct digest *, struct reg_blob_reader **, struct err **);
static struct reg_store_ops nofd_ops;

/* A reader passing read_at through to the filesystem one, without fd. */
struct nofd_reader {
        struct reg_blob_reader base;
        struct reg_blob_reader *inner;
};

static ssize_t
nofd_read_at(struct reg_blob_reader *br, uint64_t off, void *buf, size_t len, struct err **err)
{
        struct nofd_reader *nr = (struct nofd_reader *) br;
        ssize_t n = nr->inner->ops->read_at(nr->inner, off, buf, len, err);

        if (n > 0)
                atomic_fetch_add(&bytes_read, (unsigned long long) n);
        return n;
}

static void
nofd_close(struct reg_blob_reader *br)
{
        struct nofd_reader *nr = (struct nofd_reader *) br;

        reg_blob_reader_close(nr->inner);
        free(nr);
}

static const struct reg_blob_reader_ops nofd_reader_ops = {
        .read_at = nofd_read_at,
        .close = nofd_close,
};

static int
nofd_blob_open(struct reg_store *s, const struct digest *d, struct reg_blob_reader **ret, struct err **err)
{
        struct reg_blob_reader *inner;
        struct nofd_reader *nr;
        int r = fs_blob_open(s, d, &inner, err);

        if (r < 0)
                return r;
        nr = xcalloc(1, sizeof(*nr));
        nr->base.ops = &nofd_reader_ops;
        nr->base.size = inner->size;
        nr->inner = inner;
        *ret = &nr->base;
        return 0;
}

struct body {
        unsigned char *data;
        size_t len;
};

static size_t
on_data(char *p, size_t size, size_t n, void *ud)
{
        struct body *b = ud;

        b->data = xrealloc(b->data, b->len + size * n);
        memcpy(b->data + b->len, p, size * n);
        b->len += size * n;
        return size * n;
}

/* GET (or HEAD) URL with an optional Range: the status and the body. */
static long
get(const char *url, const char *range, bool head, struct body *b)
{
        CURL *c = curl_easy_init();
        long status = 0;

        assert_non_null(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
        if (range)
                curl_easy_setopt(c, CURLOPT_RANGE, range);
        if (head)
                curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        assert_int_equal(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        return status;
}

static void
download_without_fd(void **state)
{
        struct reg_store *s;
        struct reg_server *srv;
        struct err *e = NULL;
        FILE *devnull = fopen("/dev/null", "w");
        char url[256];
        struct body b = { 0 };

        (void) state;
        snprintf(root, sizeof(root), "/tmp/ireg-unit.XXXXXX");
        assert_non_null(mkdtemp(root));
        blob = xmalloc(BLOB_LEN);
        for (size_t i = 0; i < BLOB_LEN; i++)
                blob[i] = (unsigned char) (i * 31 + (i >> 11));
        digest_buffer(DIGEST_SHA256, blob, BLOB_LEN, &blob_d);

        s = reg_store_fs_new(root, &e);
        assert_non_null(s);
        assert_ok(s->ops->blob_put_buf(s, &blob_d, blob, BLOB_LEN, err));
        assert_ok(s->ops->layer_link(s, "r", &blob_d, err));
        /* The same store with readers that have no fd. */
        nofd_ops = *s->ops;
        fs_blob_open = s->ops->blob_open;
        nofd_ops.blob_open = nofd_blob_open;
        s->ops = &nofd_ops;

        srv = reg_server_start(&(struct reg_server_config){ .addr = "127.0.0.1:0", .store = s, .log = devnull,
                                                            .no_access_log = true },
                               &e);
        if (!srv)
                fail_msg("server: %s", err_msg(&e));
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/v2/r/blobs/%s", (unsigned) reg_server_port(srv), blob_d.str);

        assert_int_equal(get(url, NULL, false, &b), 200);
        assert_int_equal(b.len, BLOB_LEN);
        assert_memory_equal(b.data, blob, BLOB_LEN);
        assert_int_equal(atomic_load(&bytes_read), BLOB_LEN);
        free(b.data);
        b = (struct body){ 0 };

        /* A range across buffer boundaries, and one at the end. */
        assert_int_equal(get(url, "1000-2001999", false, &b), 206);
        assert_int_equal(b.len, 2001000);
        assert_memory_equal(b.data, blob + 1000, 2001000);
        free(b.data);
        b = (struct body){ 0 };
        assert_int_equal(get(url, "3145730-", false, &b), 206);
        assert_int_equal(b.len, BLOB_LEN - 3145730);
        assert_memory_equal(b.data, blob + 3145730, BLOB_LEN - 3145730);
        free(b.data);
        b = (struct body){ 0 };

        /* HEAD reads nothing. */
        atomic_store(&bytes_read, 0);
        assert_int_equal(get(url, NULL, true, &b), 200);
        assert_int_equal(b.len, 0);
        assert_int_equal(atomic_load(&bytes_read), 0);

        reg_server_stop(srv, 5);
        fclose(devnull);
        fs_rm_rf(root, NULL);
        free(blob);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(download_without_fd),
        };
        int r;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        r = cmocka_run_group_tests(tests, NULL, NULL);
        curl_global_cleanup();
        return r;
}
