/* The JSON image model: media types, descriptors, manifests, indexes,
 * documents, image configs. */
#include "tests/unit/test.h"

#include <stdlib.h>

#include "common/limits.h"
#include "digest/digest.h"
#include "oci/oci.h"

#define D1 "sha256:9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0"
#define D2 "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b"
#define D3 "sha256:ec4b8955958665577945c89419d1af06b5f7636b4ac3da7f12184802ad867736"
#define DCFG "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"
#define DSUBJ "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270"

/* image-spec manifest.md's example, pretty-printed as published. */
static const char MANIFEST[] = "{\n"
                               "  \"schemaVersion\": 2,\n"
                               "  \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n"
                               "  \"config\": {\n"
                               "    \"mediaType\": \"application/vnd.oci.image.config.v1+json\",\n"
                               "    \"digest\": \"" DCFG "\",\n"
                               "    \"size\": 7023\n"
                               "  },\n"
                               "  \"layers\": [\n"
                               "    {\n"
                               "      \"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\",\n"
                               "      \"digest\": \"" D1 "\",\n"
                               "      \"size\": 32654\n"
                               "    },\n"
                               "    {\n"
                               "      \"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\",\n"
                               "      \"digest\": \"" D2 "\",\n"
                               "      \"size\": 16724\n"
                               "    },\n"
                               "    {\n"
                               "      \"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\",\n"
                               "      \"digest\": \"" D3 "\",\n"
                               "      \"size\": 73109\n"
                               "    }\n"
                               "  ],\n"
                               "  \"subject\": {\n"
                               "    \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n"
                               "    \"digest\": \"" DSUBJ "\",\n"
                               "    \"size\": 7682\n"
                               "  },\n"
                               "  \"annotations\": {\n"
                               "    \"com.example.key1\": \"value1\",\n"
                               "    \"com.example.key2\": \"value2\"\n"
                               "  }\n"
                               "}\n";

/* A Docker manifest list in the shape Docker Hub serves (with a BuildKit
 * attestation entry) plus fields we do not know. */
static const char LIST[] =
        "{\"manifests\":["
        "{\"digest\":\"" D1 "\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"},\"size\":528},"
        "{\"digest\":\"" D2 "\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"},\"size\":528},"
        "{\"digest\":\"" D3 "\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"},\"size\":528},"
        "{\"digest\":\"" DCFG "\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\",\"x-future\":1},\"size\":528},"
        "{\"annotations\":{\"vnd.docker.reference.digest\":\"" D1 "\",\"vnd.docker.reference.type\":"
        "\"attestation-manifest\"},\"digest\":\"" DSUBJ "\",\"mediaType\":"
        "\"application/vnd.oci.image.manifest.v1+json\",\"platform\":{\"architecture\":\"unknown\",\"os\":"
        "\"unknown\"},\"size\":566}"
        "],\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\",\"schemaVersion\":2,"
        "\"x-extra\":{\"b\":[1,2.5,null],\"a\":\"z\"}}";

/* image-spec config.md's example with Docker-only fields added. */
static const char CONFIG[] =
        "{\n"
        "  \"created\": \"2015-10-31T22:22:56.015925234Z\",\n"
        "  \"author\": \"Alyssa P. Hacker <alyspdev@example.com>\",\n"
        "  \"architecture\": \"amd64\",\n"
        "  \"os\": \"linux\",\n"
        "  \"docker_version\": \"24.0.7\",\n"
        "  \"config\": {\n"
        "    \"Hostname\": \"\",\n"
        "    \"User\": \"alice\",\n"
        "    \"ExposedPorts\": {\"8080/tcp\": {}, \"53/udp\": {}},\n"
        "    \"Env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"FOO=oci_is_a\",\n"
        "            \"BAR=well_written_spec\"],\n"
        "    \"Entrypoint\": [\"/bin/my-app-binary\"],\n"
        "    \"Cmd\": [\"--foreground\", \"--config\", \"/etc/my-app.d/default.cfg\"],\n"
        "    \"Volumes\": {\"/var/job-result-data\": {}, \"/var/log/my-app-logs\": {}},\n"
        "    \"WorkingDir\": \"/home/alice\",\n"
        "    \"Labels\": {\"com.example.project.git.url\": \"https://example.com/project.git\",\n"
        "               \"com.example.project.git.commit\": \"45a939b2999782a3f005621a8d0f29aa387e1d6b\"},\n"
        "    \"StopSignal\": \"SIGTERM\",\n"
        "    \"Healthcheck\": {\"Test\": [\"CMD-SHELL\", \"curl -f http://localhost/ || exit 1\"],\n"
        "                    \"Interval\": 30000000000, \"Timeout\": 3000000000, \"StartPeriod\": 5000000000,\n"
        "                    \"StartInterval\": 1000000000, \"Retries\": 3},\n"
        "    \"Shell\": [\"/bin/bash\", \"-c\"],\n"
        "    \"OnBuild\": [\"RUN echo hi\"],\n"
        "    \"ArgsEscaped\": true\n"
        "  },\n"
        "  \"rootfs\": {\n"
        "    \"diff_ids\": [\n"
        "      \"sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1\",\n"
        "      \"sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef\"\n"
        "    ],\n"
        "    \"type\": \"layers\"\n"
        "  },\n"
        "  \"history\": [\n"
        "    {\"created\": \"2015-10-31T22:22:54.690851953Z\",\n"
        "     \"created_by\": \"/bin/sh -c #(nop) ADD file:a3bc1e842b69636f9df5256c49c5374fb4eef1e281fe3f282c65fb853ee171c5 in /\"},\n"
        "    {\"created\": \"2015-10-31T22:22:55.613815829Z\", \"created_by\": \"/bin/sh -c #(nop) CMD [\\\"sh\\\"]\",\n"
        "     \"empty_layer\": true, \"comment\": \"buildkit.dockerfile.v0\"}\n"
        "  ]\n"
        "}\n";

/* ---- media types ---- */

static void
mediatypes(void **state)
{
        assert_true(oci_mediatype_is_manifest(OCI_MT_MANIFEST));
        assert_true(oci_mediatype_is_manifest(DOCKER_MT_MANIFEST));
        assert_false(oci_mediatype_is_manifest(OCI_MT_INDEX));
        assert_false(oci_mediatype_is_manifest(NULL));
        assert_true(oci_mediatype_is_index(OCI_MT_INDEX));
        assert_true(oci_mediatype_is_index(DOCKER_MT_MANIFEST_LIST));
        assert_false(oci_mediatype_is_index(DOCKER_MT_MANIFEST));
        assert_true(oci_mediatype_is_manifest_or_index(DOCKER_MT_MANIFEST_LIST));
        assert_false(oci_mediatype_is_manifest_or_index(DOCKER_MT_MANIFEST_V1_SIGNED));
        assert_true(oci_mediatype_is_config(OCI_MT_CONFIG));
        assert_true(oci_mediatype_is_config(DOCKER_MT_CONFIG));
        assert_false(oci_mediatype_is_config(OCI_MT_EMPTY));

        /* Parameters, blanks and case do not matter. */
        assert_true(oci_mediatype_equal("Application/VND.oci.image.manifest.v1+JSON; charset=utf-8", OCI_MT_MANIFEST));
        assert_true(oci_mediatype_is_manifest(" application/vnd.oci.image.manifest.v1+json ;x=y"));
        assert_false(oci_mediatype_equal("application/vnd.oci.image.manifest.v1+jsonx", OCI_MT_MANIFEST));
        assert_false(oci_mediatype_equal(NULL, NULL));

        assert_int_equal(oci_mediatype_layer_compression(OCI_MT_LAYER_TAR), OCI_MEDIA_COMPRESSION_NONE);
        assert_int_equal(oci_mediatype_layer_compression(OCI_MT_LAYER_GZIP), OCI_MEDIA_COMPRESSION_GZIP);
        assert_int_equal(oci_mediatype_layer_compression(OCI_MT_LAYER_ZSTD), OCI_MEDIA_COMPRESSION_ZSTD);
        assert_int_equal(oci_mediatype_layer_compression(OCI_MT_LAYER_ND_TAR), OCI_MEDIA_COMPRESSION_NONE);
        assert_int_equal(oci_mediatype_layer_compression(OCI_MT_LAYER_ND_GZIP), OCI_MEDIA_COMPRESSION_GZIP);
        assert_int_equal(oci_mediatype_layer_compression(OCI_MT_LAYER_ND_ZSTD), OCI_MEDIA_COMPRESSION_ZSTD);
        assert_int_equal(oci_mediatype_layer_compression(DOCKER_MT_LAYER_GZIP), OCI_MEDIA_COMPRESSION_GZIP);
        assert_int_equal(oci_mediatype_layer_compression(DOCKER_MT_LAYER_FOREIGN), OCI_MEDIA_COMPRESSION_GZIP);
        assert_int_equal(oci_mediatype_layer_compression(OCI_MT_CONFIG), OCI_MEDIA_COMPRESSION_UNKNOWN);
        assert_true(oci_mediatype_is_layer(DOCKER_MT_LAYER_GZIP));
        assert_false(oci_mediatype_is_layer(OCI_MT_MANIFEST));
        assert_true(oci_mediatype_is_nondistributable(DOCKER_MT_LAYER_FOREIGN));
        /* The layer type of each format (ibuild --format). */
        assert_int_equal(oci_mediatype_layer_compression(DOCKER_MT_LAYER_TAR), OCI_MEDIA_COMPRESSION_NONE);
        assert_string_equal(oci_mediatype_layer_for(OCI_MEDIA_COMPRESSION_GZIP, true, false), DOCKER_MT_LAYER_GZIP);
        assert_string_equal(oci_mediatype_layer_for(OCI_MEDIA_COMPRESSION_NONE, true, false), DOCKER_MT_LAYER_TAR);
        assert_string_equal(oci_mediatype_layer_for(OCI_MEDIA_COMPRESSION_GZIP, true, true), DOCKER_MT_LAYER_FOREIGN);
        assert_null(oci_mediatype_layer_for(OCI_MEDIA_COMPRESSION_ZSTD, true, false));
        assert_null(oci_mediatype_layer_for(OCI_MEDIA_COMPRESSION_NONE, true, true));
        assert_string_equal(oci_mediatype_layer_for(OCI_MEDIA_COMPRESSION_GZIP, false, false), OCI_MT_LAYER_GZIP);
        assert_string_equal(oci_mediatype_layer_for(OCI_MEDIA_COMPRESSION_ZSTD, false, true), OCI_MT_LAYER_ND_ZSTD);
        assert_null(oci_mediatype_layer_for(OCI_MEDIA_COMPRESSION_UNKNOWN, false, false));
        assert_true(oci_mediatype_is_nondistributable(OCI_MT_LAYER_ND_GZIP));
        assert_false(oci_mediatype_is_nondistributable(OCI_MT_LAYER_GZIP));

        assert_true(oci_mediatype_valid(OCI_MT_MANIFEST));
        assert_true(oci_mediatype_valid("application/vnd.example+type; version=1"));
        assert_false(oci_mediatype_valid(""));
        assert_false(oci_mediatype_valid("application"));
        assert_false(oci_mediatype_valid("application/"));
        assert_false(oci_mediatype_valid("/json"));
        assert_false(oci_mediatype_valid("app lication/json"));
        assert_false(oci_mediatype_valid("application/json\n"));
        assert_false(oci_mediatype_valid(NULL));

        /* The empty descriptor's digest really is sha256("{}"). */
        {
                struct digest d;

                digest_buffer(DIGEST_SHA256, OCI_EMPTY_DATA, OCI_EMPTY_SIZE, &d);
                assert_string_equal(d.str, OCI_EMPTY_DIGEST);
        }
}

/* ---- manifests ---- */

static void
manifest_example(void **state)
{
        struct oci_manifest *m = NULL, *m2 = NULL;
        struct oci_child *ch = NULL;
        struct err *e = NULL;
        char *out = NULL, *out2 = NULL;
        size_t n, n2;

        assert_int_equal(oci_manifest_parse(MANIFEST, strlen(MANIFEST), &m, &e), 0);
        assert_int_equal(m->schema_version, 2);
        assert_string_equal(m->media_type, OCI_MT_MANIFEST);
        assert_string_equal(m->config.media_type, OCI_MT_CONFIG);
        assert_string_equal(m->config.digest, DCFG);
        assert_int_equal(m->config.size, 7023);
        assert_int_equal(m->n_layers, 3);
        assert_string_equal(m->layers[2].digest, D3);
        assert_int_equal(m->layers[1].size, 16724);
        assert_non_null(m->subject);
        assert_string_equal(m->subject->digest, DSUBJ);
        assert_string_equal(oci_map_get(m->annotations, "com.example.key2"), "value2");
        assert_null(m->extra);
        /* The received bytes are kept exactly. */
        assert_int_equal(m->raw_len, strlen(MANIFEST));
        assert_memory_equal(m->raw, MANIFEST, m->raw_len);

        n = oci_manifest_children(m, &ch);
        assert_int_equal(n, 5);
        assert_int_equal(ch[0].kind, OCI_CHILD_CONFIG);
        assert_ptr_equal(ch[0].desc, &m->config);
        assert_int_equal(ch[1].kind, OCI_CHILD_LAYER);
        assert_string_equal(ch[3].desc->digest, D3);
        assert_int_equal(ch[4].kind, OCI_CHILD_SUBJECT);
        free(ch);

        /* Canonical form: compact, sorted keys, no trailing newline. */
        assert_int_equal(oci_manifest_serialize(m, &out, &n, &e), 0);
        assert_int_equal(n, strlen(out));
        assert_true(strncmp(out, "{\"annotations\":{\"com.example.key1\":\"value1\",", 44) == 0);
        assert_null(strchr(out, '\n'));
        assert_null(strchr(out, ' '));
        assert_true(out[n - 1] == '}');
        /* Re-parsing the canonical form gives the same bytes again. */
        assert_int_equal(oci_manifest_parse(out, n, &m2, &e), 0);
        assert_int_equal(oci_manifest_serialize(m2, &out2, &n2, &e), 0);
        assert_int_equal(n, n2);
        assert_memory_equal(out, out2, n);
        assert_memory_equal(m2->raw, out, n);
        free(out);
        free(out2);
        oci_manifest_free(m);
        oci_manifest_free(m2);
        oci_manifest_free(NULL);
        assert_null(e);
}

static void
manifest_build_deterministic(void **state)
{
        static const char want[] =
                "{\"artifactType\":\"application/vnd.example.sbom+json\",\"config\":{\"data\":\"e30=\",\"digest\":"
                "\"" OCI_EMPTY_DIGEST "\",\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"size\":2},\"layers\":"
                "[{\"annotations\":{\"org.opencontainers.image.title\":\"sbom.json\"},\"digest\":"
                "\"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\",\"mediaType\":"
                "\"application/vnd.example.sbom+json\",\"size\":3,\"urls\":[\"https://example.com/a\"]}],\"mediaType\":"
                "\"application/vnd.oci.image.manifest.v1+json\",\"schemaVersion\":2,\"subject\":{\"digest\":\"" D1
                "\",\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":10}}";
        char *out[2];
        size_t n[2];
        struct err *e = NULL;

        for (int k = 0; k < 2; k++) {
                struct oci_manifest *m = oci_manifest_new(OCI_MT_MANIFEST);
                struct oci_descriptor d;

                m->artifact_type = xstrdup("application/vnd.example.sbom+json");
                oci_descriptor_init_empty(&d);
                d.data = (unsigned char *) xstrdup("{}");
                d.data_len = 2;
                oci_manifest_set_config(m, &d);
                oci_descriptor_clear(&d);
                oci_descriptor_init_bytes(&d, "application/vnd.example.sbom+json", "abc", 3);
                oci_descriptor_set_annotation(&d, "org.opencontainers.image.title", "sbom.json");
                d.urls = oci_strv_append(NULL, "https://example.com/a");
                oci_manifest_add_layer(m, &d);
                oci_descriptor_clear(&d);
                oci_descriptor_init(&d, OCI_MT_MANIFEST, D1, 10);
                oci_manifest_set_subject(m, &d);
                oci_descriptor_clear(&d);
                assert_null(m->raw);
                assert_int_equal(oci_manifest_serialize(m, &out[k], &n[k], &e), 0);
                oci_manifest_free(m);
        }
        assert_string_equal(out[0], want);
        assert_int_equal(n[0], strlen(want));
        assert_string_equal(out[0], out[1]);
        free(out[0]);
        free(out[1]);
        assert_null(e);
}

static void
unknown_fields_kept(void **state)
{
        static const char in[] =
                "{\"schemaVersion\":2,\"zeta\":{\"nested\":[true,null,1.5]},\"config\":{\"mediaType\":"
                "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" DCFG "\",\"size\":1,\"x-desc\":\"k\","
                "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\",\"features\":[\"sse4\"]}},\"layers\":[],"
                "\"alpha\":\"\\u00e9\\u2603\"}";
        struct oci_manifest *m = NULL;
        struct err *e = NULL;
        char *out;
        size_t n;

        assert_int_equal(oci_manifest_parse(in, strlen(in), &m, &e), 0);
        assert_null(m->media_type);
        assert_string_equal(oci_manifest_media_type(m), OCI_MT_MANIFEST);
        assert_int_equal(m->n_layers, 0);
        assert_non_null(m->extra);
        assert_non_null(json_object_get(m->extra, "zeta"));
        assert_string_equal(json_string_value(json_object_get(m->config.extra, "x-desc")), "k");
        assert_non_null(m->config.platform);
        assert_non_null(json_object_get(m->config.platform->extra, "features"));
        assert_int_equal(oci_manifest_serialize(m, &out, &n, &e), 0);
        assert_string_equal(out, "{\"alpha\":\"\xc3\xa9\xe2\x98\x83\",\"config\":{\"digest\":\"" DCFG "\",\"mediaType\":"
                                 "\"application/vnd.oci.image.config.v1+json\",\"platform\":{\"architecture\":\"amd64\","
                                 "\"features\":[\"sse4\"],\"os\":\"linux\"},\"size\":1,\"x-desc\":\"k\"},\"layers\":[],"
                                 "\"schemaVersion\":2,\"zeta\":{\"nested\":[true,null,1.5]}}");
        free(out);
        oci_manifest_free(m);
        assert_null(e);
}

/* A document, what must be in the error, and the code. */
struct bad_doc {
        const char *json;
        const char *needle;
};

#define CFGD "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" DCFG "\",\"size\":1}"
#define LAYD "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" D1 "\",\"size\":5}"

static const struct bad_doc bad_manifests[] = {
        { "", "empty document" },
        { "{", "invalid JSON at line 1" },
        { "{\"schemaVersion\":2,\n\"config\":x}", "invalid JSON at line 2" },
        { "[]", "must be a JSON object" },
        { "{\"config\":" CFGD ",\"layers\":[]}", "schemaVersion: missing required field" },
        { "{\"schemaVersion\":1,\"config\":" CFGD ",\"layers\":[]}", "schemaVersion: must be 2, not 1" },
        { "{\"schemaVersion\":\"2\",\"config\":" CFGD ",\"layers\":[]}", "schemaVersion: must be an integer" },
        { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"config\":" CFGD
          ",\"layers\":[]}",
          "mediaType: \"application/vnd.oci.image.index.v1+json\" is an index media type" },
        { "{\"schemaVersion\":2,\"mediaType\":\"text/plain\",\"config\":" CFGD ",\"layers\":[]}",
          "mediaType: \"text/plain\" is not an image manifest type" },
        { "{\"schemaVersion\":2,\"mediaType\":7,\"config\":" CFGD ",\"layers\":[]}", "mediaType: must be a string" },
        { "{\"schemaVersion\":2,\"layers\":[]}", "config: missing required field" },
        { "{\"schemaVersion\":2,\"config\":" CFGD "}", "layers: missing required field" },
        { "{\"schemaVersion\":2,\"config\":" CFGD ",\"layers\":{}}", "layers: must be an array" },
        { "{\"schemaVersion\":2,\"config\":[],\"layers\":[]}", "config: must be an object" },
        { "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"size\":1},\"layers\":[]}",
          "config.digest: missing required field" },
        { "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"digest\":\"sha256:abc\",\"size\":1},\"layers\":[]}",
          "config.digest: " },
        { "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"digest\":\"nocolon\",\"size\":1},\"layers\":[]}",
          "config.digest: " },
        { "{\"schemaVersion\":2,\"config\":{\"digest\":\"" DCFG "\",\"size\":1},\"layers\":[]}",
          "config.mediaType: missing required field" },
        { "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"bad type\",\"digest\":\"" DCFG "\",\"size\":1},\"layers\":[]}",
          "config.mediaType: invalid media type" },
        { "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"digest\":\"" DCFG "\"},\"layers\":[]}",
          "config.size: missing required field" },
        { "{\"schemaVersion\":2,\"config\":" CFGD ",\"layers\":[" LAYD ",{\"mediaType\":\"a/b\",\"digest\":\"" D1
          "\",\"size\":-1}]}",
          "layers[1].size: must not be negative" },
        { "{\"schemaVersion\":2,\"config\":" CFGD ",\"layers\":[{\"mediaType\":\"a/b\",\"digest\":\"" D1
          "\",\"size\":1.5}]}",
          "layers[0].size: must be an integer, not a number" },
        { "{\"schemaVersion\":2,\"config\":" CFGD ",\"layers\":[{\"mediaType\":\"a/b\",\"digest\":\"" D1
          "\",\"size\":99999999999999999999}]}",
          "invalid JSON" },
        { "{\"schemaVersion\":2,\"config\":" CFGD ",\"layers\":[{\"mediaType\":\"a/b\",\"digest\":\"" D1
          "\",\"size\":1,\"urls\":[1]}]}",
          "layers[0].urls[0]: must be a string" },
        { "{\"schemaVersion\":2,\"config\":" CFGD ",\"layers\":[{\"mediaType\":\"a/b\",\"digest\":\"" D1
          "\",\"size\":1,\"annotations\":{\"k\":1}}]}",
          "layers[0].annotations[\"k\"]: must be a string" },
        { "{\"schemaVersion\":2,\"config\":" CFGD ",\"layers\":[],\"annotations\":[]}", "annotations: must be an object" },
        { "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"digest\":\"" OCI_EMPTY_DIGEST
          "\",\"size\":2,\"data\":\"e30\"},\"layers\":[]}",
          "config.data: invalid base64" },
        { "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"digest\":\"" OCI_EMPTY_DIGEST
          "\",\"size\":2,\"data\":\"e3=0\"},\"layers\":[]}",
          "config.data: invalid base64" },
        { "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"digest\":\"" OCI_EMPTY_DIGEST
          "\",\"size\":2,\"data\":\"W10=\"},\"layers\":[]}",
          "config.data: content hashes to" },
        { "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"digest\":\"" OCI_EMPTY_DIGEST
          "\",\"size\":3,\"data\":\"e30=\"},\"layers\":[]}",
          "config.data: 2 bytes but size is 3" },
        { "{\"schemaVersion\":2,\"config\":" CFGD ",\"layers\":[],\"subject\":{\"mediaType\":\"a/b\"}}",
          "subject.digest: missing required field" },
        { "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"digest\":\"" DCFG
          "\",\"size\":1,\"platform\":{\"os\":\"linux\"}},\"layers\":[]}",
          "config.platform.architecture: missing required field" },
        { "{\"schemaVersion\":2,\"config\":" CFGD ",\"layers\":[],\"artifactType\":\"nope\"}",
          "artifactType: invalid media type" },
        /* Two readers must never see different values in the same bytes. */
        { "{\"schemaVersion\":2,\"schemaVersion\":2,\"config\":" CFGD ",\"layers\":[]}", "duplicate object key" },
        { "{\"schemaVersion\":2,\"config\":" CFGD ",\"layers\":[]}x", "invalid JSON" },
        { "{\"schemaVersion\":2,\"config\":" CFGD ",\"layers\":[],\"a\":\"\\u0000\"}", "invalid JSON" },
};

static void
manifest_invalid(void **state)
{
        for (size_t i = 0; i < sizeof(bad_manifests) / sizeof(bad_manifests[0]); i++) {
                struct oci_manifest *m = NULL;
                struct err *e = NULL;
                const char *j = bad_manifests[i].json;
                int r = oci_manifest_parse(j, strlen(j), &m, &e);

                if (r >= 0)
                        fail_msg("accepted: %s", j);
                assert_null(m);
                if (r != -ERR_MANIFEST_INVALID || !e || e->code != ERR_MANIFEST_INVALID)
                        fail_msg("%s: code %d", j, -r);
                if (!strstr(e->msg, bad_manifests[i].needle))
                        fail_msg("%s: message \"%s\" lacks \"%s\"", j, e->msg, bad_manifests[i].needle);
                if (strncmp(e->msg, "manifest", 8) != 0)
                        fail_msg("message \"%s\" does not start with \"manifest\"", e->msg);
                err_clear(&e);
        }
}

static void
limits_enforced(void **state)
{
        struct oci_manifest *m = NULL;
        struct oci_index *idx = NULL;
        struct err *e = NULL;
        char *big, *p;
        size_t cap = (size_t) LIMIT_MANIFEST_SIZE + 10;

        big = xmalloc(cap + 1);
        memset(big, ' ', cap);
        big[cap] = '\0';
        big[0] = '{';
        big[cap - 1] = '}';
        assert_int_equal(oci_manifest_parse(big, cap, &m, &e), -ERR_MANIFEST_INVALID);
        assert_non_null(strstr(e->msg, "too large"));
        err_clear(&e);
        free(big);

        /* One layer too many. */
        big = xmalloc((LIMIT_LAYERS + 2) * (strlen(LAYD) + 1) + 200);
        p = big + sprintf(big, "{\"schemaVersion\":2,\"config\":" CFGD ",\"layers\":[");
        for (int i = 0; i < LIMIT_LAYERS + 1; i++)
                p += sprintf(p, "%s" LAYD, i ? "," : "");
        sprintf(p, "]}");
        assert_int_equal(oci_manifest_parse(big, strlen(big), &m, &e), -ERR_MANIFEST_INVALID);
        assert_non_null(strstr(e->msg, "layers: too many entries (1025, at most 1024)"));
        err_clear(&e);
        free(big);

        big = xmalloc((LIMIT_INDEX_MANIFESTS + 2) * (strlen(LAYD) + 1) + 200);
        p = big + sprintf(big, "{\"schemaVersion\":2,\"manifests\":[");
        for (int i = 0; i < LIMIT_INDEX_MANIFESTS + 1; i++)
                p += sprintf(p, "%s" LAYD, i ? "," : "");
        sprintf(p, "]}");
        assert_int_equal(oci_index_parse(big, strlen(big), &idx, &e), -ERR_MANIFEST_INVALID);
        assert_non_null(strstr(e->msg, "manifests: too many entries"));
        err_clear(&e);
        free(big);
}

/* ---- indexes ---- */

static void
index_list(void **state)
{
        struct oci_index *idx = NULL, *again = NULL;
        struct oci_platform *want = NULL;
        struct oci_child *ch = NULL;
        struct err *e = NULL;
        size_t i = 99, n;
        char *out = NULL;

        assert_int_equal(oci_index_parse(LIST, strlen(LIST), &idx, &e), 0);
        assert_string_equal(oci_index_media_type(idx), DOCKER_MT_MANIFEST_LIST);
        assert_int_equal(idx->n_manifests, 5);
        assert_string_equal(idx->manifests[1].platform->variant, "v6");
        assert_string_equal(oci_descriptor_annotation(&idx->manifests[4], "vnd.docker.reference.type"),
                            "attestation-manifest");
        assert_memory_equal(idx->raw, LIST, strlen(LIST));

        n = oci_index_children(idx, &ch);
        assert_int_equal(n, 5);
        for (size_t k = 0; k < n; k++)
                assert_int_equal(ch[k].kind, OCI_CHILD_MANIFEST);
        free(ch);

        /* Platform selection. */
        assert_int_equal(oci_platform_parse("linux/amd64", &want, &e), 0);
        assert_int_equal(oci_index_select_platform(idx, want, &i, &e), 0);
        assert_int_equal(i, 0);
        oci_platform_free(want);
        assert_int_equal(oci_platform_parse("linux/arm64", &want, &e), 0); /* ≡ arm64/v8 */
        assert_int_equal(oci_index_select_platform(idx, want, &i, &e), 0);
        assert_int_equal(i, 3);
        oci_platform_free(want);
        assert_int_equal(oci_platform_parse("linux/arm", &want, &e), 0); /* ≡ arm/v7, not v6 */
        assert_int_equal(oci_index_select_platform(idx, want, &i, &e), 0);
        assert_int_equal(i, 2);
        oci_platform_free(want);
        assert_int_equal(oci_platform_parse("linux/arm/v6", &want, &e), 0);
        assert_int_equal(oci_index_select_platform(idx, want, &i, &e), 0);
        assert_int_equal(i, 1);
        oci_platform_free(want);
        assert_int_equal(oci_platform_parse("linux/s390x", &want, &e), 0);
        i = 77;
        assert_int_equal(oci_index_select_platform(idx, want, &i, &e), -ERR_MANIFEST_UNKNOWN);
        assert_int_equal(i, 77);
        assert_non_null(strstr(e->msg, "linux/s390x"));
        assert_non_null(strstr(e->msg, "linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8"));
        err_clear(&e);
        oci_platform_free(want);

        /* An arm/v7 host takes v6 when v7 is gone. */
        oci_index_remove(idx, 2);
        assert_int_equal(idx->n_manifests, 4);
        assert_int_equal(oci_platform_parse("linux/arm/v7", &want, &e), 0);
        assert_int_equal(oci_index_select_platform(idx, want, &i, &e), 0);
        assert_int_equal(i, 1);
        oci_platform_free(want);
        oci_index_remove(idx, 99); /* no-op */
        assert_int_equal(idx->n_manifests, 4);

        /* Unknown fields (top level and inside a platform) survive. */
        assert_int_equal(oci_index_serialize(idx, &out, &n, &e), 0);
        assert_non_null(strstr(out, "\"x-extra\":{\"a\":\"z\",\"b\":[1,2.5,null]}"));
        assert_non_null(strstr(out, "\"variant\":\"v8\",\"x-future\":1}"));
        assert_null(strstr(out, D3));
        assert_int_equal(oci_index_parse(out, n, &again, &e), 0);
        assert_int_equal(again->n_manifests, 4);
        oci_index_free(again);
        free(out);
        oci_index_free(idx);
        assert_null(e);
}

static void
index_build(void **state)
{
        struct oci_index *idx = oci_index_new(OCI_MT_INDEX);
        struct oci_descriptor d;
        struct err *e = NULL;
        char *out;
        size_t n;

        oci_descriptor_init(&d, OCI_MT_MANIFEST, D1, 42);
        d.platform = oci_platform_new("linux", "arm64", "v8");
        oci_descriptor_set_annotation(&d, OCI_ANNOTATION_REF_NAME, "1.0");
        oci_index_add(idx, &d);
        oci_descriptor_set_annotation(&d, OCI_ANNOTATION_REF_NAME, NULL);
        assert_null(oci_descriptor_annotation(&d, OCI_ANNOTATION_REF_NAME));
        oci_descriptor_clear(&d);
        oci_descriptor_clear(NULL);
        assert_int_equal(oci_index_serialize(idx, &out, &n, &e), 0);
        assert_string_equal(out, "{\"manifests\":[{\"annotations\":{\"org.opencontainers.image.ref.name\":\"1.0\"},"
                                 "\"digest\":\"" D1 "\",\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                                 "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"},\"size\":42}],"
                                 "\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"schemaVersion\":2}");
        free(out);

        /* Serialising refuses an invalid model too. */
        free(idx->manifests[0].digest);
        idx->manifests[0].digest = xstrdup("sha256:short");
        assert_int_equal(oci_index_serialize(idx, &out, &n, &e), -ERR_MANIFEST_INVALID);
        assert_non_null(strstr(e->msg, "manifests[0].digest"));
        err_clear(&e);
        oci_index_free(idx);
        oci_index_free(NULL);
}

static void
index_invalid(void **state)
{
        static const struct bad_doc bad[] = {
                { "{\"schemaVersion\":2}", "manifests: missing required field" },
                { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
                  "\"manifests\":[]}",
                  "is an image manifest media type, not an index's" },
                { "{\"schemaVersion\":2,\"manifests\":[" LAYD ",{\"mediaType\":\"a/b\",\"size\":1}]}",
                  "manifests[1].digest: missing" },
                { "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"a/b\",\"digest\":\"" D1
                  "\",\"size\":1,\"platform\":\"linux/amd64\"}]}",
                  "manifests[0].platform: must be an object" },
                { "{\"schemaVersion\":3,\"manifests\":[]}", "schemaVersion: must be 2" },
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct oci_index *idx = NULL;
                struct err *e = NULL;

                if (oci_index_parse(bad[i].json, strlen(bad[i].json), &idx, &e) != -ERR_MANIFEST_INVALID)
                        fail_msg("accepted: %s", bad[i].json);
                assert_null(idx);
                if (!strstr(e->msg, bad[i].needle) || strncmp(e->msg, "index: ", 7) != 0)
                        fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].json, e->msg, bad[i].needle);
                err_clear(&e);
        }
}

/* ---- documents ---- */

static void
documents(void **state)
{
        static const char bare_manifest[] = "{\"schemaVersion\":2,\"config\":" CFGD ",\"layers\":[" LAYD "]}";
        static const char bare_index[] = "{\"schemaVersion\":2,\"manifests\":[]}";
        static const char schema1[] = "{\"schemaVersion\":1,\"name\":\"x\",\"tag\":\"y\",\"fsLayers\":[]}";
        static const char schema1s[] = "{\"schemaVersion\":1,\"signatures\":[]}";
        struct oci_document doc = { 0 };
        struct oci_child *ch;
        struct err *e = NULL;

        assert_string_equal(oci_detect_media_type(MANIFEST, strlen(MANIFEST)), OCI_MT_MANIFEST);
        assert_string_equal(oci_detect_media_type(LIST, strlen(LIST)), DOCKER_MT_MANIFEST_LIST);
        assert_string_equal(oci_detect_media_type(bare_manifest, strlen(bare_manifest)), OCI_MT_MANIFEST);
        assert_string_equal(oci_detect_media_type(bare_index, strlen(bare_index)), OCI_MT_INDEX);
        assert_string_equal(oci_detect_media_type(schema1, strlen(schema1)), DOCKER_MT_MANIFEST_V1);
        assert_string_equal(oci_detect_media_type(schema1s, strlen(schema1s)), DOCKER_MT_MANIFEST_V1_SIGNED);
        assert_null(oci_detect_media_type("nope", 4));
        assert_null(oci_detect_media_type("{}", 2));
        assert_null(oci_detect_media_type("{\"mediaType\":\"text/plain\"}", 26));

        /* No Content-Type: detected from the body. */
        assert_int_equal(oci_document_parse(LIST, strlen(LIST), NULL, &doc, &e), 0);
        assert_string_equal(doc.media_type, DOCKER_MT_MANIFEST_LIST);
        assert_non_null(doc.index);
        assert_null(doc.manifest);
        assert_int_equal(oci_document_children(&doc, &ch), 5);
        free(ch);
        oci_document_clear(&doc);
        assert_null(doc.index);

        /* Content-Type with parameters, body without mediaType. */
        assert_int_equal(oci_document_parse(bare_manifest, strlen(bare_manifest),
                                            "application/vnd.oci.image.manifest.v1+json; charset=utf-8", &doc, &e),
                         0);
        assert_string_equal(doc.media_type, OCI_MT_MANIFEST);
        assert_non_null(doc.manifest);
        assert_memory_equal(doc.manifest->raw, bare_manifest, strlen(bare_manifest));
        assert_int_equal(oci_document_children(&doc, &ch), 2);
        assert_int_equal(ch[1].kind, OCI_CHILD_LAYER);
        free(ch);
        oci_document_clear(&doc);

        /* A body without mediaType sent as a Docker manifest is one. */
        assert_int_equal(oci_document_parse(bare_manifest, strlen(bare_manifest), DOCKER_MT_MANIFEST, &doc, &e), 0);
        assert_string_equal(doc.media_type, DOCKER_MT_MANIFEST);
        oci_document_clear(&doc);

        /* Unknown Content-Type (application/json): detected. */
        assert_int_equal(oci_document_parse(bare_index, strlen(bare_index), "application/json", &doc, &e), 0);
        assert_string_equal(doc.media_type, OCI_MT_INDEX);
        oci_document_clear(&doc);

        /* Mismatches and refusals. */
        assert_int_equal(oci_document_parse(MANIFEST, strlen(MANIFEST), OCI_MT_INDEX, &doc, &e), -ERR_MANIFEST_INVALID);
        assert_non_null(strstr(e->msg, "does not match Content-Type"));
        err_clear(&e);
        assert_int_equal(oci_document_parse(bare_manifest, strlen(bare_manifest), OCI_MT_INDEX, &doc, &e),
                         -ERR_MANIFEST_INVALID);
        assert_non_null(strstr(e->msg, "manifests: missing required field"));
        err_clear(&e);
        assert_int_equal(oci_document_parse(schema1, strlen(schema1), NULL, &doc, &e), -ERR_UNSUPPORTED);
        assert_non_null(strstr(e->msg, "schema 1"));
        err_clear(&e);
        assert_int_equal(oci_document_parse(schema1, strlen(schema1), DOCKER_MT_MANIFEST_V1_SIGNED, &doc, &e),
                         -ERR_UNSUPPORTED);
        err_clear(&e);
        assert_int_equal(oci_document_parse("{\"schemaVersion\":2}", 19, NULL, &doc, &e), -ERR_MANIFEST_INVALID);
        assert_non_null(strstr(e->msg, "not an image manifest or index"));
        err_clear(&e);
        assert_int_equal(oci_document_parse("{\"mediaType\":\"x/y\"}", 19, NULL, &doc, &e), -ERR_MANIFEST_INVALID);
        assert_non_null(strstr(e->msg, "unknown manifest type \"x/y\""));
        err_clear(&e);
        assert_int_equal(oci_document_parse("[1]", 3, NULL, &doc, &e), -ERR_MANIFEST_INVALID);
        err_clear(&e);
        assert_null(doc.manifest);
        assert_null(doc.index);
        oci_document_clear(NULL);
}

/* ---- image configs ---- */

static void
config_example(void **state)
{
        struct oci_image_config *c = NULL, *c2 = NULL, *dup;
        struct oci_platform *p;
        struct err *e = NULL;
        char *out, *out2, *out3;
        size_t n, n2, n3;

        assert_int_equal(oci_image_config_parse(CONFIG, strlen(CONFIG), &c, &e), 0);
        assert_string_equal(c->architecture, "amd64");
        assert_string_equal(c->os, "linux");
        assert_string_equal(c->created, "2015-10-31T22:22:56.015925234Z");
        assert_string_equal(c->author, "Alyssa P. Hacker <alyspdev@example.com>");
        assert_true(c->has_config);
        assert_string_equal(c->config.user, "alice");
        assert_int_equal(oci_strv_len(c->config.exposed_ports), 2);
        assert_string_equal(c->config.exposed_ports[0], "8080/tcp");
        assert_string_equal(c->config.exposed_ports[1], "53/udp");
        assert_int_equal(oci_strv_len(c->config.env), 3);
        assert_string_equal(oci_image_config_getenv(c, "FOO"), "oci_is_a");
        assert_null(oci_image_config_getenv(c, "FO"));
        assert_string_equal(c->config.entrypoint[0], "/bin/my-app-binary");
        assert_int_equal(oci_strv_len(c->config.cmd), 3);
        assert_int_equal(oci_strv_len(c->config.volumes), 2);
        assert_string_equal(c->config.working_dir, "/home/alice");
        assert_string_equal(oci_map_get(c->config.labels, "com.example.project.git.commit"),
                            "45a939b2999782a3f005621a8d0f29aa387e1d6b");
        assert_string_equal(c->config.stop_signal, "SIGTERM");
        assert_non_null(c->config.healthcheck);
        assert_string_equal(c->config.healthcheck->test[0], "CMD-SHELL");
        assert_int_equal(c->config.healthcheck->interval, 30000000000LL);
        assert_int_equal(c->config.healthcheck->timeout, 3000000000LL);
        assert_int_equal(c->config.healthcheck->start_period, 5000000000LL);
        assert_int_equal(c->config.healthcheck->start_interval, 1000000000LL);
        assert_int_equal(c->config.healthcheck->retries, 3);
        assert_string_equal(c->config.shell[1], "-c");
        assert_string_equal(c->config.on_build[0], "RUN echo hi");
        assert_true(c->config.args_escaped);
        assert_string_equal(c->rootfs_type, "layers");
        assert_int_equal(oci_strv_len(c->diff_ids), 2);
        assert_int_equal(c->n_history, 2);
        assert_false(c->history[0].empty_layer);
        assert_true(c->history[1].empty_layer);
        assert_string_equal(c->history[1].created_by, "/bin/sh -c #(nop) CMD [\"sh\"]");
        assert_string_equal(c->history[1].comment, "buildkit.dockerfile.v0");
        /* Docker-only fields are kept. */
        assert_string_equal(json_string_value(json_object_get(c->extra, "docker_version")), "24.0.7");
        assert_non_null(json_object_get(c->config.extra, "Hostname"));
        assert_memory_equal(c->raw, CONFIG, strlen(CONFIG));

        p = oci_image_config_platform(c);
        assert_string_equal(p->architecture, "amd64");
        oci_platform_free(p);

        /* Round trip: parse(serialise(x)) serialises to the same bytes, and
         * keeps everything (ports order, unknown fields, healthcheck). */
        assert_int_equal(oci_image_config_serialize(c, &out, &n, &e), 0);
        assert_non_null(strstr(out, "\"docker_version\":\"24.0.7\""));
        assert_non_null(strstr(out, "\"Hostname\":\"\""));
        assert_non_null(strstr(out, "\"ExposedPorts\":{\"53/udp\":{},\"8080/tcp\":{}}"));
        assert_non_null(strstr(out, "\"Healthcheck\":{\"Interval\":30000000000,\"Retries\":3,\"StartInterval\":"
                                    "1000000000,\"StartPeriod\":5000000000,\"Test\":[\"CMD-SHELL\",\"curl -f "
                                    "http://localhost/ || exit 1\"],\"Timeout\":3000000000}"));
        assert_non_null(strstr(out, "\"ArgsEscaped\":true"));
        assert_non_null(strstr(out, "\"empty_layer\":true"));
        assert_int_equal(oci_image_config_parse(out, n, &c2, &e), 0);
        assert_int_equal(oci_image_config_serialize(c2, &out2, &n2, &e), 0);
        assert_string_equal(out, out2);

        /* A deep copy serialises the same, and outlives the original. */
        dup = oci_image_config_dup(c);
        oci_image_config_free(c);
        assert_null(dup->raw);
        assert_int_equal(oci_image_config_serialize(dup, &out3, &n3, &e), 0);
        assert_string_equal(out, out3);
        oci_image_config_free(dup);
        free(out);
        free(out2);
        free(out3);
        oci_image_config_free(c2);
        oci_image_config_free(NULL);
        assert_null(e);
}

static void
config_build(void **state)
{
        struct oci_image_config *c = oci_image_config_new("linux", "arm64", NULL);
        struct oci_history h = { 0 };
        struct err *e = NULL;
        char *out;
        size_t n;

        assert_int_equal(oci_image_config_serialize(c, &out, &n, &e), 0);
        assert_string_equal(out, "{\"architecture\":\"arm64\",\"os\":\"linux\",\"rootfs\":{\"diff_ids\":[],\"type\":\"layers\"}}");
        free(out);

        oci_image_config_setenv(c, "PATH", "/bin");
        oci_image_config_setenv(c, "A", "1");
        oci_image_config_setenv(c, "PATH", "/usr/bin:/bin");
        assert_string_equal(c->config.env[0], "PATH=/usr/bin:/bin");
        assert_string_equal(c->config.env[1], "A=1");
        oci_image_config_setenv(c, "PATH", NULL);
        assert_int_equal(oci_strv_len(c->config.env), 1);
        assert_string_equal(oci_image_config_getenv(c, "A"), "1");
        oci_image_config_setenv(c, "NOPE", NULL);
        /* ENTRYPOINT [] is an empty array, not absent. */
        c->config.entrypoint = oci_strv_new_empty();
        oci_image_config_add_diff_id(c, "sha256:" "c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1");
        h.created_by = "RUN true";
        h.empty_layer = true;
        oci_image_config_add_history(c, &h);
        c->created = xstrdup("2024-01-01T00:00:00Z");
        assert_int_equal(oci_image_config_serialize(c, &out, &n, &e), 0);
        assert_string_equal(out, "{\"architecture\":\"arm64\",\"config\":{\"Entrypoint\":[],\"Env\":[\"A=1\"]},"
                                 "\"created\":\"2024-01-01T00:00:00Z\",\"history\":[{\"created_by\":\"RUN true\","
                                 "\"empty_layer\":true}],\"os\":\"linux\",\"rootfs\":{\"diff_ids\":[\"sha256:"
                                 "c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1\"],\"type\":"
                                 "\"layers\"}}");
        free(out);

        /* Labels with bytes that are not UTF-8 still give valid JSON. */
        oci_map_set(&c->config.labels, "k", "caf\xe9");
        assert_string_equal(oci_map_get(c->config.labels, "k"), "caf\xef\xbf\xbd");
        oci_map_set(&c->config.labels, "\xff", "v");
        assert_string_equal(oci_map_get(c->config.labels, "\xef\xbf\xbd"), "v");
        c->config.volumes = oci_strv_append(NULL, "/d\xe9");
        assert_int_equal(oci_image_config_serialize(c, &out, &n, &e), 0);
        assert_non_null(strstr(out, "\"Volumes\":{\"/d\xef\xbf\xbd\":{}}"));
        free(out);

        /* A diff ID that is not a digest is refused on the way out. */
        oci_image_config_add_diff_id(c, "sha256:nothex");
        assert_int_equal(oci_image_config_serialize(c, &out, &n, &e), -ERR_MANIFEST_INVALID);
        assert_non_null(strstr(e->msg, "rootfs.diff_ids[1]"));
        err_clear(&e);
        oci_image_config_free(c);
}

static void
config_invalid(void **state)
{
        static const struct bad_doc bad[] = {
                { "{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", "architecture: missing" },
                { "{\"architecture\":\"amd64\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", "os: missing" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\"}", "rootfs: missing required field" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"}}",
                  "rootfs.diff_ids: missing" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"dirs\",\"diff_ids\":[]}}",
                  "rootfs.type: must be \"layers\"" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"x\"]}}",
                  "rootfs.diff_ids[0]" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":\"A=1\"},\"rootfs\":{\"type\":"
                  "\"layers\",\"diff_ids\":[]}}",
                  "config.Env: must be an array of strings" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"a\",1]},\"rootfs\":{\"type\":"
                  "\"layers\",\"diff_ids\":[]}}",
                  "config.Cmd[1]: must be a string" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"ExposedPorts\":[\"80\"]},\"rootfs\":{"
                  "\"type\":\"layers\",\"diff_ids\":[]}}",
                  "config.ExposedPorts: must be an object" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Healthcheck\":{\"Retries\":-1}},"
                  "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
                  "config.Healthcheck: durations and Retries must not be negative" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"ArgsEscaped\":1},\"rootfs\":{\"type\":"
                  "\"layers\",\"diff_ids\":[]}}",
                  "config.ArgsEscaped: must be a boolean" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},"
                  "\"history\":[{\"empty_layer\":\"yes\"}]}",
                  "history[0].empty_layer: must be a boolean" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},"
                  "\"history\":{}}",
                  "history: must be an array" },
                { "[1]", "must be a JSON object" },
                { "\"config\"", "invalid JSON at line 1 column" },
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct oci_image_config *c = NULL;
                struct err *e = NULL;

                if (oci_image_config_parse(bad[i].json, strlen(bad[i].json), &c, &e) != -ERR_MANIFEST_INVALID)
                        fail_msg("accepted: %s", bad[i].json);
                assert_null(c);
                if (!strstr(e->msg, bad[i].needle) || strncmp(e->msg, "image config: ", 14) != 0)
                        fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].json, e->msg, bad[i].needle);
                err_clear(&e);
        }
        /* Nulls where Docker writes them are fine. */
        {
                static const char ok[] = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":null,"
                                         "\"Cmd\":null,\"Entrypoint\":null,\"Labels\":null,\"Volumes\":null},"
                                         "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"history\":null}";
                struct oci_image_config *c = NULL;
                struct err *e = NULL;

                assert_int_equal(oci_image_config_parse(ok, strlen(ok), &c, &e), 0);
                assert_null(c->config.env);
                assert_null(c->config.entrypoint);
                oci_image_config_free(c);
        }
}

static void
strv_and_maps(void **state)
{
        const char *src[] = { "a", "b" };
        char **v = oci_strv_from(src, 2), **w;
        json_t *m = NULL;

        assert_int_equal(oci_strv_len(v), 2);
        assert_int_equal(oci_strv_len(NULL), 0);
        w = oci_strv_dup(v);
        assert_true(oci_strv_equal(v, w));
        w = oci_strv_append(w, "c");
        assert_false(oci_strv_equal(v, w));
        assert_true(oci_strv_contains(w, "c"));
        assert_false(oci_strv_contains(v, "c"));
        assert_true(oci_strv_equal(NULL, NULL));
        assert_false(oci_strv_equal(v, NULL));
        assert_null(oci_strv_dup(NULL));
        oci_strv_free(v);
        oci_strv_free(w);
        oci_strv_free(NULL);

        assert_null(oci_map_get(NULL, "k"));
        oci_map_set(&m, "k", NULL);
        assert_null(m);
        oci_map_set(&m, "k", "v");
        assert_string_equal(oci_map_get(m, "k"), "v");
        oci_map_set(&m, "k", NULL);
        assert_null(oci_map_get(m, "k"));
        json_decref(m);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(mediatypes),     cmocka_unit_test(manifest_example),
                cmocka_unit_test(manifest_build_deterministic), cmocka_unit_test(unknown_fields_kept),
                cmocka_unit_test(manifest_invalid), cmocka_unit_test(limits_enforced),
                cmocka_unit_test(index_list),     cmocka_unit_test(index_build),
                cmocka_unit_test(index_invalid),  cmocka_unit_test(documents),
                cmocka_unit_test(config_example), cmocka_unit_test(config_build),
                cmocka_unit_test(config_invalid), cmocka_unit_test(strv_and_maps),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
