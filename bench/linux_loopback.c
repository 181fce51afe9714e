/*
 * The reference for bench/lifecycle.c: the same lifecycle (connect, 64-byte
 * request, 64-byte response, active close by the client, TIME_WAIT) through
 * the Linux kernel on loopback, client and server in one thread.
 *
 * Linux keeps TIME_WAIT for 60 s and allows 28,232 ephemeral ports per
 * (source, destination, port), so every connection takes the next source
 * address of 127.1.0.0/16 (IP_BIND_ADDRESS_NO_PORT, the port is still
 * chosen by connect()): no 4-tuple is ever reused while its TIME_WAIT
 * lives. The expiry of Linux's TIME_WAIT entries is not inside the
 * measured time (it comes 60 s later, in the kernel's timer); the entries
 * beyond net.ipv4.tcp_max_tw_buckets are not kept at all (Linux counts
 * TCPTimeWaitOverflow).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG 64

double linux_loopback_sequential(int n, int run);
double linux_loopback_concurrent(int conc, int total, int run, int *conc_used, char *note,
				 size_t notelen);

static uint32_t next_src;

static void die(const char *what)
{
	fprintf(stderr, "linux_loopback: %s failed: %s\n", what, strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int listener(struct sockaddr_in *sa)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (l < 0)
		die("socket");
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof *sa;
	if (bind(l, (struct sockaddr *)sa, sizeof *sa) < 0 || listen(l, 65535) < 0 ||
	    getsockname(l, (struct sockaddr *)sa, &len) < 0)
		die("listen");
	return l;
}

/* A client socket bound to the next source address, port left to connect. */
static int client_socket(int flags)
{
	int c = socket(AF_INET, SOCK_STREAM | flags, 0);
	if (c < 0)
		die("socket");
	int one = 1;
	if (setsockopt(c, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) < 0)
		die("IP_BIND_ADDRESS_NO_PORT");
	uint32_t host = next_src++ % 65534u + 1u; /* 127.1.0.1 .. 127.1.255.254 */
	struct sockaddr_in src = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(0x7F010000u | host)};
	if (bind(c, (struct sockaddr *)&src, sizeof src) < 0)
		die("bind");
	return c;
}

static void xio(ssize_t got, ssize_t want, const char *what)
{
	if (got != want) {
		fprintf(stderr, "linux_loopback: %s returned %zd, wanted %zd (%s)\n", what, got,
			want, got < 0 ? strerror(errno) : "short");
		exit(1);
	}
}

double linux_loopback_sequential(int n, int run)
{
	(void)run;
	static char req[MSG], resp[MSG], buf[MSG];
	struct sockaddr_in sa;
	int l = listener(&sa);
	/* The listener is non-blocking for the loop below; accept() is only
	 * called once the handshake has completed (loopback delivers within
	 * connect()). */
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		int c = client_socket(0);
		if (connect(c, (struct sockaddr *)&sa, sizeof sa) < 0)
			die("connect");
		xio(write(c, req, MSG), MSG, "write");
		int s = accept4(l, NULL, NULL, 0);
		if (s < 0)
			die("accept");
		xio(read(s, buf, MSG), MSG, "server read");
		xio(write(s, resp, MSG), MSG, "server write");
		xio(read(c, buf, MSG), MSG, "client read");
		close(c);
		xio(read(s, buf, MSG), 0, "server read EOF");
		close(s);
	}
	double t = now_s() - t0;
	close(l);
	return n / t;
}

/* epoll data: index << 1 | side (0 client, 1 server); the listener ~0. */
#define LISTENER UINT64_MAX

double linux_loopback_concurrent(int conc, int total, int run, int *conc_used, char *note,
				 size_t notelen)
{
	(void)run;
	static char req[MSG], resp[MSG], buf[MSG];
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rlim_t want = (rlim_t)conc * 2 + 64;
	if (rl.rlim_cur < want) {
		struct rlimit nr = {want, rl.rlim_max > want ? rl.rlim_max : want};
		if (setrlimit(RLIMIT_NOFILE, &nr) < 0) {
			nr.rlim_cur = nr.rlim_max = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &nr);
			conc = (int)((rl.rlim_max - 64) / 2);
			snprintf(note, notelen, "RLIMIT_NOFILE caps Linux at %d in flight", conc);
		}
	}
	*conc_used = conc;

	struct sockaddr_in sa;
	int l = listener(&sa);
	int ep = epoll_create1(0);
	if (ep < 0)
		die("epoll_create1");
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = LISTENER};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) < 0)
		die("epoll_ctl");
	/* Each client socket's slot; a slot is free again once its client
	 * closed (the server side finishes on its own). */
	int *cfd = malloc(sizeof(int) * (size_t)conc);
	int *freel = malloc(sizeof(int) * (size_t)conc);
	if (!cfd || !freel)
		die("malloc");
	int nfree = conc;
	for (int i = 0; i < conc; i++)
		freel[i] = conc - 1 - i;
	struct epoll_event evs[1024];
	/* inflight: lifecycles started whose server side is still open, so
	 * that at most 2 * conc sockets are open. */
	int started = 0, done = 0, servers = 0, inflight = 0;
	double t0 = now_s();
	while (done < total || servers > 0) {
		/* Start connections, a few at a time so the accept queue
		 * (somaxconn) never overflows. */
		for (int k = 0; k < 512 && nfree && inflight < conc && started < total; k++) {
			int i = freel[--nfree];
			int c = client_socket(SOCK_NONBLOCK);
			if (connect(c, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
				die("connect");
			cfd[i] = c;
			ev.events = EPOLLOUT;
			ev.data.u64 = (uint64_t)i << 1;
			if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) < 0)
				die("epoll_ctl");
			started++;
			inflight++;
		}
		int n = epoll_wait(ep, evs, 1024, 1000);
		if (n < 0)
			die("epoll_wait");
		if (n == 0) {
			fprintf(stderr, "linux_loopback: stalled\n");
			exit(1);
		}
		for (int e = 0; e < n; e++) {
			uint64_t d = evs[e].data.u64;
			if (d == LISTENER) {
				int s;
				while ((s = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					/* The server side keeps its fd in the data. */
					ev.events = EPOLLIN;
					ev.data.u64 = ((uint64_t)s << 1) | 1;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0)
						die("epoll_ctl");
					servers++;
				}
				if (errno != EAGAIN)
					die("accept4");
			} else if (d & 1) {
				int s = (int)(d >> 1);
				ssize_t r = read(s, buf, MSG);
				if (r == MSG) {
					xio(write(s, resp, MSG), MSG, "server write");
				} else if (r == 0) {
					close(s);
					servers--;
					inflight--;
				} else if (!(r < 0 && errno == EAGAIN)) {
					xio(r, MSG, "server read");
				}
			} else {
				int i = (int)(d >> 1);
				int c = cfd[i];
				if (evs[e].events & EPOLLOUT) {
					xio(write(c, req, MSG), MSG, "client write");
					ev.events = EPOLLIN;
					ev.data.u64 = d;
					if (epoll_ctl(ep, EPOLL_CTL_MOD, c, &ev) < 0)
						die("epoll_ctl");
				} else {
					ssize_t r = read(c, buf, MSG);
					if (r < 0 && errno == EAGAIN)
						continue;
					xio(r, MSG, "client read");
					close(c);
					freel[nfree++] = i;
					done++;
				}
			}
		}
	}
	double t = now_s() - t0;
	close(ep);
	close(l);
	free(cfd);
	free(freel);
	return total / t;
}
