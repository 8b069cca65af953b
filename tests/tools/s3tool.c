/* Test tool: drive registry/s3 from bats tests against a real store.
 *
 * Configuration from the environment: S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY,
 * S3_SECRET_KEY (else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), S3_REGION,
 * S3_PREFIX.
 *
 *   s3tool check                       HEAD the bucket
 *   s3tool put FILE KEY                PutObject from FILE
 *   s3tool get KEY [CAP]               GetObject to stdout (CAP bytes at most)
 *   s3tool range KEY OFFSET LENGTH|-   a range to stdout ("-": to the end)
 *   s3tool head KEY                    "SIZE ETAG MTIME"
 *   s3tool delete KEY
 *   s3tool copy SRC DST
 *   s3tool list [-p PREFIX] [-d DELIM] [-a START_AFTER] [-t TOKEN] [-n MAX]
 *                                      one page: "key K SIZE", "prefix P",
 *                                      then "next TOKEN" when truncated
 *   s3tool listall [-p PREFIX] [-n MAX] every page, following the token:
 *                                      "key K", then "pages N"
 *   s3tool mpu FILE KEY PART_SIZE      a whole multipart upload of FILE;
 *                                      prints "parts N"
 *   s3tool mpu-start KEY               prints the upload id
 *   s3tool mpu-part KEY ID N FILE      upload FILE as part N, prints its ETag
 *   s3tool mpu-copy KEY ID N SRC OFF LEN  part N copied from SRC's range
 *   s3tool mpu-parts KEY ID            "N ETAG SIZE" per part
 *   s3tool mpu-complete KEY ID N:ETAG...  prints "etag '...'"
 *   s3tool mpu-abort KEY ID
 *   s3tool presign KEY EXPIRES         prints a presigned GET URL
 *   s3tool parallel THREADS FILE PREFIX  THREADS threads on one client, each
 *                                      putting FILE under PREFIX/N and reading
 *                                      it back (3 rounds); prints "ok N"
 *
 * Exit status: 0 ok, 3 ENOENT, 4 EACCES, 5 ENXIO (no bucket), 6 ERANGE,
 * 7 EFBIG, 1 any other failure (message on stderr), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "registry/s3/s3.h"

static int
die(struct err **e)
{
        int code = err_code(e);

        fprintf(stderr, "s3tool: %s\n", err_msg(e));
        switch (code) {
        case ENOENT:
                return 3;
        case EACCES:
                return 4;
        case ENXIO:
                return 5;
        case ERANGE:
                return 6;
        case EFBIG:
                return 7;
        default:
                return 1;
        }
}

static int
usage(void)
{
        fprintf(stderr, "usage: s3tool check|put|get|range|head|delete|copy|list|listall|mpu|mpu-*|presign ...\n");
        return 2;
}

static int
open_file(const char *path, uint64_t *ret_size, struct err **e)
{
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return err_set(e, errno, "open %s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0) {
                close(fd);
                return err_set(e, errno, "stat %s", path);
        }
        *ret_size = (uint64_t) st.st_size;
        return fd;
}

static int
cmd_list(struct s3_client *c, int argc, char **argv, bool all, struct err **e)
{
        struct s3_list_opts o = {0};
        _cleanup_free_ char *token = NULL;
        unsigned pages = 0;
        int opt;

        optind = 1;
        while ((opt = getopt(argc, argv, "p:d:a:t:n:")) != -1) {
                switch (opt) {
                case 'p':
                        o.prefix = optarg;
                        break;
                case 'd':
                        o.delimiter = optarg;
                        break;
                case 'a':
                        o.start_after = optarg;
                        break;
                case 't':
                        o.token = optarg;
                        break;
                case 'n':
                        o.max_keys = (unsigned) atoi(optarg);
                        break;
                default:
                        return usage();
                }
        }
        do {
                _cleanup_(s3_list_page_freep) struct s3_list_page *p = NULL;

                if (s3_list(c, &o, &p, e) < 0)
                        return die(e);
                pages++;
                for (size_t i = 0; i < p->n_keys; i++) {
                        if (all)
                                printf("key %s\n", p->keys[i].key);
                        else
                                printf("key %s %llu\n", p->keys[i].key, (unsigned long long) p->keys[i].size);
                }
                for (size_t i = 0; i < p->n_prefixes; i++)
                        printf("prefix %s\n", p->prefixes[i]);
                if (!all) {
                        if (p->truncated)
                                printf("next %s\n", p->next_token);
                        return 0;
                }
                free(token);
                token = p->next_token ? xstrdup(p->next_token) : NULL;
                o.token = token;
        } while (token && pages < 100000);
        printf("pages %u\n", pages);
        return 0;
}

static int
cmd_mpu(struct s3_client *c, const char *file, const char *key, uint64_t part_size, struct err **e)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *id = NULL, *etag = NULL;
        _cleanup_free_ struct s3_part *parts = NULL;
        uint64_t size, off = 0;
        size_t n = 0;

        fd = open_file(file, &size, e);
        if (fd < 0 || part_size == 0)
                return die(e);
        if (s3_mpu_create(c, key, &id, e) < 0)
                return die(e);
        parts = xcalloc(size / part_size + 2, sizeof(*parts));
        do {
                uint64_t len = size - off < part_size ? size - off : part_size;
                if (s3_mpu_put_part_fd(c, key, id, (unsigned) n + 1, fd, (off_t) off, len, &parts[n], e) < 0) {
                        struct err *e2 = NULL;
                        s3_mpu_abort(c, key, id, &e2);
                        err_clear(&e2);
                        return die(e);
                }
                n++;
                off += len;
        } while (off < size);
        if (s3_mpu_complete(c, key, id, parts, n, &etag, e) < 0)
                return die(e);
        printf("parts %zu\n", n);
        return 0;
}

struct worker {
        struct s3_client *c;
        const char *data, *prefix;
        size_t len;
        unsigned id;
        int r;
        struct err *e;
};

static void *
worker_run(void *u)
{
        struct worker *w = u;
        _cleanup_free_ char *key = xasprintf("%s/%u", w->prefix, w->id);

        for (int round = 0; round < 3 && w->r == 0; round++) {
                _cleanup_free_ char *got = NULL;
                size_t n;

                w->r = s3_put(w->c, key, w->data, w->len, NULL, &w->e);
                if (w->r == 0)
                        w->r = s3_get(w->c, key, w->len, &got, &n, &w->e);
                if (w->r == 0 && (n != w->len || memcmp(got, w->data, n) != 0))
                        w->r = err_set(&w->e, EIO, "thread %u: '%s' read back differs", w->id, key);
        }
        return NULL;
}

static int
cmd_parallel(struct s3_client *c, unsigned n, const char *file, const char *prefix, struct err **e)
{
        _cleanup_free_ struct worker *w = NULL;
        _cleanup_free_ pthread_t *t = NULL;
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int fd = -1;
        uint64_t size;
        int rc = 0;

        fd = open_file(file, &size, e);
        if (fd < 0 || n == 0 || n > 64)
                return die(e);
        data = xmalloc(size + 1);
        if (pread(fd, data, size, 0) != (ssize_t) size) {
                err_set(e, EIO, "read %s: short read", file);
                return die(e);
        }
        w = xcalloc(n, sizeof(*w));
        t = xcalloc(n, sizeof(*t));
        for (unsigned i = 0; i < n; i++) {
                w[i] = (struct worker){.c = c, .data = data, .len = size, .prefix = prefix, .id = i};
                if (pthread_create(&t[i], NULL, worker_run, &w[i]) != 0)
                        abort();
        }
        for (unsigned i = 0; i < n; i++) {
                pthread_join(t[i], NULL);
                if (w[i].r < 0 && rc == 0)
                        rc = die(&w[i].e);
                err_clear(&w[i].e);
        }
        if (rc == 0)
                printf("ok %u\n", n);
        return rc;
}

static int
run(struct s3_client *c, int argc, char **argv, struct err **e)
{
        const char *cmd = argv[1];

        if (strcmp(cmd, "check") == 0) {
                if (s3_check_bucket(c, e) < 0)
                        return die(e);
                printf("ok %s\n", s3_client_describe(c));
        } else if (strcmp(cmd, "put") == 0 && argc == 4) {
                _cleanup_close_ int fd = -1;
                struct s3_object_info info;
                uint64_t size;

                fd = open_file(argv[2], &size, e);
                if (fd < 0 || s3_put_fd(c, argv[3], fd, 0, size, &info, e) < 0)
                        return die(e);
                printf("%llu %s\n", (unsigned long long) info.size, info.etag);
        } else if (strcmp(cmd, "get") == 0 && (argc == 3 || argc == 4)) {
                _cleanup_free_ char *buf = NULL;
                size_t len;

                if (s3_get(c, argv[2], argc == 4 ? strtoull(argv[3], NULL, 10) : 64 << 20, &buf, &len, e) < 0)
                        return die(e);
                fwrite(buf, 1, len, stdout);
        } else if (strcmp(cmd, "range") == 0 && argc == 5) {
                uint64_t len = strcmp(argv[4], "-") == 0 ? S3_TO_END : strtoull(argv[4], NULL, 10);
                struct s3_object_info info;

                fflush(stdout);
                if (s3_get_range_fd(c, argv[2], strtoull(argv[3], NULL, 10), len, 1, &info, e) < 0)
                        return die(e);
                fprintf(stderr, "size %llu\n", (unsigned long long) info.size);
        } else if (strcmp(cmd, "head") == 0 && argc == 3) {
                struct s3_object_info info;

                if (s3_head(c, argv[2], &info, e) < 0)
                        return die(e);
                printf("%llu %s %lld\n", (unsigned long long) info.size, info.etag, (long long) info.mtime);
        } else if (strcmp(cmd, "delete") == 0 && argc == 3) {
                if (s3_delete(c, argv[2], e) < 0)
                        return die(e);
        } else if (strcmp(cmd, "copy") == 0 && argc == 4) {
                struct s3_object_info info;

                if (s3_copy(c, argv[2], argv[3], &info, e) < 0)
                        return die(e);
                printf("%s\n", info.etag);
        } else if (strcmp(cmd, "list") == 0 || strcmp(cmd, "listall") == 0) {
                return cmd_list(c, argc - 1, argv + 1, strcmp(cmd, "listall") == 0, e);
        } else if (strcmp(cmd, "mpu") == 0 && argc == 5) {
                return cmd_mpu(c, argv[2], argv[3], strtoull(argv[4], NULL, 10), e);
        } else if (strcmp(cmd, "mpu-start") == 0 && argc == 3) {
                _cleanup_free_ char *id = NULL;

                if (s3_mpu_create(c, argv[2], &id, e) < 0)
                        return die(e);
                printf("%s\n", id);
        } else if (strcmp(cmd, "mpu-part") == 0 && argc == 6) {
                _cleanup_close_ int fd = -1;
                struct s3_part p;
                uint64_t size;

                fd = open_file(argv[5], &size, e);
                if (fd < 0 || s3_mpu_put_part_fd(c, argv[2], argv[3], (unsigned) atoi(argv[4]), fd, 0, size, &p, e) < 0)
                        return die(e);
                printf("%s\n", p.etag);
        } else if (strcmp(cmd, "mpu-copy") == 0 && argc == 8) {
                struct s3_part p;

                if (s3_mpu_copy_part(c, argv[2], argv[3], (unsigned) atoi(argv[4]), argv[5],
                                     strtoull(argv[6], NULL, 10), strtoull(argv[7], NULL, 10), &p, e) < 0)
                        return die(e);
                printf("%s\n", p.etag);
        } else if (strcmp(cmd, "mpu-parts") == 0 && argc == 4) {
                _cleanup_free_ struct s3_part *parts = NULL;
                size_t n;

                if (s3_mpu_list_parts(c, argv[2], argv[3], &parts, &n, e) < 0)
                        return die(e);
                for (size_t i = 0; i < n; i++)
                        printf("%u %s %llu\n", parts[i].number, parts[i].etag, (unsigned long long) parts[i].size);
        } else if (strcmp(cmd, "mpu-complete") == 0 && argc >= 5) {
                _cleanup_free_ struct s3_part *parts = xcalloc((size_t) argc, sizeof(*parts));
                _cleanup_free_ char *etag = NULL;
                size_t n = 0;

                for (int i = 4; i < argc; i++, n++) {
                        const char *colon = strchr(argv[i], ':');
                        if (!colon)
                                return usage();
                        parts[n].number = (unsigned) atoi(argv[i]);
                        snprintf(parts[n].etag, sizeof(parts[n].etag), "%s", colon + 1);
                }
                if (s3_mpu_complete(c, argv[2], argv[3], parts, n, &etag, e) < 0)
                        return die(e);
                printf("etag '%s'\n", etag);
        } else if (strcmp(cmd, "mpu-abort") == 0 && argc == 4) {
                if (s3_mpu_abort(c, argv[2], argv[3], e) < 0)
                        return die(e);
        } else if (strcmp(cmd, "parallel") == 0 && argc == 5) {
                return cmd_parallel(c, (unsigned) atoi(argv[2]), argv[3], argv[4], e);
        } else if (strcmp(cmd, "presign") == 0 && argc == 4) {
                _cleanup_free_ char *url = NULL;

                if (s3_presign_get(c, argv[2], (unsigned) atoi(argv[3]), 0, &url, e) < 0)
                        return die(e);
                printf("%s\n", url);
        } else {
                return usage();
        }
        return 0;
}

int
main(int argc, char **argv)
{
        _cleanup_err_ struct err *e = NULL;
        struct s3_config cfg = {
            .endpoint = getenv("S3_ENDPOINT"),
            .region = getenv("S3_REGION"),
            .bucket = getenv("S3_BUCKET"),
            .prefix = getenv("S3_PREFIX"),
            .access_key = getenv("S3_ACCESS_KEY"),
            .secret_key = getenv("S3_SECRET_KEY"),
        };
        _cleanup_(s3_client_freep) struct s3_client *c = NULL;

        if (argc < 2)
                return usage();
        if (s3_client_new(&cfg, &c, &e) < 0)
                return die(&e);
        return run(c, argc, argv, &e);
}
