/*
 * ICMP: the echo format against bytes worked out by hand (checksums
 * included), truncated messages in buffers of exactly their size (so ASan
 * sees any over-read), and the stack's answers: an echo request gets the
 * exact echo reply Linux would send (same id, sequence and data, the
 * request's TOS, no DF), counted under Linux's names; other types are
 * counted and ignored; bad messages are dropped and counted. One exchange
 * runs over the simulated network with a scripted pinger.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <tide/tide.h>
#include <tide/sim.h>
#include <tide/wire.h>

#include <stdlib.h>
#include <string.h>

#define PINGER 0xc6120001u /* 198.18.0.1 */
#define TIDE   0xc6120002u /* 198.18.0.2 */

/* type 8, code 0, checksum 0xeb34, id 0x1234, seq 1, "abcdefghi": the
 * checksum by hand (one's complement sum of the 16-bit words, the odd last
 * byte padded with a zero). */
static const uint8_t echo_request[] = {
	0x08, 0x00, 0xeb, 0x34, 0x12, 0x34, 0x00, 0x01,
	'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i',
};
/* The reply: type 0, so the sum drops by 0x0800 and the checksum grows by
 * as much. */
static const uint8_t echo_reply[] = {
	0x00, 0x00, 0xf3, 0x34, 0x12, 0x34, 0x00, 0x01,
	'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i',
};

/* The request in an IPv4 packet from the pinger: id 0x4242, DF, TTL 64,
 * header checksum 0x6c6e worked out the same way. */
static const uint8_t ping_packet[] = {
	0x45, 0x00, 0x00, 0x25, 0x42, 0x42, 0x40, 0x00, 0x40, 0x01, 0x6c, 0x6e,
	198, 18, 0, 1, 198, 18, 0, 2,
	0x08, 0x00, 0xeb, 0x34, 0x12, 0x34, 0x00, 0x01,
	'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i',
};

/* RFC 1071, written out again here rather than taken from tide. */
static uint16_t ref_csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	for (size_t i = 0; i < len; i += 2)
		s += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The reply tide must send to ping_packet (with `tos`), whose IP id is
 * whatever tide chose (`id`): header checksum filled in by ref_csum. */
static size_t expected_reply(uint8_t *out, uint16_t id, uint8_t tos)
{
	static const uint8_t hdr[] = {
		0x45, 0x00, 0x00, 0x25, 0x00, 0x00, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00,
		198, 18, 0, 2, 198, 18, 0, 1,
	};
	memcpy(out, hdr, sizeof hdr);
	out[1] = tos;
	out[4] = (uint8_t)(id >> 8);
	out[5] = (uint8_t)id;
	uint16_t c = ref_csum(out, 20);
	out[10] = (uint8_t)(c >> 8);
	out[11] = (uint8_t)c;
	memcpy(out + 20, echo_reply, sizeof echo_reply);
	return 20 + sizeof echo_reply;
}

static void test_icmp_build_echo_known_bytes(void **state)
{
	(void)state;
	uint8_t buf[64];
	assert_int_equal(tide_icmp_build_echo(buf, sizeof buf, TIDE_ICMP_ECHO_REQUEST, 0x1234, 1,
					      "abcdefghi", 9), sizeof echo_request);
	assert_memory_equal(buf, echo_request, sizeof echo_request);
	assert_int_equal(tide_icmp_build_echo(buf, sizeof buf, TIDE_ICMP_ECHO_REPLY, 0x1234, 1,
					      "abcdefghi", 9), sizeof echo_reply);
	assert_memory_equal(buf, echo_reply, sizeof echo_reply);
	/* exactly enough room, then one byte short */
	assert_int_equal(tide_icmp_build_echo(buf, 17, 8, 0x1234, 1, "abcdefghi", 9), 17);
	assert_int_equal(tide_icmp_build_echo(buf, 16, 8, 0x1234, 1, "abcdefghi", 9), 0);
	assert_int_equal(tide_icmp_build_echo(buf, 7, 8, 1, 1, NULL, 0), 0);
	assert_int_equal(tide_icmp_build_echo(buf, 8, 8, 1, 1, NULL, 0), 8);
	assert_int_equal(ref_csum(buf, 8), 0);
}

static void test_icmp_parse_known_bytes(void **state)
{
	(void)state;
	struct tide_icmp ic;
	assert_int_equal(tide_icmp_parse(echo_request, sizeof echo_request, true, &ic),
			 TIDE_WIRE_OK);
	assert_int_equal(ic.type, 8);
	assert_int_equal(ic.code, 0);
	assert_int_equal(ic.checksum, 0xeb34);
	assert_int_equal(ic.id, 0x1234);
	assert_int_equal(ic.seq, 1);
	assert_int_equal(ic.payload_len, 9);
	assert_ptr_equal(ic.payload, echo_request + 8);

	uint8_t bad[sizeof echo_request];
	memcpy(bad, echo_request, sizeof bad);
	bad[16] ^= 0x01; /* the last, odd, data byte */
	assert_int_equal(tide_icmp_parse(bad, sizeof bad, true, &ic), TIDE_WIRE_ICMP_CHECKSUM);
	assert_int_equal(tide_icmp_parse(bad, sizeof bad, false, &ic), TIDE_WIRE_OK);
	assert_string_equal(tide_wire_strerror(TIDE_WIRE_ICMP_CHECKSUM), "icmp checksum");
	assert_string_equal(tide_wire_strerror(TIDE_WIRE_ICMP_TRUNCATED), "icmp truncated");
}

/* Every prefix, alone in a buffer of its size: below 8 bytes truncated; from
 * 8 on, the checksum no longer matches (none of these prefixes happens to
 * sum to zero). */
static void test_icmp_parse_truncated(void **state)
{
	(void)state;
	for (size_t n = 0; n < sizeof echo_request; n++) {
		uint8_t *p = malloc(n ? n : 1);
		assert_non_null(p);
		memcpy(p, echo_request, n);
		struct tide_icmp ic;
		enum tide_wire_err e = tide_icmp_parse(p, n, true, &ic);
		assert_int_equal(e, n < 8 ? TIDE_WIRE_ICMP_TRUNCATED : TIDE_WIRE_ICMP_CHECKSUM);
		if (n >= 8) {
			assert_int_equal(tide_icmp_parse(p, n, false, &ic), TIDE_WIRE_OK);
			assert_int_equal(ic.payload_len, n - 8);
		}
		free(p);
	}
}

/* ---- the stack -------------------------------------------------------- */

struct cap {
	uint8_t pkt[2048];
	size_t len;
	unsigned n;
};

static void capture(void *ctx, const uint8_t *pkt, size_t len)
{
	struct cap *c = ctx;
	assert_true(len <= sizeof c->pkt);
	memcpy(c->pkt, pkt, len);
	c->len = len;
	c->n++;
}

static tide_stack *new_stack(struct cap *c, uint16_t mtu)
{
	struct tide_config cfg;
	tide_config_init(&cfg);
	cfg.addr = TIDE;
	cfg.secret = 7;
	if (mtu)
		cfg.mtu = mtu;
	cfg.output = capture;
	cfg.output_ctx = c;
	tide_stack *st = tide_stack_new(&cfg, 0);
	assert_non_null(st);
	return st;
}

/* Feeds pkt (copied into a buffer of exactly len bytes). */
static int feed(tide_stack *st, const uint8_t *pkt, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, pkt, len);
	int r = tide_stack_input(st, p, len, TIDE_MS(1));
	free(p);
	return r;
}

static void fix_ip_csum(uint8_t *p)
{
	p[10] = p[11] = 0;
	uint16_t c = ref_csum(p, 20);
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
}

#define CTR(st, name) tide_stack_counter((st), TIDE_MIB_##name)

static void test_icmp_stack_answers_echo(void **state)
{
	(void)state;
	struct cap c = { 0 };
	tide_stack *st = new_stack(&c, 0);
	assert_int_equal(feed(st, ping_packet, sizeof ping_packet), 0);
	assert_int_equal(c.n, 1);
	uint8_t want[64];
	size_t wlen = expected_reply(want, (uint16_t)(c.pkt[4] << 8 | c.pkt[5]), 0);
	assert_int_equal(c.len, wlen);
	assert_memory_equal(c.pkt, want, wlen);

	assert_int_equal(CTR(st, IpInReceives), 1);
	assert_int_equal(CTR(st, IpInDelivers), 1);
	assert_int_equal(CTR(st, IcmpInMsgs), 1);
	assert_int_equal(CTR(st, IcmpInEchos), 1);
	assert_int_equal(CTR(st, IcmpInErrors), 0);
	assert_int_equal(CTR(st, IcmpOutMsgs), 1);
	assert_int_equal(CTR(st, IcmpOutEchoReps), 1);
	assert_int_equal(CTR(st, IpOutRequests), 1);
	assert_int_equal(CTR(st, OutSegs), 0);
	assert_string_equal(tide_counter_name(TIDE_MIB_IcmpOutEchoReps), "IcmpOutEchoReps");
	assert_string_equal(tide_counter_name(TIDE_MIB_IcmpInCsumErrors), "IcmpInCsumErrors");

	/* A second one: a new IP id, the same reply otherwise. */
	uint16_t id1 = (uint16_t)(c.pkt[4] << 8 | c.pkt[5]);
	assert_int_equal(feed(st, ping_packet, sizeof ping_packet), 0);
	assert_int_equal(c.n, 2);
	uint16_t id2 = (uint16_t)(c.pkt[4] << 8 | c.pkt[5]);
	assert_int_not_equal(id1, id2);
	expected_reply(want, id2, 0);
	assert_memory_equal(c.pkt, want, wlen);
	tide_stack_free(st);
}

static void test_icmp_reply_keeps_tos(void **state)
{
	(void)state;
	struct cap c = { 0 };
	tide_stack *st = new_stack(&c, 0);
	uint8_t p[sizeof ping_packet];
	memcpy(p, ping_packet, sizeof p);
	p[1] = 0x10;
	fix_ip_csum(p);
	assert_int_equal(feed(st, p, sizeof p), 0);
	uint8_t want[64];
	size_t wlen = expected_reply(want, (uint16_t)(c.pkt[4] << 8 | c.pkt[5]), 0x10);
	assert_int_equal(c.len, wlen);
	assert_memory_equal(c.pkt, want, wlen);
	tide_stack_free(st);
}

/* Echo replies, unreachables, time exceeded...: counted, no answer, no
 * effect (tide does not act on ICMP errors). */
static void test_icmp_other_types_counted_and_ignored(void **state)
{
	(void)state;
	struct cap c = { 0 };
	tide_stack *st = new_stack(&c, 0);
	const uint8_t types[] = { 0, 3, 11, 13, 5 };
	for (size_t i = 0; i < sizeof types; i++) {
		uint8_t p[sizeof ping_packet];
		memcpy(p, ping_packet, sizeof p);
		p[20] = types[i];
		p[21] = types[i] == 3 ? 4 : 0;
		p[22] = p[23] = 0;
		uint16_t cs = ref_csum(p + 20, sizeof p - 20);
		p[22] = (uint8_t)(cs >> 8);
		p[23] = (uint8_t)cs;
		assert_int_equal(feed(st, p, sizeof p), 0);
	}
	assert_int_equal(c.n, 0);
	assert_int_equal(CTR(st, IcmpInMsgs), sizeof types);
	assert_int_equal(CTR(st, IcmpInEchos), 0);
	assert_int_equal(CTR(st, IcmpInErrors), 0);
	assert_int_equal(CTR(st, IcmpOutMsgs), 0);
	assert_int_equal(CTR(st, IpInDelivers), sizeof types);
	tide_stack_free(st);
}

static void test_icmp_bad_messages_dropped(void **state)
{
	(void)state;
	struct cap c = { 0 };
	tide_stack *st = new_stack(&c, 0);

	uint8_t p[sizeof ping_packet];
	memcpy(p, ping_packet, sizeof p);
	p[sizeof p - 1] ^= 0x20; /* 'i' -> 'I': the ICMP checksum fails */
	assert_int_equal(feed(st, p, sizeof p), -(int)TIDE_MIB_DropIcmpChecksum);
	assert_int_equal(CTR(st, IcmpInMsgs), 1);
	assert_int_equal(CTR(st, IcmpInErrors), 1);
	assert_int_equal(CTR(st, IcmpInCsumErrors), 1);
	assert_int_equal(CTR(st, DropIcmpChecksum), 1);

	/* An IPv4 packet whose ICMP part is 0..7 bytes, each in its own
	 * exact-size buffer. */
	for (size_t n = 0; n < 8; n++) {
		uint8_t q[28];
		memcpy(q, ping_packet, 20 + n);
		q[2] = 0;
		q[3] = (uint8_t)(20 + n);
		fix_ip_csum(q);
		assert_int_equal(feed(st, q, 20 + n), -(int)TIDE_MIB_DropIcmpTruncated);
	}
	assert_int_equal(CTR(st, IcmpInMsgs), 9);
	assert_int_equal(CTR(st, IcmpInErrors), 9);
	assert_int_equal(CTR(st, IcmpInCsumErrors), 1);
	assert_int_equal(CTR(st, DropIcmpTruncated), 8);
	assert_int_equal(c.n, 0);
	assert_int_equal(CTR(st, IcmpOutMsgs), 0);

	/* Not for us: the IP layer refuses it before ICMP sees it. */
	memcpy(p, ping_packet, sizeof p);
	p[19] = 3;
	fix_ip_csum(p);
	assert_int_equal(feed(st, p, sizeof p), -(int)TIDE_MIB_DropIpNotForUs);
	assert_int_equal(CTR(st, IcmpInMsgs), 9);
	assert_int_equal(c.n, 0);
	tide_stack_free(st);
}

/* A request whose reply would not fit the MTU: tide does not fragment, so
 * no reply (the request is still counted). */
static void test_icmp_reply_larger_than_mtu_not_sent(void **state)
{
	(void)state;
	struct cap c = { 0 };
	tide_stack *st = new_stack(&c, 576);
	enum { DATA = 600 };
	uint8_t *p = malloc(20 + 8 + DATA);
	assert_non_null(p);
	memcpy(p, ping_packet, 20);
	p[2] = (uint8_t)((20 + 8 + DATA) >> 8);
	p[3] = (uint8_t)(20 + 8 + DATA);
	fix_ip_csum(p);
	uint8_t data[DATA];
	memset(data, 'x', sizeof data);
	assert_int_equal(tide_icmp_build_echo(p + 20, 8 + DATA, 8, 1, 1, data, DATA), 8 + DATA);
	assert_int_equal(feed(st, p, 20 + 8 + DATA), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(CTR(st, IcmpInEchos), 1);
	assert_int_equal(CTR(st, IcmpOutMsgs), 0);

	/* The largest that fits: 576 bytes in all. */
	size_t len = 576;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	fix_ip_csum(p);
	assert_int_equal(tide_icmp_build_echo(p + 20, len - 20, 8, 1, 1, data, len - 28), len - 20);
	assert_int_equal(feed(st, p, len), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.len, len);
	assert_int_equal(ref_csum(c.pkt, 20), 0);
	assert_int_equal(ref_csum(c.pkt + 20, len - 20), 0);
	assert_memory_equal(c.pkt + 28, data, len - 28);
	free(p);
	tide_stack_free(st);
}

/* ---- over the simulated network: a scripted pinger -------------------- */

struct pinger {
	tide_sim *sim;
	int node;
	struct cap got;
	tide_time got_at;
};

static void pinger_input(void *node, const uint8_t *pkt, size_t len, tide_time now)
{
	struct pinger *pg = node;
	capture(&pg->got, pkt, len);
	pg->got_at = now;
}

static void pinger_advance(void *node, tide_time now)
{
	(void)node;
	(void)now;
}

static tide_time pinger_next_timer(void *node)
{
	(void)node;
	return TIDE_TIME_NEVER;
}

static void test_icmp_ping_over_sim(void **state)
{
	(void)state;
	struct pinger pg = { 0 };
	pg.sim = tide_sim_new(TIDE_MS(5));
	assert_non_null(pg.sim);
	static const struct tide_sim_node_ops ops = { pinger_input, pinger_advance,
						      pinger_next_timer };
	pg.node = tide_sim_add_node(pg.sim, "pinger", PINGER, &ops, &pg);
	struct tide_config cfg;
	tide_config_init(&cfg);
	cfg.addr = TIDE;
	cfg.secret = 1;
	int tnode = tide_sim_add_stack(pg.sim, "tide", &cfg);
	assert_true(pg.node >= 0 && tnode >= 0);

	tide_sim_send(pg.sim, pg.node, ping_packet, sizeof ping_packet);
	tide_sim_run_for(pg.sim, TIDE_MS(100));
	assert_int_equal(pg.got.n, 1);
	assert_int_equal(pg.got_at, TIDE_MS(10)); /* there and back */
	uint8_t want[64];
	size_t wlen = expected_reply(want, (uint16_t)(pg.got.pkt[4] << 8 | pg.got.pkt[5]), 0);
	assert_int_equal(pg.got.len, wlen);
	assert_memory_equal(pg.got.pkt, want, wlen);
	tide_stack *st = tide_sim_stack(pg.sim, tnode);
	assert_int_equal(CTR(st, IcmpInEchos), 1);
	assert_int_equal(CTR(st, IcmpOutEchoReps), 1);
	tide_sim_free(pg.sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_icmp_build_echo_known_bytes),
		cmocka_unit_test(test_icmp_parse_known_bytes),
		cmocka_unit_test(test_icmp_parse_truncated),
		cmocka_unit_test(test_icmp_stack_answers_echo),
		cmocka_unit_test(test_icmp_reply_keeps_tos),
		cmocka_unit_test(test_icmp_other_types_counted_and_ignored),
		cmocka_unit_test(test_icmp_bad_messages_dropped),
		cmocka_unit_test(test_icmp_reply_larger_than_mtu_not_sent),
		cmocka_unit_test(test_icmp_ping_over_sim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
