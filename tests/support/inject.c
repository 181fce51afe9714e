/*
 * Hand-made segments: see inject.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "inject.h"

#include <string.h>

/* 20 bytes of IPv4, 60 of TCP header, and a payload up to a full MSS. */
#define TH_INJECT_MAX (TIDE_IPV4_HLEN + 60 + 1460)

static uint32_t node_addr(struct th *h, int node)
{
	return node == h->c ? TH_CLIENT_ADDR : TH_SERVER_ADDR;
}

size_t th_build_seg(struct th *h, int from, uint8_t *buf, size_t cap, uint16_t sport,
		    uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
		    const void *payload, size_t len, const struct tide_tcp_opts *opts)
{
	uint32_t src = node_addr(h, from);
	uint32_t dst = node_addr(h, from == h->c ? h->s : h->c);
	if (cap < TIDE_IPV4_HLEN)
		return 0;
	size_t n = tide_tcp_build(buf + TIDE_IPV4_HLEN, cap - TIDE_IPV4_HLEN, src, dst, sport,
				  dport, seq, ack, flags, win, opts, payload, len);
	if (n == 0 || n > UINT16_MAX - TIDE_IPV4_HLEN)
		return 0;
	if (tide_ipv4_build(buf, cap, src, dst, TIDE_IPPROTO_TCP, (uint16_t)n, 64, 0, true) == 0)
		return 0;
	return n + TIDE_IPV4_HLEN;
}

void th_inject(struct th *h, int from, uint16_t sport, uint16_t dport, uint8_t flags,
	       uint32_t seq, uint32_t ack, uint16_t win, const void *payload, size_t len,
	       const struct tide_tcp_opts *opts)
{
	uint8_t pkt[TH_INJECT_MAX];
	size_t n = th_build_seg(h, from, pkt, sizeof(pkt), sport, dport, flags, seq, ack, win,
				payload, len, opts);
	if (n == 0) {
		th_dump(h);
		fail_msg("th_inject: a segment with %zu payload bytes does not fit", len);
	}
	tide_sim_send(h->sim, from, pkt, n);
}

int th_inject_raw(struct th *h, int to, const uint8_t *pkt, size_t len)
{
	return tide_stack_input(th_stack(h, to), pkt, len, th_now(h));
}

void th_drop(struct th *h, int from, uint8_t mask, uint8_t match, unsigned nth, unsigned count)
{
	struct tide_fault f;
	memset(&f, 0, sizeof(f));
	f.from = from;
	f.flags_mask = mask;
	f.flags_match = match;
	f.nth = nth;
	f.count = count;
	f.action = TIDE_FAULT_DROP;
	assert_true(tide_sim_add_fault(h->sim, &f) >= 0);
}

void th_spoof_syn(struct th *h, uint32_t src, uint16_t sport)
{
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.present = TIDE_OPT_MSS | TIDE_OPT_SACK_OK | TIDE_OPT_TS | TIDE_OPT_WSCALE;
	o.mss = 1460;
	o.wscale = 7;
	o.tsval = 1;
	uint8_t pkt[128];
	size_t n = tide_tcp_build(pkt + TIDE_IPV4_HLEN, sizeof(pkt) - TIDE_IPV4_HLEN, src,
				  TH_SERVER_ADDR, sport, 80, 1000, 0, TIDE_TCP_SYN, 64240, &o, NULL, 0);
	assert_true(n > 0);
	assert_true(tide_ipv4_build(pkt, sizeof(pkt), src, TH_SERVER_ADDR, TIDE_IPPROTO_TCP,
				    (uint16_t)n, 64, 0, true) > 0);
	tide_sim_send(h->sim, h->c, pkt, n + TIDE_IPV4_HLEN);
}

void th_flood(struct th *h, int n)
{
	for (int i = 0; i < n; i++)
		th_spoof_syn(h, TH_FLOOD_NET + 1 + (uint32_t)i, (uint16_t)(1024 + i));
}
