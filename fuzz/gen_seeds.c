/*
 * Writes the seed corpus of the three fuzz targets:
 *
 *	build/fuzz/fuzz_gen_seeds fuzz/corpus
 *
 * fills fuzz/corpus/fuzz_stack with programs (fuzz_common.h) that walk the
 * lifecycle: data transfer, every close (four-way, three-way,
 * simultaneous, half-close, SO_LINGER reset, unread-data reset, orphans,
 * TCP_LINGER2), TIME_WAIT and its expiry and takeover, keepalive, user
 * timeouts, zero windows, losses, listeners closing, SYN floods with
 * cookies, epoll, dying processes, and forged segments around a
 * connection's numbers; fuzz/corpus/fuzz_packet with well-formed and
 * malformed packets and frames; fuzz/corpus/fuzz_text with settings text
 * and every built-in tide-sim scenario. Files are named after what they
 * show; running it again rewrites them identically.
 */
#include <tide/tide.h>
#include <tide/settings.h>
#include <tide/socket.h>
#include <tide/wire.h>
#include "fuzz_common.h"
#include "link/ether.h"
#include "scenario.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *outdir;

static void write_file(const char *target, const char *name, const void *data, size_t len)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", outdir, target);
	mkdir(path, 0777);
	snprintf(path, sizeof path, "%s/%s/%s", outdir, target, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "fuzz_gen_seeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* ---- fuzz_stack programs ---- */

struct prog {
	uint8_t b[8192];
	size_t n;
};

#define NS(node, slot) ((uint8_t)((node) << 4 | (slot)))
enum { A = 0, B = 1 };

static void b8(struct prog *p, unsigned v)
{
	if (p->n >= sizeof p->b)
		abort();
	p->b[p->n++] = (uint8_t)v;
}
static void b16(struct prog *p, unsigned v) { b8(p, v >> 8); b8(p, v); }
static void b32(struct prog *p, uint32_t v) { b16(p, v >> 16); b16(p, v & 0xffff); }

static void start(struct prog *p, uint8_t setup)
{
	p->n = 0;
	b8(p, setup);
}

static void advance_us(struct prog *p, uint64_t us)
{
	static const uint64_t units[8] = { 1, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000 };
	while (us) {
		int u = 7;
		while (u > 0 && units[u] > us)
			u--;
		uint64_t m = us / units[u];
		if (m > 32)
			m = 32;
		b8(p, FZ_ADVANCE);
		b8(p, (unsigned)(u << 5) | (unsigned)(m - 1));
		us -= m * units[u];
	}
}
static void ms(struct prog *p, uint64_t v) { advance_us(p, v * 1000); }
static void secs(struct prog *p, uint64_t v) { advance_us(p, v * 1000000); }

static void sock(struct prog *p, uint8_t ns) { b8(p, FZ_SOCKET); b8(p, ns); b8(p, 1); }
static void bind_(struct prog *p, uint8_t ns, unsigned addr, unsigned port)
{
	b8(p, FZ_BIND); b8(p, ns); b8(p, addr); b8(p, port);
}
static void listen_(struct prog *p, uint8_t ns, int backlog) { b8(p, FZ_LISTEN); b8(p, ns); b8(p, (unsigned)backlog); }
static void connect_(struct prog *p, uint8_t ns, unsigned addr, unsigned port)
{
	b8(p, FZ_CONNECT); b8(p, ns); b8(p, addr); b8(p, port);
}
static void accept_(struct prog *p, uint8_t ns, unsigned slot) { b8(p, FZ_ACCEPT); b8(p, ns); b8(p, slot); b8(p, 2); }
static void send_(struct prog *p, uint8_t ns, unsigned len) { b8(p, FZ_SEND); b8(p, ns); b16(p, len); b8(p, 0); }
static void recv_(struct prog *p, uint8_t ns, unsigned len) { b8(p, FZ_RECV); b8(p, ns); b16(p, len); b8(p, 0); }
static void shutdown_(struct prog *p, uint8_t ns, unsigned how) { b8(p, FZ_SHUTDOWN); b8(p, ns); b8(p, how); }
static void close_(struct prog *p, uint8_t ns) { b8(p, FZ_CLOSE); b8(p, ns); }
static void setopt(struct prog *p, uint8_t ns, unsigned opt, uint32_t v)
{
	b8(p, FZ_SETSOCKOPT); b8(p, ns); b8(p, opt); b32(p, v);
}
static void getopt_(struct prog *p, uint8_t ns, unsigned opt) { b8(p, FZ_GETSOCKOPT); b8(p, ns); b8(p, opt); b8(p, 255); }
static void fault(struct prog *p, int from, unsigned action, uint8_t mask, uint8_t match, unsigned nth,
		  unsigned count, unsigned delay_ms)
{
	b8(p, FZ_FAULT); b8(p, (unsigned)(from + 1)); b8(p, action); b8(p, mask); b8(p, match);
	b8(p, nth - 1); b8(p, count - 1); b8(p, delay_ms - 1);
}

static void setting(struct prog *p, int node, const char *name, uint32_t value)
{
	size_t count;
	const struct tide_setting_desc *t = tide_settings_table(&count);
	for (size_t i = 0; i < count; i++) {
		if (strcmp(t[i].name, name) == 0) {
			b8(p, FZ_SETTING); b8(p, (unsigned)node); b8(p, (unsigned)i);
			uint32_t off = value - (uint32_t)t[i].min;
			/* near the minimum: FZ_SETTING's compact form */
			b32(p, off < 0x80 ? 0x80000000u | off : off);
			return;
		}
	}
	fprintf(stderr, "fuzz_gen_seeds: no setting %s\n", name);
	exit(1);
}

struct seg {
	int node;
	unsigned target, flags, seqsel, acksel, opts, len; /* seqsel, acksel: FZ_SEQ_*, FZ_ACK_* | FZ_SHIFT() */
	int seqd, ackd;
	unsigned win, mss, ws;
	int tsd, ecrd;
};

static void inject(struct prog *p, const struct seg *s)
{
	b8(p, FZ_INJECT); b8(p, (unsigned)s->node); b8(p, s->target); b8(p, s->flags);
	b8(p, s->seqsel); b8(p, (unsigned)s->seqd & 0xff);
	b8(p, s->acksel); b8(p, (unsigned)s->ackd & 0xff);
	b16(p, s->win ? s->win : 502);
	b8(p, s->opts);
	if (s->opts & FZ_OPT_MSS)
		b16(p, s->mss);
	if (s->opts & FZ_OPT_WS)
		b8(p, s->ws);
	if (s->opts & FZ_OPT_TS) {
		b16(p, (unsigned)s->tsd & 0xffff);
		b16(p, (unsigned)s->ecrd & 0xffff);
	}
	for (unsigned i = 0; i < ((s->opts >> 4) & 3u); i++) {
		b16(p, 100 * (i + 1));
		b16(p, 50);
	}
	b16(p, s->len);
}

/* A packet of any source, carried by FZ_RAW as it is (no mending). */
static void raw_tcp(struct prog *p, int node, uint32_t src, uint16_t sport, uint16_t dport, uint8_t flags,
		    uint32_t seq, uint32_t ack, const struct tide_tcp_opts *o)
{
	uint8_t pkt[128];
	uint32_t dst = node ? FZ_ADDR_B : FZ_ADDR_A;
	size_t n = tide_tcp_build(pkt + TIDE_IPV4_HLEN, sizeof pkt - TIDE_IPV4_HLEN, src, dst, sport, dport, seq,
				  ack, flags, 64240, o, NULL, 0);
	tide_ipv4_build(pkt, sizeof pkt, src, dst, TIDE_IPPROTO_TCP, (uint16_t)n, 64, 0, true);
	b8(p, FZ_RAW); b8(p, (unsigned)node); b8(p, 0); b8(p, (unsigned)(n + TIDE_IPV4_HLEN));
	for (size_t i = 0; i < n + TIDE_IPV4_HLEN; i++)
		b8(p, pkt[i]);
}

static void save(struct prog *p, const char *name) { write_file("fuzz_stack", name, p->b, p->n); }

/* The default set-up: a0 <-> b1 established, a1 queued at b0 (listener). */
static void stack_seeds(void)
{
	struct prog p;

	start(&p, 0);
	save(&p, "setup-only");

	start(&p, 0);
	send_(&p, NS(A, 0), 3000); ms(&p, 20);
	recv_(&p, NS(B, 1), 4000);
	send_(&p, NS(B, 1), 500); ms(&p, 50);
	recv_(&p, NS(A, 0), 4000);
	send_(&p, NS(A, 0), 65535); ms(&p, 100);
	recv_(&p, NS(B, 1), 65535); ms(&p, 100);
	recv_(&p, NS(B, 1), 65535); ms(&p, 300);
	save(&p, "established-data");

	start(&p, 0);
	close_(&p, NS(A, 0)); ms(&p, 100);
	close_(&p, NS(B, 1)); secs(&p, 61);
	save(&p, "close-four-way-time-wait-expiry");

	start(&p, 0);
	close_(&p, NS(A, 0)); ms(&p, 5);
	close_(&p, NS(B, 1)); secs(&p, 61);
	save(&p, "close-three-way");

	start(&p, 0);
	close_(&p, NS(A, 0));
	close_(&p, NS(B, 1)); secs(&p, 61);
	save(&p, "close-simultaneous");

	start(&p, 0);
	shutdown_(&p, NS(A, 0), SHUT_WR); ms(&p, 50);
	send_(&p, NS(B, 1), 3000); ms(&p, 50);
	recv_(&p, NS(A, 0), 4000); recv_(&p, NS(B, 1), 100);
	close_(&p, NS(B, 1)); ms(&p, 50);
	recv_(&p, NS(A, 0), 100);
	close_(&p, NS(A, 0)); secs(&p, 61);
	save(&p, "close-half-close-shutdown");

	start(&p, 0);
	setopt(&p, NS(A, 0), FZ_SO_LINGER, 1); close_(&p, NS(A, 0)); ms(&p, 10);
	send_(&p, NS(B, 1), 10); ms(&p, 10); recv_(&p, NS(B, 1), 10);
	save(&p, "close-linger-zero-rst");

	start(&p, 0);
	send_(&p, NS(B, 1), 100); ms(&p, 10);
	close_(&p, NS(A, 0)); ms(&p, 10);
	send_(&p, NS(B, 1), 100); recv_(&p, NS(B, 1), 100);
	save(&p, "close-unread-data-rst");

	start(&p, 0);
	close_(&p, NS(B, 1)); ms(&p, 100);
	send_(&p, NS(A, 0), 100); ms(&p, 10);
	secs(&p, 70);
	save(&p, "close-orphan-fin-wait2-record");

	start(&p, 0);
	setopt(&p, NS(B, 1), FZ_TCP_LINGER2, 0xffffffffu);
	close_(&p, NS(B, 1)); ms(&p, 100);
	save(&p, "close-linger2-negative");

	start(&p, 0);
	setopt(&p, NS(B, 1), FZ_TCP_LINGER2, 100);
	close_(&p, NS(B, 1)); secs(&p, 50); secs(&p, 50);
	save(&p, "close-linger2-long");

	start(&p, 0);
	close_(&p, NS(B, 0)); ms(&p, 10);
	recv_(&p, NS(A, 1), 10); getopt_(&p, NS(A, 1), FZ_SO_ERROR);
	save(&p, "close-listener-resets-queue");

	start(&p, 0);
	b8(&p, FZ_OWNER); b8(&p, NS(A, 0)); b8(&p, 7);
	b8(&p, FZ_OWNER); b8(&p, NS(A, 1)); b8(&p, 7);
	b8(&p, FZ_RELEASE); b8(&p, A); b8(&p, 7); secs(&p, 2);
	save(&p, "close-dying-process");

	start(&p, FZ_SETUP_SHORT);
	close_(&p, NS(A, 0)); ms(&p, 10); close_(&p, NS(B, 1)); ms(&p, 10);
	/* a retransmitted FIN restarts 2MSL; then TIME_WAIT shortened */
	inject(&p, &(struct seg){ .node = A, .target = 0, .flags = TIDE_TCP_FIN | TIDE_TCP_ACK,
				  .seqsel = FZ_SEQ_RCV_NXT_1, .acksel = FZ_ACK_SND_UNA });
	setting(&p, A, "net.ipv4.tcp_timewait_len", 1);
	secs(&p, 3);
	save(&p, "time-wait-restart-and-shorten");

	start(&p, FZ_SETUP_BARE);
	sock(&p, NS(B, 0)); bind_(&p, NS(B, 0), FZ_ADDR_ANY, 1); listen_(&p, NS(B, 0), 8);
	sock(&p, NS(A, 0)); setopt(&p, NS(A, 0), FZ_SO_REUSEADDR, 1);
	bind_(&p, NS(A, 0), FZ_ADDR_OWN, 3); connect_(&p, NS(A, 0), FZ_ADDR_PEER, 1); ms(&p, 10);
	accept_(&p, NS(B, 0), 1);
	send_(&p, NS(A, 0), 100); ms(&p, 10); recv_(&p, NS(B, 1), 100);
	close_(&p, NS(A, 0)); ms(&p, 10); close_(&p, NS(B, 1)); ms(&p, 100);
	sock(&p, NS(A, 2)); setopt(&p, NS(A, 2), FZ_SO_REUSEADDR, 1);
	bind_(&p, NS(A, 2), FZ_ADDR_OWN, 3); connect_(&p, NS(A, 2), FZ_ADDR_PEER, 1); ms(&p, 10);
	accept_(&p, NS(B, 0), 3); secs(&p, 61);
	save(&p, "time-wait-takeover-by-connect");

	start(&p, FZ_SETUP_SHORT);
	setopt(&p, NS(A, 0), FZ_SO_KEEPALIVE, 1);
	setopt(&p, NS(A, 0), FZ_TCP_KEEPIDLE, 2);
	secs(&p, 4);
	b8(&p, FZ_CUT); b8(&p, (6u << 5) | 9); /* 100 s */
	secs(&p, 20);
	recv_(&p, NS(A, 0), 10);
	save(&p, "keepalive-dead-peer");

	start(&p, 0);
	setopt(&p, NS(A, 0), FZ_TCP_USER_TIMEOUT, 3000);
	b8(&p, FZ_CUT); b8(&p, (6u << 5) | 9);
	send_(&p, NS(A, 0), 100); secs(&p, 10);
	send_(&p, NS(A, 0), 100);
	save(&p, "user-timeout-cut-link");

	start(&p, 0);
	b8(&p, FZ_CUT); b8(&p, (7u << 5) | 31); /* 3200 s */
	send_(&p, NS(B, 1), 100); close_(&p, NS(B, 1));
	for (int i = 0; i < 12; i++)
		secs(&p, 100);
	save(&p, "retries-orphan-gives-up");

	start(&p, FZ_SETUP_SMALL_BUF);
	setopt(&p, NS(B, 1), FZ_SO_RCVBUF, 1);
	for (int i = 0; i < 6; i++) {
		send_(&p, NS(A, 0), 20000);
		ms(&p, 300);
	}
	secs(&p, 10); recv_(&p, NS(B, 1), 3000); ms(&p, 100);
	recv_(&p, NS(B, 1), 60000); secs(&p, 5);
	save(&p, "zero-window-probes");

	start(&p, 0);
	fault(&p, A, 0 /* drop */, TIDE_TCP_PSH, TIDE_TCP_PSH, 1, 2, 1);
	fault(&p, B, 1 /* duplicate */, TIDE_TCP_ACK, TIDE_TCP_ACK, 2, 3, 5);
	fault(&p, A, 3 /* reorder */, 0, 0, 4, 2, 1);
	setopt(&p, NS(A, 0), FZ_TCP_NODELAY, 1);
	for (int i = 0; i < 5; i++)
		send_(&p, NS(A, 0), 1000);
	secs(&p, 3); recv_(&p, NS(B, 1), 8000);
	save(&p, "loss-duplication-reordering");

	start(&p, FZ_SETUP_BARE);
	sock(&p, NS(A, 0)); bind_(&p, NS(A, 0), FZ_ADDR_ANY, 3); connect_(&p, NS(A, 0), FZ_ADDR_PEER, 4);
	sock(&p, NS(B, 0)); bind_(&p, NS(B, 0), FZ_ADDR_ANY, 4); connect_(&p, NS(B, 0), FZ_ADDR_PEER, 3);
	secs(&p, 2); send_(&p, NS(A, 0), 10); ms(&p, 10); recv_(&p, NS(B, 0), 10);
	save(&p, "simultaneous-open");

	start(&p, FZ_SETUP_BARE);
	sock(&p, NS(A, 0)); connect_(&p, NS(A, 0), FZ_ADDR_PEER, 1); ms(&p, 10);
	connect_(&p, NS(A, 0), FZ_ADDR_PEER, 1); getopt_(&p, NS(A, 0), FZ_SO_ERROR);
	sock(&p, NS(A, 1)); connect_(&p, NS(A, 1), FZ_ADDR_NONE, 1); secs(&p, 140);
	save(&p, "connect-refused-and-timeout");

	start(&p, FZ_SETUP_BARE);
	sock(&p, NS(B, 0)); setopt(&p, NS(B, 0), FZ_TCP_DEFER_ACCEPT, 3);
	bind_(&p, NS(B, 0), FZ_ADDR_OWN, 1); listen_(&p, NS(B, 0), 2);
	sock(&p, NS(A, 0)); connect_(&p, NS(A, 0), FZ_ADDR_PEER, 1); ms(&p, 10);
	send_(&p, NS(A, 0), 10); ms(&p, 10); accept_(&p, NS(B, 0), 1);
	for (int s = 1; s < 6; s++) {
		sock(&p, NS(A, s));
		connect_(&p, NS(A, s), FZ_ADDR_PEER, 1);
	}
	secs(&p, 20);
	save(&p, "listen-defer-accept-and-overflow");

	start(&p, FZ_SETUP_COOKIES);
	for (unsigned i = 0; i < 10; i++) {
		struct tide_tcp_opts o = { .present = TIDE_OPT_MSS | TIDE_OPT_TS | TIDE_OPT_SACK_OK | TIDE_OPT_WSCALE,
					   .mss = 1460, .wscale = 7, .tsval = 1000 + i };
		raw_tcp(&p, B, 0xc6130001u + i, (uint16_t)(2000 + i), 80, TIDE_TCP_SYN, 5000 * i, 0, &o);
	}
	sock(&p, NS(A, 2)); connect_(&p, NS(A, 2), FZ_ADDR_PEER, 1); ms(&p, 10);
	accept_(&p, NS(B, 0), 2); accept_(&p, NS(B, 0), 3); secs(&p, 70);
	save(&p, "syn-flood-cookies");

	start(&p, 0);
	b8(&p, FZ_EPOLL_CREATE); b8(&p, NS(B, 5));
	b8(&p, FZ_EPOLL_CTL); b8(&p, NS(B, 5)); b8(&p, 1); b8(&p, EPOLL_CTL_ADD); b32(&p, EPOLLIN | EPOLLET);
	b8(&p, FZ_EPOLL_CTL); b8(&p, NS(B, 5)); b8(&p, 0); b8(&p, EPOLL_CTL_ADD); b32(&p, EPOLLIN);
	send_(&p, NS(A, 0), 100); ms(&p, 10);
	b8(&p, FZ_EPOLL_WAIT); b8(&p, NS(B, 5)); b8(&p, 8);
	accept_(&p, NS(B, 0), 2);
	b8(&p, FZ_EPOLL_CTL); b8(&p, NS(B, 5)); b8(&p, 1); b8(&p, EPOLL_CTL_MOD); b32(&p, EPOLLIN | EPOLLONESHOT);
	recv_(&p, NS(B, 1), 50);
	b8(&p, FZ_EPOLL_WAIT); b8(&p, NS(B, 5)); b8(&p, 8);
	close_(&p, NS(B, 1));
	b8(&p, FZ_EPOLL_WAIT); b8(&p, NS(B, 5)); b8(&p, 8);
	b8(&p, FZ_POLL); b8(&p, B); b16(&p, 0xffff);
	close_(&p, NS(B, 5));
	save(&p, "epoll-and-poll");

	/* forged segments into node 1's connection (target indexes are the
	 * ehash order; 0-3 cover the connections of the set-up) */
	for (unsigned t = 0; t < 3; t++) {
		char name[64];
		start(&p, 0);
		inject(&p, &(struct seg){ .node = B, .target = t, .flags = TIDE_TCP_RST,
					  .seqsel = FZ_SEQ_RCV_NXT, .seqd = 100 });
		inject(&p, &(struct seg){ .node = B, .target = t, .flags = TIDE_TCP_SYN,
					  .seqsel = FZ_SEQ_RCV_NXT, .seqd = 10, .opts = FZ_OPT_MSS, .mss = 1000 });
		inject(&p, &(struct seg){ .node = B, .target = t, .flags = TIDE_TCP_ACK | TIDE_TCP_PSH,
					  .seqsel = FZ_SEQ_RCV_NXT | FZ_SHIFT(1), .seqd = 16,
					  .acksel = FZ_ACK_SND_UNA, .opts = FZ_OPT_TS, .len = 500 });
		inject(&p, &(struct seg){ .node = B, .target = t, .flags = TIDE_TCP_ACK | TIDE_TCP_PSH,
					  .seqsel = FZ_SEQ_RCV_NXT, .acksel = FZ_ACK_SND_UNA, .opts = FZ_OPT_TS,
					  .len = 1024 });
		inject(&p, &(struct seg){ .node = B, .target = t, .flags = TIDE_TCP_ACK,
					  .seqsel = FZ_SEQ_RCV_NXT, .acksel = FZ_ACK_SND_MAX | FZ_SHIFT(1), .ackd = 80,
					  .opts = FZ_OPT_TS | FZ_OPT_NSACK(2) });
		inject(&p, &(struct seg){ .node = B, .target = t, .flags = TIDE_TCP_ACK,
					  .seqsel = FZ_SEQ_RCV_NXT, .acksel = FZ_ACK_SND_UNA, .opts = FZ_OPT_TS,
					  .tsd = -30000, .len = 10 });
		inject(&p, &(struct seg){ .node = B, .target = t, .flags = TIDE_TCP_FIN | TIDE_TCP_ACK,
					  .seqsel = FZ_SEQ_RCV_NXT | FZ_SHIFT(1), .seqd = 24,
					  .acksel = FZ_ACK_SND_UNA, .opts = FZ_OPT_TS });
		ms(&p, 300);
		recv_(&p, NS(B, 1), 4000);
		inject(&p, &(struct seg){ .node = B, .target = t, .flags = TIDE_TCP_RST,
					  .seqsel = FZ_SEQ_RCV_NXT });
		ms(&p, 10);
		snprintf(name, sizeof name, "inject-around-target-%u", t);
		save(&p, name);
	}

	start(&p, 0);
	send_(&p, NS(A, 0), 100);
	inject(&p, &(struct seg){ .node = A, .target = 0, .flags = TIDE_TCP_ACK, .seqsel = FZ_SEQ_RCV_NXT,
				  .acksel = FZ_ACK_SND_UNA, .opts = FZ_OPT_TS, .win = 0 });
	inject(&p, &(struct seg){ .node = A, .target = 1, .flags = TIDE_TCP_ACK, .seqsel = FZ_SEQ_RCV_NXT,
				  .acksel = FZ_ACK_SND_UNA, .opts = FZ_OPT_TS, .win = 0 });
	secs(&p, 5);
	save(&p, "inject-zero-window");

	start(&p, 0);
	b8(&p, FZ_RAW); b8(&p, B); b8(&p, FZ_MEND_ADDRS | FZ_MEND_IP_CSUM | FZ_MEND_L4_CSUM | FZ_MEND_TOTLEN);
	b8(&p, 28);
	static const uint8_t echo[28] = { 0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					  8, 0, 0, 0, 0, 1, 0, 1 };
	for (size_t i = 0; i < sizeof echo; i++)
		b8(&p, echo[i]);
	save(&p, "raw-icmp-echo");

	start(&p, 0);
	b8(&p, FZ_ALLOC_FAIL); b8(&p, B); b8(&p, 2); b8(&p, 3);
	send_(&p, NS(A, 0), 3000); ms(&p, 10);
	b8(&p, FZ_ALLOC_FAIL); b8(&p, A); b8(&p, 0); b8(&p, 5);
	sock(&p, NS(A, 3)); connect_(&p, NS(A, 3), FZ_ADDR_PEER, 1); ms(&p, 10);
	accept_(&p, NS(B, 0), 3); recv_(&p, NS(B, 1), 4000);
	b8(&p, FZ_NAMES); b8(&p, NS(A, 0));
	secs(&p, 2);
	save(&p, "allocation-failures");

	start(&p, 0);
	setting(&p, A, "net.ipv4.tcp_mem", 1);
	send_(&p, NS(A, 0), 60000); send_(&p, NS(B, 1), 60000); ms(&p, 200);
	recv_(&p, NS(B, 1), 60000); secs(&p, 1);
	save(&p, "settings-tcp-mem-small");

	start(&p, 0);
	setting(&p, A, "net.ipv4.tcp_max_orphans", 0);
	setting(&p, B, "net.ipv4.tcp_max_tw_buckets", 0);
	setting(&p, A, "net.ipv4.ip_local_port_range", 40000);
	close_(&p, NS(A, 0)); close_(&p, NS(A, 1)); ms(&p, 100);
	close_(&p, NS(B, 1)); secs(&p, 2);
	save(&p, "settings-limits");
}

/* ---- fuzz_packet ---- */

static void packet_seed(const char *name, uint8_t mode, const uint8_t *pkt, size_t n)
{
	uint8_t b[2048];
	b[0] = mode;
	memcpy(b + 1, pkt, n);
	write_file("fuzz_packet", name, b, n + 1);
}

static size_t tcp_packet(uint8_t *pkt, uint8_t flags, uint32_t seq, uint32_t ack,
			 const struct tide_tcp_opts *o, size_t len)
{
	static const uint8_t data[1460];
	size_t n = tide_tcp_build(pkt + TIDE_IPV4_HLEN, 1600, FZ_ADDR_A, FZ_ADDR_B, 80, 40000, seq, ack, flags,
				  65535, o, data, len);
	tide_ipv4_build(pkt, 1600, FZ_ADDR_A, FZ_ADDR_B, TIDE_IPPROTO_TCP, (uint16_t)n, 64, 1, true);
	return n + TIDE_IPV4_HLEN;
}

static void packet_seeds(void)
{
	uint8_t pkt[1700];
	struct tide_tcp_opts syn = { .present = TIDE_OPT_MSS | TIDE_OPT_SACK_OK | TIDE_OPT_TS | TIDE_OPT_WSCALE,
				     .mss = 1460, .wscale = 7, .tsval = 12345 };
	size_t n = tcp_packet(pkt, TIDE_TCP_SYN, 1000, 0, &syn, 0);
	packet_seed("tcp-syn", 0, pkt, n);
	/* the stack's SYN_SENT connection is 40000 -> peer:80: a SYN-ACK for
	 * it (the ACK number needs its ISN: the fuzzer finds it) */
	n = tcp_packet(pkt, TIDE_TCP_SYN | TIDE_TCP_ACK, 5000, 1, &syn, 0);
	packet_seed("tcp-synack", 0, pkt, n);
	struct tide_tcp_opts ts = { .present = TIDE_OPT_TS | TIDE_OPT_SACK, .tsval = 1, .tsecr = 2, .nsack = 3,
				    .sack = { { 10, 20 }, { 30, 40 }, { 50, 60 } } };
	n = tcp_packet(pkt, TIDE_TCP_ACK | TIDE_TCP_PSH, 1001, 1, &ts, 100);
	packet_seed("tcp-data-sack", 0, pkt, n);
	n = tcp_packet(pkt, TIDE_TCP_RST, 1001, 0, NULL, 0);
	packet_seed("tcp-rst", 0, pkt, n);
	n = tcp_packet(pkt, TIDE_TCP_FIN | TIDE_TCP_ACK, 1001, 1, NULL, 0);
	packet_seed("tcp-fin", 0, pkt, n);
	/* to the listener on 80 */
	n = tide_tcp_build(pkt + TIDE_IPV4_HLEN, 1600, FZ_ADDR_A, FZ_ADDR_B, 40001, 80, 7, 0, TIDE_TCP_SYN, 64240,
			   &syn, NULL, 0);
	tide_ipv4_build(pkt, 1600, FZ_ADDR_A, FZ_ADDR_B, TIDE_IPPROTO_TCP, (uint16_t)n, 64, 2, true);
	packet_seed("tcp-syn-to-listener", 0, pkt, n + TIDE_IPV4_HLEN);
	/* malformed: bad option length, bad offset, bad checksums, mended */
	n = tcp_packet(pkt, TIDE_TCP_ACK, 1, 1, &syn, 0);
	pkt[TIDE_IPV4_HLEN + 21] = 0;
	packet_seed("tcp-bad-option-mended", FZ_MEND_L4_CSUM, pkt, n);
	pkt[TIDE_IPV4_HLEN + 12] = 0x40;
	packet_seed("tcp-bad-offset-mended", FZ_MEND_L4_CSUM, pkt, n);
	pkt[10] ^= 0xff;
	packet_seed("ip-bad-checksum", 0, pkt, n);
	packet_seed("ip-truncated", 0, pkt, 15);
	n = tcp_packet(pkt, TIDE_TCP_ACK, 1, 1, NULL, 0);
	pkt[6] = 0x20; /* more fragments */
	packet_seed("ip-fragment-mended", FZ_MEND_IP_CSUM, pkt, n);
	uint8_t icmp[64];
	size_t m = tide_icmp_build_echo(icmp + TIDE_IPV4_HLEN, 44, TIDE_ICMP_ECHO_REQUEST, 1, 2, "ping", 4);
	tide_ipv4_build(icmp, sizeof icmp, FZ_ADDR_A, FZ_ADDR_B, TIDE_IPPROTO_ICMP, (uint16_t)m, 64, 3, false);
	packet_seed("icmp-echo", 0, icmp, m + TIDE_IPV4_HLEN);
	/* Ethernet frames: ARP request, IPv4 */
	static const uint8_t kmac[6] = { 2, 0, 0, 0, 0, 1 };
	struct tide_arp_pkt a = { .op = TIDE_ARP_REQUEST, .spa = FZ_ADDR_A, .tpa = FZ_ADDR_B };
	memcpy(a.sha, kmac, 6);
	uint8_t arp[TIDE_ARP_LEN], frame[1600];
	tide_arp_build(arp, sizeof arp, &a);
	m = tide_ether_build(frame, sizeof frame, tide_eth_broadcast, kmac, TIDE_ETHERTYPE_ARP, arp, sizeof arp);
	packet_seed("ether-arp-request", 0, frame, m);
	packet_seed("arp-request", 0, arp, sizeof arp);
	n = tcp_packet(pkt, TIDE_TCP_SYN, 1000, 0, &syn, 0);
	m = tide_ether_build(frame, sizeof frame, kmac, kmac, TIDE_ETHERTYPE_IPV4, pkt, n);
	packet_seed("ether-ipv4-syn", 0, frame, m);
}

/* ---- fuzz_text ---- */

static void text_seed(const char *name, uint8_t selector, const char *text)
{
	size_t n = strlen(text);
	uint8_t *b = malloc(n + 1);
	if (!b)
		exit(1);
	b[0] = selector;
	memcpy(b + 1, text, n);
	write_file("fuzz_text", name, b, n + 1);
	free(b);
}

static void text_seeds(void)
{
	text_seed("settings", 0,
		  "# a comment\nnet.ipv4.tcp_fin_timeout = 30\nnet.ipv4.ip_local_port_range = 40000 40100\n"
		  "net/ipv4/tcp_rmem = 4096 131072 6291456\ntcp_syncookies=2\n\n"
		  "net.core.somaxconn = 128   # trailing\n");
	text_seed("settings-bad", 0, "net.ipv4.tcp_fin_timeout = -1\nnet.ipv4.nonexistent = 3\nfoo\n= 4\n");
	text_seed("times", 2, "1.5s");
	text_seed("state", 2, "FIN_WAIT_2");
	text_seed("errno", 2, "ECONNRESET");
	size_t count;
	const struct sim_builtin *b = sim_builtins(&count);
	for (size_t i = 0; i < count; i++) {
		char name[128];
		snprintf(name, sizeof name, "scenario-%s", b[i].name);
		text_seed(name, 1, b[i].text);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_gen_seeds CORPUS_DIR (fuzz/corpus)\n");
		return 2;
	}
	outdir = argv[1];
	mkdir(outdir, 0777);
	stack_seeds();
	packet_seeds();
	text_seeds();
	return 0;
}
