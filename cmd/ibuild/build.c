/* `ibuild [OPTIONS] CONTEXT`: build an image (builder/exec), name it in the
 * local store, export it, push it.  Progress on stderr; the last line on
 * stdout is the image digest. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/exec/exec.h"
#include "builder/options/options.h"
#include "builder/options/output.h"
#include "cmd/common/cli.h"
#include "cmd/common/regcli.h"
#include "cmd/ibuild/ibuild.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "oci/layer.h"
#include "oci/layout.h"
#include "oci/signature.h"
#include "registry/client/client.h"

#define PROG "ibuild"

static volatile sig_atomic_t cancelled;

static void
on_signal(int sig)
{
        (void) sig;
        cancelled = 1;
}

static void
build_usage(FILE *f)
{
        fputs("Usage: ibuild [OPTIONS] CONTEXT\n"
              "\n"
              "Build an OCI image from a Dockerfile without a daemon or root.  CONTEXT is a\n"
              "directory, or \"-\" for a tar archive on stdin.  The image goes to the local store\n"
              "(named with -t); the last line on stdout is its digest.\n"
              "\n"
              "  -t, --tag NAME            name the image in the store (repeatable)\n"
              "  -f, --file FILE           Dockerfile (default CONTEXT/Dockerfile; \"-\": stdin)\n"
              "  --build-arg K=V           set a build argument (K alone: from the environment)\n"
              "  --target STAGE            build up to STAGE\n"
              "  --platform OS/ARCH        target platform (default: this machine's)\n"
              "  --label K=V               add a label to the image (repeatable)\n"
              "  --no-cache                do not use the build cache\n"
              "  --pull=missing|always|never  when to pull base images (default missing)\n"
              "  --secret id=ID,src=FILE|env=VAR  a secret for RUN --mount=type=secret\n"
              "  --ssh default|ID[=SOCKET|KEY[,KEY...]]  an ssh agent for RUN --mount=type=ssh\n"
              "                            (repeatable): an agent socket (default $SSH_AUTH_SOCK),\n"
              "                            or private key files loaded into an ssh-agent started\n"
              "                            for the build (openssh-client; keys with a passphrase\n"
              "                            are refused, never prompted for)\n"
              "  --network host|none       network of RUN steps (default host)\n"
              "  --memory SIZE             memory limit of each RUN step (512m, 1g)\n"
              "  --cpus N.N                CPU limit of each RUN step (0.5: half a CPU)\n"
              "  --pids-limit N            process limit of each RUN step\n"
              "                            (the three need a delegated cgroup v2, else a warning)\n"
              "  --compression gzip|zstd   layer compression (default gzip)\n"
              "  --format oci|docker       media types of the image (default oci); docker\n"
              "                            writes Docker schema 2 (gzip layers only)\n"
              "  -o, --output SPEC         also export the image (repeatable, each is written):\n"
              "                            type=oci,dest=DIR | type=oci-archive,dest=FILE |\n"
              "                            type=docker-archive,dest=FILE [,name=NAME] |\n"
              "                            type=registry[,name=REF[,REF...]] (push there) |\n"
              "                            type=image,name=REF[,push=true]\n"
              "  --push                    push every -t name to its registry\n"
              "  --sign-key FILE           sign what is pushed (cosign's format, P-256 PEM key)\n"
              "  --sign-as tag|referrer|both  cosign's sha256-<hex>.sig tag (default), an OCI 1.1\n"
              "                            referrer of the image, or both\n"
              "  --sbom                    an SPDX SBOM of the image's OS packages, attached as an\n"
              "                            OCI referrer in the store, the oci outputs and pushes\n"
              "  --pull-verify-key FILE    registry base images must carry a signature by this\n"
              "                            public key (repeatable: any one)\n"
              "  --progress auto|plain|tty progress output on stderr (default auto)\n"
              "  -q, --quiet               no progress, no RUN output\n"
              "  --store DIR               the local store (default $IBUILD_STORE or\n"
              "                            ~/.local/share/ibuild)\n"
              "  --jobs N                  stages built at once and compressor threads\n"
              "                            (default: the number of CPUs)\n"
              "  SOURCE_DATE_EPOCH         (env) fixed timestamps: reproducible digests\n",
              f);
}


struct progress {
        bool quiet;
        bool tty;
        char step[512];
};

static void
on_event(void *data, enum build_event ev, const char *text, double secs)
{
        struct progress *p = data;

        if (p->quiet && ev != BUILD_EVENT_INFO)
                return;
        switch (ev) {
        case BUILD_EVENT_STEP:
                snprintf(p->step, sizeof(p->step), "%s", text);
                fprintf(stderr, "%s\n", text);
                break;
        case BUILD_EVENT_CACHED:
                fprintf(stderr, "  CACHED\n");
                break;
        case BUILD_EVENT_DONE:
                fprintf(stderr, "  done in %.2fs\n", secs);
                break;
        case BUILD_EVENT_INFO:
                if (p->quiet && strncmp(text, "warning", 7) != 0)
                        return;
                fprintf(stderr, "%s\n", text);
                break;
        }
}

/* CONTEXT "-": extract the tar (plain, gzip or zstd) on stdin into a temp
 * dir, in process with oci_layer_apply: absolute names, ".." above the root
 * and links leading out of it are refused, nothing is written outside the
 * temp dir, files belong to the caller. */
static int
context_from_stdin(char **ret_dir, struct err **err)
{
        char tmpl[] = "/tmp/ibuild-context.XXXXXX";
        char *dir = mkdtemp(tmpl);
        struct oci_layer_apply_opts ao;
        struct oci_layer_apply_result res = {0};
        _cleanup_close_ int dfd = -1;

        if (!dir)
                return err_set(err, errno, "mkdtemp: %s", strerror(errno));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                int e = errno;

                fs_rm_rf(dir, NULL);
                return err_set(err, e, "%s: %s", dir, strerror(e));
        }
        oci_layer_apply_opts_init(&ao);
        ao.chown = OCI_LAYER_CHOWN_SKIP;
        ao.whiteouts = OCI_LAYER_WHITEOUT_DELETE;
        if (oci_layer_apply(STDIN_FILENO, dfd, &ao, &res, err) < 0) {
                fs_rm_rf(dir, NULL);
                return err_prefix(err, "reading the context tar from stdin");
        }
        oci_layer_apply_result_free(&res);
        *ret_dir = xstrdup(dir);
        return 0;
}

/* Before the build: OUT's names are valid image names, and an image
 * output has a name (its own or a -t one). */
static int
check_output(const struct build_output *out, size_t n_tags, struct err **err)
{
        for (size_t k = 0; out->names && out->names[k]; k++) {
                _cleanup_free_ char *norm = NULL;

                if (oci_store_normalize_name(out->names[k], &norm, err) < 0)
                        return err_prefix(err, "--output %s: name=%s", out->spec, out->names[k]);
        }
        if (out->type == BUILD_OUTPUT_IMAGE && !out->names && n_tags == 0)
                return err_set(err, EINVAL, "--output %s: needs name=REF (or a -t NAME) to %s", out->spec,
                               out->push ? "push to" : "name the image");
        return 0;
}

/* --sign-key and --sign-as. */
struct signing {
        const struct oci_sig_key *key; /* NULL: no signing */
        bool tag, referrer;            /* cosign's tag, an OCI 1.1 referrer */
};

/* Push DESC of STORE to REF unless it was pushed already (DONE, N_DONE),
 * then sign it as SG says. */
static int
push_once(struct reg_client **c, struct oci_store *store, const struct oci_descriptor *desc, const char *ref,
          const struct signing *sg, const struct oci_descriptor *sbom, const char **done, size_t *n_done,
          bool quiet, struct err **err)
{
        _cleanup_free_ char *pushed = NULL;

        for (size_t k = 0; k < *n_done; k++)
                if (strcmp(done[k], ref) == 0)
                        return 0;
        if (!*c) {
                struct reg_client_opts co = {.retries = -1, .warn = regcli_warn, .warn_data = (void *) PROG};

                if (getenv("IBUILD_PUSH_PLAIN_HTTP"))
                        co.plain_http = true;
                if (getenv("IBUILD_PUSH_TLS_VERIFY") && strcmp(getenv("IBUILD_PUSH_TLS_VERIFY"), "false") == 0)
                        co.tls_verify_disable = true;
                if (reg_client_new(&co, c, err) < 0)
                        return -1;
        }
        if (reg_client_push_from_store(*c, store, desc->digest, ref, &pushed, err) < 0)
                return err_prefix(err, "pushing %s", ref);
        done[(*n_done)++] = ref;
        if (!quiet)
                fprintf(stderr, "pushed %s\n", pushed ? pushed : ref);
        if (sg->key) {
                const char *dg = pushed && strrchr(pushed, '@') ? strrchr(pushed, '@') + 1 : desc->digest;

                if (sg->tag && reg_client_sign(*c, ref, dg, sg->key, err) < 0)
                        return -1;
                if (sg->referrer && reg_client_sign_referrer(*c, ref, dg, desc, sg->key, err) < 0)
                        return -1;
                if (!quiet)
                        fprintf(stderr, "signed %s with %s\n", ref, oci_sig_key_name(sg->key));
        }
        if (sbom && ibuild_sbom_push(*c, store, sbom, ref, quiet, err) < 0)
                return -1;
        return 0;
}

/* After the build: push PUSH (the -t names of --push), then name and push
 * the image outputs' names (their own, else the -t TAGS). */
static int
publish(struct oci_store *store, const struct oci_descriptor *desc, const char **push, size_t n_push,
        const struct build_output *outputs, size_t n_outputs, const char **tags, size_t n_tags,
        const struct signing *sg, const struct oci_descriptor *sbom, bool quiet, struct err **err)
{
        _cleanup_reg_client_ struct reg_client *c = NULL;
        _cleanup_free_ const char **done = NULL;
        size_t n_done = 0, cap = n_push;

        for (size_t k = 0; k < n_outputs; k++)
                cap += outputs[k].names ? oci_strv_len(outputs[k].names) : n_tags;
        done = xcalloc(cap + 1, sizeof(*done));
        for (size_t t = 0; t < n_push; t++)
                if (push_once(&c, store, desc, push[t], sg, sbom, done, &n_done, quiet, err) < 0)
                        return -1;
        for (size_t k = 0; k < n_outputs; k++) {
                const struct build_output *out = &outputs[k];
                size_t n = out->names ? oci_strv_len(out->names) : n_tags;

                if (out->type != BUILD_OUTPUT_IMAGE)
                        continue;
                for (size_t t = 0; t < n; t++) {
                        const char *ref = out->names ? out->names[t] : tags[t];

                        if (out->names) {
                                if (oci_store_tag(store, ref, desc, err) < 0)
                                        return -1;
                                if (!quiet)
                                        fprintf(stderr, "tagged %s\n", ref);
                        }
                        if (out->push && push_once(&c, store, desc, ref, sg, sbom, done, &n_done, quiet, err) < 0)
                                return -1;
                }
        }
        return 0;
}

int
ibuild_build(int argc, char **argv)
{
        _cleanup_err_ struct err *err = NULL;
        _cleanup_free_ const char **tags = NULL, **build_args = NULL, **labels = NULL;
        _cleanup_free_ struct build_secret *secrets = NULL;
        _cleanup_free_ struct build_ssh *ssh = NULL;
        _cleanup_free_ char *stdin_ctx = NULL;
        char **owned = NULL;
        size_t n_tags = 0, n_build_args = 0, n_labels = 0, n_secrets = 0, n_ssh = 0;
        const char *context = NULL, *store_path = NULL;
        struct build_output *outputs = NULL;
        size_t n_outputs = 0;
        struct oci_sig_key *sign_key = NULL, *verify_keys[16] = {0};
        struct signing sg = {NULL, true, false};
        size_t n_verify_keys = 0;
        struct build_exec_opts o;
        struct build_exec_result res = {0};
        struct oci_store *store = NULL;
        struct progress prog = {.tty = isatty(2) == 1};
        struct oci_descriptor sbom_desc = {0};
        bool push = false, sbom = false;
        int rc = 1;

        build_exec_opts_init(&o);
        tags = xcalloc((size_t) argc + 1, sizeof(char *));
        build_args = xcalloc((size_t) argc + 1, sizeof(char *));
        labels = xcalloc((size_t) argc + 1, sizeof(char *));
        secrets = xcalloc((size_t) argc + 1, sizeof(*secrets));
        ssh = xcalloc((size_t) argc + 1, sizeof(*ssh));
        outputs = xcalloc((size_t) argc + 1, sizeof(*outputs));
        o.jobs = (int) sysconf(_SC_NPROCESSORS_ONLN);
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v;

#define VALUE(name)                                                 \
        do {                                                        \
                v = cli_opt_value(argc, argv, &i, name);                \
                if (!v) {                                           \
                        cli_fail(PROG, "%s needs a value", name);   \
                        rc = 2;                                     \
                        goto out;                                   \
                }                                                   \
        } while (0)
                if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        build_usage(stdout);
                        rc = 0;
                        goto out;
                } else if (cli_is_opt(a, "-t") || cli_is_opt(a, "--tag")) {
                        VALUE(a[1] == 't' ? "-t" : "--tag");
                        tags[n_tags++] = v;
                } else if (cli_is_opt(a, "-f") || cli_is_opt(a, "--file")) {
                        VALUE(a[1] == 'f' ? "-f" : "--file");
                        o.dockerfile = v;
                } else if (cli_is_opt(a, "--build-arg")) {
                        char *arg = NULL;
                        int r;

                        VALUE("--build-arg");
                        r = build_arg_parse(v, &arg, &err);
                        if (r < 0) {
                                cli_print_err(PROG, &err);
                                rc = 2;
                                goto out;
                        }
                        if (r == 0)
                                continue; /* a bare NAME not in the environment */
                        owned = oci_strv_append(owned, "");
                        free(owned[oci_strv_len(owned) - 1]);
                        owned[oci_strv_len(owned) - 1] = arg;
                        build_args[n_build_args++] = arg;
                } else if (cli_is_opt(a, "--target")) {
                        VALUE("--target");
                        o.target = v;
                } else if (cli_is_opt(a, "--platform")) {
                        VALUE("--platform");
                        o.platform = v;
                } else if (cli_is_opt(a, "--label")) {
                        VALUE("--label");
                        labels[n_labels++] = v;
                } else if (strcmp(a, "--no-cache") == 0) {
                        o.no_cache = true;
                } else if (cli_is_opt(a, "--pull")) {
                        if (strcmp(a, "--pull") == 0) {
                                o.pull = BUILD_PULL_ALWAYS;
                                continue;
                        }
                        v = a + strlen("--pull=");
                        if (strcmp(v, "missing") == 0)
                                o.pull = BUILD_PULL_MISSING;
                        else if (strcmp(v, "always") == 0 || strcmp(v, "true") == 0)
                                o.pull = BUILD_PULL_ALWAYS;
                        else if (strcmp(v, "never") == 0 || strcmp(v, "false") == 0)
                                o.pull = BUILD_PULL_NEVER;
                        else {
                                cli_fail(PROG, "--pull=%s: use missing, always or never", v);
                                rc = 2;
                                goto out;
                        }
                } else if (cli_is_opt(a, "--secret")) {
                        VALUE("--secret");
                        if (build_secret_parse(v, &secrets[n_secrets], &owned, &err) < 0) {
                                cli_print_err(PROG, &err);
                                rc = 2;
                                goto out;
                        }
                        n_secrets++;
                } else if (cli_is_opt(a, "--ssh")) {
                        VALUE("--ssh");
                        if (build_ssh_parse(v, ssh, n_ssh, &ssh[n_ssh], &owned, &err) < 0) {
                                cli_print_err(PROG, &err);
                                rc = 2;
                                goto out;
                        }
                        n_ssh++;
                } else if (cli_is_opt(a, "--network")) {
                        VALUE("--network");
                        if (strcmp(v, "none") == 0)
                                o.network = BUILD_SANDBOX_NET_NONE;
                        else if (strcmp(v, "host") == 0 || strcmp(v, "default") == 0)
                                o.network = BUILD_SANDBOX_NET_HOST;
                        else {
                                cli_fail(PROG, "--network %s: use host or none", v);
                                rc = 2;
                                goto out;
                        }
                } else if (cli_is_opt(a, "--memory") || cli_is_opt(a, "--cpus") || cli_is_opt(a, "--pids-limit")) {
                        struct err *e = NULL;
                        const char *name = cli_is_opt(a, "--memory") ? "--memory"
                                           : cli_is_opt(a, "--cpus") ? "--cpus"
                                                                     : "--pids-limit";
                        int pr;

                        VALUE(name);
                        pr = name[2] == 'm'   ? build_sandbox_parse_memory(v, &o.memory_max, &e)
                             : name[2] == 'c' ? build_sandbox_parse_cpus(v, &o.cpu_millis, &e)
                                              : build_sandbox_parse_pids(v, &o.pids_max, &e);
                        if (pr < 0) {
                                cli_fail(PROG, "%s: %s", name, err_msg(&e));
                                err_clear(&e);
                                rc = 2;
                                goto out;
                        }
                } else if (cli_is_opt(a, "--compression")) {
                        VALUE("--compression");
                        if (strcmp(v, "gzip") == 0)
                                o.compression = OCI_LAYER_GZIP;
                        else if (strcmp(v, "zstd") == 0)
                                o.compression = OCI_LAYER_ZSTD;
                        else if (strcmp(v, "none") == 0)
                                o.compression = OCI_LAYER_UNCOMPRESSED;
                        else {
                                cli_fail(PROG, "--compression %s: use gzip, zstd or none", v);
                                rc = 2;
                                goto out;
                        }
                } else if (cli_is_opt(a, "--format")) {
                        VALUE("--format");
                        if (strcmp(v, "oci") == 0)
                                o.format = BUILD_FORMAT_OCI;
                        else if (strcmp(v, "docker") == 0)
                                o.format = BUILD_FORMAT_DOCKER;
                        else {
                                cli_fail(PROG, "--format %s: use oci or docker", v);
                                rc = 2;
                                goto out;
                        }
                } else if (cli_is_opt(a, "--output") || cli_is_opt(a, "-o")) {
                        VALUE(a[1] == 'o' ? "-o" : "--output");
                        if (build_output_parse(v, &outputs[n_outputs], &err) < 0) {
                                cli_print_err(PROG, &err);
                                rc = 2;
                                goto out;
                        }
                        n_outputs++;
                } else if (strcmp(a, "--push") == 0) {
                        push = true;
                } else if (strcmp(a, "--sbom") == 0) {
                        sbom = true;
                } else if (cli_is_opt(a, "--sign-as")) {
                        VALUE("--sign-as");
                        sg.tag = strcmp(v, "tag") == 0 || strcmp(v, "both") == 0;
                        sg.referrer = strcmp(v, "referrer") == 0 || strcmp(v, "both") == 0;
                        if (!sg.tag && !sg.referrer) {
                                cli_fail(PROG, "--sign-as %s: use tag, referrer or both", v);
                                rc = 2;
                                goto out;
                        }
                } else if (cli_is_opt(a, "--sign-key") || cli_is_opt(a, "--pull-verify-key")) {
                        bool sign = cli_is_opt(a, "--sign-key");
                        struct oci_sig_key *k = NULL;

                        VALUE(sign ? "--sign-key" : "--pull-verify-key");
                        if ((sign && sign_key) || (!sign && n_verify_keys == 16)) {
                                cli_fail(PROG, sign ? "one --sign-key" : "at most 16 --pull-verify-key");
                                rc = 2;
                                goto out;
                        }
                        if (oci_sig_key_load(v, sign, &k, &err) < 0) {
                                cli_print_err(PROG, &err);
                                rc = 2;
                                goto out;
                        }
                        if (sign)
                                sign_key = k;
                        else
                                verify_keys[n_verify_keys++] = k;
                } else if (cli_is_opt(a, "--progress")) {
                        VALUE("--progress");
                        if (strcmp(v, "auto") != 0 && strcmp(v, "plain") != 0 && strcmp(v, "tty") != 0 &&
                            strcmp(v, "quiet") != 0) {
                                cli_fail(PROG, "--progress %s: use auto, plain or tty", v);
                                rc = 2;
                                goto out;
                        }
                        prog.tty = strcmp(v, "tty") == 0 || (strcmp(v, "auto") == 0 && isatty(2));
                        prog.quiet = strcmp(v, "quiet") == 0;
                } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
                        prog.quiet = true;
                } else if (cli_is_opt(a, "--store")) {
                        VALUE("--store");
                        store_path = v;
                } else if (cli_is_opt(a, "--jobs")) {
                        VALUE("--jobs");
                        o.jobs = atoi(v);
                        if (o.jobs < 1) {
                                cli_fail(PROG, "--jobs %s: a positive number", v);
                                rc = 2;
                                goto out;
                        }
                } else if (strcmp(a, "--") == 0) {
                        if (i + 1 < argc)
                                context = argv[++i];
                } else if (a[0] == '-' && a[1] != '\0') {
                        cli_fail(PROG, "unknown option %s", a);
                        build_usage(stderr);
                        rc = 2;
                        goto out;
                } else if (context) {
                        cli_fail(PROG, "more than one context (%s and %s)", context, a);
                        rc = 2;
                        goto out;
                } else {
                        context = a;
                }
#undef VALUE
        }
        if (!context) {
                cli_fail(PROG, "no build context given (try ibuild --help)");
                rc = 2;
                goto out;
        }
        if (strcmp(context, "-") == 0) {
                if (o.dockerfile && strcmp(o.dockerfile, "-") == 0) {
                        cli_fail(PROG, "the context and the Dockerfile cannot both come from stdin");
                        rc = 2;
                        goto out;
                }
                if (context_from_stdin(&stdin_ctx, &err) < 0) {
                        cli_print_err(PROG, &err);
                        goto out;
                }
                context = stdin_ctx;
        }
        {
                const char *sde = getenv("SOURCE_DATE_EPOCH");

                if (sde && *sde) {
                        char *end;
                        long long v = strtoll(sde, &end, 10);

                        if (*end || v < 0) {
                                cli_fail(PROG, "SOURCE_DATE_EPOCH=%s: not a number of seconds", sde);
                                rc = 2;
                                goto out;
                        }
                        o.source_date_epoch = v;
                }
        }
        for (size_t t = 0; t < n_tags; t++) {
                _cleanup_free_ char *norm = NULL;

                if (oci_store_normalize_name(tags[t], &norm, &err) < 0) {
                        cli_print_err(PROG, &err);
                        rc = 2;
                        goto out;
                }
        }
        if (push && n_tags == 0) {
                cli_fail(PROG, "--push needs a -t NAME to push to");
                rc = 2;
                goto out;
        }
        sg.key = sign_key;
        if (sign_key && !push) {
                bool pushes = false;

                for (size_t k = 0; k < n_outputs; k++)
                        pushes = pushes || (outputs[k].type == BUILD_OUTPUT_IMAGE && outputs[k].push);
                if (!pushes) {
                        cli_fail(PROG, "--sign-key signs what is pushed: add --push or --output type=registry");
                        rc = 2;
                        goto out;
                }
        }
        if (o.format == BUILD_FORMAT_DOCKER && o.compression == OCI_LAYER_ZSTD) {
                cli_fail(PROG, "--format docker has no zstd layer type: use --compression gzip, or --format oci");
                rc = 2;
                goto out;
        }
        for (size_t k = 0; k < n_outputs; k++) {
                if (check_output(&outputs[k], n_tags, &err) < 0) {
                        cli_print_err(PROG, &err);
                        rc = 2;
                        goto out;
                }
                if (o.format == BUILD_FORMAT_DOCKER &&
                    (outputs[k].type == BUILD_OUTPUT_OCI || outputs[k].type == BUILD_OUTPUT_OCI_ARCHIVE))
                        fprintf(stderr,
                                PROG ": warning: --output %s: an OCI layout holding a Docker manifest (--format "
                                     "docker); skopeo and podman look only for OCI manifests there\n",
                                outputs[k].spec);
        }
        /* Held shared until exit: a prune waits for this build to end,
         * and this build for a prune already running (oci/store.h). */
        if (oci_store_open(store_path, &store, &err) < 0 || cli_store_hold(PROG, store, false, false, &err) < 0) {
                cli_print_err(PROG, &err);
                goto out;
        }
        {
                struct sigaction sa = {0};

                sa.sa_handler = on_signal;
                sigemptyset(&sa.sa_mask);
                sigaction(SIGINT, &sa, NULL);
                sigaction(SIGTERM, &sa, NULL);
        }
        o.context = context;
        o.verify_keys = verify_keys;
        o.n_verify_keys = n_verify_keys;
        o.build_args = build_args;
        o.n_build_args = n_build_args;
        o.labels = labels;
        o.n_labels = n_labels;
        o.secrets = secrets;
        o.n_secrets = n_secrets;
        o.ssh = ssh;
        o.n_ssh = n_ssh;
        o.store = store;
        o.output_fd = prog.quiet ? -1 : 2;
        if (prog.tty)
                o.output_prefix = "  | ";
        o.event = on_event;
        o.event_data = &prog;
        o.cancel = &cancelled;
        if (build_exec_run(&o, &res, &err) < 0) {
                cli_print_err(PROG, &err);
                rc = cancelled ? 130 : 1;
                goto out;
        }
        /* Everything is written: name the image last. */
        if (n_tags == 0) {
                if (oci_store_tag(store, NULL, &res.manifest, &err) < 0) {
                        cli_print_err(PROG, &err);
                        goto out;
                }
        }
        for (size_t t = 0; t < n_tags; t++) {
                if (oci_store_tag(store, tags[t], &res.manifest, &err) < 0) {
                        cli_print_err(PROG, &err);
                        goto out;
                }
                if (!prog.quiet)
                        fprintf(stderr, "tagged %s\n", tags[t]);
        }
        for (size_t k = 0; k < n_outputs; k++) {
                if (outputs[k].type == BUILD_OUTPUT_IMAGE)
                        continue;
                if (build_exec_output(store, &res.manifest, &outputs[k], n_tags ? tags[0] : NULL, &err) < 0) {
                        cli_print_err(PROG, &err);
                        goto out;
                }
                if (!prog.quiet)
                        fprintf(stderr, "exported to %s\n", outputs[k].dest);
        }
        if (sbom && ibuild_sbom_attach(store, &res.manifest, n_tags ? tags[0] : NULL, outputs, n_outputs, prog.quiet,
                                       &sbom_desc, &err) < 0) {
                cli_print_err(PROG, &err);
                goto out;
        }
        if (publish(store, &res.manifest, push ? tags : NULL, push ? n_tags : 0, outputs, n_outputs, tags, n_tags,
                    &sg, sbom ? &sbom_desc : NULL, prog.quiet, &err) < 0) {
                cli_print_err(PROG, &err);
                goto out;
        }
        if (!prog.quiet)
                fprintf(stderr, "%zu steps, %zu cached\n", res.steps, res.cached);
        printf("%s\n", res.manifest.digest);
        rc = 0;
out:
        oci_descriptor_clear(&sbom_desc);
        build_exec_result_clear(&res);
        for (size_t k = 0; k < n_outputs; k++)
                build_output_clear(&outputs[k]);
        free(outputs);
        oci_sig_key_free(sign_key);
        for (size_t k = 0; k < n_verify_keys; k++)
                oci_sig_key_free(verify_keys[k]);
        for (size_t k = 0; ssh && k < n_ssh; k++)
                free((void *) ssh[k].keys);
        oci_store_free(store);
        oci_strv_free(owned);
        if (stdin_ctx)
                fs_rm_rf(stdin_ctx, NULL);
        return rc;
}
