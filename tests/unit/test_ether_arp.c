/*
 * Ethernet II and ARP for TAP devices: the formats against bytes written
 * out by hand, every truncation in a buffer of exactly its size (so ASan
 * sees any over-read), and the ARP cache on a virtual clock: answering for
 * our address, resolving with a queue, giving up after three requests one
 * second apart, expiry after 60 s, gratuitous ARP, and what it refuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "link/ether.h"

#include <stdlib.h>
#include <string.h>

#define KERNEL 0xc6120001u /* 198.18.0.1 */
#define TIDE   0xc6120002u /* 198.18.0.2 */
#define OTHER  0xc6120003u /* 198.18.0.3 */

static const uint8_t kmac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t tmac[6] = { 0x02, 0x74, 0x00, 0x00, 0x00, 0x02 };

/* who-has 198.18.0.2 tell 198.18.0.1, from kmac, broadcast */
static const uint8_t arp_request_frame[] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 198, 18, 0, 1,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 198, 18, 0, 2,
};
/* 198.18.0.2 is-at tmac, to kmac */
static const uint8_t arp_reply_frame[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x74, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
	0x02, 0x74, 0x00, 0x00, 0x00, 0x02, 198, 18, 0, 2,
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 198, 18, 0, 1,
};
/* tide's question: who-has 198.18.0.1 tell 198.18.0.2 */
static const uint8_t tide_request_frame[] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x74, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
	0x02, 0x74, 0x00, 0x00, 0x00, 0x02, 198, 18, 0, 2,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 198, 18, 0, 1,
};
/* the kernel's answer: 198.18.0.1 is-at kmac, to tmac */
static const uint8_t kernel_reply_frame[] = {
	0x02, 0x74, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 198, 18, 0, 1,
	0x02, 0x74, 0x00, 0x00, 0x00, 0x02, 198, 18, 0, 2,
};

/* ---- Ethernet --------------------------------------------------------- */

static void test_ether_parse_known_frame(void **state)
{
	(void)state;
	struct tide_ether e;
	assert_int_equal(tide_ether_parse(arp_request_frame, sizeof arp_request_frame, &e), 0);
	assert_memory_equal(e.dst, tide_eth_broadcast, 6);
	assert_memory_equal(e.src, kmac, 6);
	assert_int_equal(e.type, TIDE_ETHERTYPE_ARP);
	assert_ptr_equal(e.payload, arp_request_frame + 14);
	assert_int_equal(e.payload_len, 28);
	assert_true(tide_eth_is_multicast(e.dst));
	assert_false(tide_eth_is_multicast(e.src));
	char buf[18];
	assert_string_equal(tide_eth_ntoa(tmac, buf, sizeof buf), "02:74:00:00:00:02");
}

static void test_ether_parse_truncated(void **state)
{
	(void)state;
	for (size_t n = 0; n <= TIDE_ETH_HLEN; n++) {
		uint8_t *p = malloc(n ? n : 1);
		assert_non_null(p);
		memcpy(p, arp_reply_frame, n);
		struct tide_ether e;
		int r = tide_ether_parse(p, n, &e);
		if (n < TIDE_ETH_HLEN) {
			assert_int_equal(r, -1);
		} else {
			assert_int_equal(r, 0);
			assert_int_equal(e.payload_len, 0);
			assert_int_equal(e.type, 0x0806);
		}
		free(p);
	}
}

static void test_ether_build_known_frame(void **state)
{
	(void)state;
	uint8_t buf[64];
	size_t n = tide_ether_build(buf, sizeof buf, kmac, tmac, TIDE_ETHERTYPE_ARP,
				    arp_reply_frame + 14, 28);
	assert_int_equal(n, sizeof arp_reply_frame);
	assert_memory_equal(buf, arp_reply_frame, n);
	assert_int_equal(tide_ether_build(buf, 42, kmac, tmac, 0x0806, arp_reply_frame + 14, 28),
			 42);
	assert_int_equal(tide_ether_build(buf, 41, kmac, tmac, 0x0806, arp_reply_frame + 14, 28),
			 0);
	assert_int_equal(tide_ether_build(buf, 13, kmac, tmac, 0x0800, NULL, 0), 0);
	assert_int_equal(tide_ether_build(buf, 14, kmac, tmac, 0x0800, NULL, 0), 14);
}

/* ---- ARP format ------------------------------------------------------- */

static void test_arp_parse_known(void **state)
{
	(void)state;
	struct tide_arp_pkt a;
	assert_int_equal(tide_arp_parse(arp_request_frame + 14, 28, &a), 0);
	assert_int_equal(a.op, TIDE_ARP_REQUEST);
	assert_memory_equal(a.sha, kmac, 6);
	assert_int_equal(a.spa, KERNEL);
	assert_int_equal(a.tpa, TIDE);
	assert_int_equal(tide_arp_parse(arp_reply_frame + 14, 28, &a), 0);
	assert_int_equal(a.op, TIDE_ARP_REPLY);
	assert_memory_equal(a.sha, tmac, 6);
	assert_memory_equal(a.tha, kmac, 6);

	/* padded to Ethernet's 60 bytes: fine */
	uint8_t padded[46] = { 0 };
	memcpy(padded, arp_request_frame + 14, 28);
	assert_int_equal(tide_arp_parse(padded, sizeof padded, &a), 0);

	/* not Ethernet/IPv4 */
	const size_t fields[] = { 1, 3, 4, 5 }; /* htype, ptype, hlen, plen */
	for (size_t i = 0; i < 4; i++) {
		uint8_t p[28];
		memcpy(p, arp_request_frame + 14, 28);
		p[fields[i]] ^= 0x01;
		assert_int_equal(tide_arp_parse(p, 28, &a), -1);
	}
}

static void test_arp_parse_truncated(void **state)
{
	(void)state;
	for (size_t n = 0; n < TIDE_ARP_LEN; n++) {
		uint8_t *p = malloc(n ? n : 1);
		assert_non_null(p);
		memcpy(p, arp_request_frame + 14, n);
		struct tide_arp_pkt a;
		assert_int_equal(tide_arp_parse(p, n, &a), -1);
		free(p);
	}
}

static void test_arp_build_known(void **state)
{
	(void)state;
	struct tide_arp_pkt a = { .op = TIDE_ARP_REPLY, .spa = TIDE, .tpa = KERNEL };
	memcpy(a.sha, tmac, 6);
	memcpy(a.tha, kmac, 6);
	uint8_t buf[28];
	assert_int_equal(tide_arp_build(buf, sizeof buf, &a), 28);
	assert_memory_equal(buf, arp_reply_frame + 14, 28);
	assert_int_equal(tide_arp_build(buf, 27, &a), 0);
}

/* ---- the cache -------------------------------------------------------- */

struct sent {
	uint8_t f[32][128];
	size_t len[32];
	size_t n;
};

static void xmit(void *ctx, const uint8_t *frame, size_t len)
{
	struct sent *s = ctx;
	assert_true(s->n < 32 && len <= 128);
	memcpy(s->f[s->n], frame, len);
	s->len[s->n++] = len;
}

static void expect_frame(const struct sent *s, size_t i, const uint8_t *want, size_t len)
{
	assert_true(i < s->n);
	assert_int_equal(s->len[i], len);
	assert_memory_equal(s->f[i], want, len);
}

/* An IPv4 "packet" whose bytes say which one it is. */
static void fake_packet(uint8_t *p, size_t len, uint8_t tag)
{
	memset(p, tag, len);
	p[0] = 0x45;
}

/* The IPv4 frame tide must send for fake_packet(tag) to `to`. */
static void expect_ip_frame(const struct sent *s, size_t i, const uint8_t to[6], uint8_t tag,
			    size_t plen)
{
	uint8_t want[128], pkt[100];
	fake_packet(pkt, plen, tag);
	size_t n = tide_ether_build(want, sizeof want, to, tmac, TIDE_ETHERTYPE_IPV4, pkt, plen);
	expect_frame(s, i, want, n);
	assert_int_equal(want[12], 0x08);
	assert_int_equal(want[13], 0x00);
}

static struct tide_arp_cache *new_cache(struct sent *s)
{
	memset(s, 0, sizeof *s);
	struct tide_arp_cache *c = tide_arp_cache_new(tmac, TIDE, xmit, s);
	assert_non_null(c);
	return c;
}

static int input(struct tide_arp_cache *c, const uint8_t *frame, size_t len, tide_time now)
{
	uint8_t *p = malloc(len - 14);
	assert_non_null(p);
	memcpy(p, frame + 14, len - 14);
	int r = tide_arp_input(c, p, len - 14, now);
	free(p);
	return r;
}

static void test_arp_answers_for_our_address(void **state)
{
	(void)state;
	struct sent s;
	struct tide_arp_cache *c = new_cache(&s);
	assert_int_equal(input(c, arp_request_frame, sizeof arp_request_frame, 0), 0);
	assert_int_equal(s.n, 1);
	expect_frame(&s, 0, arp_reply_frame, sizeof arp_reply_frame);
	/* It learnt who asked: talking back needs no request. */
	uint8_t mac[6];
	assert_true(tide_arp_lookup(c, KERNEL, mac, 0));
	assert_memory_equal(mac, kmac, 6);
	uint8_t pkt[40];
	fake_packet(pkt, sizeof pkt, 7);
	tide_arp_output(c, KERNEL, pkt, sizeof pkt, TIDE_MS(1));
	assert_int_equal(s.n, 2);
	expect_ip_frame(&s, 1, kmac, 7, sizeof pkt);
	struct tide_arp_counts n;
	tide_arp_get_counts(c, &n);
	assert_int_equal(n.replies, 1);
	assert_int_equal(n.requests, 0);
	assert_int_equal(n.queued, 0);
	tide_arp_cache_free(c);
}

static void test_arp_ignores_requests_for_others(void **state)
{
	(void)state;
	struct sent s;
	struct tide_arp_cache *c = new_cache(&s);
	uint8_t f[sizeof arp_request_frame];
	memcpy(f, arp_request_frame, sizeof f);
	f[41] = 3; /* who-has 198.18.0.3 */
	assert_int_equal(input(c, f, sizeof f, 0), 0);
	assert_int_equal(s.n, 0);
	uint8_t mac[6];
	assert_false(tide_arp_lookup(c, KERNEL, mac, 0));
	tide_arp_cache_free(c);
}

/* A packet to an unknown next hop waits behind a broadcast request; the
 * reply releases it, to the MAC it gave. */
static void test_arp_resolves_and_flushes_queue(void **state)
{
	(void)state;
	struct sent s;
	struct tide_arp_cache *c = new_cache(&s);
	uint8_t pkt[40];
	fake_packet(pkt, sizeof pkt, 1);
	tide_arp_output(c, KERNEL, pkt, sizeof pkt, TIDE_SEC(5));
	fake_packet(pkt, sizeof pkt, 2);
	tide_arp_output(c, KERNEL, pkt, sizeof pkt, TIDE_SEC(5) + 10);
	assert_int_equal(s.n, 1);
	expect_frame(&s, 0, tide_request_frame, sizeof tide_request_frame);
	assert_int_equal(tide_arp_pending(c, KERNEL), 2);
	assert_int_equal(tide_arp_next_timer(c), TIDE_SEC(6));

	assert_int_equal(input(c, kernel_reply_frame, sizeof kernel_reply_frame, TIDE_SEC(5) + 500),
			 0);
	assert_int_equal(s.n, 3);
	expect_ip_frame(&s, 1, kmac, 1, sizeof pkt);
	expect_ip_frame(&s, 2, kmac, 2, sizeof pkt);
	assert_int_equal(tide_arp_pending(c, KERNEL), 0);
	assert_int_equal(tide_arp_next_timer(c), TIDE_TIME_NEVER);
	struct tide_arp_counts n;
	tide_arp_get_counts(c, &n);
	assert_int_equal(n.requests, 1);
	assert_int_equal(n.queued, 2);
	assert_int_equal(n.failed, 0);
	assert_int_equal(n.replies, 0);
	tide_arp_cache_free(c);
}

/* Three requests, one second apart; one second after the third the queue
 * is dropped and counted. */
static void test_arp_gives_up_after_three_requests(void **state)
{
	(void)state;
	struct sent s;
	struct tide_arp_cache *c = new_cache(&s);
	uint8_t pkt[40];
	for (uint8_t i = 0; i < 3; i++) {
		fake_packet(pkt, sizeof pkt, i);
		tide_arp_output(c, KERNEL, pkt, sizeof pkt, 0);
	}
	assert_int_equal(s.n, 1);
	tide_arp_advance(c, TIDE_SEC(1) - 1);
	assert_int_equal(s.n, 1);
	assert_int_equal(tide_arp_next_timer(c), TIDE_SEC(1));
	tide_arp_advance(c, TIDE_SEC(1));
	assert_int_equal(s.n, 2);
	expect_frame(&s, 1, tide_request_frame, sizeof tide_request_frame);
	assert_int_equal(tide_arp_next_timer(c), TIDE_SEC(2));
	tide_arp_advance(c, TIDE_SEC(2));
	assert_int_equal(s.n, 3);
	expect_frame(&s, 2, tide_request_frame, sizeof tide_request_frame);
	assert_int_equal(tide_arp_pending(c, KERNEL), 3);
	tide_arp_advance(c, TIDE_SEC(3));
	assert_int_equal(s.n, 3);
	assert_int_equal(tide_arp_pending(c, KERNEL), 0);
	assert_int_equal(tide_arp_next_timer(c), TIDE_TIME_NEVER);
	struct tide_arp_counts n;
	tide_arp_get_counts(c, &n);
	assert_int_equal(n.requests, 3);
	assert_int_equal(n.queued, 3);
	assert_int_equal(n.failed, 3);

	/* A late reply teaches the address all the same; a new packet then
	 * goes straight out. */
	assert_int_equal(input(c, kernel_reply_frame, sizeof kernel_reply_frame, TIDE_SEC(4)), 0);
	tide_arp_output(c, KERNEL, pkt, sizeof pkt, TIDE_SEC(4));
	assert_int_equal(s.n, 4);
	expect_ip_frame(&s, 3, kmac, 2, sizeof pkt);
	tide_arp_cache_free(c);
}

/* The queue holds TIDE_ARP_QLEN packets; the oldest make room. */
static void test_arp_queue_overflow_drops_oldest(void **state)
{
	(void)state;
	struct sent s;
	struct tide_arp_cache *c = new_cache(&s);
	uint8_t pkt[40];
	for (uint8_t i = 0; i < TIDE_ARP_QLEN + 2; i++) {
		fake_packet(pkt, sizeof pkt, i);
		tide_arp_output(c, KERNEL, pkt, sizeof pkt, 0);
	}
	assert_int_equal(tide_arp_pending(c, KERNEL), TIDE_ARP_QLEN);
	struct tide_arp_counts n;
	tide_arp_get_counts(c, &n);
	assert_int_equal(n.queued, TIDE_ARP_QLEN + 2);
	assert_int_equal(n.failed, 2);
	assert_int_equal(input(c, kernel_reply_frame, sizeof kernel_reply_frame, 100), 0);
	assert_int_equal(s.n, 1 + TIDE_ARP_QLEN);
	for (size_t i = 0; i < TIDE_ARP_QLEN; i++)
		expect_ip_frame(&s, 1 + i, kmac, (uint8_t)(i + 2), sizeof pkt);
	tide_arp_cache_free(c);
}

/* After 60 s an entry is no longer trusted: the next packet still goes to
 * the old MAC, with a request; without an answer the entry goes. */
static void test_arp_entry_expires_after_60s(void **state)
{
	(void)state;
	struct sent s;
	struct tide_arp_cache *c = new_cache(&s);
	assert_int_equal(input(c, arp_request_frame, sizeof arp_request_frame, 0), 0);
	s.n = 0;
	uint8_t mac[6];
	assert_true(tide_arp_lookup(c, KERNEL, mac, TIDE_SEC(60) - 1));
	assert_false(tide_arp_lookup(c, KERNEL, mac, TIDE_SEC(60)));

	uint8_t pkt[40];
	fake_packet(pkt, sizeof pkt, 9);
	tide_arp_output(c, KERNEL, pkt, sizeof pkt, TIDE_SEC(60));
	assert_int_equal(s.n, 2);
	expect_frame(&s, 0, tide_request_frame, sizeof tide_request_frame);
	expect_ip_frame(&s, 1, kmac, 9, sizeof pkt);
	tide_arp_advance(c, TIDE_SEC(61));
	tide_arp_advance(c, TIDE_SEC(62));
	assert_int_equal(s.n, 4);
	/* still usable while probing */
	tide_arp_output(c, KERNEL, pkt, sizeof pkt, TIDE_SEC(62) + 1);
	assert_int_equal(s.n, 5);
	expect_ip_frame(&s, 4, kmac, 9, sizeof pkt);
	tide_arp_advance(c, TIDE_SEC(63));
	assert_int_equal(s.n, 5);
	/* gone: the next packet waits for a fresh resolution */
	tide_arp_output(c, KERNEL, pkt, sizeof pkt, TIDE_SEC(64));
	assert_int_equal(s.n, 6);
	expect_frame(&s, 5, tide_request_frame, sizeof tide_request_frame);
	assert_int_equal(tide_arp_pending(c, KERNEL), 1);

	struct tide_arp_counts n;
	tide_arp_get_counts(c, &n);
	assert_int_equal(n.failed, 0);
	assert_int_equal(n.requests, 4);
	tide_arp_cache_free(c);
}

/* Answered in time, a probe refreshes the entry for another 60 s. */
static void test_arp_refresh_answered(void **state)
{
	(void)state;
	struct sent s;
	struct tide_arp_cache *c = new_cache(&s);
	assert_int_equal(input(c, arp_request_frame, sizeof arp_request_frame, 0), 0);
	uint8_t pkt[40];
	fake_packet(pkt, sizeof pkt, 1);
	tide_arp_output(c, KERNEL, pkt, sizeof pkt, TIDE_SEC(70));
	assert_int_equal(input(c, kernel_reply_frame, sizeof kernel_reply_frame, TIDE_SEC(70) + 5),
			 0);
	assert_int_equal(tide_arp_next_timer(c), TIDE_TIME_NEVER);
	uint8_t mac[6];
	assert_true(tide_arp_lookup(c, KERNEL, mac, TIDE_SEC(129)));
	tide_arp_cache_free(c);
}

/* Gratuitous ARP (sender = target address), request or reply: learnt, and
 * a changed MAC followed at once. */
static void test_arp_gratuitous(void **state)
{
	(void)state;
	struct sent s;
	struct tide_arp_cache *c = new_cache(&s);
	struct tide_arp_pkt a = { .op = TIDE_ARP_REPLY, .spa = OTHER, .tpa = OTHER };
	const uint8_t m1[6] = { 0x02, 0, 0, 0, 0, 0x33 }, m2[6] = { 0x02, 0, 0, 0, 0, 0x34 };
	memcpy(a.sha, m1, 6);
	memcpy(a.tha, tide_eth_broadcast, 6);
	uint8_t p[28];
	tide_arp_build(p, sizeof p, &a);
	assert_int_equal(tide_arp_input(c, p, sizeof p, 0), 0);
	uint8_t mac[6];
	assert_true(tide_arp_lookup(c, OTHER, mac, 0));
	assert_memory_equal(mac, m1, 6);
	a.op = TIDE_ARP_REQUEST;
	memcpy(a.sha, m2, 6);
	tide_arp_build(p, sizeof p, &a);
	assert_int_equal(tide_arp_input(c, p, sizeof p, 1), 0);
	assert_true(tide_arp_lookup(c, OTHER, mac, 1));
	assert_memory_equal(mac, m2, 6);
	assert_int_equal(s.n, 0); /* nothing to answer */
	tide_arp_cache_free(c);
}

/* A probe (sender address 0, RFC 5227) for our address is answered, and
 * teaches nothing. */
static void test_arp_probe_answered(void **state)
{
	(void)state;
	struct sent s;
	struct tide_arp_cache *c = new_cache(&s);
	uint8_t f[sizeof arp_request_frame];
	memcpy(f, arp_request_frame, sizeof f);
	memset(f + 28, 0, 4);
	assert_int_equal(input(c, f, sizeof f, 0), 0);
	assert_int_equal(s.n, 1);
	uint8_t want[sizeof arp_reply_frame];
	memcpy(want, arp_reply_frame, sizeof want);
	memset(want + 38, 0, 4);
	expect_frame(&s, 0, want, sizeof want);
	assert_int_equal(tide_arp_next_timer(c), TIDE_TIME_NEVER);
	uint8_t mac[6];
	assert_false(tide_arp_lookup(c, 0, mac, 0));
	tide_arp_cache_free(c);
}

/* From our own MAC, claiming our address, from a multicast MAC, an unknown
 * operation, truncated: ignored and counted. */
static void test_arp_refused(void **state)
{
	(void)state;
	struct sent s;
	struct tide_arp_cache *c = new_cache(&s);
	uint8_t f[sizeof arp_request_frame];
	unsigned refused = 0;

	memcpy(f, arp_request_frame, sizeof f);
	memcpy(f + 22, tmac, 6);
	assert_int_equal(input(c, f, sizeof f, 0), -1), refused++;

	memcpy(f, arp_request_frame, sizeof f);
	f[31] = 2; /* sender claims 198.18.0.2 */
	assert_int_equal(input(c, f, sizeof f, 0), -1), refused++;

	memcpy(f, arp_request_frame, sizeof f);
	f[22] = 0x01; /* multicast sender */
	assert_int_equal(input(c, f, sizeof f, 0), -1), refused++;

	memcpy(f, arp_request_frame, sizeof f);
	f[21] = 3; /* RARP request */
	assert_int_equal(input(c, f, sizeof f, 0), -1), refused++;

	assert_int_equal(input(c, arp_request_frame, 14 + 27, 0), -1), refused++;

	assert_int_equal(s.n, 0);
	struct tide_arp_counts n;
	tide_arp_get_counts(c, &n);
	assert_int_equal(n.dropped, refused);
	uint8_t mac[6];
	assert_false(tide_arp_lookup(c, KERNEL, mac, 0));
	tide_arp_cache_free(c);
}

/* A full table makes room by forgetting the least recently used entry. */
static void test_arp_table_full_evicts_lru(void **state)
{
	(void)state;
	struct sent s;
	struct tide_arp_cache *c = new_cache(&s);
	for (uint32_t i = 0; i < TIDE_ARP_ENTRIES + 1; i++) {
		struct tide_arp_pkt a = { .op = TIDE_ARP_REPLY, .spa = 0xc6130000u + i,
					  .tpa = TIDE };
		a.sha[0] = 0x02;
		a.sha[5] = (uint8_t)i;
		memcpy(a.tha, tmac, 6);
		uint8_t p[28];
		tide_arp_build(p, sizeof p, &a);
		assert_int_equal(tide_arp_input(c, p, sizeof p, TIDE_MS(i)), 0);
	}
	uint8_t mac[6];
	assert_false(tide_arp_lookup(c, 0xc6130000u, mac, TIDE_SEC(1)));
	assert_true(tide_arp_lookup(c, 0xc6130001u, mac, TIDE_SEC(1)));
	assert_true(tide_arp_lookup(c, 0xc6130000u + TIDE_ARP_ENTRIES, mac, TIDE_SEC(1)));
	tide_arp_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ether_parse_known_frame),
		cmocka_unit_test(test_ether_parse_truncated),
		cmocka_unit_test(test_ether_build_known_frame),
		cmocka_unit_test(test_arp_parse_known),
		cmocka_unit_test(test_arp_parse_truncated),
		cmocka_unit_test(test_arp_build_known),
		cmocka_unit_test(test_arp_answers_for_our_address),
		cmocka_unit_test(test_arp_ignores_requests_for_others),
		cmocka_unit_test(test_arp_resolves_and_flushes_queue),
		cmocka_unit_test(test_arp_gives_up_after_three_requests),
		cmocka_unit_test(test_arp_queue_overflow_drops_oldest),
		cmocka_unit_test(test_arp_entry_expires_after_60s),
		cmocka_unit_test(test_arp_refresh_answered),
		cmocka_unit_test(test_arp_gratuitous),
		cmocka_unit_test(test_arp_probe_answered),
		cmocka_unit_test(test_arp_refused),
		cmocka_unit_test(test_arp_table_full_evicts_lru),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
