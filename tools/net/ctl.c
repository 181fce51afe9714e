/*
 * The control socket: the server (answers built from the stack at once,
 * written as the client reads them) and the client side the views use.
 * The protocol is in ctl.h.
 */
#include "ctl_int.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* A handful of slots is plenty for people running tide-ss; when they are
 * all taken the oldest client goes, so a stuck client can only ever delay
 * itself. */
#define CTL_MAX_CLIENTS 8
#define CTL_CMD_MAX 128
#define CTL_BACKLOG 16

struct ctl_client {
	int fd;                /* -1: free slot */
	bool writing;
	uint64_t serial;       /* arrival order, for eviction */
	uint64_t deadline_ms;  /* on CLOCK_MONOTONIC */
	size_t inlen;
	char in[CTL_CMD_MAX];
	char *out;
	size_t outlen, outoff;
};

struct tide_ctl {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	tide_stack *st;
	char program[64];
	char device[64];
	struct tide_ctl_self self;
	tide_time (*clock)(void *ctx);
	void *clock_ctx;
	bool watched;
	struct tide_ctl_watch watch;
	uint64_t next_serial;
	struct ctl_client clients[CTL_MAX_CLIENTS];
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- answers ---- */

static void put_addr(FILE *out, uint32_t a)
{
	fprintf(out, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

static const char *timer_name(int t)
{
	switch (t) {
	case TIDE_CONN_TIMER_OFF: return "off";
	case TIDE_CONN_TIMER_ON: return "on";
	case TIDE_CONN_TIMER_KEEPALIVE: return "keepalive";
	case TIDE_CONN_TIMER_TIMEWAIT: return "timewait";
	case TIDE_CONN_TIMER_PERSIST: return "persist";
	case TIDE_CONN_TIMER_DELACK: return "delack";
	default: return "unknown";
	}
}

struct conns_ctx {
	FILE *out;
	tide_time now;
};

static uint64_t ms_between(tide_time from, tide_time to)
{
	return to > from ? (to - from) / 1000u : 0;
}

static void put_conn(void *ctx, const struct tide_conn_info *ci)
{
	struct conns_ctx *cc = ctx;
	FILE *out = cc->out;
	fprintf(out, "state=%s recv_q=%" PRIu32 " send_q=%" PRIu32 " local=", tide_state_name(ci->state),
		ci->recv_q, ci->send_q);
	put_addr(out, ci->id.laddr);
	fprintf(out, ":%u peer=", ci->id.lport);
	put_addr(out, ci->id.raddr);
	fprintf(out, ":%u timer=%s", ci->id.rport, timer_name(ci->timer));
	uint64_t left = ci->timer == TIDE_CONN_TIMER_OFF || ci->timer_expires == TIDE_TIME_NEVER ?
			0 : ms_between(cc->now, ci->timer_expires);
	fprintf(out, " timer_ms=%" PRIu64 " retrans=%u", left, ci->timer_count);
	/* listeners keep no time of entry */
	if (ci->state == TIDE_TCP_LISTEN)
		fprintf(out, " since_ms=-");
	else
		fprintf(out, " since_ms=%" PRIu64, ms_between(ci->state_since, cc->now));
	fprintf(out, " fd=%d\n", ci->fd);
}

int tide_ctl_handle(tide_stack *st, const struct tide_ctl_self *self, tide_time now,
		    const char *cmd, FILE *out)
{
	size_t n = strcspn(cmd, "\r\n");
	while (n && (cmd[n - 1] == ' ' || cmd[n - 1] == '\t'))
		n--;
	while (n && (*cmd == ' ' || *cmd == '\t')) {
		cmd++;
		n--;
	}
	if (n == 4 && !memcmp(cmd, "info", 4)) {
		const char *dev = self->device && *self->device ? self->device : "-";
		fprintf(out, "program=%s pid=%ld device=%s address=", self->program, (long)self->pid, dev);
		put_addr(out, tide_stack_addr(st));
		fprintf(out, " uptime_ms=%" PRIu64 "\n", ms_between(self->started, now));
		return 0;
	}
	if (n == 5 && !memcmp(cmd, "conns", 5)) {
		struct conns_ctx cc = { out, now };
		tide_stack_foreach_conn(st, put_conn, &cc);
		return 0;
	}
	if (n == 8 && !memcmp(cmd, "counters", 8)) {
		for (int c = 0; c < TIDE_MIB_MAX; c++)
			fprintf(out, "name=%s value=%" PRIu64 "\n", tide_counter_name((enum tide_counter)c),
				tide_stack_counter(st, (enum tide_counter)c));
		fprintf(out, "name=CurrEstab value=%" PRIu64 "\n", tide_stack_curr_estab(st));
		return 0;
	}
	fprintf(out, "error=unknown-command\n");
	return -1;
}

/* ---- the server ---- */

static tide_time ctl_now(const struct tide_ctl *ctl)
{
	return ctl->clock ? ctl->clock(ctl->clock_ctx) : tide_stack_now(ctl->st);
}

static int check_dir(const char *dir, bool own, char *err, size_t errlen)
{
	struct stat sb;
	if (lstat(dir, &sb) < 0) {
		int e = errno;
		set_err(err, errlen, "control socket: %s: %s", dir, strerror(e));
		errno = e;
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		set_err(err, errlen, "control socket: %s is not a directory", dir);
		errno = ENOTDIR;
		return -1;
	}
	/* a directory in /tmp that someone else made could be a trap */
	if (own && (sb.st_uid != getuid() || (sb.st_mode & 022))) {
		set_err(err, errlen, "control socket: %s belongs to someone else or is writable by others",
			dir);
		errno = EPERM;
		return -1;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		int e = errno;
		set_err(err, errlen, "control socket: %s: %s", dir, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

/* mkdir that leaves the mode as asked whatever the umask. */
static int make_dir(const char *dir, mode_t mode)
{
	if (mkdir(dir, mode) == 0)
		return chmod(dir, mode);
	return errno == EEXIST ? 0 : -1;
}

static void fallback_dir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/tide-%lu", (unsigned long)getuid());
}

int tide_ctl_run_dir(char *buf, size_t len, char *err, size_t errlen)
{
	const char *env = getenv("TIDE_RUN_DIR");
	if (env && *env) {
		if ((size_t)snprintf(buf, len, "%s", env) >= len) {
			set_err(err, errlen, "control socket: TIDE_RUN_DIR is too long");
			errno = ENAMETOOLONG;
			return -1;
		}
		if (make_dir(buf, 0755) < 0) {
			int e = errno;
			set_err(err, errlen, "control socket: cannot create %s: %s", buf, strerror(e));
			errno = e;
			return -1;
		}
		return check_dir(buf, false, err, errlen);
	}
	if (make_dir(TIDE_CTL_DEFAULT_RUN_DIR, 0755) == 0 &&
	    check_dir(TIDE_CTL_DEFAULT_RUN_DIR, false, NULL, 0) == 0) {
		snprintf(buf, len, "%s", TIDE_CTL_DEFAULT_RUN_DIR);
		return 0;
	}
	fallback_dir(buf, len);
	if (make_dir(buf, 0700) < 0) {
		int e = errno;
		set_err(err, errlen, "control socket: neither %s nor %s can be used: %s",
			TIDE_CTL_DEFAULT_RUN_DIR, buf, strerror(e));
		errno = e;
		return -1;
	}
	return check_dir(buf, true, err, errlen);
}

static void client_free(struct ctl_client *cl)
{
	close(cl->fd);
	free(cl->out);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

static void client_drop(struct tide_ctl *ctl, struct ctl_client *cl)
{
	if (cl->fd < 0)
		return;
	if (ctl->watched)
		ctl->watch.del(ctl->watch.ctx, cl->fd);
	client_free(cl);
}

static void client_write(struct tide_ctl *ctl, struct ctl_client *cl)
{
	while (cl->outoff < cl->outlen) {
		ssize_t n = send(cl->fd, cl->out + cl->outoff, cl->outlen - cl->outoff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			/* a client that reads keeps its slot as long as it needs */
			cl->outoff += (size_t)n;
			cl->deadline_ms = mono_ms() + TIDE_CTL_CLIENT_TIMEOUT_MS;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* the rest when the client reads */
		client_drop(ctl, cl);
		return;
	}
	client_drop(ctl, cl);
}

static void client_answer(struct tide_ctl *ctl, struct ctl_client *cl)
{
	cl->in[cl->inlen] = '\0';
	FILE *f = open_memstream(&cl->out, &cl->outlen);
	if (!f) {
		client_drop(ctl, cl);
		return;
	}
	tide_ctl_handle(ctl->st, &ctl->self, ctl_now(ctl), cl->in, f);
	if (fclose(f) != 0) {
		client_drop(ctl, cl);
		return;
	}
	cl->writing = true;
	if (ctl->watched) {
		ctl->watch.del(ctl->watch.ctx, cl->fd);
		if (ctl->watch.add(ctl->watch.ctx, cl->fd, EPOLLOUT) < 0) {
			client_free(cl); /* no longer watched: nothing to del */
			return;
		}
	}
	client_write(ctl, cl);
}

static void client_read(struct tide_ctl *ctl, struct ctl_client *cl)
{
	for (;;) {
		ssize_t n = recv(cl->fd, cl->in + cl->inlen, sizeof(cl->in) - 1 - cl->inlen, MSG_DONTWAIT);
		if (n > 0) {
			cl->inlen += (size_t)n;
			if (memchr(cl->in, '\n', cl->inlen) || cl->inlen == sizeof(cl->in) - 1) {
				client_answer(ctl, cl);
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* end of file: a command without its newline still counts */
		if (n == 0 && cl->inlen > 0)
			client_answer(ctl, cl);
		else
			client_drop(ctl, cl);
		return;
	}
}

static void sweep(struct tide_ctl *ctl, uint64_t now_ms)
{
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (ctl->clients[i].fd >= 0 && now_ms >= ctl->clients[i].deadline_ms)
			client_drop(ctl, &ctl->clients[i]);
}

static struct ctl_client *free_slot(struct tide_ctl *ctl)
{
	struct ctl_client *oldest = NULL;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = &ctl->clients[i];
		if (cl->fd < 0)
			return cl;
		if (!oldest || cl->serial < oldest->serial)
			oldest = cl;
	}
	client_drop(ctl, oldest);
	return oldest;
}

static void accept_clients(struct tide_ctl *ctl)
{
	/* bounded, so a flood of connections cannot hold the program here */
	for (int k = 0; k < 2 * CTL_MAX_CLIENTS; k++) {
		int fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		struct ctl_client *cl = free_slot(ctl);
		cl->fd = fd;
		cl->serial = ++ctl->next_serial;
		cl->deadline_ms = mono_ms() + TIDE_CTL_CLIENT_TIMEOUT_MS;
		if (ctl->watched && ctl->watch.add(ctl->watch.ctx, fd, EPOLLIN) < 0) {
			client_free(cl);
			continue;
		}
		/* clients write their command right after connecting: it is
		 * often here already */
		client_read(ctl, cl);
	}
}

void tide_ctl_fd_event(struct tide_ctl *ctl, int fd, uint32_t events)
{
	sweep(ctl, mono_ms());
	if (fd == ctl->fd) {
		accept_clients(ctl);
		return;
	}
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = &ctl->clients[i];
		if (cl->fd != fd)
			continue;
		if (cl->writing)
			client_write(ctl, cl);
		else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			client_read(ctl, cl);
		return;
	}
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

struct tide_ctl *tide_ctl_open_watched(tide_stack *st, const char *program, const char *device,
				       tide_time (*clock)(void *ctx), void *clock_ctx,
				       const struct tide_ctl_watch *watch, char *err, size_t errlen)
{
	if (!st || !program || !*base_name(program)) {
		set_err(err, errlen, "control socket: no stack or no program name");
		errno = EINVAL;
		return NULL;
	}
	struct tide_ctl *ctl = calloc(1, sizeof(*ctl));
	if (!ctl) {
		set_err(err, errlen, "control socket: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	ctl->fd = -1;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		ctl->clients[i].fd = -1;
	ctl->st = st;
	snprintf(ctl->program, sizeof(ctl->program), "%s", base_name(program));
	snprintf(ctl->device, sizeof(ctl->device), "%s", device ? device : "");
	ctl->clock = clock;
	ctl->clock_ctx = clock_ctx;
	ctl->self.program = ctl->program;
	ctl->self.device = ctl->device;
	ctl->self.pid = getpid();
	ctl->self.started = ctl_now(ctl);

	char dir[sizeof(ctl->path)];
	int e;
	if (tide_ctl_run_dir(dir, sizeof(dir), err, errlen) < 0)
		goto fail_errno;
	if ((size_t)snprintf(ctl->path, sizeof(ctl->path), "%s/%s.%ld.sock", dir, ctl->program,
			     (long)ctl->self.pid) >= sizeof(ctl->path)) {
		set_err(err, errlen, "control socket: path too long in %s", dir);
		errno = ENAMETOOLONG;
		goto fail_errno;
	}
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->fd < 0) {
		e = errno;
		set_err(err, errlen, "control socket: socket: %s", strerror(e));
		goto fail;
	}
	/* the name carries our pid: a file already there is a dead
	 * program's leftover */
	unlink(ctl->path);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, ctl->path, strlen(ctl->path) + 1);
	if (bind(ctl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		set_err(err, errlen, "control socket: bind %s: %s", ctl->path, strerror(e));
		goto fail;
	}
	/* readable by everyone, as /proc/net/tcp is: the answers only
	 * describe the stack */
	if (chmod(ctl->path, 0666) < 0 || listen(ctl->fd, CTL_BACKLOG) < 0) {
		e = errno;
		set_err(err, errlen, "control socket: %s: %s", ctl->path, strerror(e));
		unlink(ctl->path);
		goto fail;
	}
	if (watch) {
		ctl->watched = true;
		ctl->watch = *watch;
		if (watch->add(watch->ctx, ctl->fd, EPOLLIN) < 0) {
			e = errno;
			set_err(err, errlen, "control socket: cannot watch %s: %s", ctl->path, strerror(e));
			unlink(ctl->path);
			goto fail;
		}
	}
	return ctl;

fail_errno:
	e = errno;
fail:
	if (ctl->fd >= 0)
		close(ctl->fd);
	free(ctl);
	errno = e;
	return NULL;
}

struct tide_ctl *tide_ctl_open(tide_stack *st, const char *program, const char *device,
			       tide_time (*clock)(void *ctx), void *clock_ctx,
			       char *err, size_t errlen)
{
	return tide_ctl_open_watched(st, program, device, clock, clock_ctx, NULL, err, errlen);
}

const char *tide_ctl_path(const struct tide_ctl *ctl) { return ctl->path; }

int tide_ctl_poll(struct tide_ctl *ctl, int timeout_ms)
{
	struct pollfd pfd[1 + CTL_MAX_CLIENTS];
	nfds_t n = 0;
	pfd[n++] = (struct pollfd){ .fd = ctl->fd, .events = POLLIN };
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		const struct ctl_client *cl = &ctl->clients[i];
		if (cl->fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = cl->fd,
						    .events = cl->writing ? POLLOUT : POLLIN };
	}
	int r = poll(pfd, n, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -1;
	for (nfds_t i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		uint32_t ev = 0;
		if (pfd[i].revents & POLLIN)
			ev |= EPOLLIN;
		if (pfd[i].revents & POLLOUT)
			ev |= EPOLLOUT;
		if (pfd[i].revents & POLLHUP)
			ev |= EPOLLHUP;
		if (pfd[i].revents & (POLLERR | POLLNVAL))
			ev |= EPOLLERR;
		tide_ctl_fd_event(ctl, pfd[i].fd, ev);
	}
	sweep(ctl, mono_ms());
	return 0;
}

void tide_ctl_stop(struct tide_ctl *ctl)
{
	if (!ctl)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		client_drop(ctl, &ctl->clients[i]);
	if (ctl->watched)
		ctl->watch.del(ctl->watch.ctx, ctl->fd);
	/* a forked child closing its copy must not take the parent's file */
	if (getpid() == ctl->self.pid)
		unlink(ctl->path);
	close(ctl->fd);
	if (ctl->watched && ctl->watch.release)
		ctl->watch.release(ctl->watch.ctx);
	free(ctl);
}

/* ---- the client side ---- */

static int entry_cmp(const void *a, const void *b)
{
	const struct tide_ctl_entry *x = a, *y = b;
	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	return strcmp(x->path, y->path); /* one process, several stacks */
}

static int list_dir(const char *dir, struct tide_ctl_entry **v, size_t *n, size_t *cap)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t first = *n;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		size_t len = strlen(name);
		if (len < 8 || strcmp(name + len - 5, ".sock"))
			continue;
		/* <program>.<pid>.sock: the pid is between the last two dots */
		const char *end = name + len - 5;
		const char *dot = end;
		while (dot > name && dot[-1] != '.')
			dot--;
		if (dot == end || dot - 1 <= name)
			continue;
		char *stop;
		long pid = strtol(dot, &stop, 10);
		if (stop != end || pid <= 0)
			continue;
		struct tide_ctl_entry e = { .pid = (pid_t)pid };
		if ((size_t)snprintf(e.path, sizeof(e.path), "%s/%s", dir, name) >= sizeof(e.path))
			continue;
		size_t plen = (size_t)(dot - 1 - name);
		if (plen >= sizeof(e.program))
			plen = sizeof(e.program) - 1;
		memcpy(e.program, name, plen);
		e.program[plen] = '\0';
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 8;
			struct tide_ctl_entry *nv = realloc(*v, nc * sizeof(*nv));
			if (!nv) {
				closedir(d);
				return -1;
			}
			*v = nv;
			*cap = nc;
		}
		(*v)[(*n)++] = e;
	}
	closedir(d);
	if (*n - first > 1)
		qsort(*v + first, *n - first, sizeof(**v), entry_cmp);
	return 0;
}

int tide_ctl_list(struct tide_ctl_entry **out, char *looked, size_t lookedlen)
{
	char dirs[2][sizeof(((struct tide_ctl_entry *)0)->path)];
	int ndirs = 0;
	const char *env = getenv("TIDE_RUN_DIR");
	if (env && *env) {
		snprintf(dirs[ndirs++], sizeof(dirs[0]), "%s", env);
	} else {
		snprintf(dirs[ndirs++], sizeof(dirs[0]), "%s", TIDE_CTL_DEFAULT_RUN_DIR);
		fallback_dir(dirs[ndirs++], sizeof(dirs[0]));
	}
	if (looked && lookedlen) {
		if (ndirs == 1)
			snprintf(looked, lookedlen, "%s", dirs[0]);
		else
			snprintf(looked, lookedlen, "%s and %s", dirs[0], dirs[1]);
	}
	struct tide_ctl_entry *v = NULL;
	size_t n = 0, cap = 0;
	for (int i = 0; i < ndirs; i++) {
		if (list_dir(dirs[i], &v, &n, &cap) < 0) {
			free(v);
			errno = ENOMEM;
			return -1;
		}
	}
	*out = v;
	return (int)n;
}

static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = mono_ms();
		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, (int)(deadline - now));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

int tide_ctl_query(const char *path, const char *cmd, int timeout_ms, char **answer,
		   char *err, size_t errlen)
{
	*answer = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		set_err(err, errlen, "%s: path too long", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	uint64_t deadline = mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int e;
	if (fd < 0) {
		e = errno;
		set_err(err, errlen, "socket: %s", strerror(e));
		errno = e;
		return -1;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	/* a Unix socket connects at once or says EAGAIN when the backlog is
	 * full: retry until the deadline */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			e = errno;
			set_err(err, errlen, "%s: %s", path, strerror(e));
			goto fail;
		}
		if (mono_ms() >= deadline) {
			e = ETIMEDOUT;
			set_err(err, errlen, "%s: no answer (busy)", path);
			goto fail;
		}
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}
	size_t clen = strlen(cmd);
	char line[CTL_CMD_MAX];
	if (clen + 2 > sizeof(line)) {
		e = EINVAL;
		set_err(err, errlen, "command too long");
		goto fail;
	}
	memcpy(line, cmd, clen);
	line[clen++] = '\n';
	size_t off = 0;
	while (off < clen) {
		ssize_t n = send(fd, line + off, clen - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, deadline) == 0)
			continue;
		e = errno;
		set_err(err, errlen, "%s: %s", path, strerror(e));
		goto fail;
	}
	for (;;) {
		if (cap - len < 4096) {
			size_t nc = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, nc);
			if (!nb) {
				e = ENOMEM;
				set_err(err, errlen, "out of memory");
				goto fail;
			}
			buf = nb;
			cap = nc;
		}
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && wait_fd(fd, POLLIN, deadline) == 0)
			continue;
		e = errno;
		set_err(err, errlen, "%s: %s", path, e == ETIMEDOUT ? "no answer in time" : strerror(e));
		goto fail;
	}
	close(fd);
	if (!buf) {
		buf = malloc(1);
		if (!buf) {
			set_err(err, errlen, "out of memory");
			errno = ENOMEM;
			return -1;
		}
	}
	buf[len] = '\0';
	*answer = buf;
	return 0;
fail:
	free(buf);
	close(fd);
	errno = e;
	return -1;
}

#define CTL_QUERY_TIMEOUT_MS 3000

static bool stale(int e) { return e == ECONNREFUSED || e == ENOENT; }

int tide_ctl_targets(const char *tool, const char *path, pid_t pid, struct tide_ctl_target **out)
{
	char err[256], looked[256];
	*out = NULL;
	if (path) {
		struct tide_ctl_target *t = calloc(1, sizeof(*t));
		if (!t) {
			fprintf(stderr, "%s: out of memory\n", tool);
			return -1;
		}
		snprintf(t->e.path, sizeof(t->e.path), "%s", path);
		if (tide_ctl_query(path, "info", CTL_QUERY_TIMEOUT_MS, &t->info, err, sizeof(err)) < 0) {
			if (stale(errno))
				fprintf(stderr, "%s: no running tide program at %s (%s)\n", tool, path,
					strerror(errno));
			else
				fprintf(stderr, "%s: %s\n", tool, err);
			free(t);
			return -1;
		}
		char buf[64];
		if (tide_ctl_field(t->info, "program", t->e.program, sizeof(t->e.program)) == NULL)
			snprintf(t->e.program, sizeof(t->e.program), "?");
		if (tide_ctl_field(t->info, "pid", buf, sizeof(buf)))
			t->e.pid = (pid_t)strtol(buf, NULL, 10);
		*out = t;
		return 1;
	}
	struct tide_ctl_entry *v;
	int n = tide_ctl_list(&v, looked, sizeof(looked));
	if (n < 0) {
		fprintf(stderr, "%s: out of memory\n", tool);
		return -1;
	}
	struct tide_ctl_target *t = calloc((size_t)n + 1, sizeof(*t));
	if (!t) {
		free(v);
		fprintf(stderr, "%s: out of memory\n", tool);
		return -1;
	}
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (pid > 0 && v[i].pid != pid)
			continue;
		char *info;
		if (tide_ctl_query(v[i].path, "info", CTL_QUERY_TIMEOUT_MS, &info, err, sizeof(err)) < 0) {
			if (!stale(errno))
				fprintf(stderr, "%s: %s\n", tool, err);
			continue;
		}
		t[k].e = v[i];
		t[k].info = info;
		k++;
	}
	free(v);
	if (k == 0) {
		free(t);
		if (pid > 0)
			fprintf(stderr, "%s: no running tide program with pid %ld (looked in %s)\n", tool,
				(long)pid, looked);
		else
			fprintf(stderr, "%s: no running tide program (looked in %s)\n", tool, looked);
		return -1;
	}
	*out = t;
	return k;
}

void tide_ctl_targets_free(struct tide_ctl_target *t, int n)
{
	if (!t)
		return;
	for (int i = 0; i < n; i++)
		free(t[i].info);
	free(t);
}

const char *tide_ctl_field(const char *line, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	const char *p = line;
	while (*p && *p != '\n') {
		while (*p == ' ')
			p++;
		const char *tok = p;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		if ((size_t)(p - tok) > klen && !memcmp(tok, key, klen) && tok[klen] == '=') {
			size_t vlen = (size_t)(p - tok) - klen - 1;
			if (len == 0)
				return buf;
			if (vlen >= len)
				vlen = len - 1;
			memcpy(buf, tok + klen + 1, vlen);
			buf[vlen] = '\0';
			return buf;
		}
	}
	return NULL;
}
