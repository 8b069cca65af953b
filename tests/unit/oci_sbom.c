/* oci/sbom: the package database parsers, os-release, licences, purls
 * and the SPDX writer. */
#include "tests/unit/test.h"

#include <errno.h>
#include <stdlib.h>

#include <jansson.h>

#include "oci/sbom.h"

#define DG "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char status[] = "Package: libcurl4\n"
                             "Status: install ok installed\n"
                             "Maintainer: Alessandro Ghedini <ghedo@debian.org>\n"
                             "Architecture: amd64\n"
                             "Source: curl\n"
                             "Version: 7.88.1-10+deb12u5\n"
                             "Description: easy-to-use client-side URL transfer library\n"
                             " libcurl is an easy-to-use client-side URL transfer library.\n"
                             "Homepage: https://curl.se/\n"
                             "\n"
                             "Package: login\r\n"
                             "Status: install ok installed\r\n"
                             "Architecture: amd64\r\n"
                             "Source: shadow (1:4.13+dfsg1-1)\r\n"
                             "Version: 1:4.13+dfsg1-1+b1\r\n"
                             "\n"
                             "Package: gone\n"
                             "Status: deinstall ok config-files\n"
                             "Version: 1.0\n"
                             "\n\n"
                             "Package: Bad Name\n"
                             "Version: 1\n"
                             "\n"
                             "Version: 2.0\n"
                             "\n"
                             "Package: tzdata\n"
                             "Version: 2024a-0+deb12u1\n"
                             "Architecture: all";

static void
dpkg(void **state)
{
        struct oci_sbom_pkgs pkgs = {0};

        (void) state;
        assert_ok(oci_sbom_dpkg_parse(status, strlen(status), "status", &pkgs, err));
        assert_int_equal(pkgs.n, 3);
        assert_int_equal(pkgs.skipped, 2); /* "Bad Name", and the paragraph without Package */
        assert_string_equal(pkgs.v[0].name, "libcurl4");
        assert_string_equal(pkgs.v[0].version, "7.88.1-10+deb12u5");
        assert_string_equal(pkgs.v[0].arch, "amd64");
        assert_string_equal(pkgs.v[0].source, "curl");
        assert_null(pkgs.v[0].source_version);
        assert_string_equal(pkgs.v[0].supplier, "Alessandro Ghedini <ghedo@debian.org>");
        assert_string_equal(pkgs.v[0].homepage, "https://curl.se/");
        assert_string_equal(pkgs.v[1].name, "login");
        assert_string_equal(pkgs.v[1].version, "1:4.13+dfsg1-1+b1");
        assert_string_equal(pkgs.v[1].source, "shadow");
        assert_string_equal(pkgs.v[1].source_version, "1:4.13+dfsg1-1");
        /* No Status (distroless status.d/): installed; no final newline. */
        assert_string_equal(pkgs.v[2].name, "tzdata");
        assert_string_equal(pkgs.v[2].arch, "all");
        oci_sbom_pkgs_clear(&pkgs);

        assert_fails(oci_sbom_dpkg_parse("Package: a\0", 11, "/var/lib/dpkg/status", &pkgs, err), EINVAL,
                     "/var/lib/dpkg/status", "NUL byte at offset 10");
        assert_fails(oci_sbom_dpkg_parse(status, OCI_SBOM_DB_MAX + 1, "big", &pkgs, err), EINVAL, "big",
                     "at most");
        oci_sbom_pkgs_clear(&pkgs);
}

static void
dpkg_cap(void **state)
{
        struct oci_sbom_pkgs pkgs = {0};
        size_t n = OCI_SBOM_PACKAGES_MAX + 1, len = 0;
        char *buf = malloc(n * 40 + 1);

        (void) state;
        for (size_t i = 0; i < n; i++)
                len += (size_t) sprintf(buf + len, "Package: p%zu\nVersion: 1\n\n", i);
        assert_fails(oci_sbom_dpkg_parse(buf, len, "status", &pkgs, err), E2BIG, "status", "more than 200000");
        oci_sbom_pkgs_clear(&pkgs);
        free(buf);
}

static void
copyright(void **state)
{
        static const char dep5[] = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
                                   "Upstream-Name: curl\n\n"
                                   "Files: *\nCopyright: 1996, Daniel\nLicense: curl\n\n"
                                   "Files: debian/*\nLicense: curl or MIT, GPL-2+\n\n"
                                   "License: curl\n All rights reserved.\n License: not-a-field\n";
        static const char old[] = "This is the Debian prepackaged version of foo.\nLicense: GPL\n";
        char *s = NULL;

        (void) state;
        assert_ok(oci_sbom_dpkg_copyright_licenses(dep5, strlen(dep5), &s, err));
        assert_string_equal(s, "curl AND MIT AND GPL-2+");
        free(s);
        assert_ok(oci_sbom_dpkg_copyright_licenses(old, strlen(old), &s, err));
        assert_null(s);
}

static void
apk(void **state)
{
        static const char db[] = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:383152\nI:622592\n"
                                 "T:the musl c library (libc) implementation\nU:https://musl.libc.org/\n"
                                 "L:MIT\no:musl\nm:Timo Teräs <timo.teras@iki.fi>\nF:lib\nR:libc.musl-x86_64.so.1\n"
                                 "\n"
                                 "P:busybox-binsh\nV:1.36.1-r5\nA:x86_64\nL:GPL-2.0-only\no:busybox\n"
                                 "\n"
                                 "P:bad/name\nV:1\n\n"
                                 "P:ssl_client\nV:1.36.1-r5\nL:GPL-2.0-only MIT\n";
        struct oci_sbom_pkgs pkgs = {0};

        (void) state;
        assert_ok(oci_sbom_apk_parse(db, strlen(db), "installed", &pkgs, err));
        assert_int_equal(pkgs.n, 3);
        assert_int_equal(pkgs.skipped, 1);
        assert_string_equal(pkgs.v[0].name, "musl");
        assert_string_equal(pkgs.v[0].version, "1.2.4-r2");
        assert_string_equal(pkgs.v[0].arch, "x86_64");
        assert_string_equal(pkgs.v[0].license, "MIT");
        assert_string_equal(pkgs.v[0].source, "musl");
        assert_string_equal(pkgs.v[0].supplier, "Timo Teräs <timo.teras@iki.fi>");
        assert_string_equal(pkgs.v[1].source, "busybox");
        assert_string_equal(pkgs.v[2].name, "ssl_client");
        oci_sbom_pkgs_clear(&pkgs);
}

static void
os_release(void **state)
{
        static const char txt[] = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME='Debian GNU/Linux'\n"
                                  "# comment\nVERSION_ID=\"12\"\nID=debian\n";
        static const char evil[] = "ID=\"debian/../x\"\nVERSION_ID=3.19.1\n";
        struct oci_sbom_os os = {0};

        (void) state;
        assert_ok(oci_sbom_os_release_parse(txt, strlen(txt), &os, err));
        assert_string_equal(os.id, "debian");
        assert_string_equal(os.version_id, "12");
        assert_string_equal(os.name, "Debian GNU/Linux");
        assert_string_equal(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
        oci_sbom_os_clear(&os);
        /* What goes into purls keeps to [A-Za-z0-9._-]. */
        assert_ok(oci_sbom_os_release_parse(evil, strlen(evil), &os, err));
        assert_null(os.id);
        assert_string_equal(os.version_id, "3.19.1");
        oci_sbom_os_clear(&os);
}

static void
purls_and_licenses(void **state)
{
        struct oci_sbom_os deb = {.id = "debian", .version_id = "12"};
        struct oci_sbom_pkg p = {.type = OCI_SBOM_DEB, .name = "curl", .version = "7.88.1-10", .arch = "amd64"};
        struct oci_sbom_pkg l = {.type = OCI_SBOM_DEB,
                                 .name = "login",
                                 .version = "1:4.13+dfsg1-1+b1",
                                 .source = "shadow",
                                 .source_version = "1:4.13+dfsg1-1"};
        struct oci_sbom_pkg a = {.type = OCI_SBOM_APK, .name = "musl", .version = "1.2.4-r2", .arch = "x86_64"};
        static const struct {
                const char *in, *out;
        } lic[] = {
            {"MIT", "MIT"},
            {"GPL-2.0-only MIT", "GPL-2.0-only AND MIT"},
            {"(MIT or Apache-2.0) AND BSD-3-Clause", "( MIT OR Apache-2.0 ) AND BSD-3-Clause"},
            {"GPL-2+", "GPL-2.0-or-later"},
            {"GPL-2.0+", "GPL-2.0+"},
            {"custom:Nonfree", "LicenseRef-custom-Nonfree"},
            {"AND MIT", "LicenseRef-AND-MIT"},
            {"(MIT", "LicenseRef--MIT"},
        };
        char *s;

        (void) state;
        s = oci_sbom_purl(&p, &deb);
        assert_string_equal(s, "pkg:deb/debian/curl@7.88.1-10?arch=amd64&distro=debian-12");
        free(s);
        s = oci_sbom_purl(&l, NULL);
        assert_string_equal(s, "pkg:deb/debian/login@1%3A4.13%2Bdfsg1-1%2Bb1?upstream=shadow%401%3A4.13%2Bdfsg1-1");
        free(s);
        s = oci_sbom_purl(&a, NULL);
        assert_string_equal(s, "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64");
        free(s);
        for (size_t i = 0; i < sizeof(lic) / sizeof(lic[0]); i++) {
                s = oci_sbom_license_expr(lic[i].in);
                if (strcmp(s, lic[i].out) != 0)
                        fail_msg("licence '%s': '%s', want '%s'", lic[i].in, s, lic[i].out);
                free(s);
        }
        assert_null(oci_sbom_license_expr("  "));
}

static void
times(void **state)
{
        char buf[21];

        (void) state;
        assert_true(oci_sbom_time_normalize("2024-03-01T12:00:00.123456789Z", buf));
        assert_string_equal(buf, "2024-03-01T12:00:00Z");
        assert_true(oci_sbom_time_normalize("2024-03-01T01:30:00+02:00", buf));
        assert_string_equal(buf, "2024-02-29T23:30:00Z");
        assert_false(oci_sbom_time_normalize("yesterday", buf));
        assert_false(oci_sbom_time_normalize("2024-03-01T12:00:00", buf));
        assert_false(oci_sbom_time_normalize("0001-01-01T00:00:00Z", buf));
}

static void
spdx(void **state)
{
        struct oci_sbom_pkgs pkgs = {0};
        struct oci_sbom_os os = {.id = "debian", .version_id = "12", .pretty_name = "Debian GNU/Linux 12"};
        struct oci_sbom_image img = {.name = "localhost/app:1",
                                     .digest = DG,
                                     .arch = "amd64",
                                     .base_name = "docker.io/library/debian:12",
                                     .base_digest = DG,
                                     .created = "2024-01-02T03:04:05Z",
                                     .os = &os};
        static const char apkdb[] = "P:x\nV:1\nL:custom:Nonfree\n";
        char *json = NULL, *again = NULL;
        size_t len = 0, len2 = 0;
        json_t *j, *pk;
        json_error_t je;

        (void) state;
        /* Twice the same packages, given in another order: one of each, sorted. */
        assert_ok(oci_sbom_dpkg_parse(status, strlen(status), "status", &pkgs, err));
        assert_ok(oci_sbom_apk_parse(apkdb, strlen(apkdb), "installed", &pkgs, err));
        assert_ok(oci_sbom_dpkg_parse(status, strlen(status), "status.d/x", &pkgs, err));
        assert_ok(oci_sbom_spdx_write(&img, &pkgs, &json, &len, err));
        assert_int_equal(pkgs.n, 4);
        j = json_loads(json, 0, &je);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "spdxVersion")), "SPDX-2.3");
        assert_string_equal(json_string_value(json_object_get(j, "dataLicense")), "CC0-1.0");
        assert_string_equal(json_string_value(json_object_get(j, "documentNamespace")),
                            "https://spdx.org/spdxdocs/ibuild-image-sha256-"
                            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(j, "creationInfo"), "created")),
            "2024-01-02T03:04:05Z");
        pk = json_object_get(j, "packages");
        /* image, OS, 3 deb, 1 apk, base */
        assert_int_equal(json_array_size(pk), 7);
        assert_string_equal(json_string_value(json_object_get(json_array_get(pk, 0), "SPDXID")), "SPDXRef-Image");
        assert_string_equal(json_string_value(json_object_get(json_array_get(pk, 2), "name")), "libcurl4");
        assert_string_equal(json_string_value(json_object_get(json_array_get(pk, 4), "name")), "tzdata");
        assert_string_equal(json_string_value(json_object_get(json_array_get(pk, 5), "name")), "x");
        assert_string_equal(json_string_value(json_object_get(json_array_get(pk, 5), "licenseDeclared")),
                            "LicenseRef-custom-Nonfree");
        assert_string_equal(json_string_value(json_object_get(json_array_get(pk, 6), "SPDXID")),
                            "SPDXRef-BaseImage");
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(json_array_get(pk, 2), "externalRefs"), 0),
                                "referenceLocator")),
                            "pkg:deb/debian/libcurl4@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12&upstream=curl");
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(j, "hasExtractedLicensingInfos"), 0), "licenseId")),
                            "LicenseRef-custom-Nonfree");
        /* DESCRIBES, CONTAINS the OS and 4 packages, DESCENDANT_OF. */
        assert_int_equal(json_array_size(json_object_get(j, "relationships")), 7);
        json_decref(j);
        /* The same input, the same bytes. */
        assert_ok(oci_sbom_spdx_write(&img, &pkgs, &again, &len2, err));
        assert_int_equal(len, len2);
        assert_memory_equal(json, again, len);
        free(again);
        free(json);
        img.digest = "sha256:nothex";
        assert_fails(oci_sbom_spdx_write(&img, &pkgs, &json, &len, err), ERR_DIGEST_INVALID, "sha256:nothex", NULL);
        oci_sbom_pkgs_clear(&pkgs);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(dpkg),       cmocka_unit_test(dpkg_cap), cmocka_unit_test(copyright),
            cmocka_unit_test(apk),        cmocka_unit_test(os_release), cmocka_unit_test(purls_and_licenses),
            cmocka_unit_test(times),      cmocka_unit_test(spdx),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
