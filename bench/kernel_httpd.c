/*
 * kernel_httpd: the Linux-kernel reference for bench/wrk.sh.
 *
 * A tiny single-threaded epoll HTTP/1.1 server on the kernel's sockets (the
 * same shape as tide-httpd: one thread, one epoll set, non-blocking
 * sockets). It answers every GET with the bytes tide-httpd answers for the
 * same file (Date fixed at start, Server, Content-Type, Content-Length,
 * Keep-Alive/Connection), keeping the connection unless the request says
 * "Connection: close", in which case it closes after the response.
 *
 * usage: kernel_httpd --addr A.B.C.D --file PATH [--port N]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQ_CAP 8192
#define MAX_FD 65536

struct conn {
	size_t len;
	char buf[REQ_CAP];
};

static struct conn *conns[MAX_FD];
static char *resp_ka, *resp_close;
static size_t resp_ka_len, resp_close_len;

static char *build(const char *body, size_t blen, const char *conn_hdr, size_t *olen)
{
	char date[64], head[512];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 200 OK\r\nDate: %s\r\nServer: tide-httpd\r\n"
			 "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n%s\r\n",
			 date, blen, conn_hdr);
	char *r = malloc((size_t)n + blen);
	if (!r)
		abort();
	memcpy(r, head, (size_t)n);
	memcpy(r + n, body, blen);
	*olen = (size_t)n + blen;
	return r;
}

static int wants_close(const char *head)
{
	for (const char *p = head; (p = strchr(p, '\n')) != NULL;) {
		p++;
		if (strncasecmp(p, "connection:", 11) == 0) {
			const char *v = p + 11;
			while (*v == ' ' || *v == '\t')
				v++;
			return strncasecmp(v, "close", 5) == 0;
		}
	}
	return 0;
}

static void drop(int fd)
{
	free(conns[fd]);
	conns[fd] = NULL;
	close(fd);
}

/* Writes the whole response; small responses fit the socket buffer. */
static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1; /* EAGAIN on a 1 KB response: treat as broken */
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void on_readable(int fd)
{
	struct conn *c = conns[fd];
	for (;;) {
		ssize_t r = read(fd, c->buf + c->len, REQ_CAP - 1 - c->len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			drop(fd);
			return;
		}
		if (r == 0) {
			drop(fd);
			return;
		}
		c->len += (size_t)r;
		c->buf[c->len] = '\0';
		char *end;
		while ((end = strstr(c->buf, "\r\n\r\n")) != NULL) {
			size_t hl = (size_t)(end - c->buf) + 4;
			end[2] = '\0';
			int cl = wants_close(c->buf);
			if (send_all(fd, cl ? resp_close : resp_ka, cl ? resp_close_len : resp_ka_len) ||
			    cl) {
				drop(fd);
				return;
			}
			memmove(c->buf, c->buf + hl, c->len - hl + 1);
			c->len -= hl;
		}
		if (c->len >= REQ_CAP - 1) {
			drop(fd);
			return;
		}
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: kernel_httpd --addr A.B.C.D --file PATH [--port N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *addr = NULL, *file = NULL;
	int port = 80;
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--addr"))
			addr = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--file"))
			file = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--port"))
			port = atoi(argv[++i]);
		else
			usage();
	}
	if (!addr || !file)
		usage();
	FILE *f = fopen(file, "rb");
	if (!f) {
		perror(file);
		return 1;
	}
	static char body[65536];
	size_t blen = fread(body, 1, sizeof(body), f);
	fclose(f);
	resp_ka = build(body, blen, "Keep-Alive: timeout=15, max=99\r\nConnection: keep-alive\r\n",
			&resp_ka_len);
	resp_close = build(body, blen, "Connection: close\r\n", &resp_close_len);
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		usage();
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 1024)) {
		perror("bind/listen");
		return 1;
	}
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	fprintf(stderr, "kernel_httpd: listening on %s:%d\n", addr, port);
	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd) {
				int c;
				while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					if (c >= MAX_FD || !(conns[c] = calloc(1, sizeof(struct conn)))) {
						close(c);
						continue;
					}
					struct epoll_event ce = { .events = EPOLLIN, .data.fd = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
				}
			} else if (conns[fd]) {
				on_readable(fd);
			}
		}
	}
}
