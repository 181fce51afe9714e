/*
 * fuzz_packet: every parser of bytes from the network, on arbitrary bytes.
 *
 * Input: one mode byte, then the bytes. Every parser sees the bytes as
 * they are: IPv4, TCP (with and without its checksum, and its options
 * alone), ICMP, Ethernet, ARP (the formats and a live ARP cache), and the
 * one-line packet summary. What parses must survive a round trip through
 * the matching builder (same fields back, checksums right). Then one
 * stack, with a listener and a connection in progress, is fed the bytes
 * as a packet; the mode byte's bits first mend what random bytes almost
 * never get right, so the packet gets past the IPv4 checks into TCP:
 *   0x01 destination address := the stack's, source := a peer's
 *   0x02 IPv4 header checksum recomputed
 *   0x04 TCP or ICMP checksum recomputed
 *   0x08 IPv4 total length := the bytes' length
 * The stack is checked (tide_stack_check) after the packet.
 */
#include <tide/tide.h>
#include <tide/socket.h>
#include <tide/wire.h>
#include "link/ether.h"
#include "wire/bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STACK_ADDR 0xc6120002u /* 198.18.0.2 */
#define PEER_ADDR 0xc6120001u  /* 198.18.0.1 */

#define REQUIRE(cond)                                                                        \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "fuzz_packet: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                             \
		}                                                                            \
	} while (0)

static void sink(void *ctx, const uint8_t *pkt, size_t len)
{
	/* every packet the stack sends must parse */
	struct tide_ipv4 ip;
	(void)ctx;
	REQUIRE(tide_ipv4_parse(pkt, len, &ip) == TIDE_WIRE_OK);
}

static void opts_round_trip(const struct tide_tcp_opts *o)
{
	uint8_t buf[TIDE_TCP_MAX_OPTLEN];
	size_t n = tide_tcp_build_opts(buf, sizeof buf, o);
	REQUIRE(n % 4 == 0 && n <= TIDE_TCP_MAX_OPTLEN);
	struct tide_tcp_opts back;
	memset(&back, 0, sizeof back);
	REQUIRE(tide_tcp_parse_opts(buf, n, &back) == TIDE_WIRE_OK);
	uint8_t fixed = TIDE_OPT_MSS | TIDE_OPT_WSCALE | TIDE_OPT_SACK_OK | TIDE_OPT_TS;
	REQUIRE((back.present & fixed) == (o->present & fixed));
	if (o->present & TIDE_OPT_MSS)
		REQUIRE(back.mss == o->mss);
	if (o->present & TIDE_OPT_WSCALE)
		REQUIRE(back.wscale == o->wscale);
	if (o->present & TIDE_OPT_TS)
		REQUIRE(back.tsval == o->tsval && back.tsecr == o->tsecr);
	/* SACK blocks: the builder keeps as many as fit, in order */
	REQUIRE(back.nsack <= o->nsack);
	for (unsigned k = 0; k < back.nsack; k++)
		REQUIRE(back.sack[k].left == o->sack[k].left && back.sack[k].right == o->sack[k].right);
}

static void tcp_round_trip(const struct tide_tcp *t)
{
	static uint8_t buf[70000];
	size_t n = tide_tcp_build(buf, sizeof buf, PEER_ADDR, STACK_ADDR, t->sport, t->dport, t->seq,
				  t->ack, t->flags, t->window, &t->opts, t->payload, t->payload_len);
	if (!n)
		return; /* too long for IPv4 with the rebuilt options */
	struct tide_tcp back;
	REQUIRE(tide_tcp_parse(buf, n, PEER_ADDR, STACK_ADDR, true, &back) == TIDE_WIRE_OK);
	REQUIRE(back.sport == t->sport && back.dport == t->dport && back.seq == t->seq &&
		back.ack == t->ack && back.flags == t->flags && back.window == t->window);
	REQUIRE(back.payload_len == t->payload_len &&
		(!t->payload_len || memcmp(back.payload, t->payload, t->payload_len) == 0));
}

static void parsers(const uint8_t *p, size_t n)
{
	struct tide_ipv4 ip;
	struct tide_tcp tcp;
	struct tide_icmp ic;
	enum tide_wire_err e = tide_ipv4_parse(p, n, &ip);
	REQUIRE(tide_wire_strerror(e) != NULL);
	if (e == TIDE_WIRE_OK || e == TIDE_WIRE_IP_FRAGMENT) {
		REQUIRE(ip.header_len >= TIDE_IPV4_HLEN && ip.header_len <= n);
		REQUIRE(ip.payload == p + ip.header_len && ip.header_len + ip.payload_len <= n);
		tide_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &tcp);
		tide_icmp_parse(ip.payload, ip.payload_len, true, &ic);
		if (e == TIDE_WIRE_OK && ip.header_len == TIDE_IPV4_HLEN) {
			uint8_t h[TIDE_IPV4_HLEN];
			REQUIRE(tide_ipv4_build(h, sizeof h, ip.src, ip.dst, ip.protocol, (uint16_t)ip.payload_len,
						ip.ttl, ip.id, ip.df) == TIDE_IPV4_HLEN);
			REQUIRE(tide_csum_fold(tide_csum_add(0, h, sizeof h)) == 0);
		}
	}
	/* the bytes as a TCP segment, the checksum right or not */
	e = tide_tcp_parse(p, n, PEER_ADDR, STACK_ADDR, false, &tcp);
	if (e == TIDE_WIRE_OK) {
		REQUIRE(tcp.header_len >= TIDE_TCP_HLEN && tcp.header_len <= n);
		REQUIRE(tcp.payload + tcp.payload_len == p + n);
		opts_round_trip(&tcp.opts);
		tcp_round_trip(&tcp);
	}
	tide_tcp_parse(p, n, PEER_ADDR, STACK_ADDR, true, &tcp);
	/* option bytes alone, longer than any header may hold */
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof o);
	if (tide_tcp_parse_opts(p, n, &o) == TIDE_WIRE_OK)
		opts_round_trip(&o);
	if (tide_icmp_parse(p, n, false, &ic) == TIDE_WIRE_OK && ic.payload_len < 2000) {
		uint8_t b[2100];
		size_t m = tide_icmp_build_echo(b, sizeof b, ic.type, ic.id, ic.seq, ic.payload, ic.payload_len);
		REQUIRE(m == n);
		REQUIRE(tide_icmp_parse(b, m, true, &ic) == TIDE_WIRE_OK);
	}
	/* the summary: snprintf's contract for every buffer size */
	char line[512];
	size_t len = tide_packet_summary(p, n, NULL, 0);
	REQUIRE(tide_packet_summary(p, n, line, sizeof line) == len);
	REQUIRE(strlen(line) == (len < sizeof line ? len : sizeof line - 1));
	char small[8];
	REQUIRE(tide_packet_summary(p, n, small, sizeof small) == len);
	REQUIRE(strlen(small) == (len < sizeof small ? len : sizeof small - 1));
	char flags[32];
	tide_tcp_flags_str(n ? p[0] : 0, flags, sizeof flags);
}

static void arp_sink(void *ctx, const uint8_t *frame, size_t len)
{
	struct tide_ether eth;
	(void)ctx;
	REQUIRE(tide_ether_parse(frame, len, &eth) == 0);
}

static void link_layer(const uint8_t *p, size_t n)
{
	static const uint8_t mac[TIDE_ETH_ALEN] = { 0x02, 0x74, 0, 0, 0, 2 };
	struct tide_ether eth;
	struct tide_arp_pkt a;
	struct tide_arp_cache *c = tide_arp_cache_new(mac, STACK_ADDR, arp_sink, NULL);
	REQUIRE(c);
	if (tide_ether_parse(p, n, &eth) == 0) {
		REQUIRE(eth.payload == p + TIDE_ETH_HLEN && eth.payload_len == n - TIDE_ETH_HLEN);
		if (eth.type == TIDE_ETHERTYPE_ARP)
			tide_arp_input(c, eth.payload, eth.payload_len, TIDE_SEC(1));
	}
	if (tide_arp_parse(p, n, &a) == 0) {
		uint8_t b[TIDE_ARP_LEN];
		REQUIRE(tide_arp_build(b, sizeof b, &a) == TIDE_ARP_LEN);
		REQUIRE(memcmp(b, p, TIDE_ARP_LEN) == 0);
	}
	/* the ARP cache fed the bytes, then asked to send to what it learnt */
	tide_arp_input(c, p, n, TIDE_SEC(2));
	if (n >= 28) {
		uint32_t ip = tide_get32(p + 14);
		uint8_t m[TIDE_ETH_ALEN];
		tide_arp_output(c, ip, p, n, TIDE_SEC(3));
		tide_arp_lookup(c, ip, m, TIDE_SEC(3));
		tide_arp_pending(c, ip);
	}
	for (int s = 4; s < 8; s++)
		tide_arp_advance(c, TIDE_SEC(s));
	tide_arp_cache_free(c);
}

static void mend(uint8_t *p, size_t n, uint8_t mode)
{
	if (n < TIDE_IPV4_HLEN)
		return;
	size_t ihl = (size_t)(p[0] & 0xf) * 4;
	if (mode & 0x01) {
		tide_put32(p + 12, PEER_ADDR);
		tide_put32(p + 16, STACK_ADDR);
	}
	if (mode & 0x08)
		tide_put16(p + 2, (uint16_t)(n > 0xffff ? 0xffff : n));
	if (mode & 0x04 && ihl >= TIDE_IPV4_HLEN && ihl < n) {
		size_t tot = tide_get16(p + 2);
		size_t end = tot >= ihl && tot <= n ? tot : n;
		uint8_t *l4 = p + ihl;
		size_t l4len = end - ihl;
		if (p[9] == TIDE_IPPROTO_TCP && l4len >= TIDE_TCP_HLEN) {
			tide_put16(l4 + 16, 0);
			tide_put16(l4 + 16, tide_tcp_checksum(tide_get32(p + 12), tide_get32(p + 16), l4, l4len));
		} else if (p[9] == TIDE_IPPROTO_ICMP && l4len >= TIDE_ICMP_HLEN) {
			tide_put16(l4 + 2, 0);
			tide_put16(l4 + 2, tide_csum_fold(tide_csum_add(0, l4, l4len)));
		}
	}
	if (mode & 0x02 && ihl >= TIDE_IPV4_HLEN && ihl <= n) {
		tide_put16(p + 10, 0);
		tide_put16(p + 10, tide_csum_fold(tide_csum_add(0, p, ihl)));
	}
}

static void stack_input(const uint8_t *p, size_t n, uint8_t mode)
{
	struct tide_config cfg;
	tide_config_init(&cfg);
	cfg.addr = STACK_ADDR;
	cfg.output = sink;
	tide_stack *st = tide_stack_new(&cfg, TIDE_SEC(1));
	REQUIRE(st);
	/* a listener on 80, and a connection of ours in SYN_SENT to the
	 * peer's port 80 from 40000 */
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80),
				  .sin_addr.s_addr = htonl(STACK_ADDR) };
	int l = tide_socket(st, AF_INET, SOCK_STREAM, 0);
	REQUIRE(tide_bind(st, l, (struct sockaddr *)&sa, sizeof sa) == 0);
	REQUIRE(tide_listen(st, l, 16) == 0);
	int c = tide_socket(st, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(40000) };
	REQUIRE(tide_bind(st, c, (struct sockaddr *)&me, sizeof me) == 0);
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(80),
				    .sin_addr.s_addr = htonl(PEER_ADDR) };
	REQUIRE(tide_connect(st, c, (struct sockaddr *)&peer, sizeof peer) == -1);

	uint8_t *copy = malloc(n ? n : 1);
	REQUIRE(copy);
	if (n)
		memcpy(copy, p, n);
	mend(copy, n, mode);
	int r = tide_stack_input(st, copy, n, TIDE_SEC(1) + 1);
	REQUIRE(r <= 0);
	tide_stack_advance(st, TIDE_SEC(100));
	char msg[512];
	if (tide_stack_check(st, msg, sizeof msg) != 0) {
		fprintf(stderr, "fuzz_packet: invariant broken: %s\n", msg);
		abort();
	}
	free(copy);
	tide_stack_free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 70000)
		return 0;
	uint8_t mode = data[0];
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	/* an exact-size copy, so that ASan sees any read past the end */
	uint8_t *exact = malloc(n ? n : 1);
	REQUIRE(exact);
	if (n)
		memcpy(exact, p, n);
	parsers(exact, n);
	link_layer(exact, n);
	free(exact);
	stack_input(p, n, mode);
	return 0;
}
