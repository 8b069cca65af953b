/* AWS Signature Version 4 for S3, header and query (presigned) forms,
 * over OpenSSL's SHA-256 and HMAC.  The steps and their names follow AWS's
 * description: canonical request → string to sign → signing key (a chain
 * of HMACs over date, region, service) → signature. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "registry/s3/s3-internal.h"

static void
hex(const unsigned char *in, size_t n, char *out)
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 15];
        }
        out[2 * n] = '\0';
}

void
s3_sha256_hex(const void *buf, size_t len, char out[65])
{
        unsigned char md[32];

        if (!EVP_Digest(buf, len, md, NULL, EVP_sha256(), NULL))
                abort();
        hex(md, sizeof(md), out);
}

static void
hmac(const void *key, size_t key_len, const char *msg, unsigned char out[32])
{
        unsigned int n = 32;

        if (!HMAC(EVP_sha256(), key, (int) key_len, (const unsigned char *) msg, strlen(msg), out, &n))
                abort();
}

void
s3_amz_date(time_t t, char out[17])
{
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* The scope "DATE/REGION/s3/aws4_request" (DATE: the first 8 characters
 * of the amz date). */
static char *
scope(const struct s3_sign_in *in)
{
        return xasprintf("%.8s/%s/s3/aws4_request", in->amz_date, in->region);
}

/* The hex signature of CANONICAL (a canonical request) for IN. */
static void
signature(const struct s3_sign_in *in, const char *canonical, char out[65])
{
        _cleanup_free_ char *sc = scope(in), *to_sign = NULL, *k = NULL;
        _cleanup_free_ char *date = xstrndup(in->amz_date, 8);
        char creq_hash[65];
        unsigned char k_date[32], k_region[32], k_service[32], k_signing[32], sig[32];

        s3_sha256_hex(canonical, strlen(canonical), creq_hash);
        to_sign = xasprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", in->amz_date, sc, creq_hash);
        k = xasprintf("AWS4%s", in->secret_key);
        hmac(k, strlen(k), date, k_date);
        explicit_bzero(k, strlen(k));
        hmac(k_date, 32, in->region, k_region);
        hmac(k_region, 32, "s3", k_service);
        hmac(k_service, 32, "aws4_request", k_signing);
        hmac(k_signing, 32, to_sign, sig);
        explicit_bzero(k_signing, sizeof(k_signing));
        explicit_bzero(k_date, sizeof(k_date));
        hex(sig, sizeof(sig), out);
}

static int
header_cmp(const void *a, const void *b)
{
        return strcmp(((const struct s3_header *) a)->name, ((const struct s3_header *) b)->name);
}

char *
s3_sign_authorization(const struct s3_sign_in *in)
{
        _cleanup_free_ struct s3_header *h = xcalloc(in->n_headers + 1, sizeof(*h));
        _cleanup_free_ char *canon_headers = NULL, *signed_names = NULL, *canonical = NULL, *sc = NULL;
        size_t n = in->n_headers + 1, cap = 0, names_cap = 0;
        char sig[65];

        h[0] = (struct s3_header){"host", in->host};
        memcpy(h + 1, in->headers, in->n_headers * sizeof(*h));
        qsort(h, n, sizeof(*h), header_cmp);
        for (size_t i = 0; i < n; i++) {
                cap += strlen(h[i].name) + strlen(h[i].value) + 2;
                names_cap += strlen(h[i].name) + 1;
        }
        canon_headers = xcalloc(cap + 1, 1);
        signed_names = xcalloc(names_cap + 1, 1);
        for (size_t i = 0; i < n; i++) {
                strcat(canon_headers, h[i].name);
                strcat(canon_headers, ":");
                strcat(canon_headers, h[i].value);
                strcat(canon_headers, "\n");
                if (i)
                        strcat(signed_names, ";");
                strcat(signed_names, h[i].name);
        }
        canonical = xasprintf("%s\n%s\n%s\n%s\n%s\n%s", in->method, in->path, in->query, canon_headers, signed_names,
                              in->payload_hash);
        signature(in, canonical, sig);
        sc = scope(in);
        return xasprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s", in->access_key, sc,
                         signed_names, sig);
}

char *
s3_presign_query(const struct s3_sign_in *in, unsigned expires)
{
        _cleanup_free_ char *sc = scope(in), *cred = NULL, *q = NULL, *canonical = NULL;
        _cleanup_free_ char *enc_cred = NULL;
        char sig[65];

        /* The query parameters are already in sorted order (X-Amz-A < C < D
         * < E < S); the credential is the only one that needs encoding. */
        cred = xasprintf("%s/%s", in->access_key, sc);
        enc_cred = s3_uri_encode(cred, false);
        q = xasprintf("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%s&X-Amz-Date=%s&X-Amz-Expires=%u"
                      "&X-Amz-SignedHeaders=host",
                      enc_cred, in->amz_date, expires);
        canonical = xasprintf("GET\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", in->path, q, in->host);
        signature(in, canonical, sig);
        return xasprintf("%s&X-Amz-Signature=%s", q, sig);
}
