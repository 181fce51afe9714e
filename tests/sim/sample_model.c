#include "sample_model.h"

#include <tide/wire.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT 0
#define SERVER 1

static void must(const void *p)
{
	if (!p) {
		fprintf(stderr, "sample_model: out of memory\n");
		abort();
	}
}

size_t sample_seg(struct sim_model *m, tide_time t, int from, int to, uint16_t sport,
		  uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len,
		  tide_time delivered, int sender_state, int receiver_state)
{
	static uint16_t ipid = 1;
	struct sim_segment *s = sim_model_add_segment(m, t);
	must(s);
	s->from = from;
	s->to = to;
	s->id.laddr = m->hosts[from].addr;
	s->id.raddr = to >= 0 ? m->hosts[to].addr : 0xc6130005; /* 198.19.0.5: nobody */
	s->id.lport = sport;
	s->id.rport = dport;
	s->flags = flags;
	s->seq = seq;
	s->ack = ack;
	s->len = len;
	s->win = 64240;
	if (flags & TIDE_TCP_SYN) {
		s->opts.present = TIDE_OPT_MSS | TIDE_OPT_SACK_OK | TIDE_OPT_TS | TIDE_OPT_WSCALE;
		s->opts.mss = 1460;
		s->opts.wscale = 7;
	} else {
		s->opts.present = TIDE_OPT_TS;
		s->win = 502;
	}
	s->opts.tsval = (uint32_t)(t / 1000) + 1000;
	s->opts.tsecr = (flags & TIDE_TCP_SYN) && !(flags & TIDE_TCP_ACK) ? 0 : (uint32_t)(t / 1000);
	s->delivered = delivered;
	s->fate = delivered == TIDE_TIME_NEVER ? FATE_DROPPED : FATE_DELIVERED;
	if (to < 0)
		s->fate = FATE_UNROUTABLE;
	s->sender_state = sender_state;
	s->receiver_state = receiver_state;

	uint8_t payload[1500], pkt[1600];
	memset(payload, 'x', sizeof payload);
	size_t tl = tide_tcp_build(pkt + 20, sizeof pkt - 20, s->id.laddr, s->id.raddr, sport,
				   dport, seq, ack, flags, s->win, &s->opts, payload, len);
	tide_ipv4_build(pkt, 20, s->id.laddr, s->id.raddr, 6, (uint16_t)tl, 64, ipid++, true);
	if (sim_segment_set_packet(s, pkt, 20 + tl) < 0)
		abort();
	return m->nsegs - 1;
}

void sample_state(struct sim_model *m, tide_time t, int host, uint16_t lport, uint32_t raddr,
		  uint16_t rport, int old_state, int new_state)
{
	struct sim_state_change *c = sim_model_add_state(m, t);
	must(c);
	c->host = host;
	c->id.laddr = m->hosts[host].addr;
	c->id.lport = lport;
	c->id.raddr = raddr;
	c->id.rport = rport;
	c->old_state = old_state;
	c->new_state = new_state;
}

static void call(struct sim_model *m, tide_time t, int host, int line, const char *text, long ret,
		 int err)
{
	struct sim_call *c = sim_model_add_call(m, t);
	must(c);
	c->host = host;
	c->line = line;
	snprintf(c->text, sizeof c->text, "%s", text);
	c->ret = ret;
	c->err = err;
}

static void timer(struct sim_model *m, tide_time t, int host, uint16_t lport, uint32_t raddr,
		  uint16_t rport, const char *what)
{
	struct sim_timer *x = sim_model_add_timer(m, t);
	must(x);
	x->host = host;
	x->id.laddr = m->hosts[host].addr;
	x->id.lport = lport;
	x->id.raddr = raddr;
	x->id.rport = rport;
	snprintf(x->what, sizeof x->what, "%s", what);
}

static void expect(struct sim_model *m, int line, const char *text, bool ok, const char *detail)
{
	struct sim_expect_result *e = sim_model_add_expect(m);
	must(e);
	e->line = line;
	e->ok = ok;
	snprintf(e->text, sizeof e->text, "%s", text);
	snprintf(e->detail, sizeof e->detail, "%s", detail);
}

void sample_four_way_close(struct sim_model *m)
{
	enum { SYN = TIDE_TCP_SYN, ACK = TIDE_TCP_ACK, FIN = TIDE_TCP_FIN, PSH = TIDE_TCP_PSH };
	enum {
		EST = TIDE_TCP_ESTABLISHED, SS = TIDE_TCP_SYN_SENT, SR = TIDE_TCP_SYN_RECV,
		FW1 = TIDE_TCP_FIN_WAIT1, FW2 = TIDE_TCP_FIN_WAIT2, TW = TIDE_TCP_TIME_WAIT,
		CL = TIDE_TCP_CLOSE, CW = TIDE_TCP_CLOSE_WAIT, LA = TIDE_TCP_LAST_ACK,
		LI = TIDE_TCP_LISTEN,
	};
	memset(m, 0, sizeof *m);
	snprintf(m->title, sizeof m->title, "Four-way close, first FIN lost");
	snprintf(m->about, sizeof m->about,
		 "The client closes first; its FIN is lost and retransmitted after the "
		 "retransmission timeout, the network delivers the retransmission twice, and only "
		 "the client passes through TIME_WAIT.");
	snprintf(m->source, sizeof m->source, "builtin:sample-close");
	m->nhosts = 2;
	snprintf(m->hosts[CLIENT].name, sizeof m->hosts[0].name, "client");
	m->hosts[CLIENT].addr = 0xc6120001;
	snprintf(m->hosts[SERVER].name, sizeof m->hosts[1].name, "server");
	m->hosts[SERVER].addr = 0xc6120002;
	m->delay = 1000;
	uint32_t ca = m->hosts[CLIENT].addr, sa = m->hosts[SERVER].addr;

	sample_state(m, 0, SERVER, 80, 0, 0, CL, LI);
	call(m, 0, SERVER, 10, "listen(80) as L", 0, 0);
	sample_state(m, 0, CLIENT, 40000, sa, 80, CL, SS);
	call(m, 0, CLIENT, 11, "connect(server:80) as c", -1, 115 /* EINPROGRESS */);
	sample_seg(m, 0, CLIENT, SERVER, 40000, 80, SYN, 100, 0, 0, 1000, SS, SR);
	sample_state(m, 1000, SERVER, 80, ca, 40000, CL, SR);
	sample_seg(m, 1000, SERVER, CLIENT, 80, 40000, SYN | ACK, 300, 101, 0, 2000, SR, EST);
	sample_state(m, 2000, CLIENT, 40000, sa, 80, SS, EST);
	sample_seg(m, 2000, CLIENT, SERVER, 40000, 80, ACK, 101, 301, 0, 3000, EST, EST);
	sample_state(m, 3000, SERVER, 80, ca, 40000, SR, EST);
	call(m, 10000, SERVER, 12, "accept(L) as s", 0, 0);
	call(m, 20000, CLIENT, 13, "send(c, 100)", 100, 0);
	sample_seg(m, 20000, CLIENT, SERVER, 40000, 80, PSH | ACK, 101, 301, 100, 21000, EST, EST);
	call(m, 30000, SERVER, 14, "recv(s)", 100, 0);
	timer(m, 61000, SERVER, 80, ca, 40000, "delayed ACK");
	sample_seg(m, 61000, SERVER, CLIENT, 80, 40000, ACK, 301, 201, 0, 62000, EST, EST);
	call(m, 100000, CLIENT, 15, "close(c)", 0, 0);
	sample_state(m, 100000, CLIENT, 40000, sa, 80, EST, FW1);
	sample_seg(m, 100000, CLIENT, SERVER, 40000, 80, FIN | ACK, 201, 301, 0, TIDE_TIME_NEVER,
		   FW1, 0);
	timer(m, 312000, CLIENT, 40000, sa, 80, "retransmission timeout");
	size_t r = sample_seg(m, 312000, CLIENT, SERVER, 40000, 80, FIN | ACK, 201, 301, 0, 313000,
			      FW1, CW);
	m->segs[r].retransmission = true;
	m->segs[r].dup_count = 1;
	sample_state(m, 313000, SERVER, 80, ca, 40000, EST, CW);
	sample_seg(m, 313000, SERVER, CLIENT, 80, 40000, ACK, 301, 202, 0, 314000, CW, FW2);
	sample_seg(m, 313000, SERVER, CLIENT, 80, 40000, ACK, 301, 202, 0, 314000, CW, FW2);
	sample_state(m, 314000, CLIENT, 40000, sa, 80, FW1, FW2);
	call(m, 400000, SERVER, 16, "recv(s)", 0, 0);
	call(m, 400000, SERVER, 17, "close(s)", 0, 0);
	sample_state(m, 400000, SERVER, 80, ca, 40000, CW, LA);
	sample_seg(m, 400000, SERVER, CLIENT, 80, 40000, FIN | ACK, 301, 202, 0, 401000, LA, TW);
	sample_state(m, 401000, CLIENT, 40000, sa, 80, FW2, TW);
	sample_seg(m, 401000, CLIENT, SERVER, 40000, 80, ACK, 202, 302, 0, 402000, TW, CL);
	sample_state(m, 402000, SERVER, 80, ca, 40000, LA, CL);
	call(m, 500000, CLIENT, 18, "recv(c)", -1, 107 /* ENOTCONN */);
	sample_state(m, 60401000, CLIENT, 40000, sa, 80, TW, CL);
	m->end = 60401000;

	expect(m, 20, "expect at 315ms client c state FIN_WAIT_2", true, "");
	expect(m, 21, "expect at 402ms client c state TIME_WAIT", true, "");
	expect(m, 22, "expect at end segments = 11", true, "");
}

void sample_zoo(struct sim_model *m)
{
	enum { SYN = TIDE_TCP_SYN, ACK = TIDE_TCP_ACK, RST = TIDE_TCP_RST, PSH = TIDE_TCP_PSH };
	enum { EST = TIDE_TCP_ESTABLISHED, SS = TIDE_TCP_SYN_SENT, SR = TIDE_TCP_SYN_RECV,
	       CL = TIDE_TCP_CLOSE, LI = TIDE_TCP_LISTEN, TW = TIDE_TCP_TIME_WAIT };
	memset(m, 0, sizeof *m);
	snprintf(m->title, sizeof m->title, "Everything at once <&> \"quoted\" 'single'");
	snprintf(m->about, sizeof m->about,
		 "Three hosts, a reset, a middlebox, an unroutable reply, a delayed segment, "
		 "five connections on one host and text that needs escaping: <tag> & \"q\" \x01 "
		 "\xff (a stray byte) and UTF-8 \xc3\xa9t\xc3\xa9.");
	snprintf(m->source, sizeof m->source, "zoo.tsim");
	m->nhosts = 3;
	const char *names[3] = { "a", "b", "c" };
	for (int i = 0; i < 3; i++) {
		snprintf(m->hosts[i].name, sizeof m->hosts[i].name, "%s", names[i]);
		m->hosts[i].addr = 0xc6120001 + (uint32_t)i;
	}
	m->delay = 1000;
	uint32_t aa = m->hosts[0].addr, ba = m->hosts[1].addr;

	sample_state(m, 0, 1, 80, 0, 0, CL, LI);
	for (int i = 0; i < 5; i++) {
		tide_time t = (tide_time)i * 10000;
		uint16_t p = (uint16_t)(40000 + i);
		sample_state(m, t, 0, p, ba, 80, CL, SS);
		sample_seg(m, t, 0, 1, p, 80, SYN, 100, 0, 0, t + 1000, SS, SR);
		sample_state(m, t + 1000, 1, 80, aa, p, CL, SR);
		sample_seg(m, t + 1000, 1, 0, 80, p, SYN | ACK, 300, 101, 0, t + 2000, SR, EST);
		sample_state(m, t + 2000, 0, p, ba, 80, SS, EST);
	}
	struct sim_note *n = sim_model_add_note(m, 60000);
	n->host = -1;
	snprintf(n->text, sizeof n->text, "the link is cut <until 2s>");
	size_t s = sample_seg(m, 70000, 0, 1, 40000, 80, PSH | ACK, 101, 301, 10, TIDE_TIME_NEVER,
			      EST, 0);
	m->segs[s].fate = FATE_MIDDLEBOX;
	s = sample_seg(m, 80000, 1, 0, 80, 40001, PSH | ACK, 301, 101, 5, 180000, EST, EST);
	m->segs[s].delayed = true;
	sample_seg(m, 90000, 1, -1, 80, 50000, SYN | ACK, 300, 7, 0, TIDE_TIME_NEVER, SR, 0);
	n = sim_model_add_note(m, 100000);
	n->host = 2;
	snprintf(n->text, sizeof n->text, "c reboots & forgets everything");
	sample_seg(m, 110000, 2, 0, 80, 40002, RST, 0, 0, 0, 111000, 0, CL);
	sample_state(m, 111000, 0, 40002, ba, 80, EST, CL);
	struct sim_call *c = sim_model_add_call(m, 112000);
	c->host = 0;
	c->line = 40;
	snprintf(c->text, sizeof c->text, "send(c<2>, 10 & \"more\")");
	c->ret = -1;
	c->err = 104;
	sample_state(m, 120000, 0, 40003, ba, 80, EST, TW);
	sample_state(m, 120000, 0, 40003, ba, 80, TW, CL);
	sample_state(m, 130000, 0, 40003, ba, 80, CL, SS);
	m->end = 5000000;
	struct sim_expect_result *e = sim_model_add_expect(m);
	e->line = 50;
	snprintf(e->text, sizeof e->text, "expect at end a c state \"CLOSED\"");
	e->ok = false;
	snprintf(e->detail, sizeof e->detail, "found ESTABLISHED\tinstead\n");
}
