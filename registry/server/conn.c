/* Connections: how many are open, in total and per client address, and the
 * state a request needs from the connection it came on (the target's
 * escapes).  A connection past a limit is still accepted, so that it can be
 * told why (503 with Retry-After) instead of seeing a bare close; its
 * requests get nothing else, and it gets a short timeout. */
#include "registry/server/server-internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "registry/server/request.h"

/* Seconds an over-limit connection may stay open without sending its
 * request. */
#define OVER_LIMIT_TIMEOUT 10
#define IP_BUCKETS 256

struct ip_count {
        struct ip_count *next;
        unsigned n;
        char ip[REG_IP_MAX];
};

struct reg_conns {
        pthread_mutex_t lock;
        unsigned max_total, max_per_ip;
        unsigned total;
        struct ip_count *buckets[IP_BUCKETS];
};

struct reg_conns *
reg_conns_new(unsigned max_total, unsigned max_per_ip)
{
        struct reg_conns *c = xcalloc(1, sizeof(*c));

        pthread_mutex_init(&c->lock, NULL);
        c->max_total = max_total;
        c->max_per_ip = max_per_ip;
        return c;
}

void
reg_conns_free(struct reg_conns *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < IP_BUCKETS; i++)
                while (c->buckets[i]) {
                        struct ip_count *x = c->buckets[i];
                        c->buckets[i] = x->next;
                        free(x);
                }
        pthread_mutex_destroy(&c->lock);
        free(c);
}

static size_t
ip_hash(const char *ip)
{
        size_t h = 5381;

        for (; *ip; ip++)
                h = h * 33 + (unsigned char) *ip;
        return h % IP_BUCKETS;
}

void
reg_client_address(struct MHD_Connection *conn, char *buf, size_t len)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ci ? ci->client_addr : NULL;

        snprintf(buf, len, "-");
        if (!sa)
                return;
        if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, buf, (socklen_t) len);
        else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr, buf, (socklen_t) len);
}

/* Count a new connection from IP; true when it is past a limit. */
static bool
conns_add(struct reg_conns *c, const char *ip)
{
        struct ip_count *e, **head = &c->buckets[ip_hash(ip)];
        bool over;

        pthread_mutex_lock(&c->lock);
        for (e = *head; e && strcmp(e->ip, ip) != 0; e = e->next)
                ;
        if (!e) {
                e = xcalloc(1, sizeof(*e));
                snprintf(e->ip, sizeof(e->ip), "%s", ip);
                e->next = *head;
                *head = e;
        }
        e->n++;
        c->total++;
        over = (c->max_total && c->total > c->max_total) || (c->max_per_ip && e->n > c->max_per_ip);
        pthread_mutex_unlock(&c->lock);
        return over;
}

static void
conns_remove(struct reg_conns *c, const char *ip)
{
        struct ip_count **pp;

        pthread_mutex_lock(&c->lock);
        for (pp = &c->buckets[ip_hash(ip)]; *pp; pp = &(*pp)->next)
                if (strcmp((*pp)->ip, ip) == 0) {
                        struct ip_count *e = *pp;
                        if (--e->n == 0) {
                                *pp = e->next;
                                free(e);
                        }
                        break;
                }
        c->total--;
        pthread_mutex_unlock(&c->lock);
}

void
reg_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                  enum MHD_ConnectionNotificationCode code)
{
        struct reg_server *s = cls;
        struct reg_conn *rc = *socket_context;

        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                rc = xcalloc(1, sizeof(*rc));
                reg_client_address(conn, rc->ip, sizeof(rc->ip));
                rc->over_limit = conns_add(s->conns, rc->ip);
                if (rc->over_limit)
                        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, OVER_LIMIT_TIMEOUT);
                *socket_context = rc;
                return;
        }
        if (rc) {
                conns_remove(s->conns, rc->ip);
                free(rc);
                *socket_context = NULL;
        }
}

struct reg_conn *
reg_conn_of(struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        return ci ? ci->socket_context : NULL;
}

size_t
reg_unescape_cb(void *cls, struct MHD_Connection *conn, char *s)
{
        bool control = false;
        size_t n = reg_target_unescape(s, &control);

        (void) cls;
        if (control) {
                struct reg_conn *rc = reg_conn_of(conn);
                if (rc)
                        rc->bad_escape = true;
        }
        return n;
}
