/* Tag lists and the catalog, paged with n and last (distribution-spec
 * "Listing Tags", and distribution's _catalog). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "registry/auth/auth.h"
#include "registry/server/handlers-internal.h"

/* Cap on n for tag and catalog pages. */
#define PAGE_MAX 10000

/* Page through sorted V after LAST, at most N (when HAVE_N). */
static int
paginate(struct reg_req *r, const struct reg_strv *v, json_t **ret_arr, char **ret_link,
         const char *base)
{
        const char *nq = reg_query(r, "n"), *last = reg_query(r, "last");
        uint64_t n = UINT64_MAX;
        size_t i = 0, count = 0;
        json_t *arr = json_array();

        if (nq) {
                if (reg_parse_u64(nq, strlen(nq), &n) < 0) {
                        json_decref(arr);
                        return -EINVAL;
                }
                if (n > PAGE_MAX)
                        n = PAGE_MAX;
        }
        if (last)
                while (i < v->n && strcmp(v->v[i], last) <= 0)
                        i++;
        for (; i < v->n && count < n; i++, count++)
                json_array_append_new(arr, json_string(v->v[i]));
        *ret_link = NULL;
        if (i < v->n && count > 0)
                *ret_link = xasprintf("<%s?n=%llu&last=%s>; rel=\"next\"", base, (unsigned long long) n,
                                      v->v[i - 1]);
        *ret_arr = arr;
        return 0;
}

static int
stop_walk(const char *item, uint64_t size, time_t mtime, void *userdata)
{
        (void) item;
        (void) size;
        (void) mtime;
        *(bool *) userdata = true;
        return -ECANCELED;
}

/* Does repository NAME hold a manifest or a blob link?  (Tags need a
 * manifest.)  The walks stop at the first entry. */
static bool
repo_has_content(struct reg_req *r, const char *name)
{
        bool found = false;

        OPS(r)->manifest_walk(ST(r), name, stop_walk, &found, NULL);
        if (!found)
                OPS(r)->layer_walk(ST(r), name, stop_walk, &found, NULL);
        return found;
}

enum MHD_Result
reg_handle_catalog(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct reg_strv all = { 0 }, visible = { 0 };
        _cleanup_free_ char *link = NULL;
        json_t *arr, *root;
        size_t i;
        const char *h[3] = { NULL };

        if (OPS(r)->repo_list(ST(r), &all, &e) < 0)
                return reg_respond_err(r, &e);
        /* Only repositories holding content (not just upload sessions) that
         * the caller may pull. */
        for (i = 0; i < all.n; i++) {
                if (!repo_has_content(r, all.v[i]) ||
                    (r->srv->auth && !reg_auth_may(r->srv->auth, r->user, all.v[i], REG_ACTION_PULL))) {
                        free(all.v[i]);
                        continue;
                }
                all.v[visible.n] = all.v[i];
                visible.n++;
        }
        visible.v = all.v;
        if (paginate(r, &visible, &arr, &link, "/v2/_catalog") < 0) {
                reg_strv_free(&visible);
                return reg_respond_error(r, 400, "PAGINATION_NUMBER_INVALID", "n must be a number");
        }
        reg_strv_free(&visible);
        root = json_object();
        json_object_set_new(root, "repositories", arr);
        if (link) {
                h[0] = "Link";
                h[1] = link;
        }
        return reg_respond_json(r, 200, "application/json", root, h);
}

enum MHD_Result
reg_handle_tags(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct reg_strv tags = { 0 };
        _cleanup_free_ char *link = NULL, *base = NULL;
        json_t *arr, *root;
        const char *h[3] = { NULL };

        if (OPS(r)->tag_list(ST(r), r->route.name, &tags, &e) < 0)
                return reg_respond_err(r, &e);
        base = xasprintf("/v2/%s/tags/list", r->route.name);
        if (paginate(r, &tags, &arr, &link, base) < 0) {
                reg_strv_free(&tags);
                return reg_respond_error(r, 400, "PAGINATION_NUMBER_INVALID", "n must be a number");
        }
        reg_strv_free(&tags);
        root = json_object();
        json_object_set_new(root, "name", json_string(r->route.name));
        json_object_set_new(root, "tags", arr);
        if (link) {
                h[0] = "Link";
                h[1] = link;
        }
        return reg_respond_json(r, 200, "application/json", root, h);
}
