/* htpasswd files: "user:hash" per line, bcrypt ($2y$ as `htpasswd -B`
 * writes, $2b$, $2a$) through libxcrypt, or {SHA} (base64 of SHA-1, weak,
 * accepted for compatibility).  Reloaded when the file changes. */
#include "registry/auth/auth-internal.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "registry/common/base64.h"

struct ht_entry {
        char *user;
        char *hash;
};

struct ht_data {
        size_t n;
        struct ht_entry *v;
};

/* bcrypt is deliberately slow (milliseconds at `htpasswd -B`'s cost 5,
 * ~100 ms at cost 12) and Basic auth resends the password with every
 * request, so recently verified credentials are remembered as
 * sha256(user NUL password NUL hash) for a short while.  The cache is
 * emptied whenever the file changes. */
#define HT_CACHE_SLOTS 32
#define HT_CACHE_SECONDS 300

struct ht_cache_slot {
        unsigned char key[32];
        time_t until;
};

struct reg_htpasswd {
        char *path;
        pthread_mutex_t lock;
        struct ht_data *data;
        struct stat st;
        struct ht_cache_slot cache[HT_CACHE_SLOTS];
        unsigned next_slot;
};

/* A valid bcrypt hash of a random password, so an unknown user costs the
 * same as a known one. */
static const char DUMMY_BCRYPT[] = "$2y$05$qEt66EgGNGMAEmay6UZzc.7jH3qmVJ3drlagpEzeujBj7H/l23C8W";

static void
ht_data_free(struct ht_data *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                free(d->v[i].user);
                free_secret(d->v[i].hash);
        }
        free(d->v);
        free(d);
}
DEFINE_FREEP(struct ht_data, ht_data_free)

static bool
hash_supported(const char *h)
{
        if (strncmp(h, "$2y$", 4) == 0 || strncmp(h, "$2b$", 4) == 0 || strncmp(h, "$2a$", 4) == 0)
                return strlen(h) == 60;
        if (strncmp(h, "{SHA}", 5) == 0)
                return strlen(h) == 5 + 28;
        return false;
}

static int
ht_parse(const char *path, char *text, struct ht_data **ret, struct err **err)
{
        _cleanup_(ht_data_freep) struct ht_data *d = xcalloc(1, sizeof(*d));
        size_t lineno = 0, cap = 0;
        char *save = NULL;

        for (char *line = text; line; line = save) {
                char *colon, *hash;
                size_t len;

                save = strchr(line, '\n');
                if (save)
                        *save++ = '\0';
                lineno++;
                len = strlen(line);
                if (len && line[len - 1] == '\r')
                        line[--len] = '\0';
                if (len == 0 || line[0] == '#')
                        continue;
                colon = strchr(line, ':');
                if (!colon || colon == line)
                        return err_set(err, ERR_PARSE, "%s:%zu: expected 'user:hash'", path, lineno);
                *colon = '\0';
                hash = colon + 1;
                if (!hash_supported(hash))
                        return err_set(err, ERR_PARSE,
                                       "%s:%zu: user '%s': unsupported password hash (use bcrypt: htpasswd -B)", path,
                                       lineno, line);
                for (size_t i = 0; i < d->n; i++)
                        if (strcmp(d->v[i].user, line) == 0)
                                return err_set(err, ERR_PARSE, "%s:%zu: duplicate user '%s'", path, lineno, line);
                if (d->n == cap) {
                        cap = cap ? cap * 2 : 8;
                        d->v = xrealloc(d->v, cap * sizeof(*d->v));
                }
                d->v[d->n].user = xstrdup(line);
                d->v[d->n].hash = xstrdup(hash);
                d->n++;
        }
        *ret = steal_ptr(&d);
        return 0;
}

static int
ht_read(const char *path, struct ht_data **ret, struct stat *ret_st, struct err **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *text = NULL;
        struct ht_data *d = NULL;
        struct stat st;
        size_t len;
        int r;

        if (fd < 0)
                return err_set(err, errno, "htpasswd %s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0)
                return err_set(err, errno, "htpasswd %s: %s", path, strerror(errno));
        r = fs_read_fd(fd, REG_AUTH_HTPASSWD_MAX, &text, &len, err);
        if (r < 0)
                return err_prefix(err, "htpasswd %s", path);
        if (memchr(text, '\0', len))
                r = err_set(err, ERR_PARSE, "%s: NUL byte in htpasswd file", path);
        else
                r = ht_parse(path, text, &d, err);
        explicit_bzero(text, len);
        if (r < 0)
                return r;
        *ret = d;
        *ret_st = st;
        return 0;
}

int
reg_htpasswd_load(const char *path, struct reg_htpasswd **ret, struct err **err)
{
        struct reg_htpasswd *h;
        struct ht_data *d;
        struct stat st;
        int r;

        r = ht_read(path, &d, &st, err);
        if (r < 0)
                return r;
        h = xcalloc(1, sizeof(*h));
        h->path = xstrdup(path);
        pthread_mutex_init(&h->lock, NULL);
        h->data = d;
        h->st = st;
        *ret = h;
        return 0;
}

void
reg_htpasswd_free(struct reg_htpasswd *h)
{
        if (!h)
                return;
        ht_data_free(h->data);
        pthread_mutex_destroy(&h->lock);
        free(h->path);
        free(h);
}

int
reg_htpasswd_refresh(struct reg_htpasswd *h, struct err **err)
{
        struct ht_data *d;
        struct stat st;
        int r = 0;

        if (stat(h->path, &st) < 0)
                return err_set(err, errno, "htpasswd %s: %s", h->path, strerror(errno));
        pthread_mutex_lock(&h->lock);
        if (st.st_mtim.tv_sec != h->st.st_mtim.tv_sec || st.st_mtim.tv_nsec != h->st.st_mtim.tv_nsec ||
            st.st_size != h->st.st_size || st.st_ino != h->st.st_ino) {
                r = ht_read(h->path, &d, &st, err);
                if (r >= 0) {
                        explicit_bzero(h->cache, sizeof(h->cache));
                        ht_data_free(h->data);
                        h->data = d;
                        h->st = st;
                }
        }
        pthread_mutex_unlock(&h->lock);
        return r;
}

static bool
check_hash(const char *hash, const char *password)
{
        if (hash[0] == '$') {
                struct crypt_data *cd = xcalloc(1, sizeof(*cd));
                const char *out = crypt_r(password, hash, cd);
                bool ok =
                    out && out[0] != '*' && strlen(out) == strlen(hash) && CRYPTO_memcmp(out, hash, strlen(hash)) == 0;
                explicit_bzero(cd, sizeof(*cd));
                free(cd);
                return ok;
        }
        {
                unsigned char md[SHA_DIGEST_LENGTH];
                char *b;
                bool ok;
                SHA1((const unsigned char *) password, strlen(password), md);
                b = reg_b64_encode(md, sizeof(md), false);
                ok = strlen(b) == strlen(hash + 5) && CRYPTO_memcmp(b, hash + 5, strlen(b)) == 0;
                free(b);
                return ok;
        }
}

static void
cache_key(const char *user, const char *password, const char *hash, unsigned char key[32])
{
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned int len = 0;

        if (!ctx)
                abort();
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        EVP_DigestUpdate(ctx, user, strlen(user) + 1);
        EVP_DigestUpdate(ctx, password, strlen(password) + 1);
        EVP_DigestUpdate(ctx, hash, strlen(hash));
        EVP_DigestFinal_ex(ctx, key, &len);
        EVP_MD_CTX_free(ctx);
}

bool
reg_htpasswd_verify(struct reg_htpasswd *h, const char *user, const char *password)
{
        _cleanup_secret_ char *hash = NULL;
        unsigned char key[32];
        time_t now = time(NULL);
        bool found, ok = false;

        pthread_mutex_lock(&h->lock);
        for (size_t i = 0; i < h->data->n && !hash; i++)
                if (strcmp(h->data->v[i].user, user) == 0)
                        hash = xstrdup(h->data->v[i].hash);
        found = hash != NULL;
        if (found) {
                cache_key(user, password, hash, key);
                for (size_t i = 0; i < HT_CACHE_SLOTS; i++)
                        if (h->cache[i].until > now && CRYPTO_memcmp(h->cache[i].key, key, sizeof(key)) == 0)
                                ok = true;
        }
        pthread_mutex_unlock(&h->lock);
        if (ok) {
                explicit_bzero(key, sizeof(key));
                return true;
        }
        if (!found)
                hash = xstrdup(DUMMY_BCRYPT);
        /* Do the hash work even for an unknown user: timing stays uniform. */
        ok = check_hash(hash, password) && found;
        if (ok) {
                pthread_mutex_lock(&h->lock);
                memcpy(h->cache[h->next_slot].key, key, sizeof(key));
                h->cache[h->next_slot].until = now + HT_CACHE_SECONDS;
                h->next_slot = (h->next_slot + 1) % HT_CACHE_SLOTS;
                pthread_mutex_unlock(&h->lock);
        }
        explicit_bzero(key, sizeof(key));
        return ok;
}

bool
reg_htpasswd_has_user(struct reg_htpasswd *h, const char *user)
{
        bool found = false;

        pthread_mutex_lock(&h->lock);
        for (size_t i = 0; i < h->data->n && !found; i++)
                found = strcmp(h->data->v[i].user, user) == 0;
        pthread_mutex_unlock(&h->lock);
        return found;
}
