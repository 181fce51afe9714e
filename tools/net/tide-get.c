/*
 * tide-get: an HTTP client on tide. Fetches http://A.B.C.D[:port]/path
 * and writes the body to stdout or --output FILE.
 *
 * Bodies delimited by Content-Length, by the chunked coding, or by the
 * server's close are all read. Like curl, tide-get closes the connection
 * itself after the body (its side goes FIN_WAIT_2 -> TIME_WAIT), unless
 * the server said it would close (Connection: close, or HTTP/1.0): then it
 * waits for the server's FIN and closes after it (LAST_ACK), leaving the
 * TIME_WAIT to the server. It exits once its connections have finished
 * their close handshake (reached TIME_WAIT or ended); --linger keeps the
 * stack up longer, so that its TIME_WAIT can be watched with tide-ss.
 *
 * Exit status: 0 if every response was 200, 1 otherwise (another status, a
 * refused connection, a timeout, a malformed response), 2 usage.
 */
#include "common.h"
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IN_CAP 65536

enum phase { G_CONNECTING, G_SENDING, G_HEAD, G_BODY, G_WAIT_EOF, G_CLOSING, G_LINGER, G_DONE };
enum body { B_NONE, B_LENGTH, B_CHUNKED, B_CLOSE };

struct tracked {
	struct tide_conn_id id;
	int state;
};

struct get {
	struct tide_app app;
	const char *url_text;
	struct tide_http_url url;
	int minor;                 /* HTTP/1.minor of the requests */
	int total, done;           /* requests asked for, responses read */
	int timeout_s, linger_s;
	FILE *out;
	int epfd, fd;
	enum phase phase;
	bool failed;
	char req[8192];
	size_t reqlen, reqoff;
	char in[IN_CAP];
	size_t inlen;
	bool peer_eof;
	bool conn_used;            /* a response came on this connection */
	struct tide_http_response resp;
	enum body body;
	uint64_t left;
	uint64_t got;
	struct tide_http_chunked ch;
	tide_time last;            /* last progress */
	tide_time linger_until;
	struct tracked *tr;
	size_t ntr, captr;
	bool oom;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tide-get --addr A.B.C.D[/N] URL [options] [device and stack options]\n"
		"Fetches http://A.B.C.D[:PORT]/PATH with tide and writes the body to stdout.\n"
		"The host must be an IPv4 address: tide has no resolver.\n"
		"\n"
		"  --output FILE, -o FILE   write the body to FILE instead\n"
		"  --http1.0                send HTTP/1.0 requests (the server then closes\n"
		"                           first); default HTTP/1.1 (tide-get closes first)\n"
		"  --requests N             N requests for the URL on one persistent\n"
		"                           connection, one after the other (a new connection\n"
		"                           if the server closes); the bodies are concatenated.\n"
		"                           Also spelled --keep-alive N. Default 1\n"
		"  --timeout S              give up after S seconds without progress\n"
		"                           (connecting, waiting for data, closing; default 30)\n"
		"  --linger S               after the close handshake, keep the stack up to S\n"
		"                           seconds more, until its TIME_WAIT ends (default 0)\n"
		"\n"
		"Exit status: 0 if every response was 200 OK; 1 for another status or an error\n"
		"(connection refused, timeout, malformed response); 2 for a usage error.\n"
		"\n%s",
		tide_app_common_help);
}

static void on_state(void *ctx, const struct tide_conn_id *id, int old_state, int new_state,
		     tide_time now)
{
	struct get *g = ctx;
	(void)old_state;
	(void)now;
	for (size_t i = 0; i < g->ntr; i++) {
		struct tide_conn_id *t = &g->tr[i].id;
		if (t->laddr == id->laddr && t->lport == id->lport && t->raddr == id->raddr &&
		    t->rport == id->rport) {
			g->tr[i].state = new_state;
			return;
		}
	}
	if (new_state == TIDE_TCP_CLOSE)
		return;
	if (g->ntr == g->captr) {
		size_t cap = g->captr ? 2 * g->captr : 8;
		struct tracked *n = realloc(g->tr, cap * sizeof(*n));
		if (!n) {
			g->oom = true;
			return;
		}
		g->tr = n;
		g->captr = cap;
	}
	g->tr[g->ntr].id = *id;
	g->tr[g->ntr].state = new_state;
	g->ntr++;
}

static void fail(struct get *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An error ends the transfer: the message, then the stack stops. */
static void fail(struct get *g, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "tide-get: %s\n", msg);
	g->failed = true;
	if (g->fd >= 0) {
		tide_close(g->app.st, g->fd);
		g->fd = -1;
	}
	g->phase = G_DONE;
	tide_loop_stop(g->app.loop);
}

static void build_request(struct get *g)
{
	bool more = g->done + 1 < g->total;
	int n = snprintf(g->req, sizeof(g->req),
			 "GET %s HTTP/1.%d\r\nHost: %s\r\nUser-Agent: tide-get\r\nAccept: */*\r\n%s\r\n",
			 g->url.path, g->minor, g->url.host,
			 g->minor == 0 && more ? "Connection: keep-alive\r\n" : "");
	g->reqlen = n > 0 && (size_t)n < sizeof(g->req) ? (size_t)n : 0;
	g->reqoff = 0;
	g->phase = G_SENDING;
}

static void set_events(struct get *g, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	tide_epoll_ctl(g->app.st, g->epfd, EPOLL_CTL_MOD, g->fd, &ev);
}

static void start_connection(struct get *g)
{
	tide_stack *st = g->app.st;
	g->fd = tide_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (g->fd < 0) {
		fail(g, "socket: %s", strerror(errno));
		return;
	}
	struct epoll_event ev = { .events = EPOLLOUT };
	tide_epoll_ctl(st, g->epfd, EPOLL_CTL_ADD, g->fd, &ev);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(g->url.port),
				   .sin_addr.s_addr = htonl(g->url.addr) };
	g->inlen = 0;
	g->peer_eof = false;
	g->conn_used = false;
	g->phase = G_CONNECTING;
	g->last = tide_loop_clock();
	if (tide_connect(st, g->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 && errno != EINPROGRESS)
		fail(g, "%s: connect: %s", g->url.host, strerror(errno));
}

static void close_connection(struct get *g)
{
	if (g->fd >= 0) {
		tide_close(g->app.st, g->fd);
		g->fd = -1;
	}
}

/* Every connection has finished its handshake of close (TIME_WAIT or
 * gone); with all_gone, every one has ended, TIME_WAIT included. */
static bool closes_done(const struct get *g, bool all_gone)
{
	for (size_t i = 0; i < g->ntr; i++) {
		int s = g->tr[i].state;
		if (s != TIDE_TCP_CLOSE && (all_gone || s != TIDE_TCP_TIME_WAIT))
			return false;
	}
	return true;
}

/* After the last response, or a connection the server ends. */
static void next_step(struct get *g)
{
	if (g->done < g->total) {
		start_connection(g);
		return;
	}
	g->phase = G_CLOSING;
	g->last = tide_loop_clock();
}

static void write_body(struct get *g, const char *p, size_t n)
{
	g->got += n;
	if (g->resp.status != 200 || n == 0)
		return;
	if (fwrite(p, 1, n, g->out) != n)
		fail(g, "writing the body: %s", strerror(errno));
}

static void response_done(struct get *g)
{
	g->done++;
	g->conn_used = true;
	if (!g->app.quiet || g->resp.status != 200)
		fprintf(stderr, "tide-get: HTTP/1.%d %d %s, %llu bytes\n", g->resp.minor, g->resp.status,
			g->resp.reason, (unsigned long long)g->got);
	if (g->resp.status != 200)
		g->failed = true;
	if (g->resp.close || g->body == B_CLOSE) {
		/* the server closes: its FIN first, then ours */
		if (g->peer_eof) {
			close_connection(g);
			next_step(g);
		} else {
			g->phase = G_WAIT_EOF;
			set_events(g, EPOLLIN);
		}
		return;
	}
	if (g->done < g->total) {
		build_request(g);
		set_events(g, EPOLLOUT);
		return;
	}
	/* as curl: the client closes first */
	close_connection(g);
	next_step(g);
}

/* Consumes what the input buffer holds. */
static void parse_input(struct get *g)
{
	while (g->fd >= 0 && (g->phase == G_HEAD || g->phase == G_BODY)) {
		if (g->phase == G_HEAD) {
			long r = tide_http_parse_response(g->in, g->inlen, &g->resp);
			if (r < 0) {
				fail(g, "%s: malformed response", g->url_text);
				return;
			}
			if (r == 0) {
				if (g->peer_eof)
					fail(g, "%s: the server closed the connection before the response%s",
					     g->url_text, g->inlen ? " was complete" : "");
				return;
			}
			memmove(g->in, g->in + r, g->inlen - (size_t)r);
			g->inlen -= (size_t)r;
			if (g->resp.status >= 100 && g->resp.status < 200)
				continue; /* an interim response: the real one follows */
			g->got = 0;
			g->phase = G_BODY;
			memset(&g->ch, 0, sizeof(g->ch));
			if (g->resp.status == 204 || g->resp.status == 304) {
				g->body = B_NONE;
			} else if (g->resp.chunked) {
				g->body = B_CHUNKED;
			} else if (g->resp.content_length >= 0) {
				g->body = B_LENGTH;
				g->left = (uint64_t)g->resp.content_length;
			} else {
				g->body = B_CLOSE;
			}
		}
		size_t used = 0;
		bool end = false;
		switch (g->body) {
		case B_NONE:
			end = true;
			break;
		case B_LENGTH: {
			size_t n = g->inlen < g->left ? g->inlen : (size_t)g->left;
			write_body(g, g->in, n);
			used = n;
			g->left -= n;
			end = g->left == 0;
			if (!end && g->peer_eof && g->inlen == used) {
				fail(g, "%s: the server closed the connection %llu bytes before the "
					"end of the body", g->url_text, (unsigned long long)g->left);
				return;
			}
			break;
		}
		case B_CHUNKED:
			while (used < g->inlen && !g->ch.done) {
				const char *data;
				size_t dlen, u;
				if (tide_http_chunked_feed(&g->ch, g->in + used, g->inlen - used, &u, &data,
							   &dlen) != 0) {
					fail(g, "%s: malformed chunked body", g->url_text);
					return;
				}
				if (u == 0)
					break;
				write_body(g, data, dlen);
				used += u;
			}
			end = g->ch.done;
			if (!end && g->peer_eof && used == g->inlen) {
				fail(g, "%s: the server closed the connection inside the chunked body",
				     g->url_text);
				return;
			}
			break;
		case B_CLOSE:
			write_body(g, g->in, g->inlen);
			used = g->inlen;
			end = g->peer_eof;
			break;
		}
		if (g->phase == G_DONE)
			return;
		memmove(g->in, g->in + used, g->inlen - used);
		g->inlen -= used;
		if (!end)
			return;
		response_done(g);
	}
}

static void conn_event(struct get *g)
{
	tide_stack *st = g->app.st;
	if (g->phase == G_CONNECTING) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(g->url.port),
					   .sin_addr.s_addr = htonl(g->url.addr) };
		if (tide_connect(st, g->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
			if (errno == EALREADY || errno == EINPROGRESS)
				return;
			if (errno == ECONNREFUSED)
				fail(g, "%s: connection refused", g->url.host);
			else
				fail(g, "%s: %s", g->url.host, strerror(errno));
			return;
		}
		struct sockaddr_in me;
		socklen_t ml = sizeof(me);
		tide_getsockname(st, g->fd, (struct sockaddr *)&me, &ml);
		char a[32];
		tide_app_log(&g->app, "connected %s -> %s", tide_app_addr_str(&me, a, sizeof(a)),
			     g->url.host);
		g->last = tide_loop_clock();
		build_request(g);
	}
	if (g->phase == G_SENDING) {
		while (g->reqoff < g->reqlen) {
			ssize_t n = tide_send(st, g->fd, g->req + g->reqoff, g->reqlen - g->reqoff, 0);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					set_events(g, EPOLLOUT);
					return;
				}
				/* a persistent connection the server closed meanwhile */
				if (g->conn_used) {
					close_connection(g);
					start_connection(g);
					return;
				}
				fail(g, "%s: sending the request: %s", g->url.host, strerror(errno));
				return;
			}
			g->reqoff += (size_t)n;
			g->last = tide_loop_clock();
		}
		g->phase = G_HEAD;
		set_events(g, EPOLLIN);
	}
	if (g->phase == G_HEAD || g->phase == G_BODY || g->phase == G_WAIT_EOF) {
		while (!g->peer_eof && g->inlen < IN_CAP) {
			ssize_t n = tide_recv(st, g->fd, g->in + g->inlen, IN_CAP - g->inlen, 0);
			if (n > 0) {
				g->inlen += (size_t)n;
				g->last = tide_loop_clock();
				if (g->phase == G_WAIT_EOF)
					g->inlen = 0; /* nothing is due after the body */
				continue;
			}
			if (n == 0) {
				g->peer_eof = true;
				break;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (g->phase == G_HEAD && g->inlen == 0 && g->conn_used &&
			    (errno == ECONNRESET || errno == EPIPE)) {
				/* the server dropped the idle connection as our
				 * request crossed its close: try again */
				close_connection(g);
				start_connection(g);
				return;
			}
			fail(g, "%s: %s", g->url.host, strerror(errno));
			return;
		}
		if (g->phase == G_WAIT_EOF) {
			if (g->peer_eof) {
				close_connection(g);
				next_step(g);
			}
			return;
		}
		if (g->phase == G_HEAD && g->peer_eof && g->inlen == 0 && g->conn_used) {
			/* the server closed the persistent connection before our
			 * next request reached it (its keep-alive timeout) */
			close_connection(g);
			start_connection(g);
			return;
		}
		parse_input(g);
	}
}

static void tick(void *ctx, tide_loop *loop)
{
	struct get *g = ctx;
	struct epoll_event evs[4];
	for (int round = 0; round < 64 && g->fd >= 0; round++) {
		int n = tide_epoll_wait(g->app.st, g->epfd, evs, 4);
		if (n <= 0)
			break;
		conn_event(g);
	}
	if (g->oom)
		fail(g, "out of memory");
	tide_time now = tide_loop_clock();
	tide_time limit = g->last + TIDE_SEC(g->timeout_s);
	switch (g->phase) {
	case G_CLOSING:
		if (closes_done(g, false)) {
			if (g->linger_s > 0) {
				g->phase = G_LINGER;
				g->linger_until = now + TIDE_SEC(g->linger_s);
				tide_loop_wake_at(loop, g->linger_until);
			} else {
				g->phase = G_DONE;
				tide_loop_stop(loop);
			}
			return;
		}
		if (now >= limit) {
			fprintf(stderr, "tide-get: the connection did not finish closing within %d s\n",
				g->timeout_s);
			g->phase = G_DONE;
			tide_loop_stop(loop);
			return;
		}
		break;
	case G_LINGER:
		if (closes_done(g, true) || now >= g->linger_until) {
			g->phase = G_DONE;
			tide_loop_stop(loop);
		} else {
			tide_loop_wake_at(loop, g->linger_until);
		}
		return;
	case G_DONE:
		return;
	default:
		if (now >= limit) {
			static const char *what[] = { "connecting", "sending the request",
						      "waiting for the response", "reading the body",
						      "waiting for the server to close" };
			fail(g, "%s: timed out after %d s %s", g->url.host, g->timeout_s,
			     what[g->phase]);
			return;
		}
		break;
	}
	tide_loop_wake_at(loop, limit);
}

int main(int argc, char **argv)
{
	struct get *g = calloc(1, sizeof(*g));
	if (!g) {
		fprintf(stderr, "tide-get: out of memory\n");
		return 1;
	}
	struct tide_app *app = &g->app;
	tide_app_init(app, "tide-get");
	g->minor = 1;
	g->total = 1;
	g->timeout_s = 30;
	g->fd = -1;
	const char *output = NULL;
	for (int i = 1; i < argc; i++) {
		const char *v;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			free(g);
			return 0;
		}
		if (tide_app_common_option(app, argc, argv, &i))
			continue;
		if (tide_app_opt(app, argc, argv, &i, "--output", &v) ||
		    tide_app_opt(app, argc, argv, &i, "-o", &v))
			output = v;
		else if (!strcmp(argv[i], "--http1.0"))
			g->minor = 0;
		else if (!strcmp(argv[i], "--http1.1"))
			g->minor = 1;
		else if (tide_app_opt(app, argc, argv, &i, "--requests", &v) ||
			 tide_app_opt(app, argc, argv, &i, "--keep-alive", &v))
			g->total = (int)tide_app_int(app, "--requests", v, 1, 1000000);
		else if (tide_app_opt(app, argc, argv, &i, "--timeout", &v))
			g->timeout_s = (int)tide_app_int(app, "--timeout", v, 1, 86400);
		else if (tide_app_opt(app, argc, argv, &i, "--linger", &v))
			g->linger_s = (int)tide_app_int(app, "--linger", v, 0, 86400);
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			tide_app_usage_error(app, "unknown option '%s'", argv[i]);
		else if (g->url_text)
			tide_app_usage_error(app, "one URL only ('%s' and '%s')", g->url_text, argv[i]);
		else
			g->url_text = argv[i];
	}
	if (!g->url_text)
		tide_app_usage_error(app, "no URL (http://A.B.C.D[:PORT]/PATH)");
	char err[512];
	if (tide_http_parse_url(g->url_text, &g->url, err, sizeof(err)) != 0)
		tide_app_usage_error(app, "%s", err);
	g->out = stdout;
	if (output && strcmp(output, "-")) {
		g->out = fopen(output, "wb");
		if (!g->out) {
			fprintf(stderr, "tide-get: %s: %s\n", output, strerror(errno));
			free(g);
			return 1;
		}
	}
	app->on_state = on_state;
	app->state_ctx = g;
	tide_app_start(app);
	g->epfd = tide_epoll_create(app->st);
	tide_loop_set_tick(app->loop, tick, g);
	start_connection(g);
	tide_loop_wake_at(app->loop, tide_loop_clock());
	int rc = g->phase == G_DONE ? 0 : tide_app_run(app);
	if (rc == 0 && app->signo && g->phase < G_CLOSING) {
		fprintf(stderr, "tide-get: interrupted\n");
		g->failed = true;
	}
	close_connection(g);
	tide_close(app->st, g->epfd);
	tide_app_finish(app);
	if (g->out != stdout) {
		if (fclose(g->out) != 0) {
			fprintf(stderr, "tide-get: %s: %s\n", output, strerror(errno));
			g->failed = true;
		}
	} else if (fflush(stdout) != 0) {
		fprintf(stderr, "tide-get: writing the body: %s\n", strerror(errno));
		g->failed = true;
	}
	free(g->tr);
	int code = rc ? 1 : g->failed ? 1 : 0;
	free(g);
	return code;
}
