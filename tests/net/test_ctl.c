/*
 * The control socket (tools/net/ctl.h) and the views that read it: the
 * answers about stacks on the simulated network, line by line, and
 * tide-ss / tide-nstat run against a server started in this process on a
 * socket in a temporary TIDE_RUN_DIR.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "ctl.h"

/* ---- helpers ---- */

/* The answer to cmd about st at the stack's clock, as a string to free. */
static char *answer(tide_stack *st, const struct tide_ctl_self *self, const char *cmd, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	int r = tide_ctl_handle(st, self, tide_stack_now(st), cmd, f);
	assert_int_equal(fclose(f), 0);
	if (rc)
		*rc = r;
	return buf;
}

static const struct tide_ctl_self self_c = { "tide-test", "tun7", 4242, 0 };

/* The line of `conns` whose local and peer fields are as given (exactly
 * one), as a string to free; fails the test otherwise. */
static char *conn_line(tide_stack *st, const char *local, const char *peer)
{
	char *all = answer(st, &self_c, "conns", NULL);
	char *found = NULL;
	char want[128];
	snprintf(want, sizeof(want), " local=%s peer=%s ", local, peer);
	for (char *line = all; *line;) {
		char *nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		if (strstr(line, want)) {
			if (found)
				fail_msg("two lines with %s: %s / %s", want, found, line);
			found = strdup(line);
		}
		line = nl + 1;
	}
	if (!found)
		fail_msg("no line with%s in:\n%s", want, all);
	free(all);
	return found;
}

#define assert_conn(st, local, peer, expect) do { \
		char *l_ = conn_line((st), (local), (peer)); \
		assert_string_equal(l_, (expect)); \
		free(l_); \
	} while (0)

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void set_keepalive(tide_stack *st, int fd)
{
	int one = 1;
	assert_int_equal(tide_setsockopt(st, fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)), 0);
}

/* ---- answers ---- */

static void test_info(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	th_run_for(&h, TIDE_MS(52310));
	struct tide_ctl_self self = { "tide-httpd", "tap0", 1234, TIDE_MS(10) };
	char *a = answer(h.S, &self, "info\n", NULL);
	assert_string_equal(a, "program=tide-httpd pid=1234 device=tap0 address=198.18.0.2 "
			       "uptime_ms=52300\n");
	free(a);
	self.device = NULL;
	a = answer(h.C, &self, "  info \r\n", NULL);
	assert_string_equal(a, "program=tide-httpd pid=1234 device=- address=198.18.0.1 "
			       "uptime_ms=52300\n");
	free(a);
	th_free(&h);
}

static void test_unknown_command(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int rc;
	char *a = answer(h.S, &self_c, "conn", &rc);
	assert_int_equal(rc, -1);
	assert_string_equal(a, "error=unknown-command\n");
	free(a);
	a = answer(h.S, &self_c, "", &rc);
	assert_int_equal(rc, -1);
	free(a);
	th_free(&h);
}

/* LISTEN and ESTABLISHED, then the close on both sides, with the timer
 * each state shows (ss -o's choice: retransmission, keepalive, timewait). */
static void test_conns_lifecycle(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	tide_time t0 = th_now(&h);
	assert_conn(h.S, "198.18.0.2:80", "0.0.0.0:0",
		    "state=LISTEN recv_q=0 send_q=128 local=198.18.0.2:80 peer=0.0.0.0:0 timer=off "
		    "timer_ms=0 retrans=0 since_ms=- fd=3");
	assert_conn(h.S, "198.18.0.2:80", "198.18.0.1:40000",
		    "state=ESTABLISHED recv_q=0 send_q=0 local=198.18.0.2:80 peer=198.18.0.1:40000 "
		    "timer=off timer_ms=0 retrans=0 since_ms=0 fd=4");

	/* data in flight: the retransmission timer, RTO = 2 ms RTT + 200 ms */
	char data[100] = { 0 };
	assert_int_equal(tide_send(h.C, cfd, data, sizeof(data), 0), 100);
	assert_conn(h.C, "198.18.0.1:40000", "198.18.0.2:80",
		    "state=ESTABLISHED recv_q=0 send_q=100 local=198.18.0.1:40000 peer=198.18.0.2:80 "
		    "timer=on timer_ms=202 retrans=0 since_ms=1 fd=3");
	th_run_until(&h, t0 + TIDE_MS(1));
	/* unread data, ACKed at once (quick ACKs at the start) */
	assert_conn(h.S, "198.18.0.2:80", "198.18.0.1:40000",
		    "state=ESTABLISHED recv_q=100 send_q=0 local=198.18.0.2:80 peer=198.18.0.1:40000 "
		    "timer=off timer_ms=0 retrans=0 since_ms=1 fd=4");
	th_run_until(&h, t0 + TIDE_MS(2));
	assert_conn(h.C, "198.18.0.1:40000", "198.18.0.2:80",
		    "state=ESTABLISHED recv_q=0 send_q=0 local=198.18.0.1:40000 peer=198.18.0.2:80 "
		    "timer=off timer_ms=0 retrans=0 since_ms=3 fd=3");

	/* the client closes: FIN_WAIT_1 with its FIN in Send-Q, orphaned */
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_conn(h.C, "198.18.0.1:40000", "198.18.0.2:80",
		    "state=FIN_WAIT_1 recv_q=0 send_q=1 local=198.18.0.1:40000 peer=198.18.0.2:80 "
		    "timer=on timer_ms=202 retrans=0 since_ms=0 fd=-1");
	/* the FIN's ACK waits: Linux enters pingpong mode in CLOSE_WAIT;
	 * recent kernels report that delayed ACK timer */
	th_run_until(&h, t0 + TIDE_MS(3));
	assert_conn(h.S, "198.18.0.2:80", "198.18.0.1:40000",
		    "state=CLOSE_WAIT recv_q=100 send_q=0 local=198.18.0.2:80 peer=198.18.0.1:40000 "
		    "timer=delack timer_ms=40 retrans=0 since_ms=0 fd=4");
	/* keepalive on: the keepalive timer is the one shown */
	set_keepalive(h.S, sfd);
	assert_conn(h.S, "198.18.0.2:80", "198.18.0.1:40000",
		    "state=CLOSE_WAIT recv_q=100 send_q=0 local=198.18.0.2:80 peer=198.18.0.1:40000 "
		    "timer=keepalive timer_ms=7200000 retrans=0 since_ms=0 fd=4");
	th_run_until(&h, t0 + TIDE_MS(44)); /* the ACK left at 43 ms */
	/* an orphaned FIN_WAIT_2 is a record, as in Linux: ss shows timewait */
	assert_conn(h.C, "198.18.0.1:40000", "198.18.0.2:80",
		    "state=FIN_WAIT_2 recv_q=0 send_q=0 local=198.18.0.1:40000 peer=198.18.0.2:80 "
		    "timer=timewait timer_ms=60000 retrans=0 since_ms=0 fd=-1");

	/* the server reads (closing with unread data would reset) and
	 * closes: LAST_ACK, then the client's TIME_WAIT */
	char buf[200];
	assert_int_equal(tide_recv(h.S, sfd, buf, sizeof(buf), 0), 100);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_conn(h.S, "198.18.0.2:80", "198.18.0.1:40000",
		    "state=LAST_ACK recv_q=0 send_q=1 local=198.18.0.2:80 peer=198.18.0.1:40000 "
		    "timer=on timer_ms=202 retrans=0 since_ms=0 fd=-1");
	th_run_until(&h, t0 + TIDE_MS(45));
	assert_conn(h.C, "198.18.0.1:40000", "198.18.0.2:80",
		    "state=TIME_WAIT recv_q=0 send_q=0 local=198.18.0.1:40000 peer=198.18.0.2:80 "
		    "timer=timewait timer_ms=60000 retrans=0 since_ms=0 fd=-1");
	th_run_until(&h, t0 + TIDE_MS(45) + TIDE_SEC(10));
	assert_conn(h.C, "198.18.0.1:40000", "198.18.0.2:80",
		    "state=TIME_WAIT recv_q=0 send_q=0 local=198.18.0.1:40000 peer=198.18.0.2:80 "
		    "timer=timewait timer_ms=50000 retrans=0 since_ms=10000 fd=-1");
	char *a = answer(h.S, &self_c, "conns", NULL);
	assert_int_equal(count_lines(a), 1); /* the listener only */
	free(a);
	th_free(&h);
}

/* SYN_SENT and SYN_RECV while the server's SYN-ACKs are lost: both show the
 * retransmission timer and count the retransmissions. The SYN counts in
 * Send-Q, as Linux's write_seq - snd_una. */
static void test_conns_handshake_timers(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	struct tide_fault f = { .from = h.s, .flags_mask = 0xff,
				.flags_match = TIDE_TCP_SYN | TIDE_TCP_ACK, .nth = 1, .count = 100,
				.action = TIDE_FAULT_DROP };
	assert_true(tide_sim_add_fault(h.sim, &f) >= 0);
	th_listen(&h, h.s, 80, 16);
	tide_time t0 = th_now(&h);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	(void)cfd;
	assert_conn(h.C, "198.18.0.1:40000", "198.18.0.2:80",
		    "state=SYN_SENT recv_q=0 send_q=1 local=198.18.0.1:40000 peer=198.18.0.2:80 "
		    "timer=on timer_ms=1000 retrans=0 since_ms=0 fd=3");
	th_run_until(&h, t0 + TIDE_MS(1));
	assert_conn(h.S, "198.18.0.2:80", "198.18.0.1:40000",
		    "state=SYN_RECV recv_q=0 send_q=0 local=198.18.0.2:80 peer=198.18.0.1:40000 "
		    "timer=on timer_ms=1000 retrans=0 since_ms=0 fd=-1");
	/* the client's second SYN (at 1 s) made the server send its SYN-ACK
	 * again and start its timer over, as Linux's tcp_check_req */
	th_run_until(&h, t0 + TIDE_MS(1500));
	assert_conn(h.C, "198.18.0.1:40000", "198.18.0.2:80",
		    "state=SYN_SENT recv_q=0 send_q=1 local=198.18.0.1:40000 peer=198.18.0.2:80 "
		    "timer=on timer_ms=500 retrans=1 since_ms=1500 fd=3");
	assert_conn(h.S, "198.18.0.2:80", "198.18.0.1:40000",
		    "state=SYN_RECV recv_q=0 send_q=0 local=198.18.0.2:80 peer=198.18.0.1:40000 "
		    "timer=on timer_ms=501 retrans=1 since_ms=1499 fd=-1");
	th_free(&h);
}

/* Keepalive probes unanswered: ss shows the probes out as the count. */
static void test_conns_keepalive_probes(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_keepalive_time = 10\n"
						"net.ipv4.tcp_keepalive_intvl = 3\n" };
	th_init(&h, &o);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	set_keepalive(h.C, cfd);
	tide_time t0 = th_now(&h);
	assert_true(tide_sim_cut_link(h.sim, t0, t0 + TIDE_SEC(3600)) >= 0);
	th_run_until(&h, t0 + TIDE_SEC(14));
	assert_conn(h.C, "198.18.0.1:40000", "198.18.0.2:80",
		    "state=ESTABLISHED recv_q=0 send_q=0 local=198.18.0.1:40000 peer=198.18.0.2:80 "
		    "timer=keepalive timer_ms=2000 retrans=2 since_ms=14001 fd=3");
	th_free(&h);
}

static void test_counters(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	th_establish(&h, NULL, NULL, NULL);
	char *a = answer(h.C, &self_c, "counters", NULL);
	assert_int_equal(count_lines(a), TIDE_MIB_MAX + 1);
	assert_non_null(strstr(a, "name=IpInReceives value="));
	assert_non_null(strstr(a, "\nname=ActiveOpens value=1\n"));
	assert_non_null(strstr(a, "\nname=PassiveOpens value=0\n"));
	assert_non_null(strstr(a, "\nname=DropTcpRst value=0\n"));
	assert_non_null(strstr(a, "\nname=CurrEstab value=1\n"));
	free(a);
	th_free(&h);
}

/* ---- the socket and the tools ---- */

struct run {
	char dir[64];        /* the TIDE_RUN_DIR */
	char out[96], err[96];
};

/* The run directory of the test in progress, removed by the teardown
 * also when the test fails. */
static char current_dir[64];

static void run_dir_make(struct run *r)
{
	snprintf(r->dir, sizeof(r->dir), "/tmp/tide-ctl-test-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	memcpy(current_dir, r->dir, sizeof(current_dir));
	assert_int_equal(setenv("TIDE_RUN_DIR", r->dir, 1), 0);
	snprintf(r->out, sizeof(r->out), "%s/out.txt", r->dir);
	snprintf(r->err, sizeof(r->err), "%s/err.txt", r->dir);
}

static int remove_current_dir(void **state)
{
	(void)state;
	unsetenv("TIDE_RUN_DIR");
	if (!current_dir[0])
		return 0;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", current_dir);
	current_dir[0] = '\0';
	return system(cmd) == 0 ? 0 : -1;
}

static void run_dir_remove(struct run *r)
{
	(void)r;
	assert_int_equal(remove_current_dir(NULL), 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	assert_non_null(m);
	int c;
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(f);
	fclose(m);
	return buf;
}

/* Runs a tool (argv[0] its path) with stdout and stderr in files, serving
 * the control sockets ctls[0..nctl) until it exits; returns its exit
 * status. */
static int run_tool_n(struct run *r, struct tide_ctl **ctls, int nctl, char *const argv[],
		      char **out, char **err)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(r->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(r->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	int status = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		for (int i = 0; i < nctl; i++)
			assert_int_equal(tide_ctl_poll(ctls[i], 10 / nctl), 0);
		if (nctl == 0)
			usleep(10000);
		pid_t w = waitpid(pid, &status, WNOHANG);
		assert_true(w >= 0);
		if (w == pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 20) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("%s did not finish", argv[0]);
		}
	}
	assert_true(WIFEXITED(status));
	*out = slurp(r->out);
	*err = slurp(r->err);
	return WEXITSTATUS(status);
}

static int run_tool(struct run *r, struct tide_ctl *ctl, char *const argv[], char **out, char **err)
{
	return run_tool_n(r, &ctl, ctl ? 1 : 0, argv, out, err);
}

static tide_time sim_clock(void *ctx)
{
	return th_now(ctx);
}

/* The server of the tool tests: listening on 80, one connection
 * established (keepalive on) and one in TIME_WAIT (the server closed
 * first), its control socket open in r's run directory. */
struct scene {
	struct th h;
	struct tide_ctl *ctl;
	tide_time t_tw;     /* when the server's connection entered TIME_WAIT */
};

static void scene_make(struct scene *sc)
{
	struct th *h = &sc->h;
	th_init(h, NULL);
	int cfd, sfd, lfd;
	th_establish(h, &cfd, &sfd, &lfd);
	set_keepalive(h->S, sfd);
	int c2 = th_connect(h, h->c, TH_SERVER_ADDR, 80, 40001);
	th_run_for(h, TIDE_MS(10));
	int s2 = th_accept(h, h->s, lfd);
	assert_int_equal(tide_close(h->S, s2), 0);
	th_run_for(h, TIDE_MS(100));
	assert_int_equal(tide_close(h->C, c2), 0);
	th_run_for(h, TIDE_MS(1));
	sc->t_tw = th_now(h);
	th_run_for(h, TIDE_MS(1500));
	char err[256];
	sc->ctl = tide_ctl_open(h->S, "tide-test", "tun7", sim_clock, h, err, sizeof(err));
	if (!sc->ctl)
		fail_msg("tide_ctl_open: %s", err);
}

static void scene_free(struct scene *sc)
{
	tide_ctl_stop(sc->ctl);
	th_free(&sc->h);
}

/* Runs the tool and checks its exit status, stdout (with "%PID%" standing
 * for this process's pid) and stderr. */
static void expect_tool_n(struct run *r, struct tide_ctl **ctls, int nctl, char *const argv[],
			  int status, const char *out, const char *err)
{
	char *o, *e;
	int rc = run_tool_n(r, ctls, nctl, argv, &o, &e);
	char pid[16], want[4096];
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	size_t k = 0;
	for (const char *p = out; *p && k + 16 < sizeof(want);) {
		if (!strncmp(p, "%PID%", 5)) {
			k += (size_t)snprintf(want + k, sizeof(want) - k, "%s", pid);
			p += 5;
		} else {
			want[k++] = *p++;
		}
	}
	want[k] = '\0';
	if (rc != status || strcmp(o, want) || strcmp(e, err))
		fail_msg("%s %s: status %d (want %d)\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s",
			 argv[0], argv[1] ? argv[1] : "", rc, status, o, want, e, err);
	free(o);
	free(e);
}

static void expect_tool(struct run *r, struct tide_ctl *ctl, char *const argv[], int status,
			const char *out, const char *err)
{
	expect_tool_n(r, &ctl, ctl ? 1 : 0, argv, status, out, err);
}

static void test_tide_ss(void **state)
{
	(void)state;
	struct run r;
	run_dir_make(&r);
	struct scene sc;
	scene_make(&sc);

	char *tan[] = { TIDE_SS_PATH, "-tan", NULL };
	expect_tool(&r, sc.ctl, tan, 0,
		    "# tide-test pid %PID% device tun7 address 198.18.0.2\n"
		    "State     Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
		    "LISTEN    0      128       198.18.0.2:80        0.0.0.0:*\n"
		    "ESTAB     0      0         198.18.0.2:80     198.18.0.1:40000\n"
		    "TIME-WAIT 0      0         198.18.0.2:80     198.18.0.1:40001\n", "");
	/* -o: the timers as ss -o prints them */
	char *tano[] = { TIDE_SS_PATH, "-tano", NULL };
	expect_tool(&r, sc.ctl, tano, 0,
		    "# tide-test pid %PID% device tun7 address 198.18.0.2\n"
		    "State     Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
		    "LISTEN    0      128       198.18.0.2:80        0.0.0.0:*\n"
		    "ESTAB     0      0         198.18.0.2:80     198.18.0.1:40000 "
		    "timer:(keepalive,119min,0)\n"
		    "TIME-WAIT 0      0         198.18.0.2:80     198.18.0.1:40001 "
		    "timer:(timewait,58sec,0)\n", "");
	/* as ss: without -a, no listeners and no TIME_WAIT */
	char *tn[] = { TIDE_SS_PATH, "-tn", NULL };
	expect_tool(&r, sc.ctl, tn, 0,
		    "# tide-test pid %PID% device tun7 address 198.18.0.2\n"
		    "State Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
		    "ESTAB 0      0         198.18.0.2:80     198.18.0.1:40000\n", "");
	char *tln[] = { TIDE_SS_PATH, "-tlnH", NULL };
	expect_tool(&r, sc.ctl, tln, 0,
		    "LISTEN 0      128       198.18.0.2:80        0.0.0.0:*\n", "");
	char *tw[] = { TIDE_SS_PATH, "-Hn", "state", "time-wait", NULL };
	expect_tool(&r, sc.ctl, tw, 0,
		    "TIME-WAIT 0      0         198.18.0.2:80     198.18.0.1:40001\n", "");
	char *ex[] = { TIDE_SS_PATH, "-H", "exclude", "time-wait", "exclude", "listening", NULL };
	expect_tool(&r, sc.ctl, ex, 0,
		    "ESTAB 0      0         198.18.0.2:80     198.18.0.1:40000\n", "");
	/* -p: the owner, as ss -p; records have none */
	char *p[] = { TIDE_SS_PATH, "-tanpH", NULL };
	expect_tool(&r, sc.ctl, p, 0,
		    "LISTEN    0      128       198.18.0.2:80        0.0.0.0:*     "
		    "users:((\"tide-test\",pid=%PID%,fd=3))\n"
		    "ESTAB     0      0         198.18.0.2:80     198.18.0.1:40000 "
		    "users:((\"tide-test\",pid=%PID%,fd=4))\n"
		    "TIME-WAIT 0      0         198.18.0.2:80     198.18.0.1:40001\n", "");
	char *sum[] = { TIDE_SS_PATH, "-s", NULL };
	expect_tool(&r, sc.ctl, sum, 0,
		    "# tide-test pid %PID% device tun7 address 198.18.0.2\n"
		    "TCP:   3 (estab 1, closed 0, orphaned 0, timewait 1)\n"
		    "\n"
		    "State       Count\n"
		    "ESTAB       1\n"
		    "SYN-SENT    0\n"
		    "SYN-RECV    0\n"
		    "FIN-WAIT-1  0\n"
		    "FIN-WAIT-2  0\n"
		    "TIME-WAIT   1\n"
		    "UNCONN      0\n"
		    "CLOSE-WAIT  0\n"
		    "LAST-ACK    0\n"
		    "LISTEN      1\n"
		    "CLOSING     0\n", "");
	/* one program by pid or by socket */
	char pid[16], path[128];
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	snprintf(path, sizeof(path), "%s", tide_ctl_path(sc.ctl));
	char *bypid[] = { TIDE_SS_PATH, "-Hl", "--pid", pid, NULL };
	expect_tool(&r, sc.ctl, bypid, 0,
		    "LISTEN 0      128       198.18.0.2:80        0.0.0.0:*\n", "");
	char *bysock[] = { TIDE_SS_PATH, "-Hl", "--socket", path, NULL };
	expect_tool(&r, sc.ctl, bysock, 0,
		    "LISTEN 0      128       198.18.0.2:80        0.0.0.0:*\n", "");
	char *bad[] = { TIDE_SS_PATH, "state", "nonsense", NULL };
	expect_tool(&r, sc.ctl, bad, 2, "", "tide-ss: wrong state name: nonsense\n");
	scene_free(&sc);
	run_dir_remove(&r);
}

/* Every running program is shown, one block each (ordered by pid, then
 * socket name: here one process runs both stacks). */
static void test_tide_ss_two_programs(void **state)
{
	(void)state;
	struct run r;
	run_dir_make(&r);
	struct scene sc;
	scene_make(&sc);
	struct th h2;
	th_init(&h2, NULL);
	struct tide_fault f = { .from = h2.s, .flags_mask = 0xff,
				.flags_match = TIDE_TCP_SYN | TIDE_TCP_ACK, .nth = 1, .count = 100,
				.action = TIDE_FAULT_DROP };
	assert_true(tide_sim_add_fault(h2.sim, &f) >= 0);
	th_listen(&h2, h2.s, 80, 16);
	th_connect(&h2, h2.c, TH_SERVER_ADDR, 80, 40000);
	th_run_for(&h2, TIDE_MS(1500));
	char err[256];
	struct tide_ctl *c2 = tide_ctl_open(h2.C, "tide-client", NULL, sim_clock, &h2, err, sizeof(err));
	assert_non_null(c2);
	struct tide_ctl *ctls[2] = { sc.ctl, c2 };
	char *tno[] = { TIDE_SS_PATH, "-tno", NULL };
	expect_tool_n(&r, ctls, 2, tno, 0,
		      "# tide-client pid %PID% device - address 198.18.0.1\n"
		      "State    Recv-Q Send-Q Local Address:Port  Peer Address:Port\n"
		      "SYN-SENT 0      1         198.18.0.1:40000   198.18.0.2:80   timer:(on,500ms,1)\n"
		      "\n"
		      "# tide-test pid %PID% device tun7 address 198.18.0.2\n"
		      "State Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
		      "ESTAB 0      0         198.18.0.2:80     198.18.0.1:40000 "
		      "timer:(keepalive,119min,0)\n", "");
	tide_ctl_stop(c2);
	th_free(&h2);
	scene_free(&sc);
	run_dir_remove(&r);
}

static void test_tide_nstat(void **state)
{
	(void)state;
	struct run r;
	run_dir_make(&r);
	struct scene sc;
	scene_make(&sc);
	char *tw[] = { TIDE_NSTAT_PATH, "-az", "TcpExtTW*", "TcpCurr*", "*Opens", NULL };
	expect_tool(&r, sc.ctl, tw, 0,
		    "#tide-test pid %PID% device tun7\n"
		    "TcpActiveOpens                  0                  0.0\n"
		    "TcpPassiveOpens                 2                  0.0\n"
		    "TcpExtTW                        1                  0.0\n"
		    "TcpExtTWRecycled                0                  0.0\n"
		    "TcpExtTWKilled                  0                  0.0\n", "");
	/* without -z, only what is not zero */
	char *nz[] = { TIDE_NSTAT_PATH, NULL };
	expect_tool(&r, sc.ctl, nz, 0,
		    "#tide-test pid %PID% device tun7\n"
		    "IpInReceives                    6                  0.0\n"
		    "IpInDelivers                    6                  0.0\n"
		    "IpOutRequests                   4                  0.0\n"
		    "TcpPassiveOpens                 2                  0.0\n"
		    "TcpInSegs                       6                  0.0\n"
		    "TcpOutSegs                      4                  0.0\n"
		    "TcpExtTW                        1                  0.0\n", "");
	char *o, *e;
	char *all[] = { TIDE_NSTAT_PATH, "-az", NULL };
	assert_int_equal(run_tool(&r, sc.ctl, all, &o, &e), 0);
	/* every counter and the # line; CurrEstab is not one of them (nstat
	 * hides it as a "useless number") */
	assert_int_equal(count_lines(o), TIDE_MIB_MAX + 1);
	assert_null(strstr(o, "CurrEstab"));
	assert_non_null(strstr(o, "\nIpInReceives "));
	assert_non_null(strstr(o, "\nTideDropTcpChecksum "));
	/* the groups in nstat's order */
	const char *ip = strstr(o, "\nIpInReceives "), *tcp = strstr(o, "\nTcpActiveOpens "),
		   *ext = strstr(o, "\nTcpExtTW "), *tide = strstr(o, "\nTideDropIpTruncated ");
	assert_true(ip && tcp && ext && tide && ip < tcp && tcp < ext && ext < tide);
	const char *icmp = strstr(o, "\nIcmpInMsgs ");
	if (icmp) /* tide counts ICMP since it answers pings */
		assert_true(ip < icmp && icmp < tcp);
	assert_string_equal(e, "");
	free(o);
	free(e);
	scene_free(&sc);
	run_dir_remove(&r);
}

static struct sockaddr_un unix_addr(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(path);
	assert_true(n < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, n + 1);
	return sa;
}

/* A socket file nobody listens on, as a crashed program leaves. */
static void make_stale_socket(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = unix_addr(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

static void test_no_program(void **state)
{
	(void)state;
	struct run r;
	run_dir_make(&r);
	char want[256];
	snprintf(want, sizeof(want), "tide-ss: no running tide program (looked in %s)\n", r.dir);
	char *ss[] = { TIDE_SS_PATH, "-tan", NULL };
	expect_tool(&r, NULL, ss, 1, "", want);
	/* a stale socket is skipped, and left alone */
	char stale[128];
	snprintf(stale, sizeof(stale), "%s/tide-dead.999999.sock", r.dir);
	make_stale_socket(stale);
	expect_tool(&r, NULL, ss, 1, "", want);
	struct stat sb;
	assert_int_equal(stat(stale, &sb), 0);
	snprintf(want, sizeof(want), "tide-nstat: no running tide program (looked in %s)\n", r.dir);
	char *ns[] = { TIDE_NSTAT_PATH, NULL };
	expect_tool(&r, NULL, ns, 1, "", want);

	/* with a program running: another pid, another socket */
	struct scene sc;
	scene_make(&sc);
	snprintf(want, sizeof(want), "tide-ss: no running tide program with pid 1 (looked in %s)\n",
		 r.dir);
	char *pid1[] = { TIDE_SS_PATH, "--pid", "1", NULL };
	expect_tool(&r, sc.ctl, pid1, 1, "", want);
	char *sock[] = { TIDE_SS_PATH, "--socket", stale, NULL };
	snprintf(want, sizeof(want), "tide-ss: no running tide program at %s (Connection refused)\n",
		 stale);
	expect_tool(&r, sc.ctl, sock, 1, "", want);
	/* the stale one does not hide the live one */
	char *tln[] = { TIDE_SS_PATH, "-tlnH", NULL };
	expect_tool(&r, sc.ctl, tln, 0,
		    "LISTEN 0      128       198.18.0.2:80        0.0.0.0:*\n", "");
	scene_free(&sc);
	run_dir_remove(&r);
}

/* The socket's file: a leftover with the same name is replaced; the
 * file goes when the server stops; a run directory that cannot be made is
 * a clear error. */
static void test_socket_file(void **state)
{
	(void)state;
	struct run r;
	run_dir_make(&r);
	struct th h;
	th_init(&h, NULL);
	char path[128], err[256];
	snprintf(path, sizeof(path), "%s/tide-test.%ld.sock", r.dir, (long)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	struct tide_ctl *ctl = tide_ctl_open(h.S, "/usr/bin/tide-test", "tun7", NULL, NULL, err,
					     sizeof(err));
	if (!ctl)
		fail_msg("%s", err);
	assert_string_equal(tide_ctl_path(ctl), path);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0666);
	tide_ctl_stop(ctl);
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(errno, ENOENT);

	assert_int_equal(setenv("TIDE_RUN_DIR", "/proc/tide-nope", 1), 0);
	assert_null(tide_ctl_open(h.S, "tide-test", NULL, NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot create /proc/tide-nope"));
	th_free(&h);
	run_dir_remove(&r);
}

static int client_connect(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = unix_addr(path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Serves for a while, each call returning at once. */
static void serve(struct tide_ctl *ctl, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		uint64_t t = now_ms();
		assert_int_equal(tide_ctl_poll(ctl, 0), 0);
		assert_true(now_ms() - t < 500);
	}
}

/* Reads what is there without waiting; -1 at end of file. */
static ssize_t drain(int fd, char *buf, size_t cap, size_t *len)
{
	ssize_t n = recv(fd, buf + *len, cap - *len, MSG_DONTWAIT);
	if (n > 0)
		*len += (size_t)n;
	return n == 0 ? -1 : n;
}

/* Clients that misbehave never hold the program: a command cut short by
 * the end of the stream is still answered; clients that send nothing are
 * dropped when newer ones need their slot; an answer larger than the
 * socket's buffer goes out as the client reads it, and a client that stops
 * reading is dropped after its time. */
static void test_slow_clients(void **state)
{
	(void)state;
	struct run r;
	run_dir_make(&r);
	struct th h;
	th_init(&h, NULL);
	/* 6000 listeners: `conns` is then about 750 kB, more than a Unix
	 * socket holds */
	for (int i = 0; i < 6000; i++)
		th_listen(&h, h.s, (uint16_t)(10000 + i), 8);
	char err[256];
	struct tide_ctl *ctl = tide_ctl_open(h.S, "tide-test", "tun7", sim_clock, &h, err, sizeof(err));
	assert_non_null(ctl);
	const char *path = tide_ctl_path(ctl);
	static char buf[4 << 20];
	size_t len = 0;

	/* no newline, then the end of the stream: still a command */
	int fd = client_connect(path);
	assert_int_equal(send(fd, "info", 4, 0), 4);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	serve(ctl, 3);
	while (drain(fd, buf, sizeof(buf) - 1, &len) >= 0)
		serve(ctl, 1);
	buf[len] = '\0';
	assert_non_null(strstr(buf, "program=tide-test pid="));
	close(fd);

	/* eight silent clients fill the slots; a ninth pushes the oldest out */
	int idle[9];
	for (int i = 0; i < 9; i++) {
		idle[i] = client_connect(path);
		serve(ctl, 1);
	}
	char c;
	assert_int_equal(recv(idle[0], &c, 1, MSG_DONTWAIT), 0);
	assert_int_equal(recv(idle[1], &c, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	for (int i = 0; i < 9; i++)
		close(idle[i]);
	serve(ctl, 2);

	/* a big answer, read slowly: all of it arrives */
	fd = client_connect(path);
	assert_int_equal(send(fd, "conns\n", 6, 0), 6);
	serve(ctl, 2);
	len = 0;
	uint64_t t0 = now_ms();
	while (drain(fd, buf, sizeof(buf) - 1, &len) >= 0) {
		serve(ctl, 1);
		assert_true(now_ms() - t0 < 10000);
	}
	buf[len] = '\0';
	close(fd);
	assert_true(len > 700000);
	assert_int_equal(count_lines(buf), 6000);
	assert_non_null(strstr(buf, "local=198.18.0.2:15999 peer=0.0.0.0:0 "));

	/* a client that does not read is dropped after its time: it gets
	 * part of the answer, then the end */
	fd = client_connect(path);
	assert_int_equal(send(fd, "conns\n", 6, 0), 6);
	serve(ctl, 2);
	usleep((TIDE_CTL_CLIENT_TIMEOUT_MS + 100) * 1000);
	serve(ctl, 1);
	len = 0;
	while (drain(fd, buf, sizeof(buf) - 1, &len) >= 0)
		assert_true(len < sizeof(buf) - 1);
	buf[len] = '\0';
	assert_true(len > 100000);
	assert_true(count_lines(buf) < 6000);
	close(fd);

	tide_ctl_stop(ctl);
	th_free(&h);
	run_dir_remove(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_unknown_command),
		cmocka_unit_test(test_conns_lifecycle),
		cmocka_unit_test(test_conns_handshake_timers),
		cmocka_unit_test(test_conns_keepalive_probes),
		cmocka_unit_test(test_counters),
		cmocka_unit_test_teardown(test_tide_ss, remove_current_dir),
		cmocka_unit_test_teardown(test_tide_ss_two_programs, remove_current_dir),
		cmocka_unit_test_teardown(test_tide_nstat, remove_current_dir),
		cmocka_unit_test_teardown(test_no_program, remove_current_dir),
		cmocka_unit_test_teardown(test_socket_file, remove_current_dir),
		cmocka_unit_test_teardown(test_slow_clients, remove_current_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
