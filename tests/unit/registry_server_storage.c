#include "tests/unit/test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "registry/server/gc.h"
#include "registry/server/manifest.h"
#include "registry/server/route.h"
#include "registry/server/storage.h"

static char root[64];

static int
setup(void **state)
{
        snprintf(root, sizeof(root), "/tmp/ireg-unit.XXXXXX");
        if (!mkdtemp(root))
                return -1;
        *state = reg_store_fs_new(root, NULL);
        return *state ? 0 : -1;
}

static int
teardown(void **state)
{
        reg_store_free(*state);
        fs_rm_rf(root, NULL);
        return 0;
}

static struct digest
dg(const char *data)
{
        struct digest d;

        digest_buffer(DIGEST_SHA256, data, strlen(data), &d);
        return d;
}

static void
blobs_and_links(void **state)
{
        struct reg_store *s = *state;
        struct digest d = dg("hello");
        struct err *e = NULL;
        char *data = NULL;
        size_t len;
        uint64_t size;

        assert_int_equal(s->ops->blob_stat(s, &d, &size, &e), -ENOENT);
        assert_int_equal(err_code(&e), ERR_BLOB_UNKNOWN);
        err_clear(&e);
        assert_int_equal(s->ops->blob_put_buf(s, &d, "hello", 5, &e), 0);
        assert_int_equal(s->ops->blob_stat(s, &d, &size, &e), 0);
        assert_int_equal(size, 5);
        assert_int_equal(s->ops->blob_read(s, &d, 100, &data, &len, &e), 0);
        assert_string_equal(data, "hello");
        free(data);
        assert_int_equal(s->ops->blob_read(s, &d, 4, &data, &len, &e), -ERR_SIZE_INVALID);
        err_clear(&e);

        assert_false(s->ops->layer_exists(s, "a/b", &d));
        assert_false(s->ops->repo_exists(s, "a/b"));
        assert_int_equal(s->ops->layer_link(s, "a/b", &d, &e), 0);
        assert_true(s->ops->layer_exists(s, "a/b", &d));
        assert_true(s->ops->repo_exists(s, "a/b"));
        assert_false(s->ops->repo_exists(s, "a"));
        /* layer_use: existence, and the link's mtime refreshed (gc grace). */
        {
                char *lp;
                struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
                struct stat st;
                lp = xasprintf("%s/repos/a/b/_layers/sha256/%s", root, d.str + 7);
                assert_int_equal(utimensat(AT_FDCWD, lp, old, 0), 0);
                assert_false(s->ops->layer_use(s, "a/c", &d));
                assert_true(s->ops->layer_use(s, "a/b", &d));
                assert_int_equal(stat(lp, &st), 0);
                assert_true(st.st_mtime > 1000);
                free(lp);
        }
        assert_int_equal(s->ops->layer_unlink(s, "a/b", &d, &e), 0);
        assert_int_equal(s->ops->layer_unlink(s, "a/b", &d, &e), -ENOENT);
        assert_int_equal(err_code(&e), ERR_BLOB_UNKNOWN);
        err_clear(&e);
        assert_int_equal(s->ops->blob_delete(s, &d, &e), 0);
        assert_int_equal(s->ops->blob_stat(s, &d, NULL, NULL), -ENOENT);
        assert_null(e);
}

struct names {
        char v[4][LIMIT_REF_NAME + 1];
        size_t n;
};

static int
collect_name(const char *item, uint64_t size, time_t mtime, void *ud)
{
        struct names *ns = ud;

        (void) size;
        (void) mtime;
        if (ns->n < 4)
                snprintf(ns->v[ns->n++], sizeof(ns->v[0]), "%s", item);
        return 0;
}

static void
blob_holders_index(void **state)
{
        struct reg_store *s = *state;
        struct digest d = dg("shared");
        struct names ns = { 0 };
        struct err *e = NULL;

        assert_int_equal(s->ops->blob_put_buf(s, &d, "shared", 6, &e), 0);
        assert_int_equal(s->ops->holder_walk(s, &d, collect_name, &ns, &e), 0);
        assert_int_equal(ns.n, 0);
        /* Linking indexes the repository (nested names included). */
        assert_int_equal(s->ops->layer_link(s, "team/app", &d, &e), 0);
        assert_int_equal(s->ops->layer_link(s, "solo", &d, &e), 0);
        assert_true(s->ops->holder_exists(s, "team/app", &d));
        assert_false(s->ops->holder_exists(s, "team", &d));
        assert_int_equal(s->ops->holder_walk(s, &d, collect_name, &ns, &e), 0);
        assert_int_equal(ns.n, 2);
        assert_true((strcmp(ns.v[0], "team/app") == 0 && strcmp(ns.v[1], "solo") == 0) ||
                    (strcmp(ns.v[1], "team/app") == 0 && strcmp(ns.v[0], "solo") == 0));
        /* Unlinking drops the entry. */
        assert_int_equal(s->ops->layer_unlink(s, "solo", &d, &e), 0);
        assert_false(s->ops->holder_exists(s, "solo", &d));
        /* add is idempotent and says whether it created the entry. */
        assert_int_equal(s->ops->holder_add(s, "x/y", &d, &e), 1);
        assert_int_equal(s->ops->holder_add(s, "x/y", &d, &e), 0);
        assert_int_equal(s->ops->holder_remove(s, "x/y", &d, &e), 0);
        assert_int_equal(s->ops->holder_remove(s, "x/y", &d, &e), 0);
        assert_false(s->ops->holder_exists(s, "x/y", &d));
        /* Deleting the blob drops what is left of its index. */
        assert_int_equal(s->ops->blob_delete(s, &d, &e), 0);
        assert_false(s->ops->holder_exists(s, "team/app", &d));
        assert_null(e);
}

static void
tags_and_reverse_index(void **state)
{
        struct reg_store *s = *state;
        struct digest m1 = dg("m1"), m2 = dg("m2"), got;
        struct reg_strv sv = { 0 };
        struct err *e = NULL;
        char mt[64];

        assert_int_equal(s->ops->tag_list(s, "app", &sv, &e), -ENOENT);
        assert_int_equal(err_code(&e), ERR_NAME_UNKNOWN);
        err_clear(&e);
        assert_int_equal(s->ops->manifest_put(s, "app", &m1, "type/one", &e), 0);
        assert_int_equal(s->ops->manifest_put(s, "app", &m2, "type/two", &e), 0);
        assert_int_equal(s->ops->manifest_get(s, "app", &m2, mt, sizeof(mt), &e), 0);
        assert_string_equal(mt, "type/two");
        assert_int_equal(s->ops->tag_put(s, "app", "b", &m1, &e), 0);
        assert_int_equal(s->ops->tag_put(s, "app", "a", &m1, &e), 0);
        assert_int_equal(s->ops->tag_put(s, "app", "c", &m2, &e), 0);
        assert_int_equal(s->ops->tag_list(s, "app", &sv, &e), 0);
        assert_int_equal(sv.n, 3);
        assert_string_equal(sv.v[0], "a");
        assert_string_equal(sv.v[2], "c");
        reg_strv_free(&sv);
        assert_int_equal(s->ops->tags_of(s, "app", &m1, &sv, &e), 0);
        assert_int_equal(sv.n, 2);
        reg_strv_free(&sv);
        /* Moving a tag updates the reverse index of both manifests. */
        assert_int_equal(s->ops->tag_put(s, "app", "a", &m2, &e), 0);
        assert_int_equal(s->ops->tag_get(s, "app", "a", &got, &e), 0);
        assert_string_equal(got.str, m2.str);
        assert_int_equal(s->ops->tags_of(s, "app", &m1, &sv, &e), 0);
        assert_int_equal(sv.n, 1);
        assert_string_equal(sv.v[0], "b");
        reg_strv_free(&sv);
        /* Deleting a manifest removes its tags; others stay. */
        assert_int_equal(s->ops->manifest_delete(s, "app", &m2, &e), 0);
        assert_int_equal(s->ops->tag_get(s, "app", "a", &got, &e), -ENOENT);
        assert_int_equal(err_code(&e), ERR_MANIFEST_UNKNOWN);
        err_clear(&e);
        assert_int_equal(s->ops->tag_get(s, "app", "b", &got, &e), 0);
        assert_int_equal(s->ops->manifest_get(s, "app", &m2, mt, sizeof(mt), &e), -ENOENT);
        err_clear(&e);
        assert_int_equal(s->ops->manifest_delete(s, "app", &m2, &e), -ENOENT);
        err_clear(&e);
        assert_int_equal(s->ops->tag_delete(s, "app", "b", &e), 0);
        assert_int_equal(s->ops->tag_delete(s, "app", "b", &e), -ENOENT);
        err_clear(&e);
        assert_int_equal(s->ops->tag_list(s, "app", &sv, &e), 0);
        assert_int_equal(sv.n, 0);
        reg_strv_free(&sv);
}

/* Append DATA to session UUID of NAME with one writer at OFFSET. */
static void
append(struct reg_store *s, const char *name, const char *uuid, uint64_t offset, const char *data)
{
        struct reg_upload_writer *w = NULL;

        assert_ok(s->ops->upload_writer(s, name, uuid, offset, &w, err));
        assert_ok(w->ops->write(w, data, strlen(data), err));
        assert_int_equal(w->size, w->start + strlen(data));
        assert_ok(reg_upload_writer_close(w, err));
}

static void
uploads_and_repos(void **state)
{
        struct reg_store *s = *state;
        struct digest d = dg("chunk");
        struct reg_strv sv = { 0 };
        struct err *e = NULL;
        char uuid[REG_UUID_LEN + 1];
        uint64_t size;

        assert_int_equal(s->ops->upload_create(s, "x/y", uuid, &e), 0);
        assert_true(reg_uuid_ok(uuid));
        assert_int_equal(s->ops->upload_status(s, "x/y", uuid, &size, &e), 0);
        assert_int_equal(size, 0);
        append(s, "x/y", uuid, 0, "ch");
        append(s, "x/y", uuid, 2, "unk");
        assert_int_equal(s->ops->upload_status(s, "x/y", uuid, &size, &e), 0);
        assert_int_equal(size, 5);
        assert_int_equal(s->ops->upload_commit(s, "x/y", uuid, &d, &e), 0);
        assert_true(s->ops->layer_exists(s, "x/y", &d));
        assert_int_equal(s->ops->blob_stat(s, &d, &size, &e), 0);
        assert_int_equal(size, 5);
        assert_fails(s->ops->upload_status(s, "x/y", uuid, &size, err), ERR_BLOB_UPLOAD_UNKNOWN, uuid, NULL);
        assert_int_equal(s->ops->upload_delete(s, "x/y", uuid, &e), -ENOENT);
        err_clear(&e);
        /* A second commit of the same digest from another session. */
        assert_int_equal(s->ops->upload_create(s, "z", uuid, &e), 0);
        append(s, "z", uuid, REG_UPLOAD_APPEND, "chunk");
        assert_int_equal(s->ops->upload_commit(s, "z", uuid, &d, &e), 0);
        assert_true(s->ops->layer_exists(s, "z", &d));

        assert_int_equal(s->ops->layer_link(s, "x", &d, &e), 0);
        assert_int_equal(s->ops->repo_list(s, &sv, &e), 0);
        assert_int_equal(sv.n, 3);
        assert_string_equal(sv.v[0], "x");
        assert_string_equal(sv.v[1], "x/y");
        assert_string_equal(sv.v[2], "z");
        reg_strv_free(&sv);
        assert_null(e);
}

struct collected {
        char buf[64];
        size_t len;
};

static int
collect_bytes(const void *data, size_t len, void *ud)
{
        struct collected *c = ud;

        assert_true(c->len + len < sizeof(c->buf));
        memcpy(c->buf + c->len, data, len);
        c->len += len;
        return 0;
}

static void
blob_reader_reads_at_offsets(void **state)
{
        struct reg_store *s = *state;
        struct digest d = dg("0123456789"), missing = dg("missing");
        struct reg_blob_reader *br = NULL;
        struct collected c = { 0 };
        char buf[16];

        assert_ok(s->ops->blob_put_buf(s, &d, "0123456789", 10, err));
        assert_fails(s->ops->blob_open(s, &missing, &br, err), ERR_BLOB_UNKNOWN, missing.str, NULL);
        assert_ok(s->ops->blob_open(s, &d, &br, err));
        assert_int_equal(br->size, 10);
        assert_int_equal(br->ops->read_at(br, 3, buf, 4, NULL), 4);
        assert_memory_equal(buf, "3456", 4);
        /* Short at the end, nothing past it. */
        assert_int_equal(reg_blob_reader_read_at(br, 8, buf, sizeof(buf), NULL), 2);
        assert_memory_equal(buf, "89", 2);
        assert_int_equal(reg_blob_reader_read_at(br, 10, buf, sizeof(buf), NULL), 0);
        assert_int_equal(reg_blob_reader_read_at(br, 1000, buf, sizeof(buf), NULL), 0);
        assert_ok(reg_blob_reader_stream(br, 2, 5, collect_bytes, &c, err));
        assert_int_equal(c.len, 5);
        assert_memory_equal(c.buf, "23456", 5);
        assert_fails(reg_blob_reader_stream(br, 8, 5, collect_bytes, &c, err), EIO, "ends at 10 bytes", NULL);
        /* The filesystem driver lends its fd (the sendfile path). */
        assert_true(reg_blob_reader_fd(br) >= 0);
        assert_int_equal(pread(reg_blob_reader_fd(br), buf, 3, 7), 3);
        assert_memory_equal(buf, "789", 3);
        reg_blob_reader_close(br);
        reg_blob_reader_close(NULL);
}

/* A driver's own stream op is used when it has one. */
static int
fake_stream(struct reg_blob_reader *br, uint64_t off, uint64_t len,
            int (*cb)(const void *data, size_t len, void *userdata), void *userdata, struct err **err)
{
        assert_int_equal(off, 2);
        assert_int_equal(len, 3);
        return cb("via", 3, userdata);
}

static ssize_t
fake_read_at(struct reg_blob_reader *br, uint64_t off, void *buf, size_t len, struct err **err)
{
        fail_msg("read_at called although the reader streams");
        return -1;
}

static void
blob_reader_driver_stream(void **state)
{
        static const struct reg_blob_reader_ops ops = { .read_at = fake_read_at, .stream = fake_stream };
        struct reg_blob_reader br = { .ops = &ops, .size = 10 };
        struct collected c = { 0 };

        (void) state;
        assert_ok(reg_blob_reader_stream(&br, 2, 3, collect_bytes, &c, err));
        assert_int_equal(c.len, 3);
        assert_memory_equal(c.buf, "via", 3);
        assert_int_equal(reg_blob_reader_fd(&br), -1);
}

static void
upload_writer_at_wrong_offset_refused(void **state)
{
        struct reg_store *s = *state;
        struct reg_upload_writer *w = NULL;
        char uuid[REG_UUID_LEN + 1];

        assert_ok(s->ops->upload_create(s, "r", uuid, err));
        assert_fails(s->ops->upload_writer(s, "r", uuid, 1, &w, err), ERR_RANGE_INVALID, "holds 0 bytes",
                     "at 1");
        append(s, "r", uuid, 0, "abc");
        assert_fails(s->ops->upload_writer(s, "r", uuid, 0, &w, err), ERR_RANGE_INVALID, "holds 3 bytes",
                     "at 0");
        assert_fails(s->ops->upload_writer(s, "r", uuid, 4, &w, err), ERR_RANGE_INVALID, "holds 3 bytes", NULL);
        assert_null(w);
        assert_ok(s->ops->upload_writer(s, "r", uuid, REG_UPLOAD_APPEND, &w, err));
        assert_int_equal(w->start, 3);
        reg_upload_writer_discard(w);
        assert_fails(s->ops->upload_writer(s, "r", "0123456789abcdef0123456789abcdef", 0, &w, err),
                     ERR_BLOB_UPLOAD_UNKNOWN, "not found", NULL);
        assert_fails(s->ops->upload_writer(s, "other", uuid, 0, &w, err), ERR_BLOB_UPLOAD_UNKNOWN, "not found",
                     NULL);
}

static void
upload_commit_wrong_digest_refused(void **state)
{
        struct reg_store *s = *state;
        struct digest good = dg("abc"), bad = dg("abd"), d512;
        char uuid[REG_UUID_LEN + 1];
        uint64_t size;

        assert_ok(s->ops->upload_create(s, "r", uuid, err));
        append(s, "r", uuid, 0, "abc");
        assert_fails(s->ops->upload_commit(s, "r", uuid, &bad, err), ERR_DIGEST_INVALID, good.str, bad.str);
        /* Nothing installed, nothing linked, the session as it was. */
        assert_int_equal(s->ops->blob_stat(s, &bad, NULL, NULL), -ENOENT);
        assert_int_equal(s->ops->blob_stat(s, &good, NULL, NULL), -ENOENT);
        assert_false(s->ops->layer_exists(s, "r", &bad));
        assert_ok(s->ops->upload_status(s, "r", uuid, &size, err));
        assert_int_equal(size, 3);
        assert_ok(s->ops->upload_commit(s, "r", uuid, &good, err));
        assert_true(s->ops->layer_exists(s, "r", &good));

        /* sha512 has no saved state: the bytes are read back. */
        digest_buffer(DIGEST_SHA512, "xyz", 3, &d512);
        assert_ok(s->ops->upload_create(s, "r", uuid, err));
        append(s, "r", uuid, 0, "xyz");
        assert_fails(s->ops->upload_commit(s, "r", uuid, &bad, err), ERR_DIGEST_INVALID, bad.str, NULL);
        assert_ok(s->ops->upload_commit(s, "r", uuid, &d512, err));
        assert_true(s->ops->layer_exists(s, "r", &d512));
}

/* Overwrite the first bytes of session UUID's data in place with TEXT. */
static void
poke_data(const char *name, const char *uuid, const char *text, off_t truncate_to)
{
        _cleanup_free_ char *p = xasprintf("%s/repos/%s/_uploads/%s/data", root, name, uuid);
        _cleanup_close_ int fd = open(p, O_RDWR | O_CLOEXEC);

        assert_true(fd >= 0);
        if (text)
                assert_int_equal(pwrite(fd, text, strlen(text), 0), (ssize_t) strlen(text));
        if (truncate_to >= 0)
                assert_int_equal(ftruncate(fd, truncate_to), 0);
}

static char *
state_file(const char *name, const char *uuid)
{
        return xasprintf("%s/repos/%s/_uploads/%s/hashstate", root, name, uuid);
}

static void
upload_hash_state_resumed_by_another_store(void **state)
{
        struct reg_store *a = *state, *b;
        struct digest want = dg("hello world"), bytes_now = dg("HELLO world");
        char uuid[REG_UUID_LEN + 1];
        _cleanup_free_ char *sp = NULL, *text = NULL;

        assert_ok(a->ops->upload_create(a, "r", uuid, err));
        append(a, "r", uuid, 0, "hello ");
        sp = state_file("r", uuid);
        assert_ok(fs_read_file(sp, 4096, &text, NULL, err));
        assert_true(strncmp(text, "boot ", 5) == 0);
        assert_non_null(strstr(text, "\nsha256-state:1:6:"));
        /* Another handle on the root (another process, another replica of
         * a shared store) continues and finishes it.  The bytes on disk are
         * changed behind the driver's back first: were they read again,
         * the digest would be of what is there now, not of what was
         * hashed as it came. */
        b = reg_store_fs_new(root, NULL);
        assert_non_null(b);
        poke_data("r", uuid, "HELLO ", -1);
        append(b, "r", uuid, 6, "world");
        assert_fails(b->ops->upload_commit(b, "r", uuid, &bytes_now, err), ERR_DIGEST_INVALID, want.str, NULL);
        assert_ok(b->ops->upload_commit(b, "r", uuid, &want, err));
        assert_true(a->ops->layer_exists(a, "r", &want));
        reg_store_free(b);
}

static void
upload_hash_state_not_trusted_blindly(void **state)
{
        struct reg_store *s = *state;
        char uuid[REG_UUID_LEN + 1];
        _cleanup_free_ char *sp = NULL, *text = NULL;
        char *nl;
        struct digest d;

        /* A state from another boot: the data may have lost what the
         * state counted (a power loss), so the bytes are hashed again. */
        assert_ok(s->ops->upload_create(s, "r", uuid, err));
        append(s, "r", uuid, 0, "hello ");
        sp = state_file("r", uuid);
        assert_ok(fs_read_file(sp, 4096, &text, NULL, err));
        nl = strchr(text, '\n');
        assert_non_null(nl);
        {
                _cleanup_free_ char *other = xasprintf("boot 00000000-0000-0000-0000-000000000000%s", nl);
                assert_ok(fs_write_atomic(sp, other, strlen(other), 0644, err));
        }
        poke_data("r", uuid, "HELLO ", -1);
        d = dg("HELLO ");
        assert_ok(s->ops->upload_commit(s, "r", uuid, &d, err));

        /* A state that does not parse: the same. */
        assert_ok(s->ops->upload_create(s, "r", uuid, err));
        append(s, "r", uuid, 0, "hello ");
        free(sp);
        sp = state_file("r", uuid);
        {
                _cleanup_free_ char *bad = NULL;
                *strchr(text, '\n') = '\0';
                bad = xasprintf("%s\nsha256-state:1:6:zz\n", text);
                assert_ok(fs_write_atomic(sp, bad, strlen(bad), 0644, err));
        }
        poke_data("r", uuid, "HELL0 ", -1);
        d = dg("HELL0 ");
        assert_ok(s->ops->upload_commit(s, "r", uuid, &d, err));

        /* Behind the data (a crash between a write and the state's): the
         * state is caught up with the bytes past it. */
        assert_ok(s->ops->upload_create(s, "r", uuid, err));
        append(s, "r", uuid, 0, "hello ");
        {
                _cleanup_free_ char *p = xasprintf("%s/repos/r/_uploads/%s/data", root, uuid);
                _cleanup_close_ int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
                assert_true(fd >= 0);
                assert_int_equal(write(fd, "wor", 3), 3);
        }
        append(s, "r", uuid, 9, "ld");
        d = dg("hello world");
        assert_ok(s->ops->upload_commit(s, "r", uuid, &d, err));

        /* Past the data (the data lost its tail): hashed again. */
        assert_ok(s->ops->upload_create(s, "r", uuid, err));
        append(s, "r", uuid, 0, "hello there");
        poke_data("r", uuid, NULL, 5);
        d = dg("hello");
        assert_ok(s->ops->upload_commit(s, "r", uuid, &d, err));
}

static void
referrers(void **state)
{
        struct reg_store *s = *state;
        struct digest subj = dg("subject"), r1 = dg("r1"), r2 = dg("r2");
        struct reg_strv sv = { 0 };
        struct err *e = NULL;

        assert_int_equal(s->ops->referrer_list(s, "app", &subj, &sv, &e), 0);
        assert_int_equal(sv.n, 0);
        assert_int_equal(s->ops->referrer_add(s, "app", &subj, &r1, "{\"a\":1}", &e), 0);
        assert_int_equal(s->ops->referrer_add(s, "app", &subj, &r2, "{\"a\":2}", &e), 0);
        assert_int_equal(s->ops->referrer_list(s, "app", &subj, &sv, &e), 0);
        assert_int_equal(sv.n, 2);
        reg_strv_free(&sv);
        assert_int_equal(s->ops->referrer_remove(s, "app", &subj, &r1, &e), 0);
        assert_int_equal(s->ops->referrer_list(s, "app", &subj, &sv, &e), 0);
        assert_int_equal(sv.n, 1);
        assert_string_equal(sv.v[0], "{\"a\":2}");
        reg_strv_free(&sv);
        assert_null(e);
}

#define CFG "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":2}"
#define DESC(mt) "{\"mediaType\":\"" mt "\",\"digest\":\"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\",\"size\":3}"

static void
expect_invalid(const char *body, const char *ct, const char *needle)
{
        struct reg_manifest m;
        struct err *e = NULL;

        assert_true(reg_manifest_parse(body, strlen(body), ct, &m, &e) < 0);
        assert_int_equal(err_code(&e), ERR_MANIFEST_INVALID);
        if (!strstr(e->msg, needle))
                fail_msg("'%s' not in '%s'", needle, e->msg);
        err_clear(&e);
}

static void
manifests(void **state)
{
        struct reg_manifest m;
        struct err *e = NULL;
        const char *img = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," CFG
                          ",\"layers\":[" DESC("application/vnd.oci.image.layer.v1.tar+gzip") ","
                          "{\"mediaType\":\"application/vnd.oci.image.layer.nondistributable.v1.tar\","
                          "\"digest\":\"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\",\"size\":1}],"
                          "\"subject\":" DESC("application/vnd.oci.image.manifest.v1+json") ","
                          "\"annotations\":{\"k\":\"v\"}}";
        const char *idx = "{\"schemaVersion\":2,\"manifests\":[" DESC("application/vnd.oci.image.manifest.v1+json") "]}";
        char *desc;
        struct digest d = dg("x");

        assert_int_equal(reg_manifest_parse(img, strlen(img), "application/vnd.oci.image.manifest.v1+json", &m, &e), 0);
        assert_false(m.is_index);
        assert_int_equal(m.n_blobs, 2); /* config + one distributable layer */
        assert_true(m.has_subject);
        assert_string_equal(m.artifact_type, "application/vnd.oci.image.config.v1+json");
        desc = reg_manifest_descriptor(&m, &d, 42);
        assert_non_null(strstr(desc, "\"size\":42"));
        assert_non_null(strstr(desc, "\"annotations\":{\"k\":\"v\"}"));
        free(desc);
        reg_manifest_clear(&m);

        /* No mediaType anywhere: guessed from the shape. */
        assert_int_equal(reg_manifest_parse(idx, strlen(idx), NULL, &m, &e), 0);
        assert_true(m.is_index);
        assert_int_equal(m.n_children, 1);
        assert_string_equal(m.media_type, "application/vnd.oci.image.index.v1+json");
        reg_manifest_clear(&m);
        assert_int_equal(reg_manifest_parse(idx, strlen(idx),
                                            "application/vnd.docker.distribution.manifest.list.v2+json", &m, &e), 0);
        assert_string_equal(m.media_type, "application/vnd.docker.distribution.manifest.list.v2+json");
        reg_manifest_clear(&m);

        expect_invalid("{", NULL, "line 1");
        expect_invalid("[]", NULL, "JSON object");
        expect_invalid("{\"schemaVersion\":1}", NULL, "schema 1");
        expect_invalid(img, "application/vnd.oci.image.index.v1+json", "does not match");
        expect_invalid("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}", NULL,
                       "config: missing");
        expect_invalid("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," CFG
                       ",\"layers\":[{\"mediaType\":\"x\",\"digest\":\"sha256:1\",\"size\":1}]}",
                       NULL, "layers[0]");
        expect_invalid("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," CFG
                       ",\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\",\"size\":-1}]}",
                       NULL, "size");
        expect_invalid("{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}", NULL, "unknown manifest type");
        expect_invalid("{\"schemaVersion\":2,\"manifests\":{}}", "application/vnd.oci.image.index.v1+json",
                       "manifests");
}

static void
durations(void **state)
{
        time_t t;

        assert_int_equal(reg_parse_duration("90", &t, NULL), 0);
        assert_int_equal(t, 90);
        assert_int_equal(reg_parse_duration("15m", &t, NULL), 0);
        assert_int_equal(t, 900);
        assert_int_equal(reg_parse_duration("24h", &t, NULL), 0);
        assert_int_equal(t, 86400);
        assert_int_equal(reg_parse_duration("7d", &t, NULL), 0);
        assert_int_equal(t, 7 * 86400);
        assert_true(reg_parse_duration("", &t, NULL) < 0);
        assert_true(reg_parse_duration("h", &t, NULL) < 0);
        assert_true(reg_parse_duration("-1s", &t, NULL) < 0);
        assert_true(reg_parse_duration("99999999999999d", &t, NULL) < 0);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(blobs_and_links, setup, teardown),
                cmocka_unit_test_setup_teardown(blob_holders_index, setup, teardown),
                cmocka_unit_test_setup_teardown(tags_and_reverse_index, setup, teardown),
                cmocka_unit_test_setup_teardown(uploads_and_repos, setup, teardown),
                cmocka_unit_test_setup_teardown(blob_reader_reads_at_offsets, setup, teardown),
                cmocka_unit_test(blob_reader_driver_stream),
                cmocka_unit_test_setup_teardown(upload_writer_at_wrong_offset_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(upload_commit_wrong_digest_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(upload_hash_state_resumed_by_another_store, setup, teardown),
                cmocka_unit_test_setup_teardown(upload_hash_state_not_trusted_blindly, setup, teardown),
                cmocka_unit_test_setup_teardown(referrers, setup, teardown),
                cmocka_unit_test(manifests),
                cmocka_unit_test(durations),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
