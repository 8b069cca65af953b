/* ireg's registry policy: signatures required to pull, immutable tags
 * (see policy.h). */
#include "registry/server/policy.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/limits.h"
#include "oci/mediatype.h"
#include "oci/model.h"
#include "oci/ref.h"
#include "oci/signature.h"
#include "registry/auth/auth.h"
#include "registry/server/storage.h"

#define POLICY_CACHE 512

struct verdict {
        char key[2 * DIGEST_STR_MAX + 2]; /* "<manifest> <digest of its signature manifests' digests>" */
        bool ok;
        char *why; /* why not, when !ok */
};

struct rule {
        char *repos;
        struct oci_sig_key **keys;
        size_t n_keys;
        char *key_names; /* "a.pub, b.pub" for messages */
        bool immutable_tags;
        pthread_mutex_t lock;
        struct verdict cache[POLICY_CACHE];
        size_t next; /* ring slot to fill */
};

struct reg_policy {
        struct rule *rules;
        size_t n_rules;
        /* Manifests known to be artifacts or images (content-addressed:
         * the answer never changes), so a GET reads the body once. */
        pthread_mutex_t lock;
        struct {
                char digest[DIGEST_STR_MAX];
                bool artifact;
        } kinds[POLICY_CACHE];
        size_t next;
};

bool
reg_policy_glob(const char *pattern, const char *name)
{
        return reg_acl_glob(pattern, name);
}

static void
rule_clear(struct rule *r)
{
        free(r->repos);
        for (size_t k = 0; k < r->n_keys; k++)
                oci_sig_key_free(r->keys[k]);
        free(r->keys);
        free(r->key_names);
        for (size_t i = 0; i < POLICY_CACHE; i++)
                free(r->cache[i].why);
        pthread_mutex_destroy(&r->lock);
}

void
reg_policy_free(struct reg_policy *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n_rules; i++)
                rule_clear(&p->rules[i]);
        free(p->rules);
        pthread_mutex_destroy(&p->lock);
        free(p);
}

static int
parse_rule(const json_t *j, const char *where, struct rule *r, struct err **err)
{
        const char *k;
        json_t *v;

        if (!json_is_object(j))
                return err_set(err, EINVAL, "%s: not an object", where);
        json_object_foreach((json_t *) j, k, v)
        {
                if (strcmp(k, "repos") == 0) {
                        if (!json_is_string(v) || !*json_string_value(v))
                                return err_set(err, EINVAL, "%s.repos: a non-empty glob string", where);
                        r->repos = xstrdup(json_string_value(v));
                } else if (strcmp(k, "immutable_tags") == 0) {
                        if (!json_is_boolean(v))
                                return err_set(err, EINVAL, "%s.immutable_tags: true or false", where);
                        r->immutable_tags = json_is_true(v);
                } else if (strcmp(k, "require_signature") == 0) {
                        size_t i;
                        json_t *kp;

                        if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 64)
                                return err_set(err, EINVAL, "%s.require_signature: a list of 1 to 64 public key files",
                                               where);
                        r->keys = xcalloc(json_array_size(v), sizeof(*r->keys));
                        json_array_foreach(v, i, kp)
                        {
                                char *names;
                                int rc;

                                if (!json_is_string(kp))
                                        return err_set(err, EINVAL, "%s.require_signature[%zu]: a file name", where, i);
                                rc = oci_sig_key_load(json_string_value(kp), false, &r->keys[r->n_keys], err);
                                if (rc < 0)
                                        return err_prefix(err, "%s.require_signature[%zu]", where, i);
                                r->n_keys++;
                                names = xasprintf("%s%s%s", r->key_names ? r->key_names : "", r->key_names ? ", " : "",
                                                  json_string_value(kp));
                                free(r->key_names);
                                r->key_names = names;
                        }
                } else {
                        return err_set(err, EINVAL, "%s: unknown key '%s' (repos, require_signature, immutable_tags)",
                                       where, k);
                }
        }
        if (!r->repos)
                return err_set(err, EINVAL, "%s: \"repos\" is missing", where);
        if (!r->n_keys && !r->immutable_tags)
                return err_set(err, EINVAL, "%s: a rule needs require_signature or immutable_tags", where);
        return 0;
}

int
reg_policy_parse(const json_t *list, const char *where, struct reg_policy **ret, struct err **err)
{
        struct reg_policy *p;
        size_t i;
        json_t *j;

        if (!json_is_array(list))
                return err_set(err, EINVAL, "%s: a list of rules", where);
        p = xcalloc(1, sizeof(*p));
        pthread_mutex_init(&p->lock, NULL);
        p->rules = xcalloc(json_array_size(list) + 1, sizeof(*p->rules));
        json_array_foreach(list, i, j)
        {
                _cleanup_free_ char *w = xasprintf("%s[%zu]", where, i);
                struct rule *r = &p->rules[p->n_rules++];
                int rc;

                pthread_mutex_init(&r->lock, NULL);
                rc = parse_rule(j, w, r, err);
                if (rc < 0) {
                        reg_policy_free(p);
                        return rc;
                }
        }
        *ret = p;
        return 0;
}

bool
reg_policy_immutable(const struct reg_policy *p, const char *name)
{
        for (size_t i = 0; p && i < p->n_rules; i++)
                if (p->rules[i].immutable_tags && reg_policy_glob(p->rules[i].repos, name))
                        return true;
        return false;
}

/* An artifact (signature, SBOM, other referrer): never policed. */
static bool
is_artifact(const char *buf, size_t len)
{
        json_t *j = json_loadb(buf, len, 0, NULL);
        const char *cmt = NULL;
        bool art;

        if (!j)
                return false;
        cmt = json_string_value(json_object_get(json_object_get(j, "config"), "mediaType"));
        art = json_object_get(j, "subject") || json_object_get(j, "artifactType") ||
              (cmt && !oci_mediatype_is_config(cmt));
        /* cosign's signature (and attestation) manifests have an image
         * config but no filesystem layer: every layer is a payload. */
        if (!art && json_array_size(json_object_get(j, "layers")) > 0) {
                size_t i;
                json_t *l;

                art = true;
                json_array_foreach(json_object_get(j, "layers"), i, l)
                {
                        if (oci_mediatype_is_layer(json_string_value(json_object_get(l, "mediaType"))))
                                art = false;
                }
        }
        json_decref(j);
        return art;
}

struct fetch {
        struct reg_store *s;
};

static int
fetch_blob(void *userdata, const char *digest, size_t cap, char **ret, size_t *ret_len, struct err **err)
{
        struct fetch *f = userdata;
        struct digest d;
        int r = digest_parse(digest, &d, err);

        return r < 0 ? r : f->s->ops->blob_read(f->s, &d, cap, ret, ret_len, err);
}

/* Does a signature in manifest SIGM (bytes) pass rule R for D of NAME?
 * Else *WHY says why not. */
static bool
signed_by(struct rule *r, struct reg_store *s, const char *name, const struct digest *d, const char *sigm,
          size_t sigm_len, char **why)
{
        struct oci_manifest *m = NULL;
        struct fetch f = {s};
        struct err *e = NULL;
        bool ok;

        if (oci_manifest_parse(sigm, sigm_len, &m, &e) < 0) {
                *why = xasprintf("the signature manifest is invalid: %s", err_msg(&e));
                err_clear(&e);
                return false;
        }
        /* A registry does not know the host its clients call it by: the
         * identity is checked by repository path. */
        ok = oci_sig_check(m, fetch_blob, &f, d->str, name, true, r->keys, r->n_keys, NULL, why) == 0;
        oci_manifest_free(m);
        return ok;
}

/* The signature manifests of D in NAME: cosign's tag, then referrers of
 * artifactType OCI_ARTIFACT_COSIGN_SIGNATURE (digest strings, an oci strv
 * or NULL). */
static char **
candidates(struct reg_store *s, const char *name, const struct digest *d)
{
        _cleanup_free_ char *tag = oci_sig_tag(d->str);
        struct reg_strv refs = {0};
        char **v = NULL;
        struct digest sd;

        if (s->ops->tag_get(s, name, tag, &sd, NULL) == 0)
                v = oci_strv_append(v, sd.str);
        if (s->ops->referrer_list(s, name, d, &refs, NULL) == 0) {
                for (size_t i = 0; i < refs.n; i++) {
                        json_t *j = json_loads(refs.v[i], 0, NULL);
                        const char *at = json_string_value(json_object_get(j, "artifactType"));
                        const char *dg = json_string_value(json_object_get(j, "digest"));

                        if (at && dg && strcmp(at, OCI_ARTIFACT_COSIGN_SIGNATURE) == 0)
                                v = oci_strv_append(v, dg);
                        json_decref(j);
                }
                reg_strv_free(&refs);
        }
        return v;
}

/* Rule R's verdict on D of NAME, cached by D and the signature manifests
 * there are (a new one is a new key, so it counts at once). */
static int
check_rule(struct rule *r, struct reg_store *s, const char *name, const struct digest *d, struct err **err)
{
        _cleanup_free_ char *tag = oci_sig_tag(d->str), *why = NULL, *all = NULL;
        char **cands = candidates(s, name, d);
        char key[sizeof(r->cache[0].key)];
        struct digest cd;
        bool ok = false;

        if (!cands)
                return err_set(err, ERR_DENIED,
                               "policy: %s of %s has no signature (no tag %s, no signature referrer); it needs one "
                               "by %s",
                               d->str, name, tag, r->key_names);
        for (size_t i = 0; cands[i]; i++) {
                char *n = xasprintf("%s %s", all ? all : "", cands[i]);

                free(all);
                all = n;
        }
        digest_buffer(DIGEST_SHA256, all, strlen(all), &cd);
        snprintf(key, sizeof(key), "%s %s", d->str, cd.str);
        pthread_mutex_lock(&r->lock);
        for (size_t i = 0; i < POLICY_CACHE; i++) {
                if (strcmp(r->cache[i].key, key) == 0) {
                        int rc = r->cache[i].ok
                                     ? 0
                                     : err_set(err, ERR_DENIED, "policy: %s of %s has no valid signature by %s: %s",
                                               d->str, name, r->key_names, r->cache[i].why);

                        pthread_mutex_unlock(&r->lock);
                        oci_strv_free(cands);
                        return rc;
                }
        }
        pthread_mutex_unlock(&r->lock);
        for (size_t i = 0; !ok && cands[i]; i++) {
                _cleanup_free_ char *sigm = NULL, *w = NULL;
                struct digest sd;
                size_t len = 0;
                struct err *e = NULL;

                if (digest_parse(cands[i], &sd, &e) < 0 ||
                    s->ops->blob_read(s, &sd, LIMIT_MANIFEST_SIZE, &sigm, &len, &e) < 0) {
                        /* A store that cannot answer now is its error (503),
                         * never a refusal remembered for later. */
                        if (err_code(&e) != ERR_BLOB_UNKNOWN && err_code(&e) != ERR_DIGEST_INVALID) {
                                oci_strv_free(cands);
                                *err = e;
                                return err_prefix(err, "policy: signature manifest %s of %s", cands[i], name);
                        }
                        w = xstrdup(err_msg(&e));
                        err_clear(&e);
                } else {
                        ok = signed_by(r, s, name, d, sigm, len, &w);
                }
                if (!ok) {
                        char *n = xasprintf("%s%s%s: %s", why ? why : "", why ? "; " : "", cands[i], w ? w : "?");

                        free(why);
                        why = n;
                }
        }
        oci_strv_free(cands);
        if (!ok && !why)
                why = xstrdup("no simple-signing layer");
        pthread_mutex_lock(&r->lock);
        snprintf(r->cache[r->next].key, sizeof(r->cache[r->next].key), "%s", key);
        r->cache[r->next].ok = ok;
        free(r->cache[r->next].why);
        r->cache[r->next].why = ok ? NULL : xstrdup(why);
        r->next = (r->next + 1) % POLICY_CACHE;
        pthread_mutex_unlock(&r->lock);
        if (ok)
                return 0;
        return err_set(err, ERR_DENIED, "policy: %s of %s has no valid signature by %s: %s", d->str, name, r->key_names,
                       why);
}

/* Is manifest D (in S) an artifact?  Cached by digest.  Negative: the
 * store's error. */
static int
artifact_kind(struct reg_policy *p, struct reg_store *s, const struct digest *d, struct err **err)
{
        _cleanup_free_ char *body = NULL;
        size_t len = 0;
        bool art;
        int rc;

        pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < POLICY_CACHE; i++) {
                if (strcmp(p->kinds[i].digest, d->str) == 0) {
                        art = p->kinds[i].artifact;
                        pthread_mutex_unlock(&p->lock);
                        return art;
                }
        }
        pthread_mutex_unlock(&p->lock);
        rc = s->ops->blob_read(s, d, LIMIT_MANIFEST_SIZE, &body, &len, err);
        if (rc < 0)
                return rc;
        art = is_artifact(body, len);
        pthread_mutex_lock(&p->lock);
        snprintf(p->kinds[p->next].digest, sizeof(p->kinds[p->next].digest), "%s", d->str);
        p->kinds[p->next].artifact = art;
        p->next = (p->next + 1) % POLICY_CACHE;
        pthread_mutex_unlock(&p->lock);
        return art;
}

int
reg_policy_check_pull(struct reg_policy *p, struct reg_store *s, const char *name, const struct digest *d,
                      struct err **err)
{
        bool checked_kind = false;

        for (size_t i = 0; p && i < p->n_rules; i++) {
                struct rule *r = &p->rules[i];
                int rc;

                if (!r->n_keys || !reg_policy_glob(r->repos, name))
                        continue;
                if (!checked_kind) {
                        rc = artifact_kind(p, s, d, err);
                        if (rc != 0)
                                return rc < 0 ? rc : 0; /* an artifact: never policed */
                        checked_kind = true;
                }
                rc = check_rule(r, s, name, d, err);
                if (rc < 0)
                        return rc;
        }
        return 0;
}
