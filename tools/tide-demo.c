/*
 * tide-demo: one full TCP connection lifecycle between two tide stacks on
 * the simulated network, printed segment by segment with every state
 * change, RFC 793 style. This is what `make run` shows until the scenario
 * simulator (tide-sim) takes its place.
 *
 * The story: a client connects to a server, sends a request, reads the
 * reply and closes first; the server closes when it reads the end of the
 * data. The client therefore passes through TIME_WAIT for 2MSL (60 s of
 * virtual time, a few milliseconds of real time).
 */
#include <tide/tide.h>
#include <tide/socket.h>
#include <tide/sim.h>
#include <tide/wire.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_ADDR 0xc6120001u /* 198.18.0.1 */
#define SERVER_ADDR 0xc6120002u /* 198.18.0.2 */

struct demo {
	tide_sim *sim;
	int node[2];
	tide_stack *st[2];
	int state[2];              /* latest state of the demo connection per host */
	uint32_t isn_base[2];
};

static const char *host_name(int i) { return i == 0 ? "client" : "server"; }

static void print_time(tide_time t)
{
	printf("%9.3f ms  ", (double)t / 1000.0);
}

static void on_state(void *ctx, const struct tide_conn_id *id, int old_state, int new_state, tide_time now)
{
	struct demo *d = ctx;
	int h = id->laddr == CLIENT_ADDR ? 0 : 1;
	d->state[h] = new_state;
	print_time(now);
	printf("%-6s  %s -> %s\n", host_name(h), tide_state_name(old_state), tide_state_name(new_state));
}

static void on_packet(void *ctx, enum tide_sim_event ev, tide_time now, int from, int to,
		      const uint8_t *pkt, size_t len)
{
	struct demo *d = ctx;
	(void)to;
	if (ev != TIDE_SIM_SENT && ev != TIDE_SIM_DROPPED)
		return;
	struct tide_ipv4 ip;
	struct tide_tcp th;
	if (tide_ipv4_parse(pkt, len, &ip) != TIDE_WIRE_OK ||
	    tide_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &th) != TIDE_WIRE_OK)
		return;
	int h = from == d->node[0] ? 0 : 1;
	char flags[40];
	tide_tcp_flags_str(th.flags, flags, sizeof(flags));
	print_time(now);
	/* Sequence numbers relative to each side's ISN read like RFC 793's
	 * figures; the harness below fixes the ISNs at 100 and 300. */
	printf("%-6s  %-12s --> <SEQ=%u>", host_name(h), tide_state_rfc_name(d->state[h]), th.seq);
	if (th.flags & TIDE_TCP_ACK)
		printf("<ACK=%u>", th.ack);
	printf("<CTL=%s>", flags);
	if (th.payload_len)
		printf("<DATA=%zu>", th.payload_len);
	printf("%s\n", ev == TIDE_SIM_DROPPED ? "  (lost)" : "");
}

static uint32_t fixed_isn(void *ctx, const struct tide_conn_id *id, tide_time now)
{
	struct demo *d = ctx;
	(void)now;
	return id->laddr == CLIENT_ADDR ? d->isn_base[0] : d->isn_base[1];
}

static void die(const char *what)
{
	fprintf(stderr, "tide-demo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void run_until_state(struct demo *d, int host, int state, tide_time limit)
{
	while (d->state[host] != state && tide_sim_next_event(d->sim) <= limit)
		tide_sim_step(d->sim);
	if (d->state[host] != state) {
		fprintf(stderr, "tide-demo: %s never reached %s\n", host_name(host), tide_state_name(state));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: tide-demo\n"
				"Runs one TCP connection lifecycle between two tide stacks on the\n"
				"simulated network (1 ms one-way delay) and prints it.\n");
		return 2;
	}
	struct demo d;
	memset(&d, 0, sizeof(d));
	d.isn_base[0] = 100;
	d.isn_base[1] = 300;
	d.sim = tide_sim_new(TIDE_MS(1));
	if (!d.sim)
		die("tide_sim_new");
	tide_sim_set_tap(d.sim, on_packet, &d);
	for (int i = 0; i < 2; i++) {
		struct tide_config cfg;
		tide_config_init(&cfg);
		cfg.addr = i == 0 ? CLIENT_ADDR : SERVER_ADDR;
		cfg.secret = 0x1234 + (uint64_t)i;
		cfg.on_state = on_state;
		cfg.state_ctx = &d;
		cfg.isn = fixed_isn;
		cfg.isn_ctx = &d;
		d.node[i] = tide_sim_add_stack(d.sim, host_name(i), &cfg);
		if (d.node[i] < 0)
			die("tide_sim_add_stack");
		d.st[i] = tide_sim_stack(d.sim, d.node[i]);
		d.state[i] = TIDE_TCP_CLOSE;
	}
	tide_stack *C = d.st[0], *S = d.st[1];

	printf("tide-demo: client 198.18.0.1 and server 198.18.0.2, 1 ms apart\n\n");
	int lfd = tide_socket(S, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80), .sin_addr.s_addr = htonl(SERVER_ADDR) };
	if (lfd < 0 || tide_bind(S, lfd, (struct sockaddr *)&sa, sizeof(sa)) || tide_listen(S, lfd, 16))
		die("server listen");
	d.state[1] = TIDE_TCP_LISTEN;

	int cfd = tide_socket(C, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (cfd < 0)
		die("client socket");
	if (tide_connect(C, cfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno != EINPROGRESS)
		die("client connect");
	run_until_state(&d, 0, TIDE_TCP_ESTABLISHED, TIDE_SEC(10));
	tide_sim_run_for(d.sim, TIDE_MS(1));
	int afd = tide_accept(S, lfd, NULL, NULL, 0);
	if (afd < 0)
		die("server accept");

	const char req[] = "GET / HTTP/1.0\r\n\r\n";
	if (tide_send(C, cfd, req, sizeof(req) - 1, 0) != (ssize_t)(sizeof(req) - 1))
		die("client send");
	tide_sim_run_for(d.sim, TIDE_MS(5));
	char buf[256];
	ssize_t n = tide_recv(S, afd, buf, sizeof(buf), 0);
	if (n <= 0)
		die("server recv");
	const char resp[] = "HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n";
	if (tide_send(S, afd, resp, sizeof(resp) - 1, 0) != (ssize_t)(sizeof(resp) - 1))
		die("server send");
	tide_sim_run_for(d.sim, TIDE_MS(5));
	n = tide_recv(C, cfd, buf, sizeof(buf), 0);
	if (n <= 0)
		die("client recv");

	/* The client closes first: FIN_WAIT_1, FIN_WAIT_2, TIME_WAIT. */
	tide_close(C, cfd);
	tide_sim_run_for(d.sim, TIDE_MS(100));
	n = tide_recv(S, afd, buf, sizeof(buf), 0);
	if (n != 0)
		die("server did not read the end of data");
	tide_close(S, afd);
	run_until_state(&d, 0, TIDE_TCP_TIME_WAIT, TIDE_SEC(10));
	tide_time tw_start = tide_sim_now(d.sim);
	run_until_state(&d, 0, TIDE_TCP_CLOSE, tw_start + TIDE_SEC(120));
	printf("\nThe client spent %.3f s in TIME_WAIT (2MSL).\n",
	       (double)(tide_sim_now(d.sim) - tw_start) / 1e6);
	tide_close(S, lfd);
	tide_sim_free(d.sim);
	return 0;
}
