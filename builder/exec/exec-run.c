/* RUN: the command (exec or shell form, heredocs, a "#!" heredoc run as a
 * script), its --mount list (bind, cache, tmpfs, secret, ssh), the step
 * run in builder/sandbox over the stage's snapshots with its output teed,
 * and the overlay upper dir committed as the layer; and what the bind
 * mounts add to the step's cache key. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/dockerfile/parser.h"
#include "builder/dockerfile/plan.h"
#include "builder/exec/exec-internal.h"
#include "builder/snapshot/snapshot.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "oci/layout.h"

/* Bytes of a failing RUN's output repeated in the error. */
#define RUN_TAIL 2048

/* ---- RUN ---------------------------------------------------------------- */

struct tee {
        int in, out;
        const char *prefix;
        bool bol; /* at the beginning of a line */
        char tail[RUN_TAIL];
        size_t len;
};

static void *
tee_main(void *p)
{
        struct tee *t = p;
        char buf[8192];
        ssize_t n;

        while ((n = read(t->in, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
                if (n <= 0)
                        continue;
                if (t->out >= 0 && !t->prefix) {
                        fs_write_all(t->out, buf, (size_t) n, NULL);
                } else if (t->out >= 0) {
                        /* Prefix every line (a TTY shows which step speaks). */
                        const char *q = buf, *end = buf + n;

                        while (q < end) {
                                const char *nl = memchr(q, '\n', (size_t) (end - q));
                                size_t len = nl ? (size_t) (nl - q) + 1 : (size_t) (end - q);

                                if (t->bol)
                                        fs_write_all(t->out, t->prefix, strlen(t->prefix), NULL);
                                fs_write_all(t->out, q, len, NULL);
                                t->bol = nl != NULL;
                                q += len;
                        }
                }
                if ((size_t) n >= RUN_TAIL) {
                        memcpy(t->tail, buf + n - RUN_TAIL, RUN_TAIL);
                        t->len = RUN_TAIL;
                } else {
                        size_t keep = t->len + (size_t) n > RUN_TAIL ? RUN_TAIL - (size_t) n : t->len;

                        memmove(t->tail, t->tail + t->len - keep, keep);
                        memcpy(t->tail + keep, buf, (size_t) n);
                        t->len = keep + (size_t) n;
                }
        }
        return NULL;
}

/* "<<EOF" alone (after optional "-" and quotes): the heredoc is the script. */
static bool
bare_heredoc(const char *cmd, const struct build_df_instr *node)
{
        const char *p = cmd;

        if (node->n_heredocs != 1)
                return false;
        while (*p == ' ' || *p == '\t')
                p++;
        if (strncmp(p, "<<", 2) != 0)
                return false;
        p += 2;
        if (*p == '-')
                p++;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n')
                p++;
        while (*p == ' ' || *p == '\t' || *p == '\n')
                p++;
        return *p == '\0';
}

static char **
run_argv(const struct xstage *s, const struct build_plan_instr *in)
{
        const struct build_df_instr *node = in->node;
        char **v;

        if (node->json)
                return oci_strv_from((const char *const *) in->args, in->n_args);
        if (node->n_heredocs && in->n_args) {
                _cleanup_free_ char *script = NULL;
                char *a[1];

                if (bare_heredoc(in->args[0], node)) {
                        script = xstrdup(node->heredocs[0].content);
                } else {
                        size_t cap = strlen(in->args[0]) + 2;
                        size_t len;

                        for (size_t h = 0; h < node->n_heredocs; h++)
                                cap += strlen(node->heredocs[h].content) + strlen(node->heredocs[h].name) + 2;
                        script = xmalloc(cap + 1);
                        len = (size_t) sprintf(script, "%s\n", in->args[0]);
                        for (size_t h = 0; h < node->n_heredocs; h++)
                                len += (size_t) sprintf(script + len, "%s%s\n", node->heredocs[h].content,
                                                        node->heredocs[h].name);
                }
                a[0] = script;
                v = xcommand_vec(s, a, 1, false);
                return v;
        }
        return xcommand_vec(s, in->args, in->n_args, false);
}

/* The stage a RUN --mount from=FROM names: a stage name, else a stage
 * index (as BuildKit accepts); -1 when neither. */
static int
mount_from_stage(struct xctx *x, const char *from)
{
        int si = build_plan_find_stage(x->plan, from);
        char *endp;
        long idx = strtol(from, &endp, 10);

        if (si < 0 && *endp == '\0' && idx >= 0 && (size_t) idx < x->plan->n_stages)
                si = (int) idx;
        return si;
}

static int parse_mounts(struct xctx *x, const struct build_plan_instr *in, struct build_mount **ret, size_t *ret_n,
                        char ***ret_owned, size_t **ret_ssh_idx, size_t *ret_n_ssh, struct err **err);

/* `RUN <<EOF` whose body starts with "#!": BuildKit runs the body as a
 * script with that interpreter.  The body is given on stdin and read through
 * /proc/self/fd/0, so nothing is written into the image.  *ret_argv is the
 * interpreter (with its one optional argument, as the kernel splits a
 * shebang line) and the script path; *ret_fd the script's fd. */
static int
shebang_argv(struct xctx *x, const struct build_plan_instr *in, char ***ret_argv, int *ret_fd, struct err **err)
{
        const char *body = in->node->heredocs[0].content;
        const char *nl = strchr(body, '\n');
        _cleanup_free_ char *line = xstrndup(body + 2, nl ? (size_t) (nl - body - 2) : strlen(body + 2));
        _cleanup_free_ char *path = xasprintf("%s/run-heredoc-%d", x->work, in->line);
        char *p = line, *interp, *arg = NULL, **v;
        int fd, r;

        while (*p == ' ' || *p == '\t')
                p++;
        interp = p;
        while (*p && *p != ' ' && *p != '\t')
                p++;
        if (*p) {
                *p++ = '\0';
                while (*p == ' ' || *p == '\t')
                        p++;
                arg = *p ? p : NULL;
                if (arg) {
                        size_t l = strlen(arg);

                        while (l && (arg[l - 1] == ' ' || arg[l - 1] == '\t' || arg[l - 1] == '\r'))
                                arg[--l] = '\0';
                }
        }
        if (!*interp)
                return err_set(err, ERR_PARSE, "%s:%d: RUN heredoc: empty #! line", x->df_name, in->line);
        r = fs_write_atomic(path, body, strlen(body), 0600, err);
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        unlink(path);
        if (fd < 0)
                return err_set(err, errno, "%s: %s", path, strerror(errno));
        v = oci_strv_append(NULL, interp);
        if (arg)
                v = oci_strv_append(v, arg);
        v = oci_strv_append(v, "/proc/self/fd/0");
        *ret_argv = v;
        *ret_fd = fd;
        return 0;
}

int
xdo_run(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, struct err **err)
{
        _cleanup_free_ char *step = NULL, *upper = NULL, *work = NULL, *ssh_env = NULL;
        _cleanup_free_ const char **lowers = NULL;
        _cleanup_free_ struct build_mount *mounts = NULL;
        _cleanup_free_ size_t *ssh_idx = NULL;
        struct xssh_fwd *fwd = NULL;
        char **argv = NULL, **env = NULL, **owned = NULL;
        struct build_sandbox_config cfg = {0};
        struct build_sandbox_result res = {0};
        struct tee tee = {.out = x->o->output_fd, .prefix = x->o->output_prefix, .bol = true};
        pthread_t th;
        int pfd[2] = {-1, -1}, script_fd = -1;
        size_t n_lowers = 0, n_mounts = 0, n_ssh = 0;
        int r;

        r = xstage_unpack(x, s, err);
        if (r < 0)
                return r;
        r = parse_mounts(x, in, &mounts, &n_mounts, &owned, &ssh_idx, &n_ssh, err);
        if (r < 0)
                return r;
        if (n_ssh) /* SSH_AUTH_SOCK: the first ssh mount's target */
                ssh_env = xasprintf("SSH_AUTH_SOCK=%s", mounts[ssh_idx[0]].target);
        /* Each ssh mount: a socket of the step's own, relayed to the agent
         * until the step ends. */
        r = xssh_fwd_start(x, mounts, ssh_idx, n_ssh, &fwd, err);
        if (r < 0) {
                err_prefix(err, "%s:%d", x->df_name, in->line);
                oci_strv_free(owned);
                return r;
        }
        lowers = xstage_lowers(x, s, &n_lowers);
        r = build_snapshot_new_step(oci_store_snapshots_dir(x->store), &step, &upper, &work, err);
        if (r < 0)
                goto out;
        if (!in->node->json && in->node->n_heredocs && in->n_args && bare_heredoc(in->args[0], in->node) &&
            strncmp(in->node->heredocs[0].content, "#!", 2) == 0) {
                r = shebang_argv(x, in, &argv, &script_fd, err);
                if (r < 0)
                        goto out;
        } else {
                argv = run_argv(s, in);
        }
        if (!argv[0]) {
                r = err_set(err, ERR_PARSE, "%s:%d: RUN with no command", x->df_name, in->line);
                goto out;
        }
        env = oci_strv_from((const char *const *) in->env, in->n_env);
        /* An ssh agent mount: this step only (as BuildKit, unless the
         * environment already has SSH_AUTH_SOCK). */
        if (ssh_env) {
                bool have = false;

                for (size_t i = 0; env[i]; i++)
                        if (strncmp(env[i], "SSH_AUTH_SOCK=", 14) == 0)
                                have = true;
                if (!have)
                        env = oci_strv_append(env, ssh_env);
        }
        cfg.argv = argv;
        cfg.env = env;
        cfg.cwd = s->cfg->config.working_dir && *s->cfg->config.working_dir ? s->cfg->config.working_dir : "/";
        cfg.user = s->cfg->config.user && *s->cfg->config.user ? s->cfg->config.user : NULL;
        cfg.net = x->o->network;
        for (size_t i = 0; i < in->n_flags; i++)
                if (strcmp(in->flags[i].name, "network") == 0 && in->flags[i].value) {
                        if (strcmp(in->flags[i].value, "none") == 0)
                                cfg.net = BUILD_SANDBOX_NET_NONE;
                        else if (strcmp(in->flags[i].value, "host") == 0 || strcmp(in->flags[i].value, "default") == 0)
                                cfg.net = x->o->network;
                        else {
                                r = err_set(err, ERR_PARSE, "%s:%d: RUN --network=%s: use default, none or host",
                                            x->df_name, in->line, in->flags[i].value);
                                goto out;
                        }
                }
        cfg.lowers = lowers;
        cfg.n_lowers = n_lowers;
        cfg.upper = upper;
        cfg.work = work;
        cfg.mounts = mounts;
        cfg.n_mounts = n_mounts;
        {
                _cleanup_free_ char *cr = xasprintf("%s/mounts", oci_store_cache_dir(x->store));

                if (fs_mkdir_p(cr, 0755, err) < 0) {
                        r = -1;
                        goto out;
                }
                owned = oci_strv_append(owned, cr);
                cfg.cache_root = owned[oci_strv_len(owned) - 1];
        }
        cfg.run_dir = x->work;
        cfg.idmap = x->idmap;
        cfg.memory_max = x->o->memory_max;
        cfg.pids_max = x->o->pids_max;
        cfg.cpu_millis = x->o->cpu_millis;
        cfg.stdin_fd = script_fd;
        cfg.cancel = x->o->cancel;
        if (pipe2(pfd, O_CLOEXEC) < 0) {
                r = err_set(err, errno, "pipe: %s", strerror(errno));
                goto out;
        }
        cfg.stdout_fd = pfd[1];
        cfg.stderr_fd = pfd[1];
        tee.in = pfd[0];
        if (pthread_create(&th, NULL, tee_main, &tee) != 0) {
                r = err_set(err, EAGAIN, "starting an output thread");
                goto out;
        }
        r = build_sandbox_run(&cfg, &res, err);
        close(pfd[1]);
        pfd[1] = -1;
        pthread_join(th, NULL);
        /* The step's processes are gone: no need to relay through the
         * layer commit. */
        xssh_fwd_stop(fwd);
        fwd = NULL;
        if (r < 0) {
                err_prefix(err, "%s:%d: %s", x->df_name, in->line, in->text);
                goto out;
        }
        if (res.warnings)
                xevent(x, BUILD_EVENT_INFO, 0, "warning: %s", res.warnings);
        if (res.cancelled) {
                r = err_set(err, ECANCELED, "%s:%d: %s: cancelled", x->df_name, in->line, in->text);
                goto out;
        }
        if (res.exit_code != 0) {
                r = err_set(err, ECHILD, "%s:%d: %s: %s %d%s%.*s", x->df_name, in->line, in->text,
                            res.timed_out ? "timed out, status" : "exit status", res.exit_code,
                            tee.len ? "\n--- output (tail) ---\n" : "", (int) tee.len, tee.tail);
                goto out;
        }
        {
                _cleanup_blob_writer_ struct oci_blob_writer *w = NULL;
                struct oci_layer_write_opts wo;
                struct build_snapshot_layer layer = {0};
                struct oci_descriptor desc;
                struct digest got;
                uint64_t size;

                xwrite_opts(x, &wo);
                wo.source_mode = OCI_LAYER_SOURCE_OVERLAY;
                r = oci_layout_blob_writer_new(x->layout, DIGEST_SHA256, &w, err);
                if (r < 0)
                        goto out;
                r = build_snapshot_commit(&x->idmap, upper, oci_store_snapshots_dir(x->store), &wo,
                                          oci_blob_writer_fd(w), &layer, err);
                if (r < 0) {
                        err_prefix(err, "%s:%d: committing the RUN layer", x->df_name, in->line);
                        goto out;
                }
                r = oci_blob_writer_commit(w, &layer.blob_digest, (int64_t) layer.blob_size, &got, &size, err);
                if (r < 0) {
                        free(layer.snapshot_dir);
                        goto out;
                }
                oci_descriptor_init(&desc, xlayer_media_type(x->o->compression), got.str, (int64_t) size);
                xstage_add_layer(s, &desc, layer.diff_id.str, layer.snapshot_dir);
                oci_image_config_add_diff_id(s->cfg, layer.diff_id.str);
                oci_descriptor_clear(&desc);
                free(layer.snapshot_dir);
        }
        r = 0;
out:
        xssh_fwd_stop(fwd);
        if (script_fd >= 0)
                close(script_fd);
        if (pfd[0] >= 0)
                close(pfd[0]);
        if (pfd[1] >= 0)
                close(pfd[1]);
        if (step) {
                struct err *e2 = NULL;

                build_sandbox_remove_workdir(work, &e2);
                err_clear(&e2);
                build_snapshot_remove(&x->idmap, step, &e2);
                err_clear(&e2);
        }
        build_sandbox_result_clear(&res);
        oci_strv_free(argv);
        oci_strv_free(env);
        oci_strv_free(owned);
        return r;
}

/* RUN --mount=type=...,k=v,... ; *ret_ssh_idx (caller frees): the
 * indexes of the ssh mounts in *ret (binds of the agent socket, with the
 * mount's uid/gid/mode, for xssh_fwd_start), *ret_n_ssh of them. */
static int
parse_mounts(struct xctx *x, const struct build_plan_instr *in, struct build_mount **ret, size_t *ret_n,
             char ***ret_owned, size_t **ret_ssh_idx, size_t *ret_n_ssh, struct err **err)
{
        struct build_mount *v = NULL;
        _cleanup_free_ size_t *ssh_idx = NULL;
        size_t n = 0, n_ssh = 0, n_ssh_idx = 0;
        char **owned = NULL;
        int r = 0;

        for (size_t i = 0; i < in->n_flags; i++) {
                const struct build_plan_flag *f = &in->flags[i];
                _cleanup_free_ char *spec = NULL;
                struct build_mount_spec ms;
                struct build_mount *m;
                const char *type, *from, *src;
                bool required = false;

                if (strcmp(f->name, "mount") != 0 || !f->value)
                        continue;
                v = xrealloc(v, (n + 1) * sizeof(*v));
                m = &v[n++];
                memset(m, 0, sizeof(*m));
                m->mode = (mode_t) -1;
                m->sharing = BUILD_MOUNT_SHARED;
                r = build_mount_spec_parse(f->value, &ms, err);
                if (r < 0) {
                        err_prefix(err, "%s:%d", x->df_name, in->line);
                        n--;
                        break;
                }
                spec = steal_ptr(&ms.buf);
                type = ms.type;
                m->target = ms.target;
                src = ms.source;
                from = ms.from;
                m->id = ms.id;
                m->rw = ms.rw;
                m->readonly = ms.readonly;
                required = ms.required;
                m->sharing = ms.sharing;
                m->mode = ms.mode;
                m->uid = ms.uid;
                m->gid = ms.gid;
                m->size = ms.size;
                if (ms.env) {
                        r = err_set(err, ERR_UNSUPPORTED,
                                    "%s:%d: --mount env=%s (a secret as an environment variable) is not supported; "
                                    "read /run/secrets/ID",
                                    x->df_name, in->line, ms.env);
                        break;
                }
                if (strcmp(type, "ssh") == 0) {
                        /* A bind of the agent socket here; xssh_fwd_start
                         * puts a forwarding socket with the mount's
                         * uid/gid/mode (BuildKit's defaults 0, 0, 0600) in
                         * its place. */
                        const char *id = m->id && *m->id ? m->id : "default";
                        const char *sock = xssh_socket(x, id);
                        size_t idx = n_ssh++;

                        if (!sock) {
                                if (required) {
                                        r = err_set(err, ENOENT,
                                                    "%s:%d: ssh agent '%s' was not given (--ssh %s=SOCKET|KEY)",
                                                    x->df_name, in->line, id, id);
                                        break;
                                }
                                n--; /* a missing optional agent is skipped */
                                continue;
                        }
                        m->type = BUILD_MOUNT_BIND;
                        m->rw = true; /* connect() needs write access to the socket */
                        m->source = sock;
                        m->id = id;
                        if (m->mode == (mode_t) -1)
                                m->mode = 0600;
                        ssh_idx = xrealloc(ssh_idx, (n_ssh_idx + 1) * sizeof(*ssh_idx));
                        ssh_idx[n_ssh_idx++] = n - 1;
                        if (!m->target) {
                                _cleanup_free_ char *t = xasprintf("/run/buildkit/ssh_agent.%zu", idx);

                                owned = oci_strv_append(owned, t);
                                m->target = owned[oci_strv_len(owned) - 1];
                        }
                } else if (strcmp(type, "cache") == 0) {
                        m->type = BUILD_MOUNT_CACHE;
                        if (m->mode == (mode_t) -1)
                                m->mode = 0755;
                } else if (strcmp(type, "tmpfs") == 0) {
                        m->type = BUILD_MOUNT_TMPFS;
                } else if (strcmp(type, "secret") == 0) {
                        const struct build_secret *sec = NULL;
                        const char *id = m->id;

                        m->type = BUILD_MOUNT_SECRET;
                        if (!id && m->target) {
                                id = strrchr(m->target, '/') ? strrchr(m->target, '/') + 1 : m->target;
                        }
                        for (size_t k = 0; id && k < x->o->n_secrets; k++)
                                if (strcmp(x->o->secrets[k].id, id) == 0)
                                        sec = &x->o->secrets[k];
                        if (!sec) {
                                if (required) {
                                        r = err_set(err, ENOENT,
                                                    "%s:%d: secret '%s' was not given (--secret id=%s,...)", x->df_name,
                                                    in->line, id ? id : "", id ? id : "ID");
                                        break;
                                }
                                n--; /* a missing optional secret is skipped */
                                continue;
                        }
                        if (sec->src) {
                                m->source = sec->src;
                        } else {
                                /* An env secret: into a private file the sandbox copies. */
                                const char *val = getenv(sec->env ? sec->env : sec->id);
                                _cleanup_free_ char *p = xasprintf("%s/secret-%s", x->work, sec->id);

                                if (!val) {
                                        r = err_set(err, ENOENT, "secret %s: environment variable %s is not set",
                                                    sec->id, sec->env ? sec->env : sec->id);
                                        break;
                                }
                                r = fs_write_atomic(p, val, strlen(val), 0600, err);
                                if (r < 0)
                                        break;
                                owned = oci_strv_append(owned, p);
                                m->source = owned[oci_strv_len(owned) - 1];
                        }
                        if (!m->id)
                                m->id = id;
                        if (m->mode == (mode_t) -1)
                                m->mode = 0400;
                } else if (strcmp(type, "bind") == 0) {
                        _cleanup_free_ char *rel = NULL, *host = NULL;
                        struct stat st;

                        m->type = BUILD_MOUNT_BIND;
                        if (from) {
                                int si = mount_from_stage(x, from);

                                if (si < 0) {
                                        r = err_set(err, ERR_UNSUPPORTED,
                                                    "%s:%d: --mount from=%s: only stages are supported", x->df_name,
                                                    in->line, from);
                                        break;
                                }
                                {
                                        _cleanup_free_ char *abs = xabs_path("/", src ? src : "/");

                                        r = xstage_lookup(x, &x->stages[si], abs, &host, &st, err);
                                        if (r == -ENOENT)
                                                r = err_set(err, ENOENT, "%s:%d: --mount from=%s: %s not found",
                                                            x->df_name, in->line, from, abs);
                                        if (r < 0)
                                                break;
                                }
                        } else {
                                r = xresolve_in_root(x->ctx_fd, src ? src : ".", true, &rel, err);
                                if (r < 0) {
                                        err_prefix(err, "%s:%d: --mount source", x->df_name, in->line);
                                        break;
                                }
                                host = xasprintf("%s/%s", x->context, rel);
                        }
                        owned = oci_strv_append(owned, host);
                        m->source = owned[oci_strv_len(owned) - 1];
                } else {
                        r = err_set(err, ERR_PARSE, "%s:%d: --mount type=%s: unknown type", x->df_name, in->line, type);
                        break;
                }
                if (!m->target) {
                        if (m->type == BUILD_MOUNT_SECRET) {
                                _cleanup_free_ char *t = xasprintf("/run/secrets/%s", m->id);

                                owned = oci_strv_append(owned, t);
                                m->target = owned[oci_strv_len(owned) - 1];
                        } else {
                                r = err_set(err, ERR_PARSE, "%s:%d: --mount needs target=", x->df_name, in->line);
                                break;
                        }
                }
                /* The spec string is freed: keep the values alive (a
                 * secret's src= belongs to the caller's options). */
                {
                        const char **fields[] = {&m->target, &m->id};

                        for (size_t k = 0; k < 2; k++)
                                if (*fields[k]) {
                                        owned = oci_strv_append(owned, *fields[k]);
                                        *fields[k] = owned[oci_strv_len(owned) - 1];
                                }
                }
        }
        if (r < 0) {
                free(v);
                oci_strv_free(owned);
                return r;
        }
        *ret = v;
        *ret_n = n;
        *ret_owned = owned;
        *ret_ssh_idx = steal_ptr(&ssh_idx);
        *ret_n_ssh = n_ssh_idx;
        return 0;
}

/* For RUN's cache key: what every --mount=type=bind shows, in order: a
 * context source's content digest (as COPY digests it), a stage source's
 * cache key, with the mount's source and target.  Other mount types add
 * nothing (caches and tmpfs are not inputs; secrets stay out of the key). */
int
xrun_sources(struct xctx *x, const struct build_plan_instr *in, char **ret, struct err **err)
{
        _cleanup_free_ char *acc = xstrdup("");

        for (size_t i = 0; i < in->n_flags; i++) {
                const struct build_plan_flag *f = &in->flags[i];
                _cleanup_free_ char *spec = NULL, *part = NULL;
                const char *type = "bind", *from = NULL, *src = NULL, *target = "";
                char *save = NULL, *tok;
                char *n;

                if (strcmp(f->name, "mount") != 0 || !f->value)
                        continue;
                spec = xstrdup(f->value);
                for (tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                        char *eq = strchr(tok, '=');
                        const char *k = tok, *val = eq ? eq + 1 : "true";

                        if (eq)
                                *eq = '\0';
                        if (strcmp(k, "type") == 0)
                                type = val;
                        else if (strcmp(k, "target") == 0 || strcmp(k, "dst") == 0 || strcmp(k, "destination") == 0)
                                target = val;
                        else if (strcmp(k, "source") == 0 || strcmp(k, "src") == 0)
                                src = val;
                        else if (strcmp(k, "from") == 0)
                                from = val;
                }
                if (strcmp(type, "bind") != 0)
                        continue;
                if (from) {
                        int si = mount_from_stage(x, from);

                        if (si < 0)
                                continue; /* parse_mounts names the error */
                        part = xasprintf("bind stage %s %s %s", x->stages[si].key, src ? src : "/", target);
                } else {
                        _cleanup_free_ char *rel = NULL, *d = NULL;
                        int r = xresolve_in_root(x->ctx_fd, src ? src : ".", true, &rel, err);

                        if (r < 0)
                                return err_prefix(err, "%s:%d: --mount source", x->df_name, in->line);
                        r = xcontext_digest(x, rel, &d, err);
                        if (r < 0)
                                return err_prefix(err, "%s:%d: --mount source %s", x->df_name, in->line, rel);
                        part = xasprintf("bind context %s %s %s", d, rel, target);
                }
                n = xasprintf("%s%s\n", acc, part);
                free(acc);
                acc = n;
        }
        *ret = steal_ptr(&acc);
        return 0;
}
