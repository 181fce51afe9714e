/*
 * Hand-made segments: see inject.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "inject.h"

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
