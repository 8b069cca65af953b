/* registry/server/manifest: which layers of a pushed manifest the registry
 * must hold.  Non-distributable and foreign layers (OCI and Docker media
 * types, compared as media types: case-insensitive, parameters aside) and
 * layers with urls are fetched elsewhere and may be absent. */
#include "tests/unit/test.h"

#include <stdio.h>
#include <stdlib.h>

#include "registry/server/manifest.h"

#define HEX_CFG "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define HEX_L "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* How many blobs (config + required layers) a manifest with one layer of
 * media type MT (and URLS, a JSON array or NULL) needs. */
static size_t
blobs_needed(const char *manifest_mt, const char *config_mt, const char *mt, const char *urls)
{
        _cleanup_free_ char *body = NULL, *u = NULL;
        struct reg_manifest m;
        struct err *e = NULL;
        size_t n;

        u = urls ? xasprintf(",\"urls\":%s", urls) : xstrdup("");
        body = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\","
                         "\"config\":{\"mediaType\":\"%s\",\"digest\":\"sha256:" HEX_CFG "\",\"size\":2},"
                         "\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"sha256:" HEX_L "\",\"size\":3%s}]}",
                         manifest_mt, config_mt, mt, u);
        if (reg_manifest_parse(body, strlen(body), manifest_mt, &m, &e) < 0)
                fail_msg("%s: %s", mt, err_msg(&e));
        n = m.n_blobs;
        reg_manifest_clear(&m);
        return n;
}

static size_t
oci(const char *mt, const char *urls)
{
        return blobs_needed("application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.config.v1+json",
                            mt, urls);
}

static size_t
docker(const char *mt, const char *urls)
{
        return blobs_needed("application/vnd.docker.distribution.manifest.v2+json",
                            "application/vnd.docker.container.image.v1+json", mt, urls);
}

static void
external_layers(void **state)
{
        const char *url = "[\"https://example.com/layer\"]";

        /* Ordinary layers must be here. */
        assert_int_equal(oci("application/vnd.oci.image.layer.v1.tar", NULL), 2);
        assert_int_equal(oci("application/vnd.oci.image.layer.v1.tar+gzip", NULL), 2);
        assert_int_equal(oci("application/vnd.oci.image.layer.v1.tar+zstd", NULL), 2);
        assert_int_equal(docker("application/vnd.docker.image.rootfs.diff.tar.gzip", NULL), 2);
        /* The three OCI non-distributable types and Docker's foreign one
         * need not be, with or without urls. */
        assert_int_equal(oci("application/vnd.oci.image.layer.nondistributable.v1.tar", NULL), 1);
        assert_int_equal(oci("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", NULL), 1);
        assert_int_equal(oci("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", url), 1);
        assert_int_equal(docker("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", url), 1);
        assert_int_equal(docker("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", NULL), 1);
        /* Media types are case-insensitive and may carry parameters. */
        assert_int_equal(oci("application/vnd.oci.image.layer.NonDistributable.v1.tar+gzip", NULL), 1);
        assert_int_equal(docker("Application/Vnd.Docker.Image.Rootfs.Foreign.Diff.Tar.Gzip", NULL), 1);
        assert_int_equal(oci("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip; x=y", NULL), 1);
        /* A layer listing urls may live elsewhere whatever its type. */
        assert_int_equal(oci("application/vnd.oci.image.layer.v1.tar+gzip", url), 1);
        assert_int_equal(oci("application/vnd.oci.image.layer.v1.tar+gzip", "[]"), 2);
        /* A name that merely contains "nondistributable" is not one of
         * the defined types: the registry must hold it. */
        assert_int_equal(oci("application/vnd.example.nondistributable.blob", NULL), 2);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(external_layers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
