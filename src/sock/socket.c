/*
 * The BSD socket API over the TCP core, with Linux's errno for every wrong
 * call. Checks follow the order Linux makes them in, because that order
 * decides which errno a call with several faults gets.
 */
#include "core/stack_int.h"
#include "core/invariants.h"
#include <fcntl.h>
#include <stdlib.h>

#define TIDE_MAX_FDS (1u << 22)
#define TIDE_FIRST_FD 3
#define SOCK_MIN_RCVBUF 2304 /* what Linux reports for the smallest SO_RCVBUF */
#define SOCK_MIN_SNDBUF 4608

static int fail(int e)
{
	errno = e;
	return -1;
}

/* ---- descriptor table ---- */
/* fs.file-max: the stack's descriptors are the system's files (Linux's
 * alloc_empty_file; tide has no CAP_SYS_ADMIN exemption). */
static bool files_full(const struct tide_stack *st)
{
	return st->fds.used >= (uint32_t)st->set->file_max;
}

static int fd_alloc(struct tide_stack *st, void *obj, uint8_t kind)
{
	struct tide_fdtab *t = &st->fds;
	if (files_full(st))
		return -ENFILE;
	uint32_t i = t->lowest_free < TIDE_FIRST_FD ? TIDE_FIRST_FD : t->lowest_free;
	while (i < t->cap && t->a[i].kind)
		i++;
	if (i >= t->cap) {
		if (t->cap >= TIDE_MAX_FDS)
			return -EMFILE;
		uint32_t ncap = t->cap ? t->cap * 2 : 64;
		struct tide_fdent *na = tide_mem_realloc(st, TIDE_MEM_TABLE, t->a, (size_t)t->cap * sizeof(*na),
							 (size_t)ncap * sizeof(*na));
		if (!na)
			return -ENOMEM;
		memset(na + t->cap, 0, (ncap - t->cap) * sizeof(*na));
		t->a = na;
		t->cap = ncap;
	}
	t->a[i].obj = obj;
	t->a[i].kind = kind;
	t->lowest_free = i + 1;
	t->used++;
	return (int)i;
}

static void fd_release(struct tide_stack *st, int fd)
{
	struct tide_fdtab *t = &st->fds;
	t->a[fd].obj = NULL;
	t->a[fd].kind = 0;
	t->used--;
	if ((uint32_t)fd < t->lowest_free)
		t->lowest_free = (uint32_t)fd;
}

static struct tide_fdent *fd_get(struct tide_stack *st, int fd)
{
	if (fd < 0 || (uint32_t)fd >= st->fds.cap || !st->fds.a[fd].kind)
		return NULL;
	return &st->fds.a[fd];
}

/* EBADF for no descriptor, ENOTSOCK for an epoll descriptor. */
static struct tide_sock *sock_get(struct tide_stack *st, int fd)
{
	struct tide_fdent *e = fd_get(st, fd);
	if (!e) {
		errno = EBADF;
		return NULL;
	}
	if (e->kind != TIDE_FD_SOCK) {
		errno = ENOTSOCK;
		return NULL;
	}
	return e->obj;
}

static int take_error(struct tide_sock *sk)
{
	int e = sk->so_error;
	sk->so_error = 0;
	return e;
}

/* ---- readiness ---- */
uint32_t tide_sock_poll_mask(struct tide_sock *sk)
{
	if (sk->listening)
		return sk->acc_len ? (EPOLLIN | EPOLLRDNORM) : 0;
	struct tcp_conn *c = sk->conn;
	int state = c ? c->state : TIDE_TCP_CLOSE;
	uint32_t mask = 0;
	bool rd_shut = (sk->shutdown & TIDE_SHUT_RD) || (c && c->fin_rcvd);
	if (sk->shutdown == (TIDE_SHUT_RD | TIDE_SHUT_WR) || state == TIDE_TCP_CLOSE)
		mask |= EPOLLHUP;
	if (rd_shut)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	if (state != TIDE_TCP_SYN_SENT && state != TIDE_TCP_SYN_RECV) {
		if (c && c->rcvq.len)
			mask |= EPOLLIN | EPOLLRDNORM;
		if (!(sk->shutdown & TIDE_SHUT_WR)) {
			uint32_t queued = c ? c->sndq.len : 0;
			/* Linux's sk_stream_is_writeable: free space at least
			 * half of what is queued */
			if ((uint32_t)sk->sndbuf > queued && sk->sndbuf - queued >= queued / 2)
				mask |= EPOLLOUT | EPOLLWRNORM;
		} else {
			mask |= EPOLLOUT | EPOLLWRNORM;
		}
	}
	if (sk->so_error)
		mask |= EPOLLERR;
	return mask;
}

void tide_sock_wakeup(struct tide_sock *sk)
{
	for (struct tide_epitem *it = sk->epitems; it; it = it->sock_next) {
		if (it->on_ready || it->disabled)
			continue;
		struct tide_epoll *ep = it->ep;
		it->on_ready = true;
		it->ready_next = NULL;
		if (ep->ready_tail)
			ep->ready_tail->ready_next = it;
		else
			ep->ready_head = it;
		ep->ready_tail = it;
	}
}

/* ---- sockets ---- */
int tide_socket(tide_stack *st, int domain, int type, int protocol)
{
	TIDE_INV_SCOPE(st, "tide_socket", NULL, 0, -1);
	if (domain != AF_INET)
		return fail(EAFNOSUPPORT);
	int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
	type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (type < 0 || type >= 11)
		return fail(EINVAL);
	if (type != SOCK_STREAM)
		return fail(ESOCKTNOSUPPORT); /* tide has TCP only */
	if (protocol != 0 && protocol != IPPROTO_TCP)
		return fail(EPROTONOSUPPORT);
	if (files_full(st))
		return fail(ENFILE);
	struct tide_sock *sk = tide_mem_zalloc(st, TIDE_MEM_SOCK, sizeof(*sk));
	if (!sk)
		return fail(ENOBUFS);
	sk->st = st;
	sk->nonblock = (flags & SOCK_NONBLOCK) != 0;
	sk->rcvbuf = st->set->tcp_rmem_default;
	sk->sndbuf = st->set->tcp_wmem_default;
	int fd = fd_alloc(st, sk, TIDE_FD_SOCK);
	if (fd < 0) {
		tide_mem_free(st, TIDE_MEM_SOCK, sk, sizeof(*sk));
		return fail(-fd);
	}
	sk->fd = fd;
	return fd;
}

static bool addr_overlap(uint32_t a, uint32_t b)
{
	return a == 0 || b == 0 || a == b;
}

/* Linux's bind conflict rule (inet_csk_bind_conflict, LC-K07): another
 * socket on the port with an overlapping address conflicts unless both have
 * SO_REUSEADDR and the other is not listening, or both have SO_REUSEPORT.
 * Connections (accepted ones carry their listener's options) and TIME_WAIT
 * records (their socket's options) follow the same rule: they never listen.
 * So a server restarted with SO_REUSEADDR binds at once only if the old one
 * had it too (checked on Linux 6.18). */
static bool bind_conflict(struct tide_stack *st, struct tide_sock *sk, uint32_t addr, uint16_t port,
			  bool as_listener)
{
	/* Linux's listen() runs the same check as bind(): only the other
	 * socket's LISTEN state matters, not ours (checked on Linux 6.18). */
	(void)as_listener;
	struct tide_port *p = tide_port_get(st, port, false);
	if (!p)
		return false;
	for (struct tide_sock *o = p->bound; o; o = o->bind_next) {
		if (o == sk || !addr_overlap(o->laddr, addr))
			continue;
		if (sk->reuseport && o->reuseport)
			continue;
		if (sk->reuseaddr && o->reuseaddr && !o->listening)
			continue;
		return true;
	}
	uint8_t mine = (uint8_t)((sk->reuseaddr ? TIDE_REUSE_ADDR : 0) | (sk->reuseport ? TIDE_REUSE_PORT : 0));
	for (uint8_t r = 0; r < 4; r++)
		if (!(r & mine) && p->nuse[r])
			return true;
	return false;
}

/* -EADDRINUSE when the port's entry cannot be made: Linux's
 * inet_csk_get_port fails so when it cannot allocate the bind bucket, and a
 * socket bound outside the port table would escape every conflict check. */
static int bind_to(struct tide_stack *st, struct tide_sock *sk, uint32_t addr, uint16_t port)
{
	struct tide_port *p = tide_port_get(st, port, true);
	if (!p)
		return -EADDRINUSE;
	sk->laddr = addr;
	sk->lport = port;
	sk->bound = true;
	sk->bind_next = p->bound;
	p->bound = sk;
	return 0;
}

static void unbind(struct tide_stack *st, struct tide_sock *sk)
{
	if (!sk->bound)
		return;
	struct tide_port *p = tide_port_get(st, sk->lport, false);
	if (p) {
		for (struct tide_sock **pp = &p->bound; *pp; pp = &(*pp)->bind_next) {
			if (*pp == sk) {
				*pp = sk->bind_next;
				break;
			}
		}
	}
	sk->bind_next = NULL;
	sk->bound = false;
}

/* bind(port 0): Linux scans the range from a random point, odd ports first
 * (connect() prefers even ones), for a port nobody uses. */
static int bind_ephemeral(struct tide_stack *st, struct tide_sock *sk, uint32_t addr)
{
	uint32_t lo = (uint32_t)st->set->ip_local_port_range_lo;
	uint32_t hi = (uint32_t)st->set->ip_local_port_range_hi;
	if (hi < lo)
		return -EADDRINUSE;
	uint32_t remaining = hi - lo + 1;
	uint32_t offset = (uint32_t)tide_hash64(st->cfg.secret ^ 0xb1dull, st->port_perturb++, (uint64_t)sk->fd) % remaining;
	offset |= 1u;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < remaining; i += 2) {
			uint16_t port = (uint16_t)(lo + (offset + i) % remaining);
			if (!bind_conflict(st, sk, addr, port, false)) {
				struct tide_port *p = tide_port_get(st, port, false);
				if (p && (p->bound || p->nconn || p->ntw))
					continue;
				return bind_to(st, sk, addr, port);
			}
		}
		offset--;
	}
	return -EADDRINUSE;
}

static int check_sin(const struct sockaddr *addr, socklen_t len, bool for_bind)
{
	if (!addr)
		return EFAULT;
	if (len < (socklen_t)sizeof(struct sockaddr_in))
		return EINVAL;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)addr;
	if (sin->sin_family != AF_INET) {
		if (for_bind && sin->sin_family == AF_UNSPEC && sin->sin_addr.s_addr == htonl(INADDR_ANY))
			return 0; /* Linux's compatibility exception */
		return EAFNOSUPPORT;
	}
	return 0;
}

int tide_bind(tide_stack *st, int fd, const struct sockaddr *addr, socklen_t len)
{
	TIDE_INV_SCOPE(st, "tide_bind", NULL, 0, fd);
	struct tide_sock *sk = sock_get(st, fd);
	if (!sk)
		return -1;
	int e = check_sin(addr, len, true);
	if (e)
		return fail(e);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)addr;
	uint32_t a = ntohl(sin->sin_addr.s_addr);
	uint16_t port = ntohs(sin->sin_port);
	if (a != 0 && a != st->cfg.addr)
		return fail(EADDRNOTAVAIL);
	if (sk->bound || sk->conn || sk->listening)
		return fail(EINVAL);
	if (port == 0) {
		int r = bind_ephemeral(st, sk, a);
		return r ? fail(-r) : 0;
	}
	if (bind_conflict(st, sk, a, port, false))
		return fail(EADDRINUSE);
	int r = bind_to(st, sk, a, port);
	return r ? fail(-r) : 0;
}

int tide_listen(tide_stack *st, int fd, int backlog)
{
	TIDE_INV_SCOPE(st, "tide_listen", NULL, 0, fd);
	struct tide_sock *sk = sock_get(st, fd);
	if (!sk)
		return -1;
	if (sk->connected || sk->connecting || (sk->conn && sk->conn->state != TIDE_TCP_CLOSE))
		return fail(EINVAL);
	if ((unsigned)backlog > (unsigned)st->set->somaxconn)
		backlog = st->set->somaxconn;
	if (sk->listening) {
		sk->backlog = backlog; /* Linux lets listen() resize the queue */
		return 0;
	}
	if (sk->conn) {
		tide_tcp_destroy(sk->conn);
		sk->conn = NULL;
	}
	if (!sk->bound) {
		int r = bind_ephemeral(st, sk, 0);
		if (r)
			return fail(-r);
	} else if (bind_conflict(st, sk, sk->laddr, sk->lport, true)) {
		return fail(EADDRINUSE);
	}
	sk->listening = true;
	sk->shutdown = 0;
	sk->backlog = backlog;
	tide_tcp_listener_link(st, sk);
	struct tide_conn_id id = { .laddr = sk->laddr, .lport = sk->lport };
	tide_notify_state(st, &id, TIDE_TCP_CLOSE, TIDE_TCP_LISTEN);
	return 0;
}

static void fill_sin(struct sockaddr *addr, socklen_t *len, uint32_t a, uint16_t port)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(a);
	sin.sin_port = htons(port);
	socklen_t n = *len < (socklen_t)sizeof(sin) ? *len : (socklen_t)sizeof(sin);
	memcpy(addr, &sin, n);
	*len = sizeof(sin);
}

int tide_accept(tide_stack *st, int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	TIDE_INV_SCOPE(st, "tide_accept", NULL, 0, fd);
	struct tide_sock *lsk = sock_get(st, fd);
	if (!lsk)
		return -1;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return fail(EINVAL);
	/* Linux makes the new file before it looks at the queue: ENFILE even
	 * when nothing waits, and what waits stays queued (do_accept) */
	if (files_full(st))
		return fail(ENFILE);
	if (!lsk->listening)
		return fail(EINVAL);
	if (addr && (!len || (int)*len < 0))
		return fail(len ? EINVAL : EFAULT);
	struct tcp_conn *c = lsk->acc_head;
	if (!c)
		return fail(EAGAIN);
	struct tide_sock *sk = tide_mem_zalloc(st, TIDE_MEM_SOCK, sizeof(*sk));
	if (!sk)
		return fail(ENOBUFS);
	int nfd = fd_alloc(st, sk, TIDE_FD_SOCK);
	if (nfd < 0) {
		tide_mem_free(st, TIDE_MEM_SOCK, sk, sizeof(*sk));
		return fail(-nfd);
	}
	lsk->acc_head = c->acc_next;
	if (!lsk->acc_head)
		lsk->acc_tail = NULL;
	lsk->acc_len--;
	c->acc_next = NULL;
	c->listener = NULL;
	sk->st = st;
	sk->fd = nfd;
	sk->nonblock = (flags & SOCK_NONBLOCK) != 0;
	sk->rcvbuf = lsk->rcvbuf;
	sk->sndbuf = lsk->sndbuf;
	sk->sndbuf_locked = lsk->sndbuf_locked;
	sk->nodelay = lsk->nodelay;
	sk->keepalive = lsk->keepalive;
	sk->reuseaddr = lsk->reuseaddr;
	sk->reuseport = lsk->reuseport;
	sk->linger_onoff = lsk->linger_onoff;
	sk->linger_secs = lsk->linger_secs;
	sk->linger2 = lsk->linger2;
	sk->user_timeout_ms = lsk->user_timeout_ms;
	sk->connected = true;
	sk->laddr = c->h.key.laddr;
	sk->lport = c->h.key.lport;
	sk->conn = c;
	sk->so_error = c->pending_err;
	c->pending_err = 0;
	c->sk = sk;
	sk->keepidle = c->keepidle;
	sk->keepintvl = c->keepintvl;
	sk->keepcnt = c->keepcnt;
	sk->owner = lsk->owner; /* LC-C12: the listener's process */
	if (c->state == TIDE_TCP_CLOSE) {
		/* reset before accept (LC-H04): Linux hands it over anyway */
		sk->shutdown = TIDE_SHUT_RD | TIDE_SHUT_WR;
	} else if (c->fin_rcvd) {
		/* nothing to do: recv() sees the end of data */
	}
	if (addr)
		fill_sin(addr, len, c->h.key.raddr, c->h.key.rport);
	return nfd;
}

int tide_connect(tide_stack *st, int fd, const struct sockaddr *addr, socklen_t len)
{
	TIDE_INV_SCOPE(st, "tide_connect", NULL, 0, fd);
	struct tide_sock *sk = sock_get(st, fd);
	if (!sk)
		return -1;
	if (!addr)
		return fail(EFAULT);
	if (len < (socklen_t)sizeof(sa_family_t))
		return fail(EINVAL);
	if (sk->connected)
		return fail(EISCONN);
	if (sk->connecting) {
		struct tcp_conn *c = sk->conn;
		int state = c ? c->state : TIDE_TCP_CLOSE;
		if (state == TIDE_TCP_SYN_SENT || state == TIDE_TCP_SYN_RECV)
			return fail(EALREADY);
		sk->connecting = false;
		if (state == TIDE_TCP_CLOSE) {
			int e = take_error(sk);
			return fail(e ? e : ECONNABORTED);
		}
		sk->connected = true;
		return 0;
	}
	if (sk->listening)
		return fail(EISCONN);
	int e = check_sin(addr, len, false);
	if (e)
		return fail(e);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)addr;
	uint32_t daddr = ntohl(sin->sin_addr.s_addr);
	uint16_t dport = ntohs(sin->sin_port);
	if (daddr == 0 || daddr == 0xffffffffu || (daddr >> 28) == 0xe)
		return fail(ENETUNREACH);
	if (sk->conn) {
		/* a finished earlier attempt: start afresh */
		tide_tcp_destroy(sk->conn);
		sk->conn = NULL;
	}
	int r = tide_tcp_connect(st, sk, daddr, dport);
	if (r)
		return fail(-r);
	sk->shutdown = 0;
	sk->connecting = true;
	return fail(EINPROGRESS);
}

/* Linux's sk_stream_moderate_sndbuf: short of memory, a socket's send
 * buffer shrinks to half of what it has queued (at least SOCK_MIN_SNDBUF),
 * so that poll stops calling writers, unless SO_SNDBUF fixed it. */
static void moderate_sndbuf(struct tide_sock *sk, const struct tcp_conn *c)
{
	if (sk->sndbuf_locked)
		return;
	uint32_t v = c->sndq.len / 2;
	if (v > (uint32_t)sk->sndbuf)
		v = (uint32_t)sk->sndbuf;
	sk->sndbuf = v > SOCK_MIN_SNDBUF ? (int)v : SOCK_MIN_SNDBUF;
}

/* Grows the send queue so that `want` more bytes fit, as far as tcp_mem
 * allows. Refused, it still gets what keeps it under tcp_wmem[0] (Linux's
 * tcp_wmem_schedule); a failed allocation is memory pressure (Linux's
 * tcp_stream_alloc_skb). */
static void sndq_grow(struct tide_stack *st, struct tide_sock *sk, struct tcp_conn *c, uint32_t want)
{
	struct tide_ring *q = &c->sndq;
	uint32_t cap = tide_ring_grow_size(q, q->len + want, (uint32_t)sk->sndbuf);
	if (cap && !tide_mem_schedule(c, cap - q->cap, TIDE_MEM_SEND)) {
		uint32_t wmem0 = (uint32_t)st->set->tcp_wmem_min;
		uint32_t left = wmem0 > q->len ? wmem0 - q->len : 0;
		moderate_sndbuf(sk, c);
		cap = left ? tide_ring_grow_size(q, q->len + (want < left ? want : left), wmem0) : 0;
	}
	if (cap && tide_ring_resize(st, q, cap, TIDE_MEM_SNDBUF) != 0) {
		tide_mem_enter_pressure(st);
		moderate_sndbuf(sk, c);
	}
}

ssize_t tide_send(tide_stack *st, int fd, const void *buf, size_t len, int flags)
{
	TIDE_INV_SCOPE(st, "tide_send", NULL, 0, fd);
	struct tide_sock *sk = sock_get(st, fd);
	if (!sk)
		return -1;
	(void)flags;
	struct tcp_conn *c = sk->conn;
	int state = c ? c->state : TIDE_TCP_CLOSE;
	if (state == TIDE_TCP_SYN_SENT || state == TIDE_TCP_SYN_RECV) {
		if (sk->so_error)
			return fail(take_error(sk));
		return fail(EAGAIN);
	}
	if (sk->so_error || (sk->shutdown & TIDE_SHUT_WR) ||
	    (state != TIDE_TCP_ESTABLISHED && state != TIDE_TCP_CLOSE_WAIT)) {
		int e = take_error(sk);
		return fail(e ? e : EPIPE);
	}
	/* Like Linux's tcp_sendmsg, sending leaves SS_CONNECTING alone: the
	 * next connect() still reports the completion once (returns 0). */
	if (len == 0)
		return 0;
	if (!buf)
		return fail(EFAULT);
	/* Linux gives the send buffer its size back when memory is no longer
	 * short (tcp_should_expand_sndbuf at the ACK that frees space; tide
	 * when the application sends next). */
	if (sk->sndbuf < c->sndbuf && !sk->sndbuf_locked && !tide_mem_pressure(st) &&
	    tide_mem_pages(st) < (uint64_t)(uint32_t)st->set->tcp_mem_min)
		sk->sndbuf = c->sndbuf;
	uint32_t room = (uint32_t)sk->sndbuf > c->sndq.len ? (uint32_t)sk->sndbuf - c->sndq.len : 0;
	if (room == 0)
		return fail(EAGAIN);
	uint32_t want = (uint32_t)(len < room ? len : room);
	if (want > tide_ring_space(&c->sndq))
		sndq_grow(st, sk, c, want);
	uint32_t space = tide_ring_space(&c->sndq);
	if (space == 0)
		return fail(EAGAIN);
	uint32_t n = want < space ? want : space;
	tide_ring_write(&c->sndq, buf, n);
	tide_tcp_output(c);
	tide_tcp_timers_update(c);
	return n;
}

ssize_t tide_recv(tide_stack *st, int fd, void *buf, size_t len, int flags)
{
	TIDE_INV_SCOPE(st, "tide_recv", NULL, 0, fd);
	struct tide_sock *sk = sock_get(st, fd);
	if (!sk)
		return -1;
	if (sk->listening)
		return fail(ENOTCONN); /* before MSG_OOB, as Linux's tcp_recvmsg */
	if (flags & MSG_OOB)
		return fail(EINVAL); /* tide keeps no urgent data */
	struct tcp_conn *c = sk->conn;
	if (c && c->rcvq.len) {
		if (len == 0)
			return 0;
		if (!buf)
			return fail(EFAULT);
		uint32_t n = tide_ring_peek(&c->rcvq, 0, buf, (uint32_t)(len < c->rcvq.len ? len : c->rcvq.len));
		if (!(flags & MSG_PEEK)) {
			tide_ring_consume(st, &c->rcvq, n, TIDE_MEM_RCVBUF);
			/* Reading opened the window: tell the peer if the
			 * window can now at least double (Linux's rule). */
			if (c->state == TIDE_TCP_ESTABLISHED || c->state == TIDE_TCP_FIN_WAIT1 ||
			    c->state == TIDE_TCP_FIN_WAIT2) {
				uint32_t now_wnd = tide_seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
				uint32_t free_space = (uint32_t)c->rcvbuf - c->rcvq.len - c->ofo_bytes;
				if (free_space > c->rcv_wnd_clamp)
					free_space = c->rcv_wnd_clamp;
				if (free_space >= 2 * now_wnd && free_space - now_wnd >= c->rcv_mss) {
					tide_tcp_send_ack(c);
					tide_tcp_timers_update(c);
				}
			}
		}
		return n;
	}
	if (c && c->fin_rcvd)
		return 0;
	if (sk->so_error)
		return fail(take_error(sk));
	if (sk->shutdown & TIDE_SHUT_RD)
		return 0;
	if (!c || c->state == TIDE_TCP_CLOSE)
		return fail(ENOTCONN);
	return fail(EAGAIN);
}

int tide_shutdown(tide_stack *st, int fd, int how)
{
	TIDE_INV_SCOPE(st, "tide_shutdown", NULL, 0, fd);
	struct tide_sock *sk = sock_get(st, fd);
	if (!sk)
		return -1;
	if (how < SHUT_RD || how > SHUT_RDWR)
		return fail(EINVAL);
	uint8_t bits = (uint8_t)(how + 1); /* SHUT_RD=0 -> RD, SHUT_WR=1 -> WR, SHUT_RDWR=2 -> both */
	if (sk->listening) {
		if (bits & TIDE_SHUT_RD) {
			/* Linux: shutdown(SHUT_RD) of a listener stops it */
			tide_tcp_listener_stop(sk);
			tide_tcp_listener_drop_requests(st, sk);
			tide_tcp_listener_unlink(st, sk);
			sk->listening = false;
			struct tide_conn_id id = { .laddr = sk->laddr, .lport = sk->lport };
			tide_notify_state(st, &id, TIDE_TCP_LISTEN, TIDE_TCP_CLOSE);
			tide_sock_wakeup(sk);
		}
		return 0;
	}
	struct tcp_conn *c = sk->conn;
	int state = c ? c->state : TIDE_TCP_CLOSE;
	if (state == TIDE_TCP_CLOSE) {
		sk->shutdown |= bits;
		return fail(ENOTCONN);
	}
	if (state == TIDE_TCP_SYN_SENT) {
		/* Linux disconnects a connect in progress (tcp_disconnect:
		 * no RST, no AttemptFails) */
		sk->so_error = ECONNRESET;
		tide_tcp_set_state(c, TIDE_TCP_CLOSE);
		tide_tcp_detach_closed(c);
		return 0;
	}
	sk->shutdown |= bits;
	if (bits & TIDE_SHUT_RD)
		c->rcv_shutdown = true;
	if (bits & TIDE_SHUT_WR)
		tide_tcp_shutdown_wr(c);
	tide_sock_wakeup(sk);
	return 0;
}

static void epoll_forget_sock(struct tide_sock *sk);
static void epoll_free(struct tide_stack *st, struct tide_epoll *ep);

int tide_close(tide_stack *st, int fd)
{
	TIDE_INV_SCOPE(st, "tide_close", NULL, 0, fd);
	struct tide_fdent *e = fd_get(st, fd);
	if (!e)
		return fail(EBADF);
	if (e->kind == TIDE_FD_EPOLL) {
		epoll_free(st, e->obj);
		fd_release(st, fd);
		return 0;
	}
	struct tide_sock *sk = e->obj;
	epoll_forget_sock(sk);
	if (sk->listening) {
		tide_tcp_listener_stop(sk);
		tide_tcp_listener_drop_requests(st, sk);
		tide_tcp_listener_unlink(st, sk);
		struct tide_conn_id id = { .laddr = sk->laddr, .lport = sk->lport };
		tide_notify_state(st, &id, TIDE_TCP_LISTEN, TIDE_TCP_CLOSE);
	}
	unbind(st, sk);
	if (sk->conn)
		tide_tcp_close(sk->conn);
	fd_release(st, fd);
	tide_mem_free(st, TIDE_MEM_SOCK, sk, sizeof(*sk));
	return 0;
}

/* ---- options ---- */
static int get_int_arg(const void *val, socklen_t len, int *out)
{
	if (!val)
		return EFAULT;
	if (len < (socklen_t)sizeof(int))
		return EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

static int put_int(void *val, socklen_t *len, int v)
{
	if (!val || !len)
		return EFAULT;
	if ((int)*len < 0)
		return EINVAL;
	socklen_t n = *len < (socklen_t)sizeof(int) ? *len : (socklen_t)sizeof(int);
	memcpy(val, &v, n);
	*len = n;
	return 0;
}

int tide_setsockopt(tide_stack *st, int fd, int level, int name, const void *val, socklen_t len)
{
	TIDE_INV_SCOPE(st, "tide_setsockopt", NULL, 0, fd);
	struct tide_sock *sk = sock_get(st, fd);
	if (!sk)
		return -1;
	struct tcp_conn *c = sk->conn;
	int v = 0, e;
	if (level == SOL_SOCKET) {
		if (name == SO_LINGER) {
			/* Linux reads an int first (EINVAL below 4 bytes, then
			 * EFAULT), then wants a whole struct linger. {0, x}
			 * turns lingering off and keeps the old time; a
			 * negative time means for ever (not zero). */
			if (len < (socklen_t)sizeof(int))
				return fail(EINVAL);
			if (!val)
				return fail(EFAULT);
			if (len < (socklen_t)sizeof(struct linger))
				return fail(EINVAL);
			struct linger l;
			memcpy(&l, val, sizeof(l));
			sk->linger_onoff = l.l_onoff != 0;
			if (l.l_onoff)
				sk->linger_secs = l.l_linger;
			return 0;
		}
		if ((e = get_int_arg(val, len, &v)))
			return fail(e);
		switch (name) {
		case SO_RCVBUF: {
			/* Linux compares as unsigned: a negative size means the max */
			int64_t x = (uint32_t)v;
			if (x > st->set->core_rmem_max)
				x = st->set->core_rmem_max;
			x *= 2; /* Linux doubles it for bookkeeping overhead */
			sk->rcvbuf = x < SOCK_MIN_RCVBUF ? SOCK_MIN_RCVBUF : (int)x;
			if (c && (uint32_t)sk->rcvbuf >= c->rcvq.len)
				c->rcvbuf = sk->rcvbuf;
			return 0;
		}
		case SO_SNDBUF: {
			int64_t x = (uint32_t)v;
			if (x > st->set->core_wmem_max)
				x = st->set->core_wmem_max;
			x *= 2;
			sk->sndbuf = x < SOCK_MIN_SNDBUF ? SOCK_MIN_SNDBUF : (int)x;
			sk->sndbuf_locked = true; /* SOCK_SNDBUF_LOCK */
			if (c)
				c->sndbuf = sk->sndbuf;
			return 0;
		}
		case SO_REUSEADDR: sk->reuseaddr = v != 0; return 0;
		case SO_REUSEPORT: sk->reuseport = v != 0; return 0;
		case SO_KEEPALIVE:
			sk->keepalive = v != 0;
			if (c)
				tide_tcp_set_keepalive(c, sk->keepalive); /* LC-K05 */
			return 0;
		case SO_ERROR: case SO_TYPE: case SO_ACCEPTCONN: case SO_DOMAIN: case SO_PROTOCOL:
			return fail(ENOPROTOOPT);
		default:
			return fail(ENOPROTOOPT);
		}
	}
	if (level == IPPROTO_TCP) {
		if ((e = get_int_arg(val, len, &v)))
			return fail(e);
		switch (name) {
		case TCP_NODELAY:
			sk->nodelay = v != 0;
			if (c) {
				c->nodelay = sk->nodelay;
				if (c->nodelay)
					tide_tcp_output(c);
				tide_tcp_timers_update(c);
			}
			return 0;
		/* LC-K05: kept by the socket (a listener hands them to its
		 * connections) and by its connection; TCP_KEEPIDLE re-arms a
		 * running keepalive timer (tide_tcp_set_keepidle). */
		case TCP_KEEPIDLE:
			if (v < 1 || v > 32767)
				return fail(EINVAL);
			sk->keepidle = v;
			if (c)
				tide_tcp_set_keepidle(c, v);
			return 0;
		case TCP_KEEPINTVL:
			if (v < 1 || v > 32767)
				return fail(EINVAL);
			sk->keepintvl = v;
			if (c)
				c->keepintvl = v;
			return 0;
		case TCP_KEEPCNT:
			if (v < 1 || v > 127)
				return fail(EINVAL);
			sk->keepcnt = v;
			if (c)
				c->keepcnt = v;
			return 0;
		case TCP_LINGER2:
			/* Linux: negative means -1 (reset at FIN_WAIT_2), 0 the
			 * sysctl, at most TCP_FIN_TIMEOUT_MAX (120 s) */
			sk->linger2 = v < 0 ? -1 : v > 120 ? 120 : v;
			if (c)
				c->linger2 = sk->linger2;
			return 0;
		case TCP_USER_TIMEOUT:
			if (v < 0)
				return fail(EINVAL);
			sk->user_timeout_ms = (uint32_t)v;
			if (c)
				c->user_timeout_ms = (uint32_t)v;
			return 0;
		case TCP_DEFER_ACCEPT: /* LC-K18: kept as SYN-ACK timeouts */
			sk->defer_accept = tide_tcp_defer_secs_to_retrans(v);
			return 0;
		default:
			return fail(ENOPROTOOPT);
		}
	}
	return fail(ENOPROTOOPT);
}

static int fill_tcp_info(struct tide_sock *sk, void *val, socklen_t *len)
{
	if (!val || !len)
		return EFAULT;
	if ((int)*len < 0)
		return EINVAL;
	struct tcp_info ti;
	memset(&ti, 0, sizeof(ti));
	struct tcp_conn *c = sk->conn;
	ti.tcpi_state = sk->listening ? TIDE_TCP_LISTEN : (c ? c->state : TIDE_TCP_CLOSE);
	if (c) {
		ti.tcpi_retransmits = c->retransmits;
		ti.tcpi_backoff = c->backoff;
		ti.tcpi_probes = c->probes_out;
		if (c->ts_ok)
			ti.tcpi_options |= TCPI_OPT_TIMESTAMPS;
		if (c->sack_ok)
			ti.tcpi_options |= TCPI_OPT_SACK;
		if (c->ws_ok) {
			ti.tcpi_options |= TCPI_OPT_WSCALE;
			ti.tcpi_snd_wscale = c->snd_wscale & 0xf;
			ti.tcpi_rcv_wscale = c->rcv_wscale & 0xf;
		}
		/* Linux's icsk_rto: doubled on every RTO expiry (not by
		 * zero-window probes) until a valid RTT sample */
		uint64_t rto = c->rexmit_is_probe ? c->rto_us : (uint64_t)c->rto_us << c->backoff;
		uint64_t rto_max = (uint64_t)sk->st->set->tcp_rto_max_ms * 1000u;
		ti.tcpi_rto = (uint32_t)(rto < rto_max ? rto : rto_max);
		ti.tcpi_snd_mss = c->mss;
		ti.tcpi_rcv_mss = c->rcv_mss;
		ti.tcpi_unacked = c->snd_max != c->snd_una ? 1 : 0;
		ti.tcpi_rtt = c->srtt_us;
		ti.tcpi_rttvar = c->rttvar_us;
		ti.tcpi_snd_cwnd = c->mss ? c->cwnd / c->mss : 0;
		ti.tcpi_snd_ssthresh = c->mss ? (c->ssthresh > 0x7ffffff0 ? 0x7fffffff : c->ssthresh / c->mss) : 0;
		ti.tcpi_advmss = c->advmss;
		ti.tcpi_rcv_space = c->rcv_wnd;
		ti.tcpi_total_retrans = 0;
	} else if (sk->listening) {
		ti.tcpi_unacked = sk->acc_len;
		ti.tcpi_sacked = (uint32_t)sk->backlog;
	} else {
		/* a fresh socket shows Linux's initial RTO and default MSS */
		ti.tcpi_rto = (uint32_t)sk->st->set->tcp_rto_initial_ms * 1000u;
		ti.tcpi_snd_mss = 536;
	}
	socklen_t n = *len < (socklen_t)sizeof(ti) ? *len : (socklen_t)sizeof(ti);
	memcpy(val, &ti, n);
	*len = n;
	return 0;
}

int tide_getsockopt(tide_stack *st, int fd, int level, int name, void *val, socklen_t *len)
{
	TIDE_INV_SCOPE(st, "tide_getsockopt", NULL, 0, fd);
	struct tide_sock *sk = sock_get(st, fd);
	if (!sk)
		return -1;
	struct tcp_conn *c = sk->conn;
	int e;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR: e = put_int(val, len, sk->so_error); if (!e) sk->so_error = 0; break;
		case SO_RCVBUF: e = put_int(val, len, sk->rcvbuf); break;
		case SO_SNDBUF: e = put_int(val, len, sk->sndbuf); break;
		case SO_REUSEADDR: e = put_int(val, len, sk->reuseaddr); break;
		case SO_REUSEPORT: e = put_int(val, len, sk->reuseport); break;
		case SO_KEEPALIVE: e = put_int(val, len, sk->keepalive); break;
		case SO_TYPE: e = put_int(val, len, SOCK_STREAM); break;
		case SO_ACCEPTCONN: e = put_int(val, len, sk->listening); break;
		case SO_DOMAIN: e = put_int(val, len, AF_INET); break;
		case SO_PROTOCOL: e = put_int(val, len, IPPROTO_TCP); break;
		case SO_LINGER: {
			if (!val || !len)
				return fail(EFAULT);
			if ((int)*len < 0)
				return fail(EINVAL);
			struct linger l = { .l_onoff = sk->linger_onoff, .l_linger = sk->linger_secs };
			socklen_t n = *len < (socklen_t)sizeof(l) ? *len : (socklen_t)sizeof(l);
			memcpy(val, &l, n);
			*len = n;
			return 0;
		}
		default: return fail(ENOPROTOOPT);
		}
		return e ? fail(e) : 0;
	}
	if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_NODELAY: e = put_int(val, len, sk->nodelay); break;
		case TCP_MAXSEG: e = put_int(val, len, c ? c->mss : 536); break;
		/* the socket's own value, else the sysctl as it is now */
		case TCP_KEEPIDLE: e = put_int(val, len, sk->keepidle ? sk->keepidle : st->set->tcp_keepalive_time); break;
		case TCP_KEEPINTVL: e = put_int(val, len, sk->keepintvl ? sk->keepintvl : st->set->tcp_keepalive_intvl); break;
		case TCP_KEEPCNT: e = put_int(val, len, sk->keepcnt ? sk->keepcnt : st->set->tcp_keepalive_probes); break;
		case TCP_LINGER2: e = put_int(val, len, sk->linger2 ? sk->linger2 : st->set->tcp_fin_timeout); break;
		case TCP_USER_TIMEOUT: e = put_int(val, len, (int)sk->user_timeout_ms); break;
		case TCP_INFO: e = fill_tcp_info(sk, val, len); break;
		case TCP_DEFER_ACCEPT: e = put_int(val, len, tide_tcp_defer_retrans_to_secs(sk->defer_accept)); break;
		default: return fail(ENOPROTOOPT);
		}
		return e ? fail(e) : 0;
	}
	return fail(EOPNOTSUPP); /* Linux 6.x's ip_getsockopt for an unknown level */
}

int tide_getsockname(tide_stack *st, int fd, struct sockaddr *addr, socklen_t *len)
{
	struct tide_sock *sk = sock_get(st, fd);
	if (!sk)
		return -1;
	if (!addr || !len)
		return fail(EFAULT);
	if ((int)*len < 0)
		return fail(EINVAL);
	uint32_t a = sk->laddr;
	uint16_t p = sk->lport;
	if (sk->conn && sk->conn->h.key.lport) {
		a = sk->conn->h.key.laddr;
		p = sk->conn->h.key.lport;
	}
	fill_sin(addr, len, a, p);
	return 0;
}

int tide_getpeername(tide_stack *st, int fd, struct sockaddr *addr, socklen_t *len)
{
	struct tide_sock *sk = sock_get(st, fd);
	if (!sk)
		return -1;
	struct tcp_conn *c = sk->conn;
	if (!c || c->state == TIDE_TCP_CLOSE || c->state == TIDE_TCP_SYN_SENT)
		return fail(ENOTCONN);
	if (!addr || !len)
		return fail(EFAULT);
	if ((int)*len < 0)
		return fail(EINVAL);
	fill_sin(addr, len, c->h.key.raddr, c->h.key.rport);
	return 0;
}

int tide_fcntl(tide_stack *st, int fd, int cmd, int arg)
{
	TIDE_INV_SCOPE(st, "tide_fcntl", NULL, 0, fd);
	struct tide_fdent *e = fd_get(st, fd);
	if (!e)
		return fail(EBADF);
	if (e->kind != TIDE_FD_SOCK)
		return cmd == F_GETFL ? O_RDWR : 0;
	struct tide_sock *sk = e->obj;
	switch (cmd) {
	case F_GETFL:
		return O_RDWR | (sk->nonblock ? O_NONBLOCK : 0);
	case F_SETFL:
		sk->nonblock = (arg & O_NONBLOCK) != 0;
		return 0;
	default:
		return fail(EINVAL);
	}
}

int tide_sock_state(tide_stack *st, int fd)
{
	struct tide_sock *sk = sock_get(st, fd);
	if (!sk)
		return -1;
	if (sk->listening)
		return TIDE_TCP_LISTEN;
	return sk->conn ? sk->conn->state : TIDE_TCP_CLOSE;
}

/* ---- owners: the processes of a host (LC-C12) ---- */
static uint32_t *fd_owner(struct tide_fdent *e)
{
	if (e->kind == TIDE_FD_SOCK)
		return &((struct tide_sock *)e->obj)->owner;
	return &((struct tide_epoll *)e->obj)->owner;
}

int tide_sock_set_owner(tide_stack *st, int fd, uint32_t owner)
{
	TIDE_INV_SCOPE(st, "tide_sock_set_owner", NULL, 0, fd);
	struct tide_fdent *e = fd_get(st, fd);
	if (!e)
		return fail(EBADF);
	*fd_owner(e) = owner;
	return 0;
}

/* A dying process's descriptors, each closed as close() (never lingering:
 * PF_EXITING). Linux's exit_files drops them in ascending order, but the
 * last reference of each file is released by a task_work, and task_work
 * runs last-in first-out since Linux 5.x: the sockets are released, and
 * their FIN/RST sent, from the highest descriptor down (seen on 6.18). */
int tide_release_owner(tide_stack *st, uint32_t owner)
{
	TIDE_INV_SCOPE(st, "tide_release_owner", NULL, 0, -1);
	int n = 0;
	for (uint32_t i = st->fds.cap; i-- > TIDE_FIRST_FD;) {
		struct tide_fdent *e = &st->fds.a[i];
		if (!e->kind || *fd_owner(e) != owner)
			continue;
		tide_close(st, (int)i);
		n++;
	}
	return n;
}

/* ---- poll and epoll ---- */
int tide_poll(tide_stack *st, struct pollfd *fds, nfds_t nfds)
{
	if (nfds && !fds)
		return fail(EFAULT);
	int n = 0;
	for (nfds_t i = 0; i < nfds; i++) {
		fds[i].revents = 0;
		if (fds[i].fd < 0)
			continue;
		struct tide_fdent *e = fd_get(st, fds[i].fd);
		if (!e) {
			fds[i].revents = POLLNVAL;
		} else if (e->kind == TIDE_FD_SOCK) {
			uint32_t m = tide_sock_poll_mask(e->obj);
			fds[i].revents = (short)(m & ((uint32_t)(uint16_t)fds[i].events | POLLERR | POLLHUP));
		} else {
			struct tide_epoll *ep = e->obj;
			if ((fds[i].events & POLLIN) && ep->ready_head)
				fds[i].revents = POLLIN;
		}
		if (fds[i].revents)
			n++;
	}
	return n;
}

int tide_epoll_create(tide_stack *st)
{
	TIDE_INV_SCOPE(st, "tide_epoll_create", NULL, 0, -1);
	if (files_full(st))
		return fail(ENFILE);
	struct tide_epoll *ep = tide_mem_zalloc(st, TIDE_MEM_EPOLL, sizeof(*ep));
	if (!ep)
		return fail(ENOMEM);
	int fd = fd_alloc(st, ep, TIDE_FD_EPOLL);
	if (fd < 0) {
		tide_mem_free(st, TIDE_MEM_EPOLL, ep, sizeof(*ep));
		return fail(-fd);
	}
	ep->fd = fd;
	return fd;
}

static void ready_remove(struct tide_epoll *ep, struct tide_epitem *it)
{
	if (!it->on_ready)
		return;
	struct tide_epitem *prev = NULL;
	for (struct tide_epitem *x = ep->ready_head; x; prev = x, x = x->ready_next) {
		if (x != it)
			continue;
		if (prev)
			prev->ready_next = x->ready_next;
		else
			ep->ready_head = x->ready_next;
		if (ep->ready_tail == x)
			ep->ready_tail = prev;
		break;
	}
	it->on_ready = false;
	it->ready_next = NULL;
}

static void item_free(struct tide_stack *st, struct tide_epitem *it)
{
	struct tide_epoll *ep = it->ep;
	ready_remove(ep, it);
	for (struct tide_epitem **pp = &ep->items; *pp; pp = &(*pp)->all_next) {
		if (*pp == it) {
			*pp = it->all_next;
			break;
		}
	}
	for (struct tide_epitem **pp = &it->sk->epitems; *pp; pp = &(*pp)->sock_next) {
		if (*pp == it) {
			*pp = it->sock_next;
			break;
		}
	}
	tide_mem_free(st, TIDE_MEM_EPITEM, it, sizeof(*it));
}

static void epoll_forget_sock(struct tide_sock *sk)
{
	while (sk->epitems)
		item_free(sk->st, sk->epitems);
}

static void epoll_free(struct tide_stack *st, struct tide_epoll *ep)
{
	while (ep->items)
		item_free(st, ep->items);
	tide_mem_free(st, TIDE_MEM_EPOLL, ep, sizeof(*ep));
}

int tide_epoll_ctl(tide_stack *st, int epfd, int op, int fd, struct epoll_event *ev)
{
	TIDE_INV_SCOPE(st, "tide_epoll_ctl", NULL, 0, fd);
	struct tide_fdent *e = fd_get(st, epfd);
	struct tide_fdent *t = fd_get(st, fd);
	if (!e || !t)
		return fail(EBADF);
	if (e->kind != TIDE_FD_EPOLL || epfd == fd)
		return fail(EINVAL);
	if (t->kind != TIDE_FD_SOCK)
		return fail(EPERM); /* tide does not nest epoll instances */
	struct tide_epoll *ep = e->obj;
	struct tide_sock *sk = t->obj;
	struct tide_epitem *it = NULL;
	for (struct tide_epitem *x = sk->epitems; x; x = x->sock_next)
		if (x->ep == ep)
			it = x;
	switch (op) {
	case EPOLL_CTL_ADD:
		if (!ev)
			return fail(EFAULT);
		if (it)
			return fail(EEXIST);
		it = tide_mem_zalloc(st, TIDE_MEM_EPITEM, sizeof(*it));
		if (!it)
			return fail(ENOMEM);
		it->ep = ep;
		it->sk = sk;
		it->ev = *ev;
		it->sock_next = sk->epitems;
		sk->epitems = it;
		it->all_next = ep->items;
		ep->items = it;
		break;
	case EPOLL_CTL_MOD:
		if (!ev)
			return fail(EFAULT);
		if (!it)
			return fail(ENOENT);
		it->ev = *ev;
		it->disabled = false;
		break;
	case EPOLL_CTL_DEL:
		if (!it)
			return fail(ENOENT);
		item_free(st, it);
		return 0;
	default:
		return fail(EINVAL);
	}
	/* As Linux, a newly added or modified item that is ready now is
	 * reported by the next wait, edge-triggered or not. */
	tide_sock_wakeup(sk);
	return 0;
}

int tide_epoll_wait(tide_stack *st, int epfd, struct epoll_event *events, int maxevents)
{
	TIDE_INV_SCOPE(st, "tide_epoll_wait", NULL, 0, epfd);
	struct tide_fdent *e = fd_get(st, epfd);
	if (!e)
		return fail(EBADF);
	if (e->kind != TIDE_FD_EPOLL || maxevents <= 0)
		return fail(EINVAL);
	if (!events)
		return fail(EFAULT);
	struct tide_epoll *ep = e->obj;
	struct tide_epitem *keep_head = NULL, *keep_tail = NULL;
	int n = 0;
	while (ep->ready_head && n < maxevents) {
		struct tide_epitem *it = ep->ready_head;
		ep->ready_head = it->ready_next;
		if (!ep->ready_head)
			ep->ready_tail = NULL;
		it->ready_next = NULL;
		it->on_ready = false;
		if (it->disabled)
			continue;
		uint32_t m = tide_sock_poll_mask(it->sk) & (it->ev.events | EPOLLERR | EPOLLHUP);
		if (!m)
			continue;
		events[n].events = m;
		events[n].data = it->ev.data;
		n++;
		if (it->ev.events & EPOLLONESHOT) {
			it->disabled = true;
		} else if (!(it->ev.events & EPOLLET)) {
			/* level-triggered: stays ready until its condition ends */
			it->on_ready = true;
			if (keep_tail)
				keep_tail->ready_next = it;
			else
				keep_head = it;
			keep_tail = it;
		}
	}
	if (keep_head) {
		if (ep->ready_tail)
			ep->ready_tail->ready_next = keep_head;
		else
			ep->ready_head = keep_head;
		ep->ready_tail = keep_tail;
	}
	return n;
}

void tide_fdtab_free(struct tide_stack *st)
{
	struct tide_fdtab *t = &st->fds;
	/* Epoll instances first: they point into sockets. */
	for (uint32_t i = 0; i < t->cap; i++)
		if (t->a[i].kind == TIDE_FD_EPOLL)
			epoll_free(st, t->a[i].obj);
	for (uint32_t i = 0; i < t->cap; i++) {
		if (t->a[i].kind != TIDE_FD_SOCK)
			continue;
		struct tide_sock *sk = t->a[i].obj;
		sk->epitems = NULL;
		if (sk->conn) {
			sk->conn->sk = NULL;
			st->orphans++;
			if (!sk->conn->in_ehash)
				tide_tcp_destroy(sk->conn);
		}
		while (sk->acc_head) {
			struct tcp_conn *c = sk->acc_head;
			sk->acc_head = c->acc_next;
			c->listener = NULL;
			if (!c->in_ehash)
				tide_tcp_destroy(c);
		}
		tide_mem_free(st, TIDE_MEM_SOCK, sk, sizeof(*sk));
	}
	tide_mem_free(st, TIDE_MEM_TABLE, t->a, (size_t)t->cap * sizeof(*t->a));
	t->a = NULL;
	t->cap = 0;
	t->used = 0;
}
