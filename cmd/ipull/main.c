/* ipull: registry (or OCI layout) → local store or OCI layout; also
 * --list-tags and --inspect. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd/common/cli.h"
#include "cmd/common/regcli.h"
#include "common/cleanup.h"
#include "common/limits.h"
#include "oci/signature.h"
#include "registry/client/client.h"

static void
print_strv(const char *label, char **v)
{
        if (!v)
                return;
        printf("%-11s", label);
        for (size_t i = 0; v[i]; i++)
                printf("%s%s", i ? " " : "", v[i]);
        printf("\n");
}

static int
inspect(struct reg_client *c, const char *ref, bool raw, struct err **err)
{
        _cleanup_free_ char *body = NULL, *mt = NULL, *digest = NULL;
        size_t len;
        int r = reg_client_get_manifest(c, ref, &body, &len, &mt, &digest, err);
        if (r < 0)
                return r;
        if (raw) {
                fwrite(body, 1, len, stdout);
                return 0;
        }
        struct oci_document doc = {0};
        r = oci_document_parse(body, len, mt, &doc, err);
        if (r < 0)
                return r;
        _cleanup_oci_ref_ struct oci_ref *pr = NULL;
        r = oci_ref_parse(ref, &pr, err);
        _cleanup_free_ char *name = r >= 0 ? oci_ref_name(pr) : NULL;
        printf("Name:      %s\n", name ? name : ref);
        printf("Digest:    %s\n", digest);
        printf("MediaType: %s\n", mt);
        if (doc.index) {
                printf("Manifests:\n");
                for (size_t i = 0; i < doc.index->n_manifests; i++) {
                        const struct oci_descriptor *d = &doc.index->manifests[i];
                        _cleanup_free_ char *pl = d->platform ? oci_platform_format(d->platform) : NULL;
                        printf("  %s %-16s %" PRId64 " %s\n", d->digest, pl ? pl : "-", d->size, d->media_type);
                }
                oci_document_clear(&doc);
                return 0;
        }
        struct oci_manifest *m = doc.manifest;
        _cleanup_free_ char *cfg = NULL;
        size_t cfg_len;
        struct oci_image_config *ic = NULL;
        if (oci_mediatype_is_config(m->config.media_type)) {
                r = reg_client_get_blob(c, ref, m->config.digest, LIMIT_CONFIG_SIZE, &cfg, &cfg_len, err);
                if (r >= 0)
                        r = oci_image_config_parse(cfg, cfg_len, &ic, err);
                if (r < 0) {
                        oci_document_clear(&doc);
                        return err_prefix(err, "config %s", m->config.digest);
                }
        } else {
                printf("Config:    %s (%s)\n", m->config.digest, m->config.media_type);
        }
        if (m->artifact_type)
                printf("Artifact:  %s\n", m->artifact_type);
        if (ic) {
                _cleanup_(oci_platform_freep) struct oci_platform *pl = oci_image_config_platform(ic);
                _cleanup_free_ char *pls = oci_platform_format(pl);
                printf("Platform:  %s\n", pls);
                if (ic->created)
                        printf("Created:   %s\n", ic->created);
                if (ic->author)
                        printf("Author:    %s\n", ic->author);
                if (ic->config.user && *ic->config.user)
                        printf("User:      %s\n", ic->config.user);
                if (ic->config.working_dir && *ic->config.working_dir)
                        printf("WorkingDir:%s\n", ic->config.working_dir);
                if (ic->config.env) {
                        printf("Env:\n");
                        for (size_t i = 0; ic->config.env[i]; i++)
                                printf("  %s\n", ic->config.env[i]);
                }
                print_strv("Entrypoint:", ic->config.entrypoint);
                print_strv("Cmd:", ic->config.cmd);
                print_strv("Ports:", ic->config.exposed_ports);
        }
        uint64_t total = 0;
        printf("Layers:\n");
        for (size_t i = 0; i < m->n_layers; i++) {
                printf("  %s %" PRId64 " %s\n", m->layers[i].digest, m->layers[i].size, m->layers[i].media_type);
                total += (uint64_t) m->layers[i].size;
        }
        printf("Size:      %" PRIu64 "\n", total);
        oci_image_config_free(ic);
        oci_document_clear(&doc);
        return 0;
}

/* One line per referrer: artifact type (else media type), digest, size,
 * where it was found. */
static int
inspect_referrers(struct reg_client *c, const char *ref, struct err **err)
{
        struct reg_referrer *v = NULL;
        size_t n = 0;
        _cleanup_free_ char *digest = NULL;
        int r = reg_client_list_referrers(c, ref, &v, &n, &digest, err);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                printf("%s %s %" PRId64 " (%s)\n", v[i].artifact_type ? v[i].artifact_type : v[i].media_type,
                       v[i].digest, v[i].size, v[i].source);
        if (n == 0)
                fprintf(stderr, "ipull: nothing refers to %s (%s)\n", ref, digest);
        reg_referrers_free(v, n);
        return 0;
}

static int run_with_keys(struct regcli *o, const char *src, struct oci_sig_key *const *keys, struct err **err);

static int
run(struct regcli *o, struct err **err)
{
        const char *src = o->args[0];
        int r;

        struct oci_sig_key *keys[17] = {0};
        for (size_t k = 0; k < o->n_verify_keys; k++) {
                r = oci_sig_key_load(o->verify_keys[k], false, &keys[k], err);
                if (r < 0) {
                        for (size_t j = 0; j < k; j++)
                                oci_sig_key_free(keys[j]);
                        return r;
                }
        }
        r = run_with_keys(o, src, keys, err);
        for (size_t k = 0; k < o->n_verify_keys; k++)
                oci_sig_key_free(keys[k]);
        return r;
}

static int
run_with_keys(struct regcli *o, const char *src, struct oci_sig_key *const *keys, struct err **err)
{
        _cleanup_reg_client_ struct reg_client *c = NULL;
        int r;

        r = reg_client_new(&o->client, &c, err);
        if (r < 0)
                return r;
        if (keys[0] && (o->list_tags || o->inspect || oci_layout_is_ref(src)))
                return err_set(err, EINVAL, "--verify-key: checks images pulled from a registry (not %s)",
                               o->list_tags ? "--list-tags" : o->inspect ? "--inspect" : src);
        if (o->list_tags) {
                char **tags = NULL;
                r = reg_client_list_tags(c, src, &tags, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; tags[i]; i++)
                        printf("%s\n", tags[i]);
                oci_strv_free(tags);
                return 0;
        }
        if (o->inspect && o->referrers)
                return inspect_referrers(c, src, err);
        if (o->inspect)
                return inspect(c, src, o->raw, err);

        _cleanup_oci_layout_ struct oci_layout *out = NULL;
        _cleanup_oci_store_ struct oci_store *store = NULL;
        _cleanup_free_ char *out_dir = NULL, *out_name = NULL;
        if (o->output) {
                r = oci_layout_parse_ref(o->output, &out_dir, &out_name, err);
                if (r < 0)
                        return err_prefix(err, "--output");
                r = oci_layout_create(out_dir, &out, err);
        } else {
                /* Held shared until the tag: blobs written before it are not
                 * named yet, and a prune would take them (oci/store.h). */
                r = oci_store_open(o->store, &store, err);
                if (r >= 0)
                        r = cli_store_hold("ipull", store, false, false, err);
        }
        if (r < 0)
                return r;

        if (oci_layout_is_ref(src)) {
                _cleanup_free_ char *dir = NULL, *name = NULL;
                _cleanup_oci_layout_ struct oci_layout *in = NULL;
                struct oci_descriptor desc = {0};
                r = oci_layout_parse_ref(src, &dir, &name, err);
                if (r >= 0)
                        r = oci_layout_open(dir, &in, err);
                if (r >= 0)
                        r = oci_layout_select(in, name, &desc, err);
                if (r < 0)
                        return r;
                r = reg_layout_copy(in, &desc, out ? out : oci_store_layout(store), err);
                const char *tag = out ? out_name : name;
                if (r >= 0 && out)
                        r = oci_layout_tag(out, tag, &desc, err);
                else if (r >= 0 && tag)
                        r = oci_store_tag(store, tag, &desc, err);
                if (r >= 0)
                        printf("%s@%s\n", tag ? tag : dir, desc.digest);
                oci_descriptor_clear(&desc);
                return r;
        }

        struct reg_pull_result res = {0};
        _cleanup_free_ char *verified = NULL;
        if (keys[0]) {
                /* Verified first, then pulled by that digest (a tag moved
                 * meanwhile cannot swap the image); nothing is written for
                 * an image that fails. */
                _cleanup_free_ char *digest = NULL, *key = NULL;
                _cleanup_oci_ref_ struct oci_ref *pr = NULL;
                r = reg_client_verify(c, src, keys, o->n_verify_keys, &digest, &key, err);
                if (r >= 0)
                        r = oci_ref_parse(src, &pr, err);
                if (r >= 0)
                        r = oci_ref_set_digest(pr, digest, err);
                if (r < 0)
                        return r;
                verified = oci_ref_string(pr);
                if (!o->quiet)
                        fprintf(stderr, "Verified signature of %s with %s\n", digest, key);
        }
        if (out)
                r = reg_client_pull_to_layout(c, verified ? verified : src, out, out_name, &res, err);
        else
                r = reg_client_pull_to_store(c, verified ? verified : src, store, NULL, &res, err);
        if (r < 0)
                return r;
        printf("%s\n", res.ref);
        reg_pull_result_clear(&res);
        return 0;
}

int
main(int argc, char **argv)
{
        struct regcli o;
        _cleanup_err_ struct err *err = NULL;
        int r = regcli_parse(REGCLI_PULL, argc, argv, &o);
        if (r)
                return r - 1;
        if (run(&o, &err) < 0) {
                cli_print_err("ipull", &err);
                return 1;
        }
        return 0;
}
