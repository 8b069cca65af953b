/* ireg serve */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cmd/common/cli.h"
#include "cmd/ireg/ireg.h"
#include "cmd/ireg/serve-config.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "registry/auth/auth.h"
#include "registry/server/policy.h"
#include "registry/s3/s3.h"
#include "registry/server/server.h"
#include "registry/server/storage.h"

static const char serve_help[] =
        "Usage: ireg serve [OPTIONS]\n"
        "\n"
        "Serve the OCI Distribution API (registry v2) from a storage directory.\n"
        "\n"
        "Options (flags override the config file):\n"
        "  --addr HOST:PORT      listen address (default 127.0.0.1:5000; port 0 = any free port;\n"
        "                        [::1]:5000 for IPv6, :5000 for every interface)\n"
        "  --root DIR            storage directory (default /var/lib/ireg)\n"
        "  --config FILE.json    settings file: {\"addr\", \"root\", \"threads\", \"log\",\n"
        "                        \"chunk_min_length\", \"timeout\", \"max_conns\",\n"
        "                        \"max_conns_per_ip\", \"tls\": {\"cert\", \"key\", \"client_ca\"},\n"
        "                        \"auth\": {...}, \"storage\": {\"s3\": {\"endpoint\", \"region\",\n"
        "                        \"bucket\", \"prefix\", \"access_key\", \"secret_key\",\n"
        "                        \"redirect\"}}, \"policies\": [{\"repos\", \"require_signature\",\n"
        "                        \"immutable_tags\"}]} (the \"auth\" object is described in the\n"
        "                        README: htpasswd, token issuing/verification, ACL; \"storage\"\n"
        "                        in Scale out; \"policies\" in Signing and SBOMs); an unknown\n"
        "                        key is an error\n"
        "  --tls-cert FILE       PEM certificate (chain) to serve HTTPS with\n"
        "  --tls-key FILE        PEM private key of --tls-cert\n"
        "  --tls-client-ca FILE  require TLS client certificates signed by these CAs\n"
        "  --log FILE            append request and audit lines to FILE (default stderr)\n"
        "  --no-access-log       log only audit lines (pushes, deletes) and errors\n"
        "  --threads N           worker threads (default 2 per CPU, at least 4)\n"
        "  --chunk-min-length N  smallest chunked-upload PATCH accepted except the last one,\n"
        "                        in bytes (suffix K, M or G for KiB, MiB, GiB); announced as\n"
        "                        OCI-Chunk-Min-Length on upload responses; a PATCH or PUT\n"
        "                        carrying data after a shorter chunk gets 416 (default 0:\n"
        "                        no minimum, header not sent)\n"
        "  --timeout SECONDS     drop a connection that makes no progress for this long: no\n"
        "                        request arriving, or a client not reading its download\n"
        "                        (default 300)\n"
        "  --max-conns N         connections served at once (default 1024, fewer when the\n"
        "                        open-file limit is too low for that); past it a client is\n"
        "                        answered 503 with Retry-After\n"
        "  --max-conns-per-ip N  connections one client address may hold (default 256)\n"
        "  --drain SECONDS       on SIGTERM/SIGINT, wait this long for requests in flight\n"
        "                        (default 30)\n"
        "  --port-file FILE      write the bound port to FILE once listening\n"
        "  -h, --help            show this help\n";

static char *
read_text(const char *path, const char *what)
{
        _cleanup_err_ struct err *e = NULL;
        char *data = NULL;

        if (fs_read_file(path, LIMIT_JSON_SIZE, &data, NULL, &e) < 0) {
                fprintf(stderr, "ireg: error: %s %s: %s\n", what, path, err_msg(&e));
                return NULL;
        }
        return data;
}

/* A whole decimal number from MIN to MAX, nothing else ("5x", " 5", "+5"
 * and out-of-range values are refused). */
static int
parse_long(const char *s, long min, long max, long *ret)
{
        char *end;
        long v;

        if (!s || *s < '0' || *s > '9')
                return -1;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return -1;
        *ret = v;
        return 0;
}

/* "N", "NK", "NM", "NG" (binary units) into bytes, at most 4 GiB. */
static int
parse_size(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;
        uint64_t mult = 1;

        if (!s || !*s || *s == '-' || *s == '+')
                return -1;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s)
                return -1;
        if (*end) {
                switch (*end) {
                case 'k': case 'K': mult = 1024; break;
                case 'm': case 'M': mult = 1024 * 1024; break;
                case 'g': case 'G': mult = 1024 * 1024 * 1024; break;
                default: return -1;
                }
                if (end[1])
                        return -1;
        }
        if (v > ((uint64_t) 4 << 30) / mult)
                return -1;
        *ret = (uint64_t) v * mult;
        return 0;
}

/* Lift the soft open-file limit to the hard one, as a server must: each
 * connection may hold a socket and a blob file, and the connection limits
 * are budgeted from this limit. */
static void
raise_file_limit(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

int
ireg_serve(int argc, char **argv)
{
        enum { O_ADDR = 256, O_ROOT, O_CONFIG, O_CERT, O_KEY, O_CA, O_LOG, O_NOLOG, O_THREADS,
               O_DRAIN, O_PORTFILE, O_CHUNKMIN, O_TIMEOUT, O_MAXCONNS, O_MAXCONNSIP };
        static const struct option opts[] = {
                { "addr", required_argument, NULL, O_ADDR },
                { "root", required_argument, NULL, O_ROOT },
                { "config", required_argument, NULL, O_CONFIG },
                { "tls-cert", required_argument, NULL, O_CERT },
                { "tls-key", required_argument, NULL, O_KEY },
                { "tls-client-ca", required_argument, NULL, O_CA },
                { "log", required_argument, NULL, O_LOG },
                { "no-access-log", no_argument, NULL, O_NOLOG },
                { "threads", required_argument, NULL, O_THREADS },
                { "drain", required_argument, NULL, O_DRAIN },
                { "port-file", required_argument, NULL, O_PORTFILE },
                { "chunk-min-length", required_argument, NULL, O_CHUNKMIN },
                { "timeout", required_argument, NULL, O_TIMEOUT },
                { "max-conns", required_argument, NULL, O_MAXCONNS },
                { "max-conns-per-ip", required_argument, NULL, O_MAXCONNSIP },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        const char *config = NULL, *portfile = NULL;
        struct serve_settings st = { 0 };
        bool no_access_log = false;
        long drain = 30;
        struct reg_server_config cfg = { 0 };
        _cleanup_free_ char *cert_pem = NULL, *key_pem = NULL, *ca_pem = NULL;
        _cleanup_err_ struct err *e = NULL;
        json_t *conf = NULL;
        struct reg_auth *auth = NULL;
        FILE *log = NULL;
        char where[512] = "";
        struct reg_server *srv;
        sigset_t set;
        int c, sig, rc = 1;
        long v;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case O_ADDR: st.addr = optarg; break;
                case O_ROOT: st.root = optarg; break;
                case O_CONFIG: config = optarg; break;
                case O_CERT: st.cert = optarg; break;
                case O_KEY: st.key = optarg; break;
                case O_CA: st.ca = optarg; break;
                case O_LOG: st.log = optarg; break;
                case O_NOLOG: no_access_log = true; break;
                case O_THREADS:
                        if (parse_long(optarg, 1, 1024, &v) < 0)
                                return cli_fail("ireg", "--threads: want 1..1024, got '%s'", optarg);
                        st.threads = v, st.have_threads = true;
                        break;
                case O_DRAIN:
                        if (parse_long(optarg, 0, 86400, &drain) < 0)
                                return cli_fail("ireg", "--drain: want 0..86400 seconds, got '%s'", optarg);
                        break;
                case O_TIMEOUT:
                        if (parse_long(optarg, 1, 86400, &v) < 0)
                                return cli_fail("ireg", "--timeout: want 1..86400 seconds, got '%s'", optarg);
                        st.timeout = v, st.have_timeout = true;
                        break;
                case O_MAXCONNS:
                        if (parse_long(optarg, 1, 1 << 20, &v) < 0)
                                return cli_fail("ireg", "--max-conns: want 1..1048576, got '%s'", optarg);
                        st.max_conns = v, st.have_max_conns = true;
                        break;
                case O_MAXCONNSIP:
                        if (parse_long(optarg, 1, 1 << 20, &v) < 0)
                                return cli_fail("ireg", "--max-conns-per-ip: want 1..1048576, got '%s'", optarg);
                        st.max_conns_per_ip = v, st.have_max_conns_per_ip = true;
                        break;
                case O_PORTFILE: portfile = optarg; break;
                case O_CHUNKMIN: {
                        uint64_t n;
                        if (parse_size(optarg, &n) < 0)
                                return cli_fail("ireg", "--chunk-min-length: want bytes (0..4G, suffix K, M "
                                                "or G), got '%s'", optarg);
                        st.chunk_min = (json_int_t) n, st.have_chunk_min = true;
                        break;
                }
                case 'h': fputs(serve_help, stdout); return 0;
                default: fputs(serve_help, stderr); return 2;
                }
        }
        if (optind < argc)
                return cli_fail("ireg", "serve: unexpected argument '%s'", argv[optind]);

        if (config && serve_config_load(config, &st, &conf) < 0)
                goto out;
        if (st.auth) {
                auth = reg_auth_new(st.auth, &e);
                if (!auth) {
                        cli_print_err("ireg", &e);
                        goto out;
                }
        }
        if (st.cert && !(cert_pem = read_text(st.cert, "TLS certificate")))
                goto out;
        if (st.key && !(key_pem = read_text(st.key, "TLS key")))
                goto out;
        if (st.ca && !(ca_pem = read_text(st.ca, "TLS client CA")))
                goto out;
        if (st.log) {
                log = fopen(st.log, "ae");
                if (!log) {
                        fprintf(stderr, "ireg: error: log file %s: %s\n", st.log, strerror(errno));
                        goto out;
                }
        }
        setvbuf(log ? log : stderr, NULL, _IOLBF, 0);

        /* Block the stop signals before any thread starts so only sigwait
         * below sees them. */
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);

        raise_file_limit();
        if (st.have_s3) {
                struct s3_config s3c;
                struct reg_store_config sc = { .s3 = &s3c, .s3_redirect = st.s3_redirect };

                serve_settings_s3(&st, &s3c);
                cfg.store = reg_store_new(&sc, &e);
                if (!cfg.store) {
                        cli_print_err("ireg", &e);
                        goto out;
                }
                snprintf(where, sizeof(where), "bucket %s at %s", s3c.bucket, s3c.endpoint);
        }
        cfg.addr = st.addr ? st.addr : "127.0.0.1:5000";
        cfg.root = st.root ? st.root : "/var/lib/ireg";
        cfg.threads = (unsigned) st.threads;
        cfg.tls_cert_pem = cert_pem;
        cfg.tls_key_pem = key_pem;
        cfg.tls_client_ca_pem = ca_pem;
        cfg.auth = auth;
        cfg.policy = st.policy;
        cfg.log = log;
        cfg.no_access_log = no_access_log;
        cfg.chunk_min_length = (uint64_t) st.chunk_min;
        cfg.idle_timeout = (unsigned) st.timeout;
        cfg.max_conns = (unsigned) st.max_conns;
        cfg.max_conns_per_ip = (unsigned) st.max_conns_per_ip;
        srv = reg_server_start(&cfg, &e);
        if (!srv) {
                cli_print_err("ireg", &e);
                goto out;
        }
        if (!where[0])
                snprintf(where, sizeof(where), "root %s", cfg.root);
        fprintf(stderr, "ireg: serving %s on %s (port %u), %s\n", cert_pem ? "HTTPS" : "HTTP",
                cfg.addr, (unsigned) reg_server_port(srv), where);
        if (portfile) {
                char buf[16];
                snprintf(buf, sizeof(buf), "%u\n", (unsigned) reg_server_port(srv));
                if (fs_write_atomic(portfile, buf, strlen(buf), 0644, &e) < 0)
                        cli_print_err("ireg", &e);
        }
        sigwait(&set, &sig);
        fprintf(stderr, "ireg: %s: draining requests (up to %lds)\n", strsignal(sig), drain);
        reg_server_stop(srv, (unsigned) drain);
        fprintf(stderr, "ireg: stopped\n");
        rc = 0;
out:
        reg_auth_free(auth);
        reg_auth_config_free(st.auth);
        reg_policy_free(st.policy);
        json_decref(conf);
        if (log)
                fclose(log);
        return rc;
}
