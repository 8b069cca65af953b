/* Option parsing shared by ipull and ipush. */
#include "cmd/common/regcli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/common/cli.h"

static const char pull_usage[] =
        "Usage: ipull [OPTIONS] SRC\n"
        "       ipull --list-tags [OPTIONS] REPO\n"
        "       ipull --inspect [--raw | --referrers] [OPTIONS] REF\n"
        "\n"
        "Pull an image from a registry (or an OCI layout) into the local store or an OCI layout.\n"
        "SRC is a registry reference (alpine, ghcr.io/o/app:1, host:5000/app@sha256:...) or\n"
        "oci:DIR[:NAME].  Prints REF@sha256:... of what was stored on stdout.\n"
        "\n"
        "Options:\n"
        "  --output oci:DIR[:NAME]   write into this OCI layout instead of the local store\n"
        "  --store DIR               local store path (default $IBUILD_STORE, $XDG_DATA_HOME/ibuild,\n"
        "                            ~/.local/share/ibuild)\n"
        "  --platform OS/ARCH[/VAR]  platform to pick from an index (default: the host); 'all'\n"
        "                            copies the whole index\n"
        "  --list-tags               list the tags of REPO (follows pagination)\n"
        "  --inspect                 print a summary of REF's manifest and config\n"
        "  --raw                     with --inspect: print the manifest bytes as served\n"
        "  --referrers               with --inspect: list what refers to REF (signatures,\n"
        "                            SBOMs, other artifacts): type, digest, size a line\n"
        "  --verify-key FILE         refuse the image, writing nothing, unless a cosign signature\n"
        "                            over its digest verifies with this public key (repeatable:\n"
        "                            any one key)\n";

static const char push_usage[] =
        "Usage: ipush [OPTIONS] SRC DEST\n"
        "\n"
        "Push an image from the local store or an OCI layout to a registry (or an OCI layout).\n"
        "SRC is a local store name or digest (app:1.0, sha256:...) or oci:DIR[:NAME]; DEST is a\n"
        "registry reference (host:5000/team/app:1.0) or oci:DIR[:NAME].  Prints\n"
        "REF@sha256:... of what was pushed on stdout.\n"
        "\n"
        "Options:\n"
        "  --store DIR               local store path (default $IBUILD_STORE, $XDG_DATA_HOME/ibuild,\n"
        "                            ~/.local/share/ibuild)\n"
        "  --sign-key FILE           after the push, sign the manifest with this P-256 PEM key\n"
        "                            (cosign's format, tag sha256-<hex>.sig)\n"
        "  --sign-as tag|referrer|both  where the signature goes: cosign's tag (default), an\n"
        "                            OCI 1.1 referrer of the image (artifactType\n"
        "                            application/vnd.dev.cosign.artifact.sig.v1+json), or both\n"
        "  --generate-key PREFIX     (alone) write a new key pair PREFIX.key and PREFIX.pub\n";

static const char common_usage[] =
        "  --creds USER:PASS         registry credentials (else --authfile, $REGISTRY_AUTH_FILE,\n"
        "                            containers auth.json, $DOCKER_CONFIG/config.json,\n"
        "                            ~/.docker/config.json and credential helpers)\n"
        "  --authfile FILE           the only auth file to read\n"
        "  --tls-verify=BOOL         verify the registry's TLS certificate (default true)\n"
        "  --cert-dir DIR            *.crt CA certificates and a *.cert/*.key client pair\n"
        "                            (default /etc/containers/certs.d/HOST, /etc/docker/certs.d/HOST)\n"
        "  --plain-http              use HTTP, not HTTPS (automatic fallback for localhost,\n"
        "                            127.0.0.0/8 and [::1])\n"
        "  --jobs N                  concurrent blob transfers (default 4)\n"
        "  --retry N                 retries of a failed request, with exponential backoff;\n"
        "                            429 honours Retry-After (default 3)\n"
        "  -q, --quiet               no progress lines on stderr\n"
        "  -h, --help                this help\n"
        "      --version             print the version\n";

void
regcli_log(const char *line, void *userdata)
{
        fprintf(stderr, "%s\n", line);
}

void
regcli_warn(const char *line, void *userdata)
{
        fprintf(stderr, "%s: warning: %s\n", (const char *) userdata, line);
}

static bool
parse_bool(const char *s, bool *ret)
{
        if (!s || strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "yes") == 0) {
                *ret = true;
                return true;
        }
        if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcmp(s, "no") == 0) {
                *ret = false;
                return true;
        }
        return false;
}

static bool
parse_int(const char *s, int min, int max, int *ret)
{
        char *end;
        long v = strtol(s, &end, 10);
        if (!*s || *end || v < min || v > max)
                return false;
        *ret = (int) v;
        return true;
}

int
regcli_parse(int kind, int argc, char **argv, struct regcli *o)
{
        enum {
                OPT_PLATFORM = 256, OPT_CREDS, OPT_AUTHFILE, OPT_TLS_VERIFY, OPT_CERT_DIR, OPT_PLAIN_HTTP, OPT_JOBS,
                OPT_RETRY, OPT_STORE, OPT_OUTPUT, OPT_LIST_TAGS, OPT_INSPECT, OPT_RAW, OPT_VERSION, OPT_SIGN_KEY,
                OPT_VERIFY_KEY, OPT_REFERRERS, OPT_SIGN_AS,
        };
        static const struct option opts[] = {
                {"platform", required_argument, NULL, OPT_PLATFORM},
                {"creds", required_argument, NULL, OPT_CREDS},
                {"authfile", required_argument, NULL, OPT_AUTHFILE},
                {"tls-verify", optional_argument, NULL, OPT_TLS_VERIFY},
                {"cert-dir", required_argument, NULL, OPT_CERT_DIR},
                {"plain-http", no_argument, NULL, OPT_PLAIN_HTTP},
                {"jobs", required_argument, NULL, OPT_JOBS},
                {"retry", required_argument, NULL, OPT_RETRY},
                {"store", required_argument, NULL, OPT_STORE},
                {"output", required_argument, NULL, OPT_OUTPUT},
                {"list-tags", no_argument, NULL, OPT_LIST_TAGS},
                {"inspect", no_argument, NULL, OPT_INSPECT},
                {"raw", no_argument, NULL, OPT_RAW},
                {"referrers", no_argument, NULL, OPT_REFERRERS},
                {"sign-key", required_argument, NULL, OPT_SIGN_KEY},
                {"sign-as", required_argument, NULL, OPT_SIGN_AS},
                {"verify-key", required_argument, NULL, OPT_VERIFY_KEY},
                {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, OPT_VERSION},
                {NULL, 0, NULL, 0},
        };
        const char *prog = kind == REGCLI_PULL ? "ipull" : "ipush";
        int ch, idx = -1;
        bool b;

        memset(o, 0, sizeof(*o));
        o->prog = prog;
        o->client.retries = -1;
        o->client.log = regcli_log;
        o->client.warn = regcli_warn;
        o->client.warn_data = (void *) prog;
        optind = 1;
        while ((ch = getopt_long(argc, argv, "qh", opts, &idx)) != -1) {
                switch (ch) {
                case OPT_PLATFORM: o->client.platform = optarg; break;
                case OPT_CREDS: o->client.creds = optarg; break;
                case OPT_AUTHFILE: o->client.authfile = optarg; break;
                case OPT_TLS_VERIFY:
                        if (!parse_bool(optarg, &b))
                                goto bad_value;
                        o->client.tls_verify_disable = !b;
                        break;
                case OPT_CERT_DIR: o->client.cert_dir = optarg; break;
                case OPT_PLAIN_HTTP: o->client.plain_http = true; break;
                case OPT_JOBS:
                        if (!parse_int(optarg, 1, 64, &o->client.jobs))
                                goto bad_value;
                        break;
                case OPT_RETRY:
                        if (!parse_int(optarg, 0, 100, &o->client.retries))
                                goto bad_value;
                        break;
                case OPT_STORE: o->store = optarg; break;
                case OPT_OUTPUT:
                case OPT_LIST_TAGS:
                case OPT_INSPECT:
                case OPT_RAW:
                case OPT_REFERRERS:
                        if (kind != REGCLI_PULL) {
                                fprintf(stderr, "%s: error: --%s is an ipull option\n", prog, opts[idx].name);
                                return 3;
                        }
                        if (ch == OPT_OUTPUT)
                                o->output = optarg;
                        else if (ch == OPT_LIST_TAGS)
                                o->list_tags = true;
                        else if (ch == OPT_INSPECT)
                                o->inspect = true;
                        else if (ch == OPT_REFERRERS)
                                o->referrers = true;
                        else
                                o->raw = true;
                        break;
                case OPT_SIGN_KEY:
                        if (kind != REGCLI_PUSH) {
                                fprintf(stderr, "%s: error: --sign-key is an ipush option\n", prog);
                                return 3;
                        }
                        o->sign_key = optarg;
                        break;
                case OPT_SIGN_AS:
                        if (kind != REGCLI_PUSH) {
                                fprintf(stderr, "%s: error: --sign-as is an ipush option\n", prog);
                                return 3;
                        }
                        if (strcmp(optarg, "tag") == 0)
                                o->sign_as = REGCLI_SIGN_TAG;
                        else if (strcmp(optarg, "referrer") == 0)
                                o->sign_as = REGCLI_SIGN_REFERRER;
                        else if (strcmp(optarg, "both") == 0)
                                o->sign_as = REGCLI_SIGN_TAG | REGCLI_SIGN_REFERRER;
                        else
                                goto bad_value;
                        break;
                case OPT_VERIFY_KEY:
                        if (kind != REGCLI_PULL) {
                                fprintf(stderr, "%s: error: --verify-key is an ipull option\n", prog);
                                return 3;
                        }
                        if (o->n_verify_keys == sizeof(o->verify_keys) / sizeof(o->verify_keys[0])) {
                                fprintf(stderr, "%s: error: at most %zu --verify-key\n", prog, o->n_verify_keys);
                                return 3;
                        }
                        o->verify_keys[o->n_verify_keys++] = optarg;
                        break;
                case 'q': o->quiet = true; break;
                case 'h':
                        fputs(kind == REGCLI_PULL ? pull_usage : push_usage, stdout);
                        fputs(common_usage, stdout);
                        return 1;
                case OPT_VERSION: printf("%s %s\n", prog, IBUILD_VERSION); return 1;
                default:
                        fprintf(stderr, "Try '%s --help'.\n", prog);
                        return 3;
                }
                idx = -1;
                continue;
        bad_value:
                fprintf(stderr, "%s: error: bad value '%s' for --%s\n", prog, optarg ? optarg : "",
                        idx >= 0 ? opts[idx].name : "?");
                return 3;
        }
        if (o->quiet)
                o->client.log = NULL;
        o->n_args = argc - optind;
        o->args = argv + optind;
        int want = kind == REGCLI_PULL ? 1 : 2;
        if (o->n_args != want) {
                fprintf(stderr, "%s: error: expected %s\nTry '%s --help'.\n", prog,
                        kind == REGCLI_PULL ? "one argument (SRC)" : "two arguments (SRC DEST)", prog);
                return 3;
        }
        if (o->raw && !o->inspect) {
                fprintf(stderr, "%s: error: --raw goes with --inspect\n", prog);
                return 3;
        }
        if (o->referrers && (!o->inspect || o->raw)) {
                fprintf(stderr, "%s: error: --referrers goes with --inspect (and not --raw)\n", prog);
                return 3;
        }
        if (o->list_tags && o->inspect) {
                fprintf(stderr, "%s: error: --list-tags and --inspect exclude each other\n", prog);
                return 3;
        }
        return 0;
}
