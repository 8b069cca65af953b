/* Blob downloads with sendfile(2), outside libmicrohttpd's send loop.
 *
 * libmicrohttpd 0.9.75 can send a file itself, but in thread-pool mode it
 * does so in 128 KiB sendfile steps with TCP_CORK set for the whole body,
 * which measured 0.6-0.75x of distribution on loopback.  So a plain-TCP blob
 * response of reasonable size is handed here once its headers are on the
 * wire: the connection is suspended (MHD stops polling its socket), one of a
 * few sender threads pushes the body with uncorked sendfile calls as the
 * socket drains, then resumes the connection, and the response's read
 * callback ends the request (handlers-blob.c, blob_body_read).  MHD has not
 * counted the body, so it ends by closing the connection; the response
 * carries "Connection: close" so clients expect that.
 *
 * Each sender thread owns an epoll set and the list of its transfers.  A
 * transfer with no progress for the idle timeout, a peer that went away, or
 * a file that ends early fails, and the callback then reports an error so
 * MHD drops the connection.  reg_sender_stop() fails whatever is left and
 * resumes those connections, as MHD_stop_daemon() requires. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "registry/server/server-internal.h"

/* One sendfile call's most.  On loopback 128 KiB steps measured 10-25 %
 * faster than 1 or 4 MiB ones (alternating runs against the same blob);
 * the call stops at what the socket buffer takes anyway. */
#define SEND_STEP (128 * 1024)
/* Most bytes one transfer sends per wake-up before the others get a turn. */
#define SEND_TURN (8 * 1024 * 1024)

struct sender_thread {
        pthread_t thread;
        unsigned idle_timeout;
        int epfd;
        int wake; /* eventfd: stop */
        pthread_mutex_t lock;
        struct reg_send_job *jobs; /* in flight, guarded by lock */
        bool stopping;             /* guarded by lock */
};

struct reg_sender {
        unsigned n;
        bool stopped; /* threads joined; the rest stays for late queue calls */
        atomic_uint next;
        struct sender_thread *threads;
};

static void
job_unlink(struct sender_thread *t, struct reg_send_job *j)
{
        struct reg_send_job **p;

        for (p = &t->jobs; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        break;
                }
}

/* Ends J, already off the list, with RESULT and gives its connection back
 * to MHD.  J belongs to the response, which MHD may free as soon as the
 * connection runs again, so nothing touches J after the resume. */
static void
job_release(struct sender_thread *t, struct reg_send_job *j, int result)
{
        struct MHD_Connection *conn = j->conn;

        epoll_ctl(t->epfd, EPOLL_CTL_DEL, j->sock, NULL);
        atomic_store(&j->result, result);
        MHD_resume_connection(conn);
}

static void
job_finish(struct sender_thread *t, struct reg_send_job *j, int result)
{
        pthread_mutex_lock(&t->lock);
        job_unlink(t, j);
        pthread_mutex_unlock(&t->lock);
        job_release(t, j, result);
}

/* Sends what the socket takes, up to a turn: 1 done, 0 more later, -1 failed. */
static int
job_send(struct reg_send_job *j)
{
        uint64_t turn = 0;
        ssize_t n;

        while (j->off < j->end && turn < SEND_TURN) {
                uint64_t left = (uint64_t) (j->end - j->off);

                n = sendfile(j->sock, j->fd, &j->off, left < SEND_STEP ? (size_t) left : SEND_STEP);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return 0;
                /* A file shorter than it was when opened is not the blob any
                 * more (blobs are renamed into place, never rewritten). */
                if (n <= 0)
                        return -1;
                turn += (uint64_t) n;
                j->last = time(NULL);
        }
        return j->off < j->end ? 0 : 1;
}

static void
expire(struct sender_thread *t, unsigned idle_timeout)
{
        time_t now = time(NULL);
        struct reg_send_job *j, *next, *old = NULL;

        /* Collect under the lock, release outside it (resuming takes MHD's). */
        pthread_mutex_lock(&t->lock);
        for (j = t->jobs; j; j = next) {
                next = j->next;
                if (now - j->last >= (time_t) idle_timeout) {
                        job_unlink(t, j);
                        j->next = old;
                        old = j;
                }
        }
        pthread_mutex_unlock(&t->lock);
        for (j = old; j; j = next) {
                next = j->next;
                job_release(t, j, -1);
        }
}

static void *
sender_main(void *arg)
{
        struct sender_thread *t = arg;
        struct epoll_event ev[32];
        time_t last_scan = time(NULL);
        sigset_t set;
        int n, i;

        pthread_setname_np(pthread_self(), "ireg-send");
        /* A peer that closed makes sendfile raise SIGPIPE; ireg ignores it
         * process-wide, but the library must not depend on that. */
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        for (;;) {
                n = epoll_wait(t->epfd, ev, 32, 1000);
                for (i = 0; i < n; i++) {
                        struct reg_send_job *j = ev[i].data.ptr;
                        int r;

                        if (!j) /* the wake eventfd */
                                continue;
                        r = job_send(j);
                        if (r == 0 && (ev[i].events & (EPOLLERR | EPOLLHUP)))
                                r = -1;
                        if (r != 0)
                                job_finish(t, j, r);
                }
                pthread_mutex_lock(&t->lock);
                if (t->stopping) {
                        pthread_mutex_unlock(&t->lock);
                        break;
                }
                pthread_mutex_unlock(&t->lock);
                if (time(NULL) != last_scan) {
                        last_scan = time(NULL);
                        expire(t, t->idle_timeout);
                }
        }
        /* Stopping: no transfer may stay suspended. */
        for (;;) {
                struct reg_send_job *j;

                pthread_mutex_lock(&t->lock);
                j = t->jobs;
                pthread_mutex_unlock(&t->lock);
                if (!j)
                        break;
                job_finish(t, j, -1);
        }
        return NULL;
}

struct reg_sender *
reg_sender_start(unsigned threads, unsigned idle_timeout, struct err **err)
{
        struct reg_sender *s = xcalloc(1, sizeof(*s));
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        int r;

        threads = threads ? threads : 1;
        s->threads = xcalloc(threads, sizeof(*s->threads));
        while (s->n < threads) {
                struct sender_thread *t = &s->threads[s->n];

                t->idle_timeout = idle_timeout ? idle_timeout : 300;
                t->epfd = epoll_create1(EPOLL_CLOEXEC);
                t->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                if (t->epfd < 0 || t->wake < 0 || epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wake, &ev) < 0) {
                        r = errno;
                        goto fail;
                }
                pthread_mutex_init(&t->lock, NULL);
                r = pthread_create(&t->thread, NULL, sender_main, t);
                if (r != 0) {
                        pthread_mutex_destroy(&t->lock);
                        goto fail;
                }
                s->n++;
        }
        return s;
fail:
        if (s->threads[s->n].epfd >= 0)
                close(s->threads[s->n].epfd);
        if (s->threads[s->n].wake >= 0)
                close(s->threads[s->n].wake);
        reg_sender_free(s);
        err_set(err, r, "starting the blob sender threads: %s", strerror(r));
        return NULL;
}

void
reg_sender_stop(struct reg_sender *s)
{
        unsigned i;

        if (!s || s->stopped)
                return;
        for (i = 0; i < s->n; i++) {
                struct sender_thread *t = &s->threads[i];
                uint64_t one = 1;

                pthread_mutex_lock(&t->lock);
                t->stopping = true;
                pthread_mutex_unlock(&t->lock);
                if (write(t->wake, &one, sizeof(one)) < 0) {
                        /* Cannot happen with a counter far from its max; the
                         * thread still sees the flag within a second. */
                }
        }
        for (i = 0; i < s->n; i++)
                pthread_join(s->threads[i].thread, NULL);
        s->stopped = true;
}

void
reg_sender_free(struct reg_sender *s)
{
        unsigned i;

        if (!s)
                return;
        reg_sender_stop(s);
        for (i = 0; i < s->n; i++) {
                pthread_mutex_destroy(&s->threads[i].lock);
                close(s->threads[i].epfd);
                close(s->threads[i].wake);
        }
        free(s->threads);
        free(s);
}

int
reg_sender_queue(struct reg_sender *s, struct reg_send_job *j)
{
        struct sender_thread *t;
        struct epoll_event ev = {.data.ptr = j};
        const union MHD_ConnectionInfo *ci;
        int off = 0, fl;

        if (!s || !s->n)
                return -1;
        ci = MHD_get_connection_info(j->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci)
                return -1;
        j->sock = ci->connect_fd;
        /* MHD's sockets are non-blocking in its epoll mode; make sure, as a
         * blocking one would stall every transfer of this thread. */
        fl = fcntl(j->sock, F_GETFL);
        if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(j->sock, F_SETFL, fl | O_NONBLOCK) < 0))
                return -1;
        /* Full segments as they come, no hold-back of the tail. */
        setsockopt(j->sock, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
        j->last = time(NULL);
        atomic_store(&j->result, 0);
        t = &s->threads[atomic_fetch_add(&s->next, 1) % s->n];
        ev.events = EPOLLOUT;
        /* Suspended under the lock: the sender may start on the socket at
         * once, but it cannot finish (and resume) the job before the
         * connection is suspended, as job_finish takes the lock. */
        pthread_mutex_lock(&t->lock);
        if (t->stopping || epoll_ctl(t->epfd, EPOLL_CTL_ADD, j->sock, &ev) < 0) {
                pthread_mutex_unlock(&t->lock);
                return -1;
        }
        j->next = t->jobs;
        t->jobs = j;
        MHD_suspend_connection(j->conn);
        pthread_mutex_unlock(&t->lock);
        return 0;
}
