/*
 * tide-httpd: an HTTP/1.1 server of static files on tide.
 *
 * GET and HEAD of the files under --root, with persistent connections as
 * Apache keeps them: KeepAliveTimeout (--keepalive-timeout, 15 s) of
 * silence between two requests and the server closes; the
 * MaxKeepAliveRequests-th request (--max-keepalive-requests, 100) is
 * answered with "Connection: close"; a connection that does not complete a
 * request within --idle-timeout (60 s, Apache's Timeout) is dropped, with
 * 408 if it had started one. Pipelined requests are answered in order.
 *
 * The server closes the way Apache does (its lingering close): it shuts
 * down its sending side (FIN), reads and throws away what the client still
 * sends for at most LINGER_SECONDS, then closes. A client's request that
 * crossed the FIN thus never turns the close into a reset, and after a
 * server-side close the TIME_WAIT is the server's.
 *
 * Paths: the target is decoded and its dot segments resolved (a ".." above
 * the root is a 400); the file's real path (symlinks resolved) must lie
 * under the root's real path, otherwise 404.
 */
#include "common.h"
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Apache's SECONDS_TO_LINGER */
#define LINGER_SECONDS 2
/* Room for a full head and the start of a pipelined one. */
#define IN_CAP (TIDE_HTTP_MAX_HEAD + 4096)
#define OUT_CAP 65536

enum cstate { C_READ, C_WRITE, C_LINGER };

struct hconn {
	struct hconn *next;
	int fd;
	bool dead;
	enum cstate state;
	uint32_t interest;
	char peer[32];
	char in[IN_CAP];
	size_t inlen;
	uint64_t skip;            /* request body still to discard */
	bool peer_eof;
	unsigned requests;        /* responses completed */
	tide_time last;           /* last progress: bytes in, bytes out, response end */
	/* the response under way */
	char *out;
	size_t olen, ooff;
	size_t head_left;         /* bytes of the head still in out */
	int file;
	uint64_t file_left;
	bool close_after;
	/* for its log line */
	char method[32];
	char target[160];
	int status;
	uint64_t body_sent;
};

struct httpd {
	struct tide_app app;
	int lfd, epfd;
	char root[PATH_MAX];
	size_t rootlen;
	int keepalive_timeout, max_requests, idle_timeout;
	struct hconn *conns;
	struct tide_http_request req;   /* parsed in place: too big for the stack */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tide-httpd --addr A.B.C.D[/N] --root DIR [options] [device and stack options]\n"
		"An HTTP/1.1 server of static files on tide (GET and HEAD, keep-alive).\n"
		"\n"
		"  --root DIR                    the document root (required); DIR/index.html\n"
		"                                answers for a directory\n"
		"  --port N                      TCP port (default 80)\n"
		"  --keepalive-timeout S         close a persistent connection after S seconds\n"
		"                                without a request (default 15, Apache's\n"
		"                                KeepAliveTimeout); 0: no persistent connections\n"
		"  --max-keepalive-requests N    answer the N-th request of a connection with\n"
		"                                'Connection: close' (default 100, Apache's\n"
		"                                MaxKeepAliveRequests); 0: no limit\n"
		"  --idle-timeout S              drop a connection that does not complete a\n"
		"                                request, or does not take the response, within\n"
		"                                S seconds (default 60, Apache's Timeout)\n"
		"\n"
		"One log line per request on stderr (unless --quiet): client, method, path,\n"
		"status, body bytes sent.\n"
		"\n%s",
		tide_app_common_help);
}

static void set_interest(struct httpd *h, struct hconn *c, uint32_t ev)
{
	if (c->interest == ev)
		return;
	struct epoll_event e = { .events = ev, .data.ptr = c };
	tide_epoll_ctl(h->app.st, h->epfd, EPOLL_CTL_MOD, c->fd, &e);
	c->interest = ev;
}

static void end_response(struct hconn *c)
{
	if (c->file >= 0)
		close(c->file);
	c->file = -1;
	c->file_left = 0;
	c->olen = c->ooff = c->head_left = 0;
}

static void log_request(struct httpd *h, struct hconn *c, const char *note)
{
	tide_app_log(&h->app, "%s %s %s %d %llu%s%s", c->peer, c->method[0] ? c->method : "-",
		     c->target[0] ? c->target : "-", c->status, (unsigned long long)c->body_sent,
		     note ? " " : "", note ? note : "");
}

static void conn_close(struct httpd *h, struct hconn *c, const char *why)
{
	if (c->dead)
		return;
	if (c->state == C_WRITE)
		log_request(h, c, "(response cut short)");
	end_response(c);
	tide_close(h->app.st, c->fd);
	c->dead = true;
	tide_app_log(&h->app, "%s: closed after %u request%s (%s)", c->peer, c->requests,
		     c->requests == 1 ? "" : "s", why);
}

/* Apache's lingering close: FIN now, the socket's close after the client's
 * FIN or LINGER_SECONDS. */
static void start_linger(struct httpd *h, struct hconn *c)
{
	end_response(c);
	if (c->peer_eof || tide_shutdown(h->app.st, c->fd, SHUT_WR) != 0) {
		conn_close(h, c, c->peer_eof ? "closed by the client" : strerror(errno));
		return;
	}
	c->state = C_LINGER;
	c->last = tide_loop_clock();
	set_interest(h, c, EPOLLIN);
}

static void accept_all(struct httpd *h)
{
	for (;;) {
		struct sockaddr_in sin;
		socklen_t sl = sizeof(sin);
		int fd = tide_accept(h->app.st, h->lfd, (struct sockaddr *)&sin, &sl, SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				tide_app_log(&h->app, "accept: %s", strerror(errno));
			return;
		}
		struct hconn *c = calloc(1, sizeof(*c));
		char *out = malloc(OUT_CAP);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (!c || !out || tide_epoll_ctl(h->app.st, h->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			tide_close(h->app.st, fd);
			free(c);
			free(out);
			tide_app_log(&h->app, "out of memory: connection dropped");
			continue;
		}
		c->fd = fd;
		c->out = out;
		c->file = -1;
		c->interest = EPOLLIN;
		c->last = tide_loop_clock();
		tide_app_addr_str(&sin, c->peer, sizeof(c->peer));
		c->next = h->conns;
		h->conns = c;
	}
}

static void begin_response(struct hconn *c, int status, bool keep_alive)
{
	c->status = status;
	c->close_after = !keep_alive;
	c->body_sent = 0;
	c->state = C_WRITE;
}

/* Puts the head (and a short body, if any) in the output buffer. */
static void queue_head(struct httpd *h, struct hconn *c, struct tide_http_head *hd, const char *body,
		       size_t blen)
{
	hd->date = time(NULL);
	hd->keepalive_timeout = h->keepalive_timeout;
	if (hd->keep_alive && h->max_requests > 0)
		hd->keepalive_max = h->max_requests - (int)c->requests - 1;
	else
		hd->keepalive_max = -1;
	size_t n = tide_http_format_head(c->out, OUT_CAP, hd);
	if (n == 0) {
		/* only a huge Location could do this: answer without it */
		hd->location = NULL;
		hd->status = 500;
		n = tide_http_format_head(c->out, OUT_CAP, hd);
	}
	c->olen = n;
	c->head_left = n;
	if (body && blen && n + blen <= OUT_CAP) {
		memcpy(c->out + n, body, blen);
		c->olen += blen;
	}
}

static void respond_error(struct httpd *h, struct hconn *c, int status, bool keep_alive, bool head_only)
{
	char body[512];
	size_t blen = tide_http_error_body(body, sizeof(body), status);
	begin_response(c, status, keep_alive);
	struct tide_http_head hd = { .status = status, .content_type = "text/html; charset=utf-8",
				     .content_length = blen, .keep_alive = keep_alive };
	if (status == 405)
		hd.allow = "GET, HEAD";
	queue_head(h, c, &hd, head_only ? NULL : body, blen);
}

/* Resolves path under the root. Returns 0 with the real path in out, or
 * the status to answer. */
static int resolve(struct httpd *h, const char *path, char *out)
{
	char fs[PATH_MAX];
	size_t plen = strlen(path);
	if (h->rootlen + plen + 1 > sizeof(fs))
		return 414;
	/* lengths checked above; memcpy keeps GCC's truncation warning quiet */
	memcpy(fs, h->root, h->rootlen);
	memcpy(fs + h->rootlen, path, plen + 1);
	if (!realpath(fs, out))
		return errno == EACCES ? 403 : 404;
	/* the real path must be the root or lie under it */
	if (strncmp(out, h->root, h->rootlen) != 0 ||
	    (out[h->rootlen] != '\0' && out[h->rootlen] != '/' && h->rootlen > 1))
		return 404;
	return 0;
}

static void handle_request(struct httpd *h, struct hconn *c, const struct tide_http_request *req)
{
	snprintf(c->method, sizeof(c->method), "%s", req->method);
	/* long targets are cut in the log line only */
	size_t tl = strnlen(req->target, sizeof(c->target) - 1);
	memcpy(c->target, req->target, tl);
	c->target[tl] = '\0';
	unsigned n = c->requests + 1;
	bool last = h->max_requests > 0 && n >= (unsigned)h->max_requests;
	bool ka = req->keep_alive && !last && h->keepalive_timeout > 0;
	bool head_only = !strcmp(req->method, "HEAD");
	if (!head_only && strcmp(req->method, "GET")) {
		respond_error(h, c, 405, ka, false);
		return;
	}
	char path[TIDE_HTTP_MAX_LINE + 1];
	int r = tide_http_clean_path(req->target, path, sizeof(path));
	if (r < 0) {
		respond_error(h, c, -r, ka, head_only);
		return;
	}
	char real[PATH_MAX];
	int st = resolve(h, path, real);
	if (st) {
		respond_error(h, c, st, ka, head_only);
		return;
	}
	struct stat sb;
	if (stat(real, &sb) != 0) {
		respond_error(h, c, 404, ka, head_only);
		return;
	}
	const char *type_of = path;
	char index[TIDE_HTTP_MAX_LINE + 16];
	if (S_ISDIR(sb.st_mode)) {
		size_t pl = strlen(path);
		if (path[pl - 1] != '/') {
			/* as Apache's mod_dir: the slash makes relative links work */
			char loc[3 * TIDE_HTTP_MAX_LINE + 2];
			char body[512];
			size_t blen = tide_http_error_body(body, sizeof(body), 301);
			begin_response(c, 301, ka);
			struct tide_http_head hd = { .status = 301, .content_type = "text/html; charset=utf-8",
						     .content_length = blen, .keep_alive = ka };
			if (tide_http_encode_path(path, loc, sizeof(loc) - 1) == 0) {
				strcat(loc, "/");
				hd.location = loc;
			}
			queue_head(h, c, &hd, head_only ? NULL : body, blen);
			return;
		}
		snprintf(index, sizeof(index), "%sindex.html", path);
		st = resolve(h, index, real);
		if (st) {
			/* no listings: a directory without an index is forbidden */
			respond_error(h, c, st == 404 ? 403 : st, ka, head_only);
			return;
		}
		if (stat(real, &sb) != 0) {
			respond_error(h, c, 403, ka, head_only);
			return;
		}
		type_of = index;
	}
	if (!S_ISREG(sb.st_mode)) {
		respond_error(h, c, 404, ka, head_only);
		return;
	}
	int fd = -1;
	if (!head_only) {
		fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			respond_error(h, c, errno == EACCES ? 403 : 404, ka, head_only);
			return;
		}
	}
	begin_response(c, 200, ka);
	struct tide_http_head hd = { .status = 200, .content_type = tide_http_content_type(type_of),
				     .content_length = (uint64_t)sb.st_size, .keep_alive = ka };
	queue_head(h, c, &hd, NULL, 0);
	c->file = fd;
	c->file_left = head_only ? 0 : (uint64_t)sb.st_size;
	/* the body's start rides with the head, as one write would carry it;
	 * a failed read is left to send_more, which ends the connection */
	size_t room = OUT_CAP - c->olen;
	size_t want = c->file_left < room ? (size_t)c->file_left : room;
	if (want) {
		ssize_t got = read(fd, c->out + c->olen, want);
		if (got > 0) {
			c->olen += (size_t)got;
			c->file_left -= (uint64_t)got;
		}
	}
}

/* Sends what it can. Returns 1 when the response is complete, 0 when the
 * socket is full, -1 if the connection was closed. */
static int send_more(struct httpd *h, struct hconn *c)
{
	for (;;) {
		if (c->ooff == c->olen) {
			if (c->file_left == 0)
				return 1;
			size_t want = c->file_left < OUT_CAP ? (size_t)c->file_left : OUT_CAP;
			ssize_t n = read(c->file, c->out, want);
			if (n <= 0) {
				/* the file shrank or failed under us: the promised
				 * length cannot be kept, so the connection ends */
				conn_close(h, c, n < 0 ? strerror(errno) : "file shrank while sent");
				return -1;
			}
			c->olen = (size_t)n;
			c->ooff = 0;
			c->file_left -= (uint64_t)n;
		}
		ssize_t n = tide_send(h->app.st, c->fd, c->out + c->ooff, c->olen - c->ooff, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			conn_close(h, c, strerror(errno));
			return -1;
		}
		size_t sent = (size_t)n;
		size_t hpart = sent < c->head_left ? sent : c->head_left;
		c->head_left -= hpart;
		c->body_sent += sent - hpart;
		c->ooff += sent;
		c->last = tide_loop_clock();
	}
}

static void response_done(struct httpd *h, struct hconn *c)
{
	log_request(h, c, NULL);
	c->requests++;
	end_response(c);
	c->method[0] = c->target[0] = '\0';
	c->last = tide_loop_clock();
	if (c->close_after) {
		start_linger(h, c);
		return;
	}
	c->state = C_READ;
}

/* Answers the complete requests in the input buffer, in order, while the
 * responses go out at once. */
static void process(struct httpd *h, struct hconn *c)
{
	while (!c->dead && c->state == C_READ) {
		if (c->skip) {
			size_t d = c->skip < c->inlen ? (size_t)c->skip : c->inlen;
			memmove(c->in, c->in + d, c->inlen - d);
			c->inlen -= d;
			c->skip -= d;
			if (c->skip)
				return;
		}
		if (c->inlen == 0) {
			if (c->peer_eof)
				conn_close(h, c, "closed by the client");
			return;
		}
		long r = tide_http_parse_request(c->in, c->inlen, &h->req);
		if (r == 0) {
			if (c->peer_eof)
				conn_close(h, c, "closed by the client in a request");
			return;
		}
		if (r < 0) {
			/* the framing is lost: answer and close */
			c->target[0] = '\0';
			c->method[0] = '\0';
			respond_error(h, c, (int)-r, false, false);
			c->inlen = 0;
		} else {
			memmove(c->in, c->in + r, c->inlen - (size_t)r);
			c->inlen -= (size_t)r;
			c->skip = h->req.content_length;
			handle_request(h, c, &h->req);
		}
		int s = send_more(h, c);
		if (s < 0)
			return;
		if (s == 1)
			response_done(h, c);
	}
}

static void read_more(struct httpd *h, struct hconn *c)
{
	while (!c->peer_eof && c->inlen < IN_CAP) {
		ssize_t n = tide_recv(h->app.st, c->fd, c->in + c->inlen, IN_CAP - c->inlen, 0);
		if (n > 0) {
			c->inlen += (size_t)n;
			c->last = tide_loop_clock();
			continue;
		}
		if (n == 0) {
			c->peer_eof = true;
			break;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			conn_close(h, c, strerror(errno));
		break;
	}
}

static void update_interest(struct httpd *h, struct hconn *c)
{
	if (c->dead)
		return;
	if (c->state == C_WRITE)
		set_interest(h, c, EPOLLOUT);
	else if (c->state == C_LINGER || (!c->peer_eof && c->inlen < IN_CAP))
		set_interest(h, c, EPOLLIN);
	else
		set_interest(h, c, 0);
}

static void conn_event(struct httpd *h, struct hconn *c, uint32_t events)
{
	if (c->dead)
		return;
	if (c->state == C_LINGER) {
		char junk[4096];
		for (;;) {
			ssize_t n = tide_recv(h->app.st, c->fd, junk, sizeof(junk), 0);
			if (n > 0)
				continue;
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				conn_close(h, c, "closed by the server");
			break;
		}
		return;
	}
	if (c->state == C_WRITE) {
		int s = send_more(h, c);
		if (s < 0)
			return;
		if (s == 1)
			response_done(h, c);
	}
	if (c->state == C_READ) {
		read_more(h, c);
		if (!c->dead)
			process(h, c);
	}
	if (!c->dead && (events & EPOLLERR) && c->state != C_LINGER) {
		int err = 0;
		socklen_t el = sizeof(err);
		tide_getsockopt(h->app.st, c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		conn_close(h, c, err ? strerror(err) : "connection error");
		return;
	}
	update_interest(h, c);
}

/* The deadline of a connection's current wait. */
static tide_time deadline(const struct httpd *h, const struct hconn *c)
{
	if (c->state == C_LINGER)
		return c->last + TIDE_SEC(LINGER_SECONDS);
	if (c->state == C_READ && c->inlen == 0 && c->skip == 0 && c->requests > 0)
		return c->last + TIDE_SEC(h->keepalive_timeout);
	return c->last + TIDE_SEC(h->idle_timeout);
}

static void expire(struct httpd *h, struct hconn *c)
{
	switch (c->state) {
	case C_LINGER:
		conn_close(h, c, "closed by the server");
		return;
	case C_WRITE:
		conn_close(h, c, "timed out sending");
		return;
	case C_READ:
		break;
	}
	if (c->inlen || c->skip) {
		/* a request begun and never finished: tell the client */
		respond_error(h, c, 408, false, false);
		c->inlen = 0;
		c->skip = 0;
		int s = send_more(h, c);
		if (s == 1)
			response_done(h, c);
		else if (s == 0)
			update_interest(h, c);
		return;
	}
	const char *why = c->requests ? "keep-alive timeout" : "idle timeout";
	tide_app_log(&h->app, "%s: %s", c->peer, why);
	start_linger(h, c);
}

static void sweep(struct httpd *h)
{
	for (struct hconn **pp = &h->conns; *pp;) {
		struct hconn *c = *pp;
		if (c->dead) {
			*pp = c->next;
			free(c->out);
			free(c);
		} else {
			pp = &c->next;
		}
	}
}

static void tick(void *ctx, tide_loop *loop)
{
	struct httpd *h = ctx;
	struct epoll_event evs[64];
	for (int round = 0; round < 32; round++) {
		int n = tide_epoll_wait(h->app.st, h->epfd, evs, 64);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				accept_all(h);
			else
				conn_event(h, evs[i].data.ptr, evs[i].events);
		}
		/* still busy: come back at once, after the device's turn */
		if (round == 31)
			tide_loop_wake_at(loop, tide_loop_clock());
	}
	tide_time now = tide_loop_clock(), next = TIDE_TIME_NEVER;
	for (struct hconn *c = h->conns; c; c = c->next) {
		if (c->dead)
			continue;
		tide_time d = deadline(h, c);
		if (d <= now) {
			expire(h, c);
			if (c->dead)
				continue;
			d = deadline(h, c);
		}
		if (d < next)
			next = d;
	}
	if (next != TIDE_TIME_NEVER)
		tide_loop_wake_at(loop, next);
	sweep(h);
}

int main(int argc, char **argv)
{
	struct httpd *h = calloc(1, sizeof(*h));
	if (!h) {
		fprintf(stderr, "tide-httpd: out of memory\n");
		return 1;
	}
	struct tide_app *app = &h->app;
	tide_app_init(app, "tide-httpd");
	long port = 80;
	const char *root = NULL;
	h->keepalive_timeout = 15;
	h->max_requests = 100;
	h->idle_timeout = 60;
	for (int i = 1; i < argc; i++) {
		const char *v;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			free(h);
			return 0;
		}
		if (tide_app_common_option(app, argc, argv, &i))
			continue;
		if (tide_app_opt(app, argc, argv, &i, "--port", &v))
			port = tide_app_int(app, "--port", v, 1, 65535);
		else if (tide_app_opt(app, argc, argv, &i, "--root", &v))
			root = v;
		else if (tide_app_opt(app, argc, argv, &i, "--keepalive-timeout", &v))
			h->keepalive_timeout = (int)tide_app_int(app, "--keepalive-timeout", v, 0, 86400);
		else if (tide_app_opt(app, argc, argv, &i, "--max-keepalive-requests", &v))
			h->max_requests = (int)tide_app_int(app, "--max-keepalive-requests", v, 0, 1000000);
		else if (tide_app_opt(app, argc, argv, &i, "--idle-timeout", &v))
			h->idle_timeout = (int)tide_app_int(app, "--idle-timeout", v, 1, 86400);
		else
			tide_app_usage_error(app, "unknown argument '%s'", argv[i]);
	}
	if (!root)
		tide_app_usage_error(app, "--root DIR is required (the directory to serve)");
	struct stat sb;
	if (!realpath(root, h->root) || stat(h->root, &sb) != 0)
		tide_app_usage_error(app, "--root %s: %s", root, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		tide_app_usage_error(app, "--root %s: not a directory", root);
	h->rootlen = strlen(h->root);

	tide_app_start(app);
	tide_stack *st = app->st;
	h->lfd = tide_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;
	tide_setsockopt(st, h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(app->addr) };
	/* Apache's ListenBacklog */
	if (tide_bind(st, h->lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    tide_listen(st, h->lfd, 511) != 0)
		tide_app_fatal(app, "port %ld: %s", port, strerror(errno));
	h->epfd = tide_epoll_create(st);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	tide_epoll_ctl(st, h->epfd, EPOLL_CTL_ADD, h->lfd, &ev);
	tide_loop_set_tick(app->loop, tick, h);
	char a[32];
	tide_app_log(app, "serving %s on http://%s/ (%s %s)", h->root,
		     tide_app_addr_str(&sin, a, sizeof(a)), app->kind == TIDE_NETDEV_TAP ? "tap" : "tun",
		     app->ifname);
	int rc = tide_app_run(app);

	for (struct hconn *c = h->conns; c; c = c->next)
		conn_close(h, c, "server stopping");
	sweep(h);
	tide_close(st, h->epfd);
	tide_close(st, h->lfd);
	tide_app_finish(app);
	free(h);
	return rc;
}
