/* ireg's registry policy (the config file's "policies" list), Harbor's
 * content trust and tag immutability:
 *
 *     "policies": [
 *       {"repos": "prod/ALL", "require_signature": ["/etc/ireg/keys/ci.pub"]},
 *       {"repos": "release/ALL", "immutable_tags": true}
 *     ]
 *
 * (ALL standing for two stars, which a C comment cannot hold after a
 * slash.)  "repos" is a repository pattern as the ACL's (auth.h): "*"
 * within one '/'-separated component, "?" one character of one, and a
 * two-star component any number of components.  Every rule
 * that matches a repository applies to it.
 *
 * require_signature: a GET/HEAD of an image manifest or index of such a
 * repository is refused (403 DENIED) unless a cosign signature in the
 * repository's sha256-<hex>.sig manifest verifies, with one of the rule's
 * public keys, over a payload naming that digest and this repository (by
 * path: a registry does not know the host name its clients use).  Artifacts
 * (a manifest with a subject or an artifactType, a non-image config: the
 * signatures and SBOMs themselves) stay pullable.  Verdicts are cached per
 * manifest digest and signature manifest digest, so a new signature is
 * seen at once.
 *
 * immutable_tags: a tag, once pushed, never points elsewhere: a PUT that
 * would move it, and a DELETE of it or of a manifest it names, are refused
 * (403 DENIED, detail TAG_INVALID).  Pushing the same manifest again is
 * allowed. */
#ifndef REGISTRY_SERVER_POLICY_H
#define REGISTRY_SERVER_POLICY_H

#include <stdbool.h>

#include <jansson.h>

#include "common/err.h"
#include "digest/digest.h"

struct reg_policy;
struct reg_store;

/* Parse LIST (the "policies" array; WHERE names it in errors) and load the
 * keys it names.  EINVAL naming the rule and field; a key that does not
 * load names its file. */
int reg_policy_parse(const json_t *list, const char *where, struct reg_policy **ret, struct err **err);
void reg_policy_free(struct reg_policy *p);

/* Does PATTERN (the glob above) match repository NAME? */
bool reg_policy_glob(const char *pattern, const char *name);

/* Is a rule with immutable_tags true matching NAME? */
bool reg_policy_immutable(const struct reg_policy *p, const char *name);

/* May manifest D of repository NAME (in S) be pulled?  0, or ERR_DENIED
 * whose message names the manifest, the keys and why no signature passed.
 * Thread-safe. */
int reg_policy_check_pull(struct reg_policy *p, struct reg_store *s, const char *name, const struct digest *d,
                          struct err **err);

#endif
