/* ibuild --ssh and RUN --mount=type=ssh: private agents for key files, and
 * the per-step forwarding sockets.
 *
 * Key files (--ssh ID=KEY[,KEY]) go into an ssh-agent of openssh-client
 * started for the build, rather than an agent written here: parsing every
 * OpenSSH private key format and signing with each key type is a large
 * attack surface that ssh-agent already covers, and ssh-add is what a user
 * would run by hand.  The agent runs in its own session (no controlling
 * terminal, stdin /dev/null, SSH_ASKPASS_REQUIRE=never) so that a key
 * needing a passphrase fails instead of prompting.
 *
 * A step never sees the agent socket itself: BuildKit gives each ssh mount
 * a socket of its own with the mount's uid/gid/mode, which a bind mount of
 * the agent's socket cannot provide (its owner and mode are the host's).
 * The forwarder relays one request at a time and, as BuildKit's read-only
 * agent, passes only the two requests a client needs to authenticate. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "builder/exec/exec-internal.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "common/strv.h"

extern char **environ;

/* The agent protocol (draft-miller-ssh-agent, its message numbers): the
 * requests a step may send, and the reply to anything else.  Every message
 * is a uint32 length, then a type byte and its contents. */
#define SSH_AGENT_FAILURE 5
#define SSH2_AGENTC_REQUEST_IDENTITIES 11
#define SSH2_AGENTC_SIGN_REQUEST 13

/* How long an agent may take to listen, and ssh-add to load a key. */
#define AGENT_START_MS 5000
#define SSH_ADD_MS 30000

static void
sleep_ms(long ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static long
now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* NAME in $PATH (an executable regular file), or NULL; caller frees. */
static char *
find_on_path(const char *name)
{
        const char *path = getenv("PATH");
        const char *p;

        if (!path || !*path)
                path = "/usr/local/bin:/usr/bin:/bin";
        p = path;
        for (;;) {
                const char *end = strchr(p, ':');
                size_t len = end ? (size_t) (end - p) : strlen(p);
                _cleanup_free_ char *cand = len ? xasprintf("%.*s/%s", (int) len, p, name) : xasprintf("./%s", name);
                struct stat st;

                if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
                        return steal_ptr(&cand);
                if (!end)
                        return NULL;
                p = end + 1;
        }
}

/* The address of unix socket PATH.  A path longer than sun_path is reached
 * through an O_PATH fd of its dir (*ret_dirfd, which the caller closes
 * after bind or connect) as /proc/self/fd/N/NAME. */
static int
sock_addr(const char *path, struct sockaddr_un *a, int *ret_dirfd, struct err **err)
{
        memset(a, 0, sizeof(*a));
        a->sun_family = AF_UNIX;
        *ret_dirfd = -1;
        if (strlen(path) < sizeof(a->sun_path)) {
                memcpy(a->sun_path, path, strlen(path) + 1);
                return 0;
        }
        {
                const char *slash = strrchr(path, '/');
                _cleanup_free_ char *dir = slash ? xstrndup(path, (size_t) (slash - path)) : xstrdup(".");
                const char *name = slash ? slash + 1 : path;
                int dfd = open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                int n;

                if (dfd < 0)
                        return err_set(err, errno, "%s: %s", dir, strerror(errno));
                n = snprintf(a->sun_path, sizeof(a->sun_path), "/proc/self/fd/%d/%s", dfd, name);
                if (n < 0 || (size_t) n >= sizeof(a->sun_path)) {
                        close(dfd);
                        return err_set(err, ENAMETOOLONG, "%s: the socket name is too long", path);
                }
                *ret_dirfd = dfd;
        }
        return 0;
}

/* A connected stream socket to unix socket PATH.  NONBLOCK: a non-blocking
 * one, and an agent whose backlog is full fails at once (EAGAIN) instead of
 * stalling the caller. */
static int
sock_connect(const char *path, bool nonblock, struct err **err)
{
        struct sockaddr_un a;
        _cleanup_close_ int dfd = -1;
        _cleanup_close_ int fd = -1;

        if (sock_addr(path, &a, &dfd, err) < 0)
                return -1;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
        if (fd < 0)
                return err_set(err, errno, "socket: %s", strerror(errno));
        while (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
                if (errno == EINTR)
                        continue;
                return err_set(err, errno, "connecting to %s: %s", path, strerror(errno));
        }
        return steal_fd(&fd);
}

/* ---- private agents ------------------------------------------------------ */

struct xssh_agent {
        char *dir;   /* private 0700 dir holding the socket */
        char *sock;  /* DIR/agent.sock */
        pid_t pid;   /* the agent's supervisor (see agent_start), or 0 */
        int stop_fd; /* closing it (or our death) stops the agent */
};

struct xssh_agents {
        struct xssh_agent *v;
        size_t n;
        const char **socks; /* per o->ssh entry: the socket steps reach it by */
};

static void
agent_stop(struct xssh_agent *a)
{
        if (a->stop_fd >= 0) {
                close(a->stop_fd);
                a->stop_fd = -1;
        }
        if (a->pid > 0) {
                int st;

                /* The supervisor stops the agent and exits. */
                while (waitpid(a->pid, &st, 0) < 0 && errno == EINTR)
                        ;
                a->pid = 0;
        }
        if (a->dir) {
                struct err *e = NULL;

                fs_rm_rf(a->dir, &e);
                err_clear(&e);
        }
        free(a->dir);
        free(a->sock);
        a->dir = a->sock = NULL;
}

void
xssh_agents_stop(struct xssh_agents *a)
{
        if (!a)
                return;
        for (size_t i = 0; i < a->n; i++)
                agent_stop(&a->v[i]);
        free(a->v);
        free(a->socks);
        free(a);
}

/* The environment of ssh-agent and ssh-add: ours, without anything that
 * could make ssh-add ask for a passphrase, pointing at SOCK. */
static char **
agent_env(const char *sock)
{
        static const char *const drop[] = {
            "SSH_AUTH_SOCK=", "SSH_AGENT_PID=", "SSH_ASKPASS=", "SSH_ASKPASS_REQUIRE=", "DISPLAY=", "WAYLAND_DISPLAY="};
        struct strv v = {0};

        for (char **e = environ; *e; e++) {
                bool skip = false;

                for (size_t k = 0; k < sizeof(drop) / sizeof(drop[0]); k++)
                        if (strncmp(*e, drop[k], strlen(drop[k])) == 0)
                                skip = true;
                if (!skip)
                        strv_push(&v, xstrdup(*e));
        }
        strv_push(&v, xasprintf("SSH_AUTH_SOCK=%s", sock));
        strv_push(&v, xstrdup("SSH_ASKPASS_REQUIRE=never"));
        return strv_steal(&v, NULL);
}

/* In a forked child: a session of its own (no controlling terminal: no
 * prompt can reach the user), stdin and stdout on /dev/null, stderr on
 * ERRFD, no other fd but KEEP (moved to 3; -1: none), and with DEATHSIG
 * killed with the thread that forked it. */
static void
child_setup(pid_t parent, int errfd, int keep, bool deathsig)
{
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        setsid();
        if (deathsig)
                prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
                _exit(127);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(errfd >= 0 ? errfd : null, 2) < 0)
                _exit(127);
        if (keep >= 0 && dup2(keep, 3) < 0)
                _exit(127);
        /* Kernels before 5.9 have no close_range; the supervisor never
         * execs, so O_CLOEXEC would not close the rest for it. */
        if (close_range(keep >= 0 ? 4 : 3, ~0U, 0) < 0)
                for (int fd = keep >= 0 ? 4 : 3; fd < 1024; fd++)
                        close(fd);
        {
                sigset_t all;

                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                signal(SIGINT, SIG_DFL);
                signal(SIGTERM, SIG_DFL);
                signal(SIGPIPE, SIG_DFL);
        }
}

/* What ssh-add said, made one line: its warning banners ("@@@...") left
 * out, lines joined with "; " (at most one byte more per line than the
 * newline it replaces, so 2 * strlen + 1 always fits). */
static char *
one_line(const char *text)
{
        char *out = xmalloc(2 * strlen(text) + 1);
        size_t n = 0;
        const char *p = text;

        while (*p) {
                const char *end = strchr(p, '\n');
                size_t len = end ? (size_t) (end - p) : strlen(p);

                while (len && (p[len - 1] == '\r' || p[len - 1] == ' '))
                        len--;
                if (len && p[0] != '@') {
                        if (n) {
                                memcpy(out + n, "; ", 2);
                                n += 2;
                        }
                        memcpy(out + n, p, len);
                        n += len;
                }
                if (!end)
                        break;
                p = end + 1;
        }
        out[n] = '\0';
        return out;
}

/* ssh-add KEY into the agent at SOCK, never prompting. */
static int
ssh_add(const char *tool, const char *id, const char *key, char **envp, struct err **err)
{
        const char *argv[] = {"ssh-add", "-q", "--", key, NULL};
        char out[4096];
        size_t n = 0;
        int pfd[2];
        pid_t parent = getpid(), pid;
        long until = now_ms() + SSH_ADD_MS;
        bool timed_out = false;
        int st = 0;

        if (pipe2(pfd, O_CLOEXEC) < 0)
                return err_set(err, errno, "--ssh %s: loading key %s: pipe: %s", id, key, strerror(errno));
        pid = fork();
        if (pid < 0) {
                int e = errno;

                close(pfd[0]);
                close(pfd[1]);
                return err_set(err, e, "--ssh %s: loading key %s: fork: %s", id, key, strerror(e));
        }
        if (pid == 0) {
                child_setup(parent, pfd[1], -1, true);
                execve(tool, (char *const *) argv, envp);
                _exit(127);
        }
        close(pfd[1]);
        for (;;) {
                struct pollfd p = {.fd = pfd[0], .events = POLLIN};
                long left = until - now_ms();
                ssize_t r;
                char sink[512];

                if (left <= 0) {
                        timed_out = true;
                        break;
                }
                r = poll(&p, 1, (int) left);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) /* cannot wait on it: stop reading, not spin */
                        break;
                if (r == 0)
                        continue;
                /* Past the first 4 KiB its output is read and dropped. */
                if (n < sizeof(out) - 1) {
                        r = read(pfd[0], out + n, sizeof(out) - 1 - n);
                        if (r > 0)
                                n += (size_t) r;
                } else {
                        r = read(pfd[0], sink, sizeof(sink));
                }
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
        }
        close(pfd[0]);
        if (timed_out)
                kill(pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        out[n] = '\0';
        if (timed_out)
                return err_set(err, ETIMEDOUT, "--ssh %s: loading key %s: ssh-add did not finish in %d s", id, key,
                               SSH_ADD_MS / 1000);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                return 0;
        if (strstr(out, "passphrase"))
                return err_set(err, EACCES,
                               "--ssh %s: key %s needs a passphrase, and ibuild never prompts for one (load it with "
                               "ssh-add into an agent and give --ssh %s=SOCKET)",
                               id, key, id);
        {
                _cleanup_free_ char *msg = one_line(out);

                if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && !*msg)
                        return err_set(err, ENOENT, "--ssh %s: loading key %s: could not run %s", id, key, tool);
                return err_set(err, EINVAL, "--ssh %s: cannot load key %s%s%s", id, key, *msg ? ": " : "",
                               *msg ? msg : "");
        }
}

/* The supervisor of one ssh-agent, in a forked child that never execs:
 * ssh-agent is set-group-id on Debian, and the kernel drops a
 * PR_SET_PDEATHSIG across such an exec, so the agent could outlive a
 * killed ibuild.  Instead this process watches fd 3, the read end of a pipe
 * only ibuild holds the write end of: end of file (ibuild closed it, or
 * died) makes it stop the agent (SIGTERM: ssh-agent removes its socket)
 * and exit.  When the agent exits by itself, it exits with its status. */
static void
agent_supervise(const char *tool, const char *const *argv, char **envp)
{
        pid_t pid = fork();
        int st;

        if (pid < 0)
                _exit(126);
        if (pid == 0) {
                close(3);
                execve(tool, (char *const *) argv, envp);
                _exit(127);
        }
        for (;;) {
                struct pollfd p = {.fd = 3, .events = POLLIN};

                if (waitpid(pid, &st, WNOHANG) == pid)
                        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
                if (poll(&p, 1, 200) > 0)
                        break;
        }
        kill(pid, SIGTERM);
        for (int i = 0; i < 400; i++) {
                if (waitpid(pid, &st, WNOHANG) == pid)
                        _exit(0);
                sleep_ms(5);
        }
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        _exit(0);
}

/* Start an ssh-agent for S (in a private dir under BASE) holding S's keys. */
static int
agent_start(const struct build_ssh *s, const char *base, const char *agent_tool, const char *add_tool,
            struct xssh_agent *a, struct err **err)
{
        const char *argv[] = {"ssh-agent", "-D", "-a", NULL, NULL};
        _cleanup_free_ char *log = NULL;
        char **envp = NULL;
        pid_t parent = getpid();
        int pfd[2] = {-1, -1};
        long until;
        int r, logfd;

        r = fs_mkdtemp_in(base, "ssh-agent-", &a->dir, err);
        if (r < 0)
                return err_prefix(err, "--ssh %s", s->id);
        a->sock = xasprintf("%s/agent.sock", a->dir);
        log = xasprintf("%s/agent.log", a->dir);
        argv[3] = a->sock;
        envp = agent_env(a->sock);
        logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (logfd < 0) {
                r = err_set(err, errno, "--ssh %s: %s: %s", s->id, log, strerror(errno));
                goto out;
        }
        if (pipe2(pfd, O_CLOEXEC) < 0) {
                r = err_set(err, errno, "--ssh %s: pipe: %s", s->id, strerror(errno));
                close(logfd);
                goto out;
        }
        a->pid = fork();
        if (a->pid < 0) {
                r = err_set(err, errno, "--ssh %s: fork: %s", s->id, strerror(errno));
                a->pid = 0;
                close(logfd);
                close(pfd[0]);
                close(pfd[1]);
                goto out;
        }
        if (a->pid == 0) {
                close(pfd[1]); /* or the supervisor would never see its end */
                child_setup(parent, logfd, pfd[0], false);
                agent_supervise(agent_tool, argv, envp);
        }
        close(logfd);
        close(pfd[0]);
        a->stop_fd = pfd[1];
        /* Listening once a connection succeeds (the socket file exists a
         * moment before listen()). */
        until = now_ms() + AGENT_START_MS;
        for (;;) {
                struct err *e = NULL;
                int st, fd;

                if (waitpid(a->pid, &st, WNOHANG) == a->pid) {
                        _cleanup_free_ char *text = NULL, *msg = NULL;
                        size_t len = 0;

                        a->pid = 0;
                        if (fs_read_file(log, 4096, &text, &len, &e) < 0)
                                err_clear(&e);
                        msg = one_line(text ? text : "");
                        r = err_set(err, ECHILD, "--ssh %s: %s -D -a %s exited (status %d)%s%s", s->id, agent_tool,
                                    a->sock, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), *msg ? ": " : "",
                                    msg);
                        goto out;
                }
                fd = sock_connect(a->sock, false, &e);
                err_clear(&e);
                if (fd >= 0) {
                        close(fd);
                        break;
                }
                if (now_ms() > until) {
                        r = err_set(err, ETIMEDOUT, "--ssh %s: %s did not listen on %s within %d s", s->id, agent_tool,
                                    a->sock, AGENT_START_MS / 1000);
                        goto out;
                }
                sleep_ms(10);
        }
        for (size_t k = 0; k < s->n_keys; k++) {
                r = ssh_add(add_tool, s->id, s->keys[k], envp, err);
                if (r < 0)
                        goto out;
        }
        r = 0;
out:
        strv_free(envp);
        return r;
}

int
xssh_agents_start(struct xctx *x, struct err **err)
{
        struct xssh_agents *a;
        _cleanup_free_ char *agent_tool = NULL, *add_tool = NULL;
        const char *base = x->work;
        const struct build_ssh *first_key = NULL;

        if (x->o->n_ssh == 0)
                return 0;
        a = xcalloc(1, sizeof(*a));
        a->socks = xcalloc(x->o->n_ssh, sizeof(char *));
        a->v = xcalloc(x->o->n_ssh, sizeof(*a->v));
        x->ssh = a;
        for (size_t k = 0; k < x->o->n_ssh; k++) {
                a->socks[k] = x->o->ssh[k].socket;
                if (!x->o->ssh[k].socket && !first_key)
                        first_key = &x->o->ssh[k];
        }
        if (!first_key)
                return 0;
        agent_tool = find_on_path("ssh-agent");
        add_tool = find_on_path("ssh-add");
        if (!agent_tool || !add_tool)
                return err_set(err, ENOENT,
                               "--ssh %s: key files need ssh-agent and ssh-add (Debian package openssh-client), and "
                               "%s is not on PATH",
                               first_key->id, !agent_tool ? "ssh-agent" : "ssh-add");
        /* The socket path must fit sun_path (108 bytes, which ssh-agent's
         * -a needs too): a deep store falls back to $TMPDIR. */
        {
                struct sockaddr_un sa;

                if (strlen(x->work) + sizeof("/ssh-agent-XXXXXX/agent.sock") > sizeof(sa.sun_path)) {
                        base = getenv("TMPDIR");
                        if (!base || !*base || base[0] != '/' ||
                            strlen(base) + sizeof("/ssh-agent-XXXXXX/agent.sock") > sizeof(sa.sun_path))
                                base = "/tmp";
                }
        }
        for (size_t k = 0; k < x->o->n_ssh; k++) {
                const struct build_ssh *s = &x->o->ssh[k];
                struct xssh_agent *ag;
                int r;

                if (s->socket)
                        continue;
                if (x->o->cancel && *x->o->cancel)
                        return err_set(err, ECANCELED, "cancelled");
                ag = &a->v[a->n++];
                ag->stop_fd = -1;
                r = agent_start(s, base, agent_tool, add_tool, ag, err);
                if (r < 0)
                        return r; /* the caller's xssh_agents_stop removes it */
                a->socks[k] = ag->sock;
        }
        return 0;
}

const char *
xssh_socket(struct xctx *x, const char *id)
{
        for (size_t k = 0; k < x->o->n_ssh; k++)
                if (strcmp(x->o->ssh[k].id, id) == 0)
                        return x->ssh && x->ssh->socks[k] ? x->ssh->socks[k] : x->o->ssh[k].socket;
        return NULL;
}

/* ---- per-step forwarders ------------------------------------------------- */

enum fstate {
        F_REQUEST,  /* reading a request from the step */
        F_TO_AGENT, /* writing it to the agent */
        F_REPLY,    /* reading the agent's reply */
        F_TO_STEP,  /* writing the reply (or our failure) to the step */
};

struct fconn {
        int cfd, afd;
        enum fstate st;
        uint8_t *buf;
        size_t len, need, off;
};

struct flisten {
        int fd;
        char *path;        /* the socket the step sees (bind-mounted) */
        const char *agent; /* borrowed: the agent socket */
};

struct xssh_fwd {
        char *dir;
        struct flisten *l;
        size_t n;
        struct fconn *c;
        size_t n_c;
        int stop[2];
        pthread_t th;
        bool running;
};

static void
fconn_close(struct fconn *c)
{
        if (c->cfd >= 0)
                close(c->cfd);
        if (c->afd >= 0)
                close(c->afd);
        free(c->buf);
        c->cfd = c->afd = -1;
        c->buf = NULL;
}

/* Read one length-prefixed message from FD into C (header first, then
 * exactly its body: a pipelined next request stays in the socket).
 * 1 when complete, 0 to wait, -1 to drop the connection. */
static int
fconn_read(struct fconn *c, int fd)
{
        size_t want = c->len < 4 ? 4 - c->len : c->need - c->len;
        ssize_t r = recv(fd, c->buf + c->len, want, 0);

        if (r < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (r <= 0)
                return -1;
        c->len += (size_t) r;
        if (c->len == 4) {
                uint32_t body =
                    (uint32_t) c->buf[0] << 24 | (uint32_t) c->buf[1] << 16 | (uint32_t) c->buf[2] << 8 | c->buf[3];

                if (body == 0 || body > LIMIT_SSH_AGENT_MSG)
                        return -1;
                c->need = 4 + (size_t) body;
                c->buf = xrealloc(c->buf, c->need);
        }
        return c->len >= 4 && c->len == c->need ? 1 : 0;
}

/* Write C's message to FD: 1 when all written, 0 to wait, -1 to drop. */
static int
fconn_write(struct fconn *c, int fd)
{
        ssize_t r = send(fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);

        if (r < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (r <= 0)
                return -1;
        c->off += (size_t) r;
        return c->off == c->len ? 1 : 0;
}

/* Advance C on readiness of its current fd; false to drop it. */
static bool
fconn_step(struct fconn *c)
{
        int r;

        switch (c->st) {
        case F_REQUEST:
                r = fconn_read(c, c->cfd);
                if (r <= 0)
                        return r == 0;
                c->off = 0;
                if (c->buf[4] == SSH2_AGENTC_REQUEST_IDENTITIES || c->buf[4] == SSH2_AGENTC_SIGN_REQUEST) {
                        c->st = F_TO_AGENT;
                } else {
                        static const uint8_t failure[] = {0, 0, 0, 1, SSH_AGENT_FAILURE};

                        memcpy(c->buf, failure, sizeof(failure));
                        c->len = sizeof(failure);
                        c->st = F_TO_STEP;
                }
                return true;
        case F_TO_AGENT:
                r = fconn_write(c, c->afd);
                if (r <= 0)
                        return r == 0;
                c->len = c->need = 0;
                c->st = F_REPLY;
                return true;
        case F_REPLY:
                r = fconn_read(c, c->afd);
                if (r <= 0)
                        return r == 0;
                c->off = 0;
                c->st = F_TO_STEP;
                return true;
        case F_TO_STEP:
                r = fconn_write(c, c->cfd);
                if (r <= 0)
                        return r == 0;
                c->len = c->need = 0;
                c->st = F_REQUEST;
                return true;
        }
        return false;
}

static void
fwd_accept(struct xssh_fwd *f, struct flisten *l)
{
        struct err *e = NULL;
        struct fconn c = {.cfd = -1, .afd = -1, .st = F_REQUEST};

        c.cfd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c.cfd < 0)
                return;
        if (f->n_c >= LIMIT_SSH_AGENT_CONNS) {
                close(c.cfd);
                return;
        }
        /* The step's client sees the agent gone if it cannot be reached at
         * once: a wedged agent must not stall the step's other connections
         * (this thread serves them all) or the step's end. */
        c.afd = sock_connect(l->agent, true, &e);
        err_clear(&e);
        if (c.afd < 0) {
                fconn_close(&c);
                return;
        }
        c.buf = xmalloc(4);
        f->c = xrealloc(f->c, (f->n_c + 1) * sizeof(*f->c));
        f->c[f->n_c++] = c;
}

static void *
fwd_main(void *arg)
{
        struct xssh_fwd *f = arg;
        size_t cap = 1 + f->n + LIMIT_SSH_AGENT_CONNS;
        struct pollfd *p = xcalloc(cap, sizeof(*p));

        for (;;) {
                size_t np = 0, first_conn;
                int r;

                p[np++] = (struct pollfd){.fd = f->stop[0], .events = POLLIN};
                for (size_t i = 0; i < f->n; i++)
                        p[np++] = (struct pollfd){.fd = f->l[i].fd, .events = POLLIN};
                first_conn = np;
                for (size_t i = 0; i < f->n_c; i++) {
                        const struct fconn *c = &f->c[i];
                        bool to_agent = c->st == F_TO_AGENT || c->st == F_REPLY;
                        bool out = c->st == F_TO_AGENT || c->st == F_TO_STEP;

                        p[np++] = (struct pollfd){.fd = to_agent ? c->afd : c->cfd, .events = out ? POLLOUT : POLLIN};
                }
                r = poll(p, np, -1);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0 || p[0].revents)
                        break;
                /* Connections first: accepting may move f->c. */
                for (size_t i = 0; i < f->n_c; i++)
                        if (p[first_conn + i].revents && !fconn_step(&f->c[i]))
                                fconn_close(&f->c[i]);
                {
                        size_t k = 0;

                        for (size_t i = 0; i < f->n_c; i++)
                                if (f->c[i].cfd >= 0)
                                        f->c[k++] = f->c[i];
                        f->n_c = k;
                }
                for (size_t i = 0; i < f->n; i++)
                        if (p[1 + i].revents & POLLIN)
                                fwd_accept(f, &f->l[i]);
        }
        free(p);
        return NULL;
}

struct chown_arg {
        const char *path;
        uid_t uid;
        gid_t gid;
};

/* In the build's user namespace (root there): give the socket the ids the
 * step will see. */
static int
chown_fn(void *arg, struct err **err)
{
        const struct chown_arg *a = arg;

        if (lchown(a->path, a->uid, a->gid) < 0)
                return err_set(err, errno, "chown %s to %u:%u: %s", a->path, (unsigned) a->uid, (unsigned) a->gid,
                               strerror(errno));
        return 0;
}

void
xssh_fwd_stop(struct xssh_fwd *f)
{
        if (!f)
                return;
        if (f->running) {
                ssize_t w;

                do
                        w = write(f->stop[1], "x", 1);
                while (w < 0 && errno == EINTR);
                pthread_join(f->th, NULL);
        }
        for (size_t i = 0; i < f->n_c; i++)
                fconn_close(&f->c[i]);
        free(f->c);
        for (size_t i = 0; i < f->n; i++) {
                if (f->l[i].fd >= 0)
                        close(f->l[i].fd);
                free(f->l[i].path);
        }
        free(f->l);
        if (f->stop[0] >= 0)
                close(f->stop[0]);
        if (f->stop[1] >= 0)
                close(f->stop[1]);
        if (f->dir) {
                struct err *e = NULL;

                /* The dir is the caller's: its sockets go whoever owns them. */
                fs_rm_rf(f->dir, &e);
                err_clear(&e);
                free(f->dir);
        }
        free(f);
}

static int
fwd_listen(struct xctx *x, struct xssh_fwd *f, struct build_mount *m, size_t i, struct err **err)
{
        struct flisten *l = &f->l[i];
        struct sockaddr_un a;
        _cleanup_close_ int dfd = -1;
        const char *id = m->id;

        l->agent = m->source;
        l->path = xasprintf("%s/agent.%zu", f->dir, i);
        if (build_idmap_to_host(&x->idmap, false, m->uid) == (uint32_t) -1)
                return err_set(err, EINVAL,
                               "--mount type=ssh,id=%s,uid=%u: uid %u is not mapped in the build's user namespace "
                               "(a single-id mapping has only 0; add the user to /etc/subuid)",
                               id, (unsigned) m->uid, (unsigned) m->uid);
        if (build_idmap_to_host(&x->idmap, true, m->gid) == (uint32_t) -1)
                return err_set(err, EINVAL,
                               "--mount type=ssh,id=%s,gid=%u: gid %u is not mapped in the build's user namespace "
                               "(a single-id mapping has only 0; add the user to /etc/subgid)",
                               id, (unsigned) m->gid, (unsigned) m->gid);
        if (sock_addr(l->path, &a, &dfd, err) < 0)
                return err_prefix(err, "--mount type=ssh,id=%s", id);
        l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (l->fd < 0)
                return err_set(err, errno, "--mount type=ssh,id=%s: socket: %s", id, strerror(errno));
        if (bind(l->fd, (struct sockaddr *) &a, sizeof(a)) < 0)
                return err_set(err, errno, "--mount type=ssh,id=%s: bind %s: %s", id, l->path, strerror(errno));
        if (listen(l->fd, 16) < 0)
                return err_set(err, errno, "--mount type=ssh,id=%s: listen %s: %s", id, l->path, strerror(errno));
        /* The mode first: once chowned away the caller may no longer
         * change it. */
        if (chmod(l->path, m->mode & 07777) < 0)
                return err_set(err, errno, "--mount type=ssh,id=%s: chmod %s: %s", id, l->path, strerror(errno));
        if (m->uid != 0 || m->gid != 0) {
                struct chown_arg ca = {.path = l->path, .uid = m->uid, .gid = m->gid};

                if (build_idmap_call(&x->idmap, chown_fn, &ca, err) < 0)
                        return err_prefix(err, "--mount type=ssh,id=%s", id);
        }
        m->source = l->path;
        return 0;
}

int
xssh_fwd_start(struct xctx *x, struct build_mount *mounts, const size_t *idx, size_t n, struct xssh_fwd **ret,
               struct err **err)
{
        struct xssh_fwd *f;
        sigset_t all, old;
        int r;

        if (n == 0) {
                *ret = NULL;
                return 0;
        }
        f = xcalloc(1, sizeof(*f));
        f->stop[0] = f->stop[1] = -1;
        f->l = xcalloc(n, sizeof(*f->l));
        for (size_t i = 0; i < n; i++)
                f->l[i].fd = -1;
        r = fs_mkdtemp_in(x->work, "ssh-", &f->dir, err);
        if (r < 0)
                goto fail;
        /* Reached by the sandbox's bind mount only: the step sees the
         * socket's own owner and mode, never this dir. */
        for (size_t i = 0; i < n; i++) {
                f->n = i + 1;
                r = fwd_listen(x, f, &mounts[idx[i]], i, err);
                if (r < 0)
                        goto fail;
        }
        if (pipe2(f->stop, O_CLOEXEC) < 0) {
                r = err_set(err, errno, "starting the ssh forwarder: pipe: %s", strerror(errno));
                goto fail;
        }
        /* Signals stay with the threads that wait for the step. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r = pthread_create(&f->th, NULL, fwd_main, f);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0) {
                r = err_set(err, r, "starting the ssh forwarder: %s", strerror(r));
                goto fail;
        }
        f->running = true;
        *ret = f;
        return 0;
fail:
        xssh_fwd_stop(f);
        return r < 0 ? r : -1;
}
