/* The client: configuration checked and copied, credentials from the
 * configuration or the environment, the pool of libcurl handles, and the
 * start-up check of the bucket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "registry/s3/s3-internal.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
init_curl(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool
bucket_name_ok(const char *b)
{
        size_t n = strlen(b);

        /* S3's rules are stricter (lower case, 3-63); RGW can allow more.
         * What matters here: nothing that needs encoding in a path. */
        if (n < 1 || n > 255)
                return false;
        for (const char *p = b; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
                      *p == '-' || *p == '_'))
                        return false;
        return strcmp(b, ".") != 0 && strcmp(b, "..") != 0;
}

/* ENDPOINT "http[s]://host[:port][/]" → its host[:port]; NULL when it is
 * anything else (a path, credentials, a query). */
static char *
endpoint_host(const char *endpoint)
{
        const char *p;
        size_t n;

        if (strncmp(endpoint, "http://", 7) == 0)
                p = endpoint + 7;
        else if (strncmp(endpoint, "https://", 8) == 0)
                p = endpoint + 8;
        else
                return NULL;
        n = strcspn(p, "/?#@ \t\r\n");
        if (n == 0 || (p[n] && strcmp(p + n, "/") != 0))
                return NULL;
        return xstrndup(p, n);
}

static unsigned
env_uint(const char *name, unsigned def, unsigned min, unsigned max)
{
        const char *v = getenv(name);
        char *end;
        unsigned long n;

        if (!v || !*v)
                return def;
        errno = 0;
        n = strtoul(v, &end, 10);
        if (errno || *end || n < min || n > max)
                return def;
        return (unsigned) n;
}

int
s3_client_new(const struct s3_config *cfg, struct s3_client **ret_client, struct err **err)
{
        _cleanup_(s3_client_freep) struct s3_client *c = NULL;
        const char *ak = cfg->access_key, *sk = cfg->secret_key;
        _cleanup_free_ char *host = NULL;
        size_t n;

        if (!cfg->endpoint || !*cfg->endpoint)
                return err_set(err, EINVAL, "S3: no endpoint given");
        host = endpoint_host(cfg->endpoint);
        if (!host)
                return err_set(err, EINVAL, "S3 endpoint '%s': want http://HOST[:PORT] or https://HOST[:PORT]",
                               cfg->endpoint);
        if (!cfg->bucket || !bucket_name_ok(cfg->bucket))
                return err_set(err, EINVAL, "S3 bucket '%s' at %s: not a bucket name", cfg->bucket ? cfg->bucket : "",
                               cfg->endpoint);
        if (cfg->prefix && strlen(cfg->prefix) >= S3_KEY_MAX / 2)
                return err_set(err, EINVAL, "S3 prefix '%.64s...' is too long", cfg->prefix);
        if (!ak || !*ak)
                ak = getenv("AWS_ACCESS_KEY_ID");
        if (!sk || !*sk)
                sk = getenv("AWS_SECRET_ACCESS_KEY");
        if (!ak || !*ak || !sk || !*sk)
                return err_set(err, EINVAL,
                               "S3 bucket '%s' at %s: no credentials (access_key and secret_key, or "
                               "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
                               cfg->bucket, cfg->endpoint);
        if (strpbrk(ak, "/\r\n ") || strpbrk(sk, "\r\n"))
                return err_set(err, EINVAL, "S3 bucket '%s' at %s: the access key or secret key has a bad character",
                               cfg->bucket, cfg->endpoint);
        pthread_once(&curl_once, init_curl);

        c = xcalloc(1, sizeof(*c));
        pthread_mutex_init(&c->lock, NULL);
        n = strlen(cfg->endpoint);
        c->endpoint = xstrndup(cfg->endpoint, cfg->endpoint[n - 1] == '/' ? n - 1 : n);
        c->host = steal_ptr(&host);
        c->region = xstrdup(cfg->region && *cfg->region ? cfg->region : "us-east-1");
        c->bucket = xstrdup(cfg->bucket);
        c->prefix = xstrdup(cfg->prefix ? cfg->prefix : "");
        c->access_key = xstrdup(ak);
        c->secret_key = xstrdup(sk);
        c->describe = c->prefix[0] ? xasprintf("s3://%s/%s at %s", c->bucket, c->prefix, c->endpoint)
                                   : xasprintf("s3://%s at %s", c->bucket, c->endpoint);
        c->tries = env_uint("IREG_S3_TRIES", S3_RETRY_TRIES, 1, 10);
        c->backoff_ms = env_uint("IREG_S3_BACKOFF_MS", 200, 0, 60000);
        *ret_client = steal_ptr(&c);
        return 0;
}

void
s3_client_free(struct s3_client *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n_idle; i++)
                curl_easy_cleanup(c->idle[i]);
        pthread_mutex_destroy(&c->lock);
        free(c->endpoint);
        free(c->host);
        free(c->region);
        free(c->bucket);
        free(c->prefix);
        free(c->access_key);
        free_secret(c->secret_key);
        free(c->describe);
        free(c);
}

const char *
s3_client_describe(const struct s3_client *c)
{
        return c->describe;
}

int
s3_check_bucket(struct s3_client *c, struct err **err)
{
        struct s3_req rq = {.op = "HeadBucket", .method = "HEAD"};
        struct s3_resp resp;
        int r = s3_request(c, &rq, &resp, err);

        s3_resp_clear(&resp);
        return r;
}
