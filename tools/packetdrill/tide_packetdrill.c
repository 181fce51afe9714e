/*
 * tide as packetdrill's stack under test (packetdrill --so_filename).
 *
 * packetdrill calls the socket API from two threads (its main thread, and a
 * second one for the calls a script marks as blocking with "t1...t2"),
 * injects packets with netdev_send, sniffs the stack's packets with
 * netdev_receive, and reads and waits on the clock through gettimeofday and
 * usleep. Here the clock is the stack's virtual clock: usleep advances it,
 * running every timer on the way, so a script that waits 60 s runs in
 * milliseconds with exact timings.
 *
 * tide never blocks; a call that Linux would block on is held here, on a
 * blocking socket, until it can complete:
 *   - another thread's change of the stack (a packet in, time advanced)
 *     retries it at once, under the lock, so it completes at the exact
 *     virtual time of the event that completes it; that thread then waits
 *     (in real time, bounded) until the blocked thread has read the clock,
 *     because packetdrill stamps the end of a blocking call right after it
 *     returns;
 *   - when nothing changes the stack for a moment of real time (the caller
 *     is alone: packetdrill's main thread, or nothing left in the script),
 *     the blocked call advances the clock itself to the next timer.
 * netdev_receive with no packet pending advances the clock to the next
 * timer until the stack sends something (a retransmission, a keepalive...).
 *
 * Flags (--so_flags), items separated by ';':
 *   addr=A.B.C.D       the stack's address: packetdrill's --local_ip (required)
 *   mtu=N              the device MTU (1500)
 *   secret=N           the stack's secret (ISNs, ports, timestamp offsets)
 *   set=NAME=VALUE     a setting by its sysctl name (tide/settings.h)
 *   settings=PATH      a file of "name = value" settings
 */
#define _GNU_SOURCE 1
#include "pd_interface.h"

#include <tide/settings.h>
#include <tide/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

/* gettimeofday's view of the virtual clock: a plausible date. */
#define PD_EPOCH_US (1700000000ull * 1000000ull)
/* Real time without any change of the stack after which a blocked call
 * decides it is alone and advances the clock itself. */
#define PD_IDLE_NS (20 * 1000 * 1000)
/* How long a thread that completed another thread's blocking call waits for
 * that thread to read the clock. */
#define PD_COLLECT_NS (1000 * 1000 * 1000)

struct pd_pkt {
	struct pd_pkt *next;
	tide_time at;
	size_t len;
	uint8_t data[];
};

enum pd_op_kind { OP_ACCEPT, OP_CONNECT, OP_RECV, OP_SEND, OP_POLL, OP_EPOLL };

/* A call held until it can complete. */
struct pd_op {
	enum pd_op_kind kind;
	int fd, flags;
	void *buf;
	size_t len, done;
	struct sockaddr *addr;
	socklen_t *alen;
	struct pollfd *fds;
	nfds_t nfds;
	struct epoll_event *evs;
	int maxevents;
	tide_time deadline;
	pthread_t owner;
	bool complete;
	ssize_t result;
	int err;
};

struct pd {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	tide_stack *st;
	tide_time now;
	struct pd_pkt *head, **tail;
	uint64_t gen;            /* bumped on every change of the stack */
	struct pd_op *held;      /* the blocked call others retry, if any */
	bool collecting;         /* a completed held call not yet clocked */
	pthread_t collector;
	/* Descriptors opened on /dev/null in this process under the numbers
	 * of tide's descriptors: packetdrill ends a script by closing the
	 * sockets the script left open with the process's own close(), which
	 * must then succeed. */
	uint64_t placeholder[1024 / 64];
	bool clock_streak;       /* the last call was gettimeofday ... */
	pthread_t clock_thread;  /* ... from this thread */
};

static void output(void *ctx, const uint8_t *pkt, size_t len)
{
	struct pd *p = ctx;
	struct pd_pkt *q = malloc(sizeof(*q) + len);
	if (!q)
		return; /* a lost packet, as a full device queue would */
	q->next = NULL;
	q->at = p->now;
	q->len = len;
	memcpy(q->data, pkt, len);
	*p->tail = q;
	p->tail = &q->next;
}

static void lock(struct pd *p)
{
	pthread_mutex_lock(&p->mu);
	p->clock_streak = false;
}

static void unlock(struct pd *p) { pthread_mutex_unlock(&p->mu); }

static bool sock_blocking(struct pd *p, int fd, int flags)
{
	if (flags & MSG_DONTWAIT)
		return false;
	int fl = tide_fcntl(p->st, fd, F_GETFL, 0);
	return fl >= 0 && !(fl & O_NONBLOCK);
}

/* One try of a held call; true when it is done (result and err set). */
static bool attempt(struct pd *p, struct pd_op *op)
{
	ssize_t r;
	switch (op->kind) {
	case OP_ACCEPT:
		r = tide_accept(p->st, op->fd, op->addr, op->alen, 0);
		if (r < 0 && errno == EAGAIN)
			return false;
		break;
	case OP_CONNECT: {
		struct pollfd pf = {.fd = op->fd, .events = POLLOUT};
		if (tide_poll(p->st, &pf, 1) <= 0)
			return false;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (tide_getsockopt(p->st, op->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			return false;
		if (soerr) {
			errno = soerr;
			r = -1;
		} else {
			r = 0;
		}
		break;
	}
	case OP_RECV:
		r = tide_recv(p->st, op->fd, op->buf, op->len, op->flags);
		if (r < 0 && errno == EAGAIN)
			return false;
		break;
	case OP_SEND:
		r = tide_send(p->st, op->fd, (const char *)op->buf + op->done, op->len - op->done,
			      op->flags);
		if (r >= 0) {
			op->done += (size_t)r;
			if (op->done < op->len)
				return false;
			r = (ssize_t)op->len;
		} else if (errno == EAGAIN) {
			return false;
		} else if (op->done > 0) {
			r = (ssize_t)op->done; /* Linux returns what it queued */
		}
		break;
	case OP_POLL:
		r = tide_poll(p->st, op->fds, op->nfds);
		if (r == 0 && p->now < op->deadline)
			return false;
		break;
	case OP_EPOLL:
		r = tide_epoll_wait(p->st, op->fd, op->evs, op->maxevents);
		if (r == 0 && p->now < op->deadline)
			return false;
		break;
	default:
		errno = EINVAL;
		r = -1;
	}
	op->result = r;
	op->err = r < 0 ? errno : 0;
	op->complete = true;
	return true;
}

static void deadline_in(struct timespec *ts, long ns)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += ns;
	while (ts->tv_nsec >= 1000000000L) {
		ts->tv_nsec -= 1000000000L;
		ts->tv_sec++;
	}
}

/* The stack changed (packet in, time advanced): retry the held call at
 * this virtual time. */
static void changed(struct pd *p)
{
	p->gen++;
	pthread_cond_broadcast(&p->cv);
	struct pd_op *op = p->held;
	if (!op || op->complete || !attempt(p, op))
		return;
	if (pthread_equal(op->owner, pthread_self()))
		return;
	/* Hold the clock still until the blocked thread has seen its end. */
	p->collecting = true;
	p->collector = op->owner;
	struct timespec ts;
	deadline_in(&ts, PD_COLLECT_NS);
	while (p->collecting)
		if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT)
			break;
	p->collecting = false;
}

/* Advances the clock to `t`, timer by timer, so that every packet carries
 * the time its timer fired. */
static void advance_to(struct pd *p, tide_time t)
{
	for (;;) {
		tide_time nt = tide_stack_next_timer(p->st);
		if (nt > t)
			break;
		if (nt > p->now)
			p->now = nt;
		tide_stack_advance(p->st, p->now);
		changed(p);
	}
	if (t > p->now) {
		p->now = t;
		tide_stack_advance(p->st, t);
		changed(p);
	}
}

/* Holds `op` (whose first try failed) until it completes. Called locked. */
static ssize_t hold(struct pd *p, struct pd_op *op)
{
	op->owner = pthread_self();
	op->complete = false;
	bool shared = p->held == NULL;
	if (shared)
		p->held = op;
	while (!op->complete) {
		uint64_t gen = p->gen;
		struct timespec ts;
		deadline_in(&ts, PD_IDLE_NS);
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		if (op->complete)
			break;
		if (p->gen != gen)
			goto retry;
		/* Alone: move the clock to the next thing that can happen. */
		tide_time t = tide_stack_next_timer(p->st);
		if (op->deadline < t)
			t = op->deadline;
		if (t != TIDE_TIME_NEVER)
			advance_to(p, t > p->now ? t : p->now);
	retry:
		if (!op->complete)
			attempt(p, op);
	}
	if (shared)
		p->held = NULL;
	errno = op->err;
	return op->result;
}

static ssize_t run_op(struct pd *p, struct pd_op *op, bool blocking)
{
	op->deadline = op->deadline ? op->deadline : TIDE_TIME_NEVER;
	if (attempt(p, op)) {
		errno = op->err;
		return op->result;
	}
	if (!blocking) {
		/* A non-blocking send returns what it queued, if anything. */
		if (op->kind == OP_SEND && op->done > 0)
			return (ssize_t)op->done;
		errno = EAGAIN;
		return -1;
	}
	return hold(p, op);
}

/* ---- the interface ---- */

static int with_placeholder(struct pd *p, int fd)
{
	if (fd < 0 || fd >= 1024 || fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
		return fd;
	int n = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (n < 0)
		return fd;
	if (n == fd || dup3(n, fd, O_CLOEXEC) == fd)
		p->placeholder[fd / 64] |= 1ull << (fd % 64);
	if (n != fd)
		close(n);
	return fd;
}

static void drop_placeholder(struct pd *p, int fd)
{
	if (fd < 0 || fd >= 1024 || !(p->placeholder[fd / 64] & (1ull << (fd % 64))))
		return;
	p->placeholder[fd / 64] &= ~(1ull << (fd % 64));
	close(fd);
}

static void pd_free(void *ud)
{
	struct pd *p = ud;
	tide_stack_free(p->st);
	while (p->head) {
		struct pd_pkt *q = p->head;
		p->head = q->next;
		free(q);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

#define LOCKED(p, expr)                  \
	do {                             \
		lock(p);                 \
		__typeof__(expr) r_ = (expr); \
		int e_ = errno;          \
		unlock(p);               \
		errno = e_;              \
		return r_;               \
	} while (0)

static int pd_socket(void *ud, int domain, int type, int protocol)
{
	struct pd *p = ud;
	if (domain != AF_INET) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	LOCKED(p, with_placeholder(p, tide_socket(p->st, domain, type, protocol)));
}

static int pd_bind(void *ud, int fd, const struct sockaddr *a, socklen_t l)
{
	struct pd *p = ud;
	LOCKED(p, tide_bind(p->st, fd, a, l));
}

static int pd_listen(void *ud, int fd, int backlog)
{
	struct pd *p = ud;
	LOCKED(p, tide_listen(p->st, fd, backlog));
}

static int pd_accept(void *ud, int fd, struct sockaddr *a, socklen_t *l)
{
	struct pd *p = ud;
	struct pd_op op = {.kind = OP_ACCEPT, .fd = fd, .addr = a, .alen = l};
	LOCKED(p, with_placeholder(p, (int)run_op(p, &op, sock_blocking(p, fd, 0))));
}

static int pd_connect(void *ud, int fd, const struct sockaddr *a, socklen_t l)
{
	struct pd *p = ud;
	lock(p);
	int r = tide_connect(p->st, fd, a, l);
	if (r < 0 && errno == EINPROGRESS && sock_blocking(p, fd, 0)) {
		struct pd_op op = {.kind = OP_CONNECT, .fd = fd, .deadline = TIDE_TIME_NEVER};
		r = (int)hold(p, &op);
	}
	int e = errno;
	unlock(p);
	errno = e;
	return r;
}

static ssize_t do_recv(struct pd *p, int fd, void *buf, size_t n, int flags)
{
	struct pd_op op = {.kind = OP_RECV, .fd = fd, .buf = buf, .len = n, .flags = flags};
	LOCKED(p, run_op(p, &op, sock_blocking(p, fd, flags)));
}

static ssize_t do_send(struct pd *p, int fd, const void *buf, size_t n, int flags)
{
	struct pd_op op = {.kind = OP_SEND, .fd = fd, .buf = (void *)buf, .len = n,
			   .flags = flags};
	LOCKED(p, run_op(p, &op, sock_blocking(p, fd, flags)));
}

static ssize_t pd_read(void *ud, int fd, void *buf, size_t n)
{
	return do_recv(ud, fd, buf, n, 0);
}

static ssize_t pd_recv(void *ud, int fd, void *buf, size_t n, int flags)
{
	return do_recv(ud, fd, buf, n, flags);
}

static ssize_t pd_recvfrom(void *ud, int fd, void *buf, size_t n, int flags,
			   struct sockaddr *from, socklen_t *fromlen)
{
	ssize_t r = do_recv(ud, fd, buf, n, flags);
	if (r >= 0 && from && fromlen) {
		int e = errno;
		struct pd *p = ud;
		lock(p);
		tide_getpeername(p->st, fd, from, fromlen);
		unlock(p);
		errno = e;
	}
	return r;
}

static size_t iov_total(const struct iovec *iov, size_t n)
{
	size_t t = 0;
	for (size_t i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

static ssize_t recv_iov(struct pd *p, int fd, const struct iovec *iov, size_t n, int flags)
{
	size_t total = iov_total(iov, n);
	char *tmp = malloc(total ? total : 1);
	if (!tmp) {
		errno = ENOMEM;
		return -1;
	}
	ssize_t r = do_recv(p, fd, tmp, total, flags);
	int e = errno;
	for (size_t i = 0, off = 0; r > 0 && i < n && off < (size_t)r; i++) {
		size_t c = iov[i].iov_len;
		if (c > (size_t)r - off)
			c = (size_t)r - off;
		memcpy(iov[i].iov_base, tmp + off, c);
		off += c;
	}
	free(tmp);
	errno = e;
	return r;
}

static ssize_t send_iov(struct pd *p, int fd, const struct iovec *iov, size_t n, int flags)
{
	size_t total = iov_total(iov, n);
	char *tmp = malloc(total ? total : 1);
	if (!tmp) {
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0, off = 0; i < n; i++) {
		memcpy(tmp + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	ssize_t r = do_send(p, fd, tmp, total, flags);
	int e = errno;
	free(tmp);
	errno = e;
	return r;
}

static ssize_t pd_readv(void *ud, int fd, const struct iovec *iov, int n)
{
	if (n < 0) {
		errno = EINVAL;
		return -1;
	}
	return recv_iov(ud, fd, iov, (size_t)n, 0);
}

static ssize_t pd_recvmsg(void *ud, int fd, struct msghdr *m, int flags)
{
	ssize_t r = recv_iov(ud, fd, m->msg_iov, m->msg_iovlen, flags);
	if (r >= 0) {
		m->msg_flags = 0;
		m->msg_controllen = 0;
	}
	return r;
}

static ssize_t pd_write(void *ud, int fd, const void *buf, size_t n)
{
	return do_send(ud, fd, buf, n, 0);
}

static ssize_t pd_send(void *ud, int fd, const void *buf, size_t n, int flags)
{
	return do_send(ud, fd, buf, n, flags);
}

static ssize_t pd_sendto(void *ud, int fd, const void *buf, size_t n, int flags,
			 const struct sockaddr *to, socklen_t tolen)
{
	(void)to;
	(void)tolen; /* ignored on a connected stream socket, as in Linux */
	return do_send(ud, fd, buf, n, flags);
}

static ssize_t pd_writev(void *ud, int fd, const struct iovec *iov, int n)
{
	if (n < 0) {
		errno = EINVAL;
		return -1;
	}
	return send_iov(ud, fd, iov, (size_t)n, 0);
}

static ssize_t pd_sendmsg(void *ud, int fd, const struct msghdr *m, int flags)
{
	return send_iov(ud, fd, m->msg_iov, m->msg_iovlen, flags);
}

static int pd_fcntl(void *ud, int fd, int cmd, ...)
{
	struct pd *p = ud;
	va_list ap;
	va_start(ap, cmd);
	int arg = cmd == F_SETFL ? va_arg(ap, int) : 0;
	va_end(ap);
	LOCKED(p, tide_fcntl(p->st, fd, cmd, arg));
}

static int pd_ioctl(void *ud, int fd, unsigned long req, ...)
{
	(void)ud;
	(void)fd;
	(void)req;
	errno = ENOTTY; /* no SIOCINQ / SIOCOUTQ in tide's API */
	return -1;
}

static int pd_close(void *ud, int fd)
{
	struct pd *p = ud;
	lock(p);
	int r = tide_close(p->st, fd);
	int e = errno;
	if (r == 0)
		drop_placeholder(p, fd);
	unlock(p);
	errno = e;
	return r;
}

static int pd_shutdown(void *ud, int fd, int how)
{
	struct pd *p = ud;
	LOCKED(p, tide_shutdown(p->st, fd, how));
}

static int pd_getsockopt(void *ud, int fd, int level, int name, void *v, socklen_t *l)
{
	struct pd *p = ud;
	LOCKED(p, tide_getsockopt(p->st, fd, level, name, v, l));
}

static int pd_setsockopt(void *ud, int fd, int level, int name, const void *v, socklen_t l)
{
	struct pd *p = ud;
	LOCKED(p, tide_setsockopt(p->st, fd, level, name, v, l));
}

static tide_time deadline_after(struct pd *p, int timeout_ms)
{
	if (timeout_ms < 0)
		return TIDE_TIME_NEVER;
	return p->now + TIDE_MS(timeout_ms);
}

static int pd_poll(void *ud, struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	struct pd *p = ud;
	lock(p);
	struct pd_op op = {.kind = OP_POLL, .fds = fds, .nfds = nfds,
			   .deadline = deadline_after(p, timeout_ms)};
	int r = (int)run_op(p, &op, timeout_ms != 0);
	int e = errno;
	unlock(p);
	errno = e;
	return r;
}

static int pd_netdev_send(void *ud, const void *buf, size_t n)
{
	struct pd *p = ud;
	lock(p);
	/* A refused packet is still delivered as far as the device goes. */
	tide_stack_input(p->st, buf, n, p->now);
	changed(p);
	unlock(p);
	return 0;
}

static int pd_netdev_receive(void *ud, void *buf, size_t *n, long long *time_us)
{
	struct pd *p = ud;
	lock(p);
	while (!p->head) {
		tide_time t = tide_stack_next_timer(p->st);
		if (t == TIDE_TIME_NEVER) {
			*n = 0;
			unlock(p);
			return 0;
		}
		advance_to(p, t > p->now ? t : p->now);
	}
	struct pd_pkt *q = p->head;
	p->head = q->next;
	if (!p->head)
		p->tail = &p->head;
	size_t c = q->len < *n ? q->len : *n;
	memcpy(buf, q->data, c);
	*n = c;
	*time_us = (long long)(PD_EPOCH_US + q->at);
	free(q);
	unlock(p);
	return 0;
}

static int pd_usleep(void *ud, useconds_t us)
{
	struct pd *p = ud;
	lock(p);
	advance_to(p, p->now + us);
	unlock(p);
	return 0;
}

static int pd_gettimeofday(void *ud, struct timeval *tv, struct timezone *tz)
{
	(void)tz;
	struct pd *p = ud;
	pthread_mutex_lock(&p->mu);
	pthread_t self = pthread_self();
	if (p->collecting && pthread_equal(p->collector, self)) {
		p->collecting = false;
		pthread_cond_broadcast(&p->cv);
	} else if (p->clock_streak && pthread_equal(p->clock_thread, self)) {
		/* Reading the clock again and again is packetdrill's spin
		 * before an event: let a microsecond pass each time. */
		advance_to(p, p->now + 1);
	}
	p->clock_streak = true;
	p->clock_thread = self;
	tide_time t = PD_EPOCH_US + p->now;
	pthread_mutex_unlock(&p->mu);
	tv->tv_sec = (time_t)(t / 1000000u);
	tv->tv_usec = (suseconds_t)(t % 1000000u);
	return 0;
}

static int pd_epoll_create(void *ud, int size)
{
	struct pd *p = ud;
	if (size <= 0) {
		errno = EINVAL;
		return -1;
	}
	LOCKED(p, with_placeholder(p, tide_epoll_create(p->st)));
}

static int pd_epoll_ctl(void *ud, int epfd, int op, int fd, struct epoll_event *ev)
{
	struct pd *p = ud;
	LOCKED(p, tide_epoll_ctl(p->st, epfd, op, fd, ev));
}

static int pd_epoll_wait(void *ud, int epfd, struct epoll_event *evs, int maxevents,
			 int timeout_ms)
{
	struct pd *p = ud;
	lock(p);
	struct pd_op op = {.kind = OP_EPOLL, .fd = epfd, .evs = evs, .maxevents = maxevents,
			   .deadline = deadline_after(p, timeout_ms)};
	int r = (int)run_op(p, &op, timeout_ms != 0);
	int e = errno;
	unlock(p);
	errno = e;
	return r;
}

static int pd_pipe(void *ud, int fds[2])
{
	(void)ud;
	(void)fds;
	errno = ENOSYS;
	return -1;
}

static int pd_splice(void *ud, int fd_in, loff_t *off_in, int fd_out, loff_t *off_out,
		     size_t len, unsigned int flags)
{
	(void)ud;
	(void)fd_in;
	(void)off_in;
	(void)fd_out;
	(void)off_out;
	(void)len;
	(void)flags;
	errno = ENOSYS;
	return -1;
}

/* ---- flags ---- */

static void die_flags(const char *what, const char *item)
{
	fprintf(stderr, "tide packetdrill: --so_flags: %s: %s\n", what, item);
	exit(1);
}

static void parse_flags(const char *flags, struct tide_config *cfg)
{
	char *copy = strdup(flags ? flags : "");
	char *save = NULL;
	char err[256];
	for (char *it = strtok_r(copy, ";", &save); it; it = strtok_r(NULL, ";", &save)) {
		while (*it == ' ')
			it++;
		if (!*it)
			continue;
		char *eq = strchr(it, '=');
		if (!eq)
			die_flags("expected key=value", it);
		*eq = '\0';
		const char *key = it, *val = eq + 1;
		if (!strcmp(key, "addr")) {
			struct in_addr a;
			if (inet_pton(AF_INET, val, &a) != 1)
				die_flags("not an IPv4 address", val);
			cfg->addr = ntohl(a.s_addr);
		} else if (!strcmp(key, "mtu")) {
			cfg->mtu = (uint16_t)strtoul(val, NULL, 10);
		} else if (!strcmp(key, "secret")) {
			cfg->secret = strtoull(val, NULL, 0);
		} else if (!strcmp(key, "set")) {
			char *name = strdup(val);
			char *v = strchr(name, '=');
			if (!v)
				die_flags("set= needs NAME=VALUE", val);
			*v++ = '\0';
			if (tide_settings_set(&cfg->settings, name, v, err, sizeof(err)) < 0)
				die_flags(err, val);
			free(name);
		} else if (!strcmp(key, "settings")) {
			if (tide_settings_load_file(&cfg->settings, val, err, sizeof(err)) < 0)
				die_flags(err, val);
		} else {
			die_flags("unknown key", key);
		}
	}
	free(copy);
	if (!cfg->addr)
		die_flags("the stack's address is required", "addr=A.B.C.D (packetdrill's --local_ip)");
}

__attribute__((visibility("default"))) void
packetdrill_interface_init(const char *flags, struct packetdrill_interface *ifc)
{
	struct pd *p = calloc(1, sizeof(*p));
	if (!p) {
		fprintf(stderr, "tide packetdrill: out of memory\n");
		exit(1);
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->tail = &p->head;
	struct tide_config cfg;
	tide_config_init(&cfg);
	cfg.secret = 1;
	parse_flags(flags, &cfg);
	cfg.output = output;
	cfg.output_ctx = p;
	p->st = tide_stack_new(&cfg, 0);
	if (!p->st) {
		fprintf(stderr, "tide packetdrill: cannot create the stack: %s\n",
			strerror(errno));
		exit(1);
	}
	memset(ifc, 0, sizeof(*ifc));
	ifc->userdata = p;
	ifc->free = pd_free;
	ifc->socket = pd_socket;
	ifc->bind = pd_bind;
	ifc->listen = pd_listen;
	ifc->accept = pd_accept;
	ifc->connect = pd_connect;
	ifc->read = pd_read;
	ifc->readv = pd_readv;
	ifc->recv = pd_recv;
	ifc->recvfrom = pd_recvfrom;
	ifc->recvmsg = pd_recvmsg;
	ifc->write = pd_write;
	ifc->writev = pd_writev;
	ifc->send = pd_send;
	ifc->sendto = pd_sendto;
	ifc->sendmsg = pd_sendmsg;
	ifc->fcntl = pd_fcntl;
	ifc->ioctl = pd_ioctl;
	ifc->close = pd_close;
	ifc->shutdown = pd_shutdown;
	ifc->getsockopt = pd_getsockopt;
	ifc->setsockopt = pd_setsockopt;
	ifc->poll = pd_poll;
	ifc->netdev_send = pd_netdev_send;
	ifc->netdev_receive = pd_netdev_receive;
	ifc->usleep = pd_usleep;
	ifc->gettimeofday = pd_gettimeofday;
	ifc->epoll_create = pd_epoll_create;
	ifc->epoll_ctl = pd_epoll_ctl;
	ifc->epoll_wait = pd_epoll_wait;
	ifc->pipe = pd_pipe;
	ifc->splice = pd_splice;
}
