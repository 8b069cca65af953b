/* sandbox-run: drive builder/sandbox and builder/snapshot from bats tests.
 *
 *   sandbox-run run [--lower DIR]... --upper DIR --work DIR [--user SPEC]
 *       [--cwd DIR] [--hostname H] [--net host|none] [--env K=V]...
 *       [--timeout SEC] [--cache-root DIR] [--mount SPEC]...
 *       [--rlimit nofile=N|nproc=N] [--memory SIZE] [--cpus N.N]
 *       [--pids-limit N] -- CMD [ARG]...
 *     Runs CMD; exits with its status (128+N for signal N), 124 on timeout,
 *     125 when the sandbox failed (message on stderr).  Warnings go to
 *     stderr as "warning: ...".  --memory/--cpus/--pids-limit take
 *     docker's values (512m, 0.5, 100) and become cgroup v2 limits.
 *     --mount SPEC is Docker's RUN --mount syntax:
 *       type=bind,source=S,target=T[,rw]
 *       type=cache,target=T[,id=I][,sharing=shared|locked|private][,ro]
 *                 [,mode=0755][,uid=N][,gid=N]
 *       type=tmpfs,target=T[,size=BYTES]
 *       type=secret,id=I,source=S[,target=T][,mode=0400][,uid=N][,gid=N]
 *
 *   sandbox-run idmap        print the id mapping kind and ranges
 *
 *   sandbox-run commit --upper DIR --out FILE [--zstd|--gzip] [--threads N]
 *       [--snapshots ROOT]  turn an upper dir into a layer (and keep it
 *       as snapshot ROOT/<diffid>); prints "diffid DIGEST", "digest
 *       DIGEST", "size N".
 *   sandbox-run unpack --snapshots ROOT --layer FILE [--diffid D]
 *       unpack a layer into ROOT/<diffid> (once); prints the dir.
 *   sandbox-run rm DIR   remove a tree owned by mapped ids.
 *   sandbox-run nsexec -- CMD [ARG]...   run a host command as root of a
 *       user namespace with the same id mapping (exit 1 when it fails).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/sandbox/sandbox.h"
#include "builder/snapshot/snapshot.h"
#include "common/cleanup.h"

#define MAX_ITEMS 64

static volatile sig_atomic_t cancelled;

static void
on_signal(int sig)
{
        (void) sig;
        cancelled = 1;
}

static int
die(struct err **e)
{
        fprintf(stderr, "sandbox-run: error: %s\n", err_msg(e));
        return 125;
}

static void
print_warnings(const char *w)
{
        const char *p = w;

        while (p && *p) {
                const char *eol = strchr(p, '\n');
                size_t n = eol ? (size_t) (eol - p) : strlen(p);
                fprintf(stderr, "warning: %.*s\n", (int) n, p);
                p = eol ? eol + 1 : NULL;
        }
}

static int
parse_mount(char *spec, struct build_mount *m)
{
        char *save = NULL;

        memset(m, 0, sizeof(*m));
        m->sharing = BUILD_MOUNT_SHARED;
        for (char *kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
                char *v = strchr(kv, '=');
                if (v)
                        *v++ = '\0';
                if (strcmp(kv, "type") == 0 && v) {
                        if (strcmp(v, "bind") == 0)
                                m->type = BUILD_MOUNT_BIND;
                        else if (strcmp(v, "cache") == 0)
                                m->type = BUILD_MOUNT_CACHE;
                        else if (strcmp(v, "tmpfs") == 0)
                                m->type = BUILD_MOUNT_TMPFS;
                        else if (strcmp(v, "secret") == 0)
                                m->type = BUILD_MOUNT_SECRET;
                        else
                                return -1;
                } else if ((strcmp(kv, "source") == 0 || strcmp(kv, "src") == 0) && v) {
                        m->source = v;
                } else if ((strcmp(kv, "target") == 0 || strcmp(kv, "dst") == 0) && v) {
                        m->target = v;
                } else if (strcmp(kv, "id") == 0 && v) {
                        m->id = v;
                } else if (strcmp(kv, "rw") == 0) {
                        m->rw = true;
                } else if (strcmp(kv, "ro") == 0 || strcmp(kv, "readonly") == 0) {
                        m->readonly = true;
                } else if (strcmp(kv, "sharing") == 0 && v) {
                        m->sharing = strcmp(v, "locked") == 0    ? BUILD_MOUNT_LOCKED
                                     : strcmp(v, "private") == 0 ? BUILD_MOUNT_PRIVATE
                                                                 : BUILD_MOUNT_SHARED;
                } else if (strcmp(kv, "mode") == 0 && v) {
                        m->mode = (mode_t) strtoul(v, NULL, 8);
                } else if (strcmp(kv, "uid") == 0 && v) {
                        m->uid = (uid_t) strtoul(v, NULL, 10);
                } else if (strcmp(kv, "gid") == 0 && v) {
                        m->gid = (gid_t) strtoul(v, NULL, 10);
                } else if (strcmp(kv, "size") == 0 && v) {
                        m->size = strtoull(v, NULL, 10);
                } else {
                        return -1;
                }
        }
        return 0;
}

static int
cmd_run(int argc, char **argv)
{
        struct build_sandbox_config cfg = {.stdin_fd = -1, .stdout_fd = 1, .stderr_fd = 2};
        const char *lowers[MAX_ITEMS];
        char *env[MAX_ITEMS + 1];
        struct build_mount mounts[MAX_ITEMS];
        struct build_rlimit rl[4];
        size_t nenv = 0;
        struct build_sandbox_result res;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *warning = NULL;
        int i;

        for (i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;

                if (strcmp(a, "--") == 0) {
                        i++;
                        break;
                }
                if (!v) {
                        fprintf(stderr, "sandbox-run: %s needs a value\n", a);
                        return 2;
                }
                i++;
                if (strcmp(a, "--lower") == 0 && cfg.n_lowers < MAX_ITEMS)
                        lowers[cfg.n_lowers++] = v;
                else if (strcmp(a, "--upper") == 0)
                        cfg.upper = v;
                else if (strcmp(a, "--work") == 0)
                        cfg.work = v;
                else if (strcmp(a, "--user") == 0)
                        cfg.user = v;
                else if (strcmp(a, "--cwd") == 0)
                        cfg.cwd = v;
                else if (strcmp(a, "--hostname") == 0)
                        cfg.hostname = v;
                else if (strcmp(a, "--net") == 0)
                        cfg.net = strcmp(v, "none") == 0 ? BUILD_SANDBOX_NET_NONE : BUILD_SANDBOX_NET_HOST;
                else if (strcmp(a, "--env") == 0 && nenv < MAX_ITEMS)
                        env[nenv++] = (char *) v;
                else if (strcmp(a, "--timeout") == 0)
                        cfg.timeout_sec = (unsigned) atoi(v);
                else if (strcmp(a, "--cache-root") == 0)
                        cfg.cache_root = v;
                else if (strcmp(a, "--run-dir") == 0)
                        cfg.run_dir = v;
                else if (strcmp(a, "--memory") == 0) {
                        if (build_sandbox_parse_memory(v, &cfg.memory_max, &e) < 0)
                                return die(&e);
                } else if (strcmp(a, "--cpus") == 0) {
                        if (build_sandbox_parse_cpus(v, &cfg.cpu_millis, &e) < 0)
                                return die(&e);
                } else if (strcmp(a, "--pids-limit") == 0) {
                        if (build_sandbox_parse_pids(v, &cfg.pids_max, &e) < 0)
                                return die(&e);
                }
                else if (strcmp(a, "--rlimit") == 0 && cfg.n_rlimits < 4) {
                        rlim_t n = (rlim_t) strtoull(strchr(v, '=') ? strchr(v, '=') + 1 : "0", NULL, 10);
                        rl[cfg.n_rlimits].resource = strncmp(v, "nproc", 5) == 0 ? RLIMIT_NPROC : RLIMIT_NOFILE;
                        rl[cfg.n_rlimits].limit.rlim_cur = rl[cfg.n_rlimits].limit.rlim_max = n;
                        cfg.n_rlimits++;
                } else if (strcmp(a, "--mount") == 0 && cfg.n_mounts < MAX_ITEMS) {
                        if (parse_mount(argv[i], &mounts[cfg.n_mounts]) < 0) {
                                fprintf(stderr, "sandbox-run: bad mount spec %s\n", v);
                                return 2;
                        }
                        cfg.n_mounts++;
                } else {
                        fprintf(stderr, "sandbox-run: unknown option %s\n", a);
                        return 2;
                }
        }
        if (i >= argc) {
                fprintf(stderr, "sandbox-run: no command\n");
                return 2;
        }
        env[nenv] = NULL;
        cfg.argv = argv + i;
        cfg.env = env;
        cfg.lowers = lowers;
        cfg.mounts = mounts;
        cfg.rlimits = rl;
        cfg.cancel = &cancelled;
        {
                /* Ctrl-C / kill: let the library stop the step and clean up. */
                struct sigaction sa = {.sa_handler = on_signal};
                sigaction(SIGINT, &sa, NULL);
                sigaction(SIGTERM, &sa, NULL);
        }
        if (build_idmap_detect(NULL, NULL, &cfg.idmap, &warning, &e) < 0)
                return die(&e);
        if (warning)
                print_warnings(warning);
        if (build_sandbox_run(&cfg, &res, &e) < 0)
                return die(&e);
        print_warnings(res.warnings);
        build_sandbox_result_clear(&res);
        if (res.timed_out) {
                fprintf(stderr, "sandbox-run: timed out\n");
                return 124;
        }
        if (res.cancelled) {
                fprintf(stderr, "sandbox-run: cancelled\n");
                return 130;
        }
        return res.exit_code;
}

static int
cmd_idmap(void)
{
        struct build_idmap m;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *warning = NULL;
        static const char *const kinds[] = {"identity", "subid", "single"};

        if (build_idmap_detect(NULL, NULL, &m, &warning, &e) < 0)
                return die(&e);
        if (warning)
                print_warnings(warning);
        printf("%s\n", kinds[m.kind]);
        for (size_t i = 0; i < m.n_uid; i++)
                printf("uid %" PRIu32 " %" PRIu32 " %" PRIu32 "\n", m.uid[i].inside, m.uid[i].outside, m.uid[i].count);
        for (size_t i = 0; i < m.n_gid; i++)
                printf("gid %" PRIu32 " %" PRIu32 " %" PRIu32 "\n", m.gid[i].inside, m.gid[i].outside, m.gid[i].count);
        return 0;
}

static const char *
opt(int argc, char **argv, const char *name)
{
        for (int i = 1; i + 1 < argc; i++)
                if (strcmp(argv[i], name) == 0)
                        return argv[i + 1];
        return NULL;
}

static bool
flag(int argc, char **argv, const char *name)
{
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], name) == 0)
                        return true;
        return false;
}

static int
cmd_commit(int argc, char **argv)
{
        struct build_idmap m;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *warning = NULL;
        struct build_snapshot_layer out;
        const char *upper = opt(argc, argv, "--upper"), *file = opt(argc, argv, "--out");
        const char *snaps = opt(argc, argv, "--snapshots");
        const char *threads = opt(argc, argv, "--threads");
        struct oci_layer_write_opts wo;
        _cleanup_close_ int fd = -1;

        if (!upper || !file) {
                fprintf(stderr, "sandbox-run commit: --upper and --out are required\n");
                return 2;
        }
        if (build_idmap_detect(NULL, NULL, &m, &warning, &e) < 0)
                return die(&e);
        fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                perror(file);
                return 125;
        }
        oci_layer_write_opts_init(&wo);
        wo.compression = flag(argc, argv, "--zstd")   ? OCI_LAYER_ZSTD
                         : flag(argc, argv, "--gzip") ? OCI_LAYER_GZIP
                                                      : OCI_LAYER_UNCOMPRESSED;
        wo.threads = threads ? atoi(threads) : 0;
        if (build_snapshot_commit(&m, upper, snaps, &wo, fd, &out, &e) < 0)
                return die(&e);
        printf("diffid %s\ndigest %s\nsize %" PRIu64 "\n", out.diff_id.str, out.blob_digest.str, out.blob_size);
        if (out.snapshot_dir)
                printf("snapshot %s\n", out.snapshot_dir);
        free(out.snapshot_dir);
        return 0;
}

static int
cmd_unpack(int argc, char **argv)
{
        struct build_idmap m;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *warning = NULL, *dir = NULL, *warnings = NULL;
        const char *snaps = opt(argc, argv, "--snapshots"), *file = opt(argc, argv, "--layer");
        const char *diffid = opt(argc, argv, "--diffid");
        struct digest d, *dp = NULL;

        if (!snaps || !file) {
                fprintf(stderr, "sandbox-run unpack: --snapshots and --layer are required\n");
                return 2;
        }
        if (diffid) {
                if (digest_parse(diffid, &d, &e) < 0)
                        return die(&e);
                dp = &d;
        }
        if (build_idmap_detect(NULL, NULL, &m, &warning, &e) < 0)
                return die(&e);
        if (build_snapshot_unpack(&m, snaps, file, dp, &dir, &warnings, &e) < 0)
                return die(&e);
        print_warnings(warnings);
        printf("%s\n", dir);
        return 0;
}

static int
cmd_rm(int argc, char **argv)
{
        struct build_idmap m;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *warning = NULL;

        if (argc < 2)
                return 2;
        if (build_idmap_detect(NULL, NULL, &m, &warning, &e) < 0)
                return die(&e);
        if (build_snapshot_remove(&m, argv[1], &e) < 0)
                return die(&e);
        return 0;
}

static int
exec_fn(void *arg, struct err **err)
{
        char **argv = arg;

        execvp(argv[0], argv);
        return err_set(err, errno, "exec %s: %s", argv[0], strerror(errno));
}

static int
cmd_nsexec(int argc, char **argv)
{
        struct build_idmap m;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *warning = NULL;

        if (argc < 3 || strcmp(argv[1], "--") != 0)
                return 2;
        if (build_idmap_detect(NULL, NULL, &m, &warning, &e) < 0)
                return die(&e);
        fflush(stdout);
        if (build_idmap_call(&m, exec_fn, argv + 2, &e) < 0) {
                fprintf(stderr, "sandbox-run nsexec: %s\n", err_msg(&e));
                return 1;
        }
        return 0;
}

int
main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: sandbox-run run|idmap|commit|unpack|rm ...\n");
                return 2;
        }
        if (strcmp(argv[1], "run") == 0)
                return cmd_run(argc - 1, argv + 1);
        if (strcmp(argv[1], "idmap") == 0)
                return cmd_idmap();
        if (strcmp(argv[1], "commit") == 0)
                return cmd_commit(argc - 1, argv + 1);
        if (strcmp(argv[1], "unpack") == 0)
                return cmd_unpack(argc - 1, argv + 1);
        if (strcmp(argv[1], "rm") == 0)
                return cmd_rm(argc - 1, argv + 1);
        if (strcmp(argv[1], "nsexec") == 0)
                return cmd_nsexec(argc - 1, argv + 1);
        fprintf(stderr, "sandbox-run: unknown command %s\n", argv[1]);
        return 2;
}
