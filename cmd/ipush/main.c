/* ipush: local store or OCI layout → registry or OCI layout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/common/cli.h"
#include "cmd/common/regcli.h"
#include "common/cleanup.h"
#include "oci/signature.h"
#include "registry/client/client.h"

static int
run(struct regcli *o, struct err **err)
{
        _cleanup_reg_client_ struct reg_client *c = NULL;
        _cleanup_oci_layout_ struct oci_layout *in = NULL;
        _cleanup_oci_store_ struct oci_store *store = NULL;
        struct oci_layout *src_layout;
        _cleanup_(oci_sig_key_freep) struct oci_sig_key *key = NULL;
        struct oci_descriptor desc = {0};
        const char *src = o->args[0], *dest = o->args[1];
        int r;

        if (oci_layout_is_ref(src)) {
                _cleanup_free_ char *dir = NULL, *name = NULL;
                r = oci_layout_parse_ref(src, &dir, &name, err);
                if (r >= 0)
                        r = oci_layout_open(dir, &in, err);
                if (r >= 0)
                        r = oci_layout_select(in, name, &desc, err);
                src_layout = in;
        } else {
                /* Held shared until the push ends: an image untagged
                 * meanwhile keeps its blobs until then (oci/store.h). */
                r = oci_store_open(o->store, &store, err);
                if (r >= 0)
                        r = cli_store_hold("ipush", store, false, false, err);
                if (r >= 0)
                        r = oci_store_resolve(store, src, &desc, NULL, err);
                src_layout = store ? oci_store_layout(store) : NULL;
        }
        if (r < 0)
                return r;

        if (oci_layout_is_ref(dest)) {
                _cleanup_free_ char *dir = NULL, *name = NULL;
                if (o->sign_key) {
                        oci_descriptor_clear(&desc);
                        return err_set(err, EINVAL, "--sign-key: signatures go to a registry, not to %s", dest);
                }
                _cleanup_oci_layout_ struct oci_layout *out = NULL;
                r = oci_layout_parse_ref(dest, &dir, &name, err);
                if (r >= 0)
                        r = oci_layout_create(dir, &out, err);
                if (r >= 0)
                        r = reg_layout_copy(src_layout, &desc, out, err);
                if (r >= 0)
                        r = oci_layout_tag(out, name, &desc, err);
                if (r >= 0)
                        printf("%s@%s\n", dest, desc.digest);
                oci_descriptor_clear(&desc);
                return r;
        }

        /* A key that cannot sign fails before anything is pushed. */
        if (o->sign_key && (r = oci_sig_key_load(o->sign_key, true, &key, err)) < 0)
                return r;
        r = reg_client_new(&o->client, &c, err);
        if (r >= 0) {
                _cleanup_free_ char *ref = NULL;
                /* From the store, its blob-location record finds blobs to
                 * mount from other repositories of the registry. */
                if (store)
                        r = reg_client_push_from_store(c, store, desc.digest, dest, &ref, err);
                else
                        r = reg_client_push_from_layout(c, src_layout, &desc, dest, &ref, err);
                if (r >= 0 && key) {
                        /* What was pushed: "host/repo@sha256:...". */
                        const char *pushed = strrchr(ref, '@') ? strrchr(ref, '@') + 1 : desc.digest;
                        unsigned how = o->sign_as ? o->sign_as : REGCLI_SIGN_TAG;

                        if (how & REGCLI_SIGN_TAG)
                                r = reg_client_sign(c, dest, pushed, key, err);
                        if (r >= 0 && (how & REGCLI_SIGN_REFERRER))
                                r = reg_client_sign_referrer(c, dest, pushed, &desc, key, err);
                        if (r >= 0 && !o->quiet)
                                fprintf(stderr, "Signed %s with %s\n", pushed, o->sign_key);
                }
                if (r >= 0)
                        printf("%s\n", ref);
        }
        oci_descriptor_clear(&desc);
        return r;
}

int
main(int argc, char **argv)
{
        struct regcli o;
        _cleanup_err_ struct err *err = NULL;
        int r;

        /* ipush --generate-key PREFIX: a cosign-style P-256 key pair,
         * PREFIX.key (0600) and PREFIX.pub.  With COSIGN_PASSWORD set (even
         * to "", as cosign allows) the private key is cosign's encrypted
         * format sealed with it; unset, plain PKCS#8 PEM (what the openssl
         * CLI reads). */
        for (int i = 1; i < argc; i++) {
                const char *prefix = i + 1 < argc ? argv[i + 1] : NULL;

                if (strcmp(argv[i], "--generate-key") != 0)
                        continue;
                for (int j = 1; j < argc; j++)
                        if (j != i && j != i + 1 && strcmp(argv[j], "-q") != 0 && strcmp(argv[j], "--quiet") != 0)
                                prefix = NULL;
                if (!prefix || prefix[0] == '-') {
                        cli_fail("ipush", "--generate-key needs one PREFIX (writes PREFIX.key and PREFIX.pub)");
                        return 2;
                }
                if (oci_sig_key_generate(prefix, getenv(OCI_SIG_PASSWORD_ENV), &err) < 0) {
                        cli_print_err("ipush", &err);
                        return 1;
                }
                printf("%s.key\n%s.pub\n", prefix, prefix);
                return 0;
        }
        r = regcli_parse(REGCLI_PUSH, argc, argv, &o);
        if (r)
                return r - 1;
        if (run(&o, &err) < 0) {
                cli_print_err("ipush", &err);
                return 1;
        }
        return 0;
}
