/* The output formats of `ibuild --check`: text lines, a JSON array, and
 * SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), the log
 * code-scanning services (GitHub, GitLab) read. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/ibuild/check.h"
#include "common/cleanup.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

static const char *
severity(const struct build_df_lint *l)
{
        return l->error ? "error" : "warning";
}

static void
dump(json_t *j)
{
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        if (s) {
                fputs(s, stdout);
                putchar('\n');
        }
        free(s);
        json_decref(j);
}

void
check_print_text(const char *file, const struct build_df_lint *l)
{
        for (size_t i = 0; i < l->n_findings; i++)
                printf("%s:%d: %s: %s\n", file, l->findings[i].line, l->findings[i].rule, l->findings[i].message);
}

void
check_print_json(const char *file, const struct build_df_lint *l)
{
        json_t *arr = json_array();

        for (size_t i = 0; i < l->n_findings; i++) {
                const struct build_df_finding *fd = &l->findings[i];
                const struct build_df_lint_rule *r = build_df_lint_rule_find(fd->rule);
                json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s}", "rule", fd->rule, "line", fd->line, "file", file,
                                      "message", fd->message, "severity", severity(l));

                if (r && r->url)
                        json_object_set_new(o, "url", json_string(r->url));
                json_array_append_new(arr, o);
        }
        dump(arr);
}

/* FILE as a URI reference (RFC 3986): unreserved characters and '/' as
 * they are, everything else percent-encoded. */
static char *
uri_of(const char *file)
{
        static const char hex[] = "0123456789ABCDEF";
        char *out = xmalloc(3 * strlen(file) + 1), *w = out;

        for (const unsigned char *p = (const unsigned char *) file; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("-._~/", *p)) {
                        *w++ = (char) *p;
                } else {
                        *w++ = '%';
                        *w++ = hex[*p >> 4];
                        *w++ = hex[*p & 15];
                }
        }
        *w = '\0';
        return out;
}

void
check_print_sarif(const char *file, const struct build_df_lint *l)
{
        const struct build_df_lint_rule *rules;
        _cleanup_free_ char *uri = uri_of(file);
        json_t *jrules = json_array(), *results = json_array();
        size_t n;

        rules = build_df_lint_rules(&n);
        for (size_t i = 0; i < n; i++) {
                json_t *r = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "id", rules[i].name, "name", rules[i].name,
                                      "shortDescription", "text", rules[i].description, "defaultConfiguration", "level",
                                      "warning");

                if (rules[i].url)
                        json_object_set_new(r, "helpUri", json_string(rules[i].url));
                json_array_append_new(jrules, r);
        }
        for (size_t i = 0; i < l->n_findings; i++) {
                const struct build_df_finding *fd = &l->findings[i];
                const struct build_df_lint_rule *r = build_df_lint_rule_find(fd->rule);

                json_array_append_new(results,
                                      json_pack("{s:s, s:i, s:s, s:{s:s}, s:[{s:{s:{s:s}, s:{s:i}}}]}", "ruleId",
                                                fd->rule, "ruleIndex", r ? (int) (r - rules) : -1, "level", severity(l),
                                                "message", "text", fd->message, "locations", "physicalLocation",
                                                "artifactLocation", "uri", uri, "region", "startLine", fd->line));
        }
        dump(json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:o}}, s:o}]}", "$schema", SARIF_SCHEMA, "version", "2.1.0", "runs",
                       "tool", "driver", "name", "ibuild", "rules", jrules, "results", results));
}
