/* Media type classification (see oci/mediatype.h). */
#include "oci/mediatype.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

/* Length of MT's essence: up to ';' with trailing blanks dropped; *ret_start
 * skips leading blanks. */
static size_t
essence(const char *mt, const char **ret_start)
{
        size_t n;

        while (*mt == ' ' || *mt == '\t')
                mt++;
        n = strcspn(mt, ";");
        while (n > 0 && (mt[n - 1] == ' ' || mt[n - 1] == '\t'))
                n--;
        *ret_start = mt;
        return n;
}

bool
oci_mediatype_equal(const char *a, const char *b)
{
        const char *sa, *sb;
        size_t na, nb;

        if (!a || !b)
                return false;
        na = essence(a, &sa);
        nb = essence(b, &sb);
        return na == nb && strncasecmp(sa, sb, na) == 0;
}

static bool
in_list(const char *mt, const char *const *list)
{
        for (; *list; list++)
                if (oci_mediatype_equal(mt, *list))
                        return true;
        return false;
}

bool
oci_mediatype_is_manifest(const char *mt)
{
        static const char *const l[] = { OCI_MT_MANIFEST, DOCKER_MT_MANIFEST, NULL };
        return in_list(mt, l);
}

bool
oci_mediatype_is_index(const char *mt)
{
        static const char *const l[] = { OCI_MT_INDEX, DOCKER_MT_MANIFEST_LIST, NULL };
        return in_list(mt, l);
}

bool
oci_mediatype_is_manifest_or_index(const char *mt)
{
        return oci_mediatype_is_manifest(mt) || oci_mediatype_is_index(mt);
}

bool
oci_mediatype_is_config(const char *mt)
{
        static const char *const l[] = { OCI_MT_CONFIG, DOCKER_MT_CONFIG, NULL };
        return in_list(mt, l);
}

static const struct {
        const char *mt;
        enum oci_media_compression comp;
        bool nondistributable;
} layers[] = {
        { OCI_MT_LAYER_TAR, OCI_MEDIA_COMPRESSION_NONE, false },
        { OCI_MT_LAYER_GZIP, OCI_MEDIA_COMPRESSION_GZIP, false },
        { OCI_MT_LAYER_ZSTD, OCI_MEDIA_COMPRESSION_ZSTD, false },
        { OCI_MT_LAYER_ND_TAR, OCI_MEDIA_COMPRESSION_NONE, true },
        { OCI_MT_LAYER_ND_GZIP, OCI_MEDIA_COMPRESSION_GZIP, true },
        { OCI_MT_LAYER_ND_ZSTD, OCI_MEDIA_COMPRESSION_ZSTD, true },
        { DOCKER_MT_LAYER_GZIP, OCI_MEDIA_COMPRESSION_GZIP, false },
        { DOCKER_MT_LAYER_TAR, OCI_MEDIA_COMPRESSION_NONE, false },
        { DOCKER_MT_LAYER_FOREIGN, OCI_MEDIA_COMPRESSION_GZIP, true },
};

const char *
oci_mediatype_layer_for(enum oci_media_compression c, bool docker, bool nondist)
{
        if (docker) {
                if (c == OCI_MEDIA_COMPRESSION_GZIP)
                        return nondist ? DOCKER_MT_LAYER_FOREIGN : DOCKER_MT_LAYER_GZIP;
                return c == OCI_MEDIA_COMPRESSION_NONE && !nondist ? DOCKER_MT_LAYER_TAR : NULL;
        }
        switch (c) {
        case OCI_MEDIA_COMPRESSION_NONE:
                return nondist ? OCI_MT_LAYER_ND_TAR : OCI_MT_LAYER_TAR;
        case OCI_MEDIA_COMPRESSION_GZIP:
                return nondist ? OCI_MT_LAYER_ND_GZIP : OCI_MT_LAYER_GZIP;
        case OCI_MEDIA_COMPRESSION_ZSTD:
                return nondist ? OCI_MT_LAYER_ND_ZSTD : OCI_MT_LAYER_ZSTD;
        default:
                return NULL;
        }
}

enum oci_media_compression
oci_mediatype_layer_compression(const char *mt)
{
        for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]); i++)
                if (oci_mediatype_equal(mt, layers[i].mt))
                        return layers[i].comp;
        return OCI_MEDIA_COMPRESSION_UNKNOWN;
}

bool
oci_mediatype_is_layer(const char *mt)
{
        return oci_mediatype_layer_compression(mt) != OCI_MEDIA_COMPRESSION_UNKNOWN;
}

bool
oci_mediatype_is_nondistributable(const char *mt)
{
        for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]); i++)
                if (oci_mediatype_equal(mt, layers[i].mt))
                        return layers[i].nondistributable;
        return false;
}

/* RFC 6838 section 4.2 restricted-name: 1-127 chars, first alphanumeric,
 * then alphanumerics and ! # $ & - ^ _ . + */
static size_t
restricted_name(const char *s)
{
        size_t i = 0;

        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= '0' && s[0] <= '9')))
                return 0;
        for (i = 1; s[i]; i++) {
                char c = s[i];
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                        continue;
                if (strchr("!#$&-^_.+", c))
                        continue;
                break;
        }
        return i <= 127 ? i : 0;
}

bool
oci_mediatype_valid(const char *mt)
{
        size_t n;

        if (!mt)
                return false;
        n = restricted_name(mt);
        if (n == 0 || mt[n] != '/')
                return false;
        mt += n + 1;
        n = restricted_name(mt);
        if (n == 0)
                return false;
        mt += n;
        /* Parameters: anything printable after ';' (we never interpret them). */
        while (*mt == ' ')
                mt++;
        if (*mt == '\0')
                return true;
        if (*mt != ';')
                return false;
        for (; *mt; mt++)
                if ((unsigned char) *mt < 0x20 || (unsigned char) *mt == 0x7f)
                        return false;
        return true;
}
