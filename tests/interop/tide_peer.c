/*
 * tide-peer: a scripted TCP peer on tide, on a TUN or TAP device, for the
 * interop tests (the twin of peer.py on the Linux side). The real programs
 * (tide-echo, tide-httpd, tide-get) close when their protocol says so; the
 * lifecycle tests need a peer that holds a state as long as the test
 * wants (CLOSE_WAIT with the FIN read, a close with unread data, SO_LINGER
 * {1, 0}).
 *
 * usage: tide-peer --addr A.B.C.D/N [device and stack options: common.h]
 *                  (connect A.B.C.D PORT | listen PORT) STEP...
 *
 * Steps, run in order on the one connection (a listener closes once it has
 * accepted):
 *   send-file PATH   send the file
 *   recv-all PATH    read until EOF into PATH ("-": discard)
 *   recv N           read N bytes (or until EOF), discarded
 *   eof              read until EOF, discarding data
 *   wait-readable    wait until data or EOF can be read, without reading it
 *   shutdown         shutdown(SHUT_WR)
 *   linger0          SO_LINGER {1, 0}
 *   wait-file PATH   wait until PATH exists (the test's signal to go on)
 *   sleep SECONDS
 *   close            close the socket: the stack goes on with the close
 *   exit             end the program now (the stack and its connections go)
 * After the last step the program keeps its stack running (FIN_WAIT_2,
 * TIME_WAIT...) until SIGTERM or SIGINT, then exits 0.
 *
 * Events on stdout, one line each: "listening", "connected LOCAL PEER",
 * "sent N", "recv N", "eof", "readable", "shutdown", "closed", and
 * "error ENAME STEP" when a call fails (the script stops there; the
 * program keeps running). Like tide's programs, it has a control socket
 * for tide-ss and tide-nstat.
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct peer {
	tide_stack *st;
	tide_loop *loop;
	char **steps;
	int nsteps, step;
	int fd, lfd;
	bool connected, failed, exit_now;
	/* The current step's progress. */
	unsigned char *data;
	size_t len, off;
	FILE *out;
	tide_time until;
};

static void usage(void)
{
	fprintf(stderr, "usage: tide-peer --addr A.B.C.D/N [device and stack options]\n"
			"                 (connect A.B.C.D PORT | listen PORT) STEP...\n\n%s",
		tide_app_common_help);
	exit(2);
}

static const char *addr_str(const struct sockaddr_in *a, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
	snprintf(buf, len, "%s:%u", ip, ntohs(a->sin_port));
	return buf;
}

static void say_connected(struct peer *p)
{
	struct sockaddr_in l, r;
	socklen_t ll = sizeof l, rl = sizeof r;
	char lb[32], rb[32];
	tide_getsockname(p->st, p->fd, (struct sockaddr *)&l, &ll);
	tide_getpeername(p->st, p->fd, (struct sockaddr *)&r, &rl);
	printf("connected %s %s\n", addr_str(&l, lb, sizeof lb), addr_str(&r, rb, sizeof rb));
	p->connected = true;
}

static void fail(struct peer *p, const char *what)
{
	const char *name = strerrorname_np(errno);
	printf("error %s %s\n", name ? name : "?", what);
	p->failed = true;
}

/* The connect or accept before the first step. 1: done, 0: not yet. */
static int establish(struct peer *p)
{
	if (p->lfd >= 0) {
		p->fd = tide_accept(p->st, p->lfd, NULL, NULL, SOCK_NONBLOCK);
		if (p->fd < 0) {
			if (errno != EAGAIN)
				fail(p, "accept");
			return 0;
		}
		tide_close(p->st, p->lfd);
		p->lfd = -1;
		say_connected(p);
		return 1;
	}
	struct pollfd pfd = {.fd = p->fd, .events = POLLOUT};
	if (tide_poll(p->st, &pfd, 1) == 0)
		return 0;
	int err = 0;
	socklen_t el = sizeof err;
	tide_getsockopt(p->st, p->fd, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err) {
		errno = err;
		fail(p, "connect");
		return 0;
	}
	say_connected(p);
	return 1;
}

static int load_file(struct peer *p, const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;
	if (!f || fstat(fileno(f), &sb) < 0) {
		if (f)
			fclose(f);
		return -1;
	}
	p->len = (size_t)sb.st_size;
	p->data = malloc(p->len ? p->len : 1);
	if (!p->data || fread(p->data, 1, p->len, f) != p->len) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/* Reads what is there. Returns bytes read (> 0), 0 at EOF, -1 EAGAIN or
 * error (errno). */
static ssize_t read_some(struct peer *p, size_t max)
{
	unsigned char buf[65536];
	if (max > sizeof buf)
		max = sizeof buf;
	ssize_t n = tide_recv(p->st, p->fd, buf, max, 0);
	if (n > 0 && p->out)
		fwrite(buf, 1, (size_t)n, p->out);
	return n;
}

/* Runs the current step as far as it goes: 1 when it is done, 0 when it
 * waits for the network or the clock. */
static int run_step(struct peer *p, tide_time now)
{
	const char *s = p->steps[p->step];
	const char *arg = p->step + 1 < p->nsteps ? p->steps[p->step + 1] : NULL;
	ssize_t n;

	if (!strcmp(s, "send-file")) {
		if (!p->data && load_file(p, arg) < 0) {
			perror(arg);
			exit(2);
		}
		while (p->off < p->len) {
			n = tide_send(p->st, p->fd, p->data + p->off, p->len - p->off, 0);
			if (n < 0) {
				if (errno != EAGAIN)
					fail(p, s);
				return 0;
			}
			p->off += (size_t)n;
		}
		printf("sent %zu\n", p->len);
	} else if (!strcmp(s, "recv-all") || !strcmp(s, "eof") || !strcmp(s, "recv")) {
		size_t want = !strcmp(s, "recv") ? strtoull(arg, NULL, 10) : SIZE_MAX;
		if (!strcmp(s, "recv-all") && !p->out && strcmp(arg, "-")) {
			p->out = fopen(arg, "wb");
			if (!p->out) {
				perror(arg);
				exit(2);
			}
		}
		while (p->off < want) {
			n = read_some(p, want - p->off);
			if (n < 0) {
				if (errno != EAGAIN)
					fail(p, s);
				return 0;
			}
			if (n == 0)
				break;
			p->off += (size_t)n;
		}
		if (p->out) {
			fclose(p->out);
			p->out = NULL;
		}
		if (!strcmp(s, "eof"))
			printf("eof\n");
		else
			printf("recv %zu\n", p->off);
	} else if (!strcmp(s, "wait-readable")) {
		struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
		if (tide_poll(p->st, &pfd, 1) == 0)
			return 0;
		printf("readable\n");
	} else if (!strcmp(s, "shutdown")) {
		if (tide_shutdown(p->st, p->fd, SHUT_WR) < 0)
			fail(p, s);
		else
			printf("shutdown\n");
	} else if (!strcmp(s, "linger0")) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		if (tide_setsockopt(p->st, p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
			fail(p, s);
	} else if (!strcmp(s, "wait-file")) {
		if (access(arg, F_OK) < 0) {
			tide_loop_wake_at(p->loop, now + TIDE_MS(20));
			return 0;
		}
	} else if (!strcmp(s, "sleep")) {
		if (!p->until)
			p->until = now + (tide_time)(strtod(arg, NULL) * 1e6);
		if (now < p->until) {
			tide_loop_wake_at(p->loop, p->until);
			return 0;
		}
	} else if (!strcmp(s, "close")) {
		if (tide_close(p->st, p->fd) < 0)
			fail(p, s);
		else
			printf("closed\n");
		p->fd = -1;
	} else if (!strcmp(s, "exit")) {
		p->exit_now = true;
		tide_loop_stop(p->loop);
	}
	return 1;
}

static int step_args(const char *s)
{
	static const char *const one[] = {"send-file", "recv-all", "recv", "wait-file", "sleep"};
	static const char *const none[] = {"eof", "wait-readable", "shutdown", "linger0", "close",
					   "exit"};
	for (size_t i = 0; i < sizeof one / sizeof one[0]; i++)
		if (!strcmp(s, one[i]))
			return 1;
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
		if (!strcmp(s, none[i]))
			return 0;
	return -1;
}

static void tick(void *ctx, tide_loop *loop)
{
	struct peer *p = ctx;
	tide_time now = tide_stack_now(tide_loop_stack(loop));

	if (p->failed || p->exit_now)
		return;
	if (!p->connected && !establish(p))
		return;
	while (!p->failed && !p->exit_now && p->step < p->nsteps) {
		if (!run_step(p, now))
			break;
		free(p->data);
		p->data = NULL;
		p->len = p->off = 0;
		p->until = 0;
		p->step += 1 + step_args(p->steps[p->step]);
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct tide_app app;
	struct peer p = {.fd = -1, .lfd = -1};
	int i;

	tide_app_init(&app, "tide-peer");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!tide_app_common_option(&app, argc, argv, &i))
			usage();
	}
	if (i + 2 > argc)
		usage();

	struct sockaddr_in sa = {.sin_family = AF_INET};
	bool is_listen = !strcmp(argv[i], "listen");
	if (is_listen) {
		sa.sin_port = htons((uint16_t)atoi(argv[i + 1]));
		i += 2;
	} else if (!strcmp(argv[i], "connect") && i + 3 <= argc &&
		   inet_pton(AF_INET, argv[i + 1], &sa.sin_addr) == 1) {
		sa.sin_port = htons((uint16_t)atoi(argv[i + 2]));
		i += 3;
	} else {
		usage();
	}
	p.steps = argv + i;
	p.nsteps = argc - i;
	for (int k = 0; k < p.nsteps; k++) {
		int na = step_args(p.steps[k]);
		if (na < 0 || k + na >= p.nsteps) {
			fprintf(stderr, "tide-peer: bad step '%s'\n", p.steps[k]);
			return 2;
		}
		k += na;
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	tide_app_start(&app);
	p.st = app.st;
	p.loop = app.loop;
	sa.sin_addr.s_addr = is_listen ? htonl(app.addr) : sa.sin_addr.s_addr;
	if (is_listen) {
		p.lfd = tide_socket(p.st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		int one = 1;
		tide_setsockopt(p.st, p.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (tide_bind(p.st, p.lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
		    tide_listen(p.st, p.lfd, 8) < 0)
			tide_app_fatal(&app, "listen: %s", strerror(errno));
		printf("listening\n");
	} else {
		p.fd = tide_socket(p.st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (tide_connect(p.st, p.fd, (struct sockaddr *)&sa, sizeof sa) < 0 &&
		    errno != EINPROGRESS)
			tide_app_fatal(&app, "connect: %s", strerror(errno));
	}
	tide_loop_set_tick(app.loop, tick, &p);
	int rc = tide_app_run(&app);
	free(p.data);
	if (p.out)
		fclose(p.out);
	tide_app_finish(&app);
	return rc;
}
