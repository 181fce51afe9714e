/*
 * Malformed packets fed straight into a stack (tide_stack_input): every one
 * is refused with minus the counter of its reason, that counter and the
 * stack's general ones (IpInHdrErrors, IpInAddrErrors, IpReasmFails,
 * IpInUnknownProtos, InErrs, InCsumErrors) move by exactly one, nothing is
 * sent, and the established connection next to them keeps working. Then
 * every prefix of a valid packet (in a buffer of exactly that size, so
 * ASan sees any over-read) and 10,000 random or mutated packets: the stack
 * never crashes and every packet is either taken or counted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "inject.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CPORT 40000
#define SPORT 80
#define NONE TIDE_MIB_MAX /* ends a list of counters */

/* The valid packet every case starts from: the client's next segment,
 * [PSH,ACK] seq 101 ack 301 "hello" with its timestamps (20 + 32 + 5). */
#define VALID_LEN 57
#define TCP_OFF 20   /* the TCP header in the packet */
#define OPT_OFF 40   /* its options: NOP, NOP, TS */
#define DATA_OFF 52  /* the payload */

struct fx {
	struct th h;
	int cfd, sfd;
	uint8_t valid[VALID_LEN];
};

/* ---- packet surgery --------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Recomputes the IPv4 header checksum (a header of IHL words, if it fits). */
static void fix_ip_csum(uint8_t *pkt, size_t len)
{
	size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
	if (len < 20 || ihl < 20 || ihl > len)
		return;
	put16(pkt + 10, 0);
	put16(pkt + 10, tide_csum_fold(tide_csum_add(0, pkt, ihl)));
}

/* Recomputes the TCP checksum over what the IP header says is the segment
 * (if the headers are sane enough to find it). */
static void fix_tcp_csum(uint8_t *pkt, size_t len)
{
	size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
	size_t total = (size_t)pkt[2] << 8 | pkt[3];
	if (len < 20 || ihl < 20 || total > len || total < ihl + 20)
		return;
	uint8_t *seg = pkt + ihl;
	put16(seg + 16, 0);
	put16(seg + 16, tide_tcp_checksum(get32(pkt + 12), get32(pkt + 16), seg, total - ihl));
}

/* ---- fixture ---------------------------------------------------------- */

static uint32_t ts_now(struct th *h, int node)
{
	for (size_t i = 0; i < h->nsegs; i++) {
		const struct th_seg *s = &h->segs[i];
		if (s->from == node && (s->opts.present & TIDE_OPT_TS))
			return s->opts.tsval - (uint32_t)(s->t / 1000) + (uint32_t)(th_now(h) / 1000);
	}
	fail_msg("no timestamp seen from node %d", node);
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	th_init(&f->h, NULL);
	th_establish(&f->h, &f->cfd, &f->sfd, NULL);
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.present = TIDE_OPT_TS;
	o.tsval = ts_now(&f->h, f->h.c);
	o.tsecr = ts_now(&f->h, f->h.s);
	size_t n = th_build_seg(&f->h, f->h.c, f->valid, sizeof(f->valid), CPORT, SPORT,
				TIDE_TCP_PSH | TIDE_TCP_ACK, 101, 301, th_seg(&f->h, 2)->win,
				"hello", 5, &o);
	assert_int_equal(n, VALID_LEN);
	/* The layout the cases below rely on. */
	assert_int_equal(f->valid[0], 0x45);
	assert_int_equal(f->valid[TCP_OFF + 12], 8 << 4);
	assert_memory_equal(f->valid + OPT_OFF, "\x01\x01\x08\x0a", 4);
	assert_memory_equal(f->valid + DATA_OFF, "hello", 5);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tide_close(f->h.C, f->cfd);
	tide_close(f->h.S, f->sfd);
	th_free(&f->h);
	free(f);
	return 0;
}

/* ---- assertions ------------------------------------------------------- */

/* Feeds len bytes of pkt (copied into a buffer of exactly that size) to
 * the server; returns tide_stack_input's result. */
static int feed(struct fx *f, const uint8_t *pkt, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	if (len)
		memcpy(buf, pkt, len);
	int r = th_inject_raw(&f->h, f->h.s, buf, len);
	free(buf);
	return r;
}

/* The server refuses the packet with -why; exactly IpInReceives, why and
 * the listed counters (ending with NONE) move, each by one; nothing is
 * sent; the connection is still ESTABLISHED. */
static void expect_drop(struct fx *f, const uint8_t *pkt, size_t len, enum tide_counter why, ...)
{
	uint64_t want[TIDE_MIB_MAX];
	for (int c = 0; c < TIDE_MIB_MAX; c++)
		want[c] = tide_stack_counter(f->h.S, (enum tide_counter)c);
	want[TIDE_MIB_IpInReceives]++;
	want[why]++;
	va_list ap;
	va_start(ap, why);
	for (int c = va_arg(ap, int); c != NONE; c = va_arg(ap, int))
		want[c]++;
	va_end(ap);
	size_t nsegs = f->h.nsegs;

	int r = feed(f, pkt, len);
	if (r != -(int)why) {
		th_dump(&f->h);
		fail_msg("tide_stack_input returned %d, expected -%s (%d)", r,
			 tide_counter_name(why), -(int)why);
	}
	for (int c = 0; c < TIDE_MIB_MAX; c++) {
		uint64_t got = tide_stack_counter(f->h.S, (enum tide_counter)c);
		if (got != want[c])
			fail_msg("counter %s is %llu, expected %llu (drop reason %s)",
				 tide_counter_name((enum tide_counter)c), (unsigned long long)got,
				 (unsigned long long)want[c], tide_counter_name(why));
	}
	th_expect_nsegs(&f->h, nsegs);
	assert_int_equal(tide_sock_state(f->h.S, f->sfd), TIDE_TCP_ESTABLISHED);
}

static void expect_recv(struct fx *f, tide_stack *st, int fd, const char *text)
{
	char buf[64];
	size_t want = strlen(text);
	ssize_t n = tide_recv(st, fd, buf, sizeof(buf), 0);
	if (n != (ssize_t)want || memcmp(buf, text, want) != 0) {
		th_dump(&f->h);
		fail_msg("recv: got %zd bytes, expected \"%s\"", n, text);
	}
}

/* The connection still carries data both ways. */
static void expect_unharmed(struct fx *f)
{
	assert_int_equal(tide_send(f->h.C, f->cfd, "ping", 4, 0), 4);
	th_run_for(&f->h, TIDE_MS(5));
	expect_recv(f, f->h.S, f->sfd, "ping");
	assert_int_equal(tide_send(f->h.S, f->sfd, "pong", 4, 0), 4);
	th_run_for(&f->h, TIDE_MS(5));
	expect_recv(f, f->h.C, f->cfd, "pong");
}

/* ---- IPv4 ------------------------------------------------------------- */

/* Shorter than an IPv4 header, or than its own IHL. */
static void test_malformed_ip_truncated(void **state)
{
	struct fx *f = *state;
	uint8_t p[VALID_LEN];
	memcpy(p, f->valid, VALID_LEN);
	expect_drop(f, p, 0, TIDE_MIB_DropIpTruncated, TIDE_MIB_IpInHdrErrors, NONE);
	expect_drop(f, p, 19, TIDE_MIB_DropIpTruncated, TIDE_MIB_IpInHdrErrors, NONE);
	p[0] = 0x46; /* 24 bytes of header in a 20-byte packet */
	put16(p + 2, 20);
	expect_drop(f, p, 20, TIDE_MIB_DropIpTruncated, TIDE_MIB_IpInHdrErrors, NONE);
	expect_unharmed(f);
}

/* Version 6 (or anything but 4). */
static void test_malformed_ip_version(void **state)
{
	struct fx *f = *state;
	uint8_t p[VALID_LEN];
	memcpy(p, f->valid, VALID_LEN);
	p[0] = 0x65;
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropIpVersion, TIDE_MIB_IpInHdrErrors, NONE);
	p[0] = 0x05;
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropIpVersion, TIDE_MIB_IpInHdrErrors, NONE);
	expect_unharmed(f);
}

/* IHL below 5 words. */
static void test_malformed_ip_header_length(void **state)
{
	struct fx *f = *state;
	uint8_t p[VALID_LEN];
	memcpy(p, f->valid, VALID_LEN);
	p[0] = 0x44;
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropIpHeaderLength, TIDE_MIB_IpInHdrErrors, NONE);
	p[0] = 0x40;
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropIpHeaderLength, TIDE_MIB_IpInHdrErrors, NONE);
	expect_unharmed(f);
}

/* A total length beyond the buffer, or below the header. */
static void test_malformed_ip_total_length(void **state)
{
	struct fx *f = *state;
	uint8_t p[VALID_LEN];
	memcpy(p, f->valid, VALID_LEN);
	put16(p + 2, VALID_LEN + 1);
	fix_ip_csum(p, VALID_LEN);
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropIpTotalLength, TIDE_MIB_IpInHdrErrors, NONE);
	put16(p + 2, 19);
	fix_ip_csum(p, VALID_LEN);
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropIpTotalLength, TIDE_MIB_IpInHdrErrors, NONE);
	expect_unharmed(f);
}

/* A header checksum that does not add up. */
static void test_malformed_ip_checksum(void **state)
{
	struct fx *f = *state;
	uint8_t p[VALID_LEN];
	memcpy(p, f->valid, VALID_LEN);
	p[11] ^= 0x01;
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropIpChecksum, TIDE_MIB_IpInHdrErrors, NONE);
	memcpy(p, f->valid, VALID_LEN);
	p[8] = 63; /* TTL changed, checksum not */
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropIpChecksum, TIDE_MIB_IpInHdrErrors, NONE);
	expect_unharmed(f);
}

/* Fragments (MF set, or a non-zero offset): tide does not reassemble. */
static void test_malformed_ip_fragment(void **state)
{
	struct fx *f = *state;
	uint8_t p[VALID_LEN];
	memcpy(p, f->valid, VALID_LEN);
	put16(p + 6, 0x2000); /* MF, offset 0: a first fragment */
	fix_ip_csum(p, VALID_LEN);
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropIpFragment, TIDE_MIB_IpReasmFails, NONE);
	put16(p + 6, 0x4001); /* DF, offset 8 bytes: a last fragment */
	fix_ip_csum(p, VALID_LEN);
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropIpFragment, TIDE_MIB_IpReasmFails, NONE);
	expect_unharmed(f);
}

/* For another host (tide does not forward). */
static void test_malformed_ip_not_for_us(void **state)
{
	struct fx *f = *state;
	uint8_t p[VALID_LEN];
	memcpy(p, f->valid, VALID_LEN);
	put32(p + 16, 0xc6120003u); /* 198.18.0.3 */
	fix_ip_csum(p, VALID_LEN);
	fix_tcp_csum(p, VALID_LEN);
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropIpNotForUs, TIDE_MIB_IpInAddrErrors, NONE);
	expect_unharmed(f);
}

/* Sources no host may have: this network, loopback, multicast,
 * broadcast. */
static void test_malformed_ip_bad_source(void **state)
{
	struct fx *f = *state;
	static const uint32_t bad[] = { 0x00000000u, 0x7f000001u, 0xe0000001u, 0xffffffffu };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t p[VALID_LEN];
		memcpy(p, f->valid, VALID_LEN);
		put32(p + 12, bad[i]);
		fix_ip_csum(p, VALID_LEN);
		fix_tcp_csum(p, VALID_LEN);
		expect_drop(f, p, VALID_LEN, TIDE_MIB_DropIpBadSource, TIDE_MIB_IpInAddrErrors,
			    NONE);
	}
	expect_unharmed(f);
}

/* UDP: tide speaks only TCP and ICMP. A TCP segment relabelled as ICMP is
 * delivered to ICMP, whose checksum then fails (tests/unit/test_icmp.c has
 * the rest of ICMP). */
static void test_malformed_ip_protocol(void **state)
{
	struct fx *f = *state;
	uint8_t p[VALID_LEN];
	memcpy(p, f->valid, VALID_LEN);
	p[9] = 17;
	fix_ip_csum(p, VALID_LEN);
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropIpProtocol, TIDE_MIB_IpInUnknownProtos, NONE);
	p[9] = 1;
	fix_ip_csum(p, VALID_LEN);
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropIcmpChecksum, TIDE_MIB_IpInDelivers,
		    TIDE_MIB_IcmpInMsgs, TIDE_MIB_IcmpInErrors, TIDE_MIB_IcmpInCsumErrors, NONE);
	expect_unharmed(f);
}

/* ---- TCP -------------------------------------------------------------- */

/* A TCP header cut short: below 20 bytes, or below its data offset.
 * Discarded without InErrs, as Linux does. */
static void test_malformed_tcp_truncated(void **state)
{
	struct fx *f = *state;
	uint8_t p[VALID_LEN];
	memcpy(p, f->valid, VALID_LEN);
	put16(p + 2, 20 + 19);
	fix_ip_csum(p, VALID_LEN);
	expect_drop(f, p, 20 + 19, TIDE_MIB_DropTcpTruncated, TIDE_MIB_IpInDelivers, NONE);
	memcpy(p, f->valid, VALID_LEN);
	p[TCP_OFF + 12] = 15 << 4; /* 60 bytes of header in a 37-byte segment */
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropTcpTruncated, TIDE_MIB_IpInDelivers, NONE);
	expect_unharmed(f);
}

/* A data offset below 5 words. */
static void test_malformed_tcp_offset(void **state)
{
	struct fx *f = *state;
	uint8_t p[VALID_LEN];
	memcpy(p, f->valid, VALID_LEN);
	p[TCP_OFF + 12] = 4 << 4;
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropTcpOffset, TIDE_MIB_IpInDelivers,
		    TIDE_MIB_InErrs, NONE);
	p[TCP_OFF + 12] = 0;
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropTcpOffset, TIDE_MIB_IpInDelivers,
		    TIDE_MIB_InErrs, NONE);
	expect_unharmed(f);
}

/* A TCP checksum that does not add up (a flipped payload bit). */
static void test_malformed_tcp_checksum(void **state)
{
	struct fx *f = *state;
	uint8_t p[VALID_LEN];
	memcpy(p, f->valid, VALID_LEN);
	p[DATA_OFF] ^= 0x20;
	expect_drop(f, p, VALID_LEN, TIDE_MIB_DropTcpChecksum, TIDE_MIB_IpInDelivers,
		    TIDE_MIB_InErrs, TIDE_MIB_InCsumErrors, NONE);
	assert_int_equal(tide_recv(f->h.S, f->sfd, p, 1, 0), -1);
	assert_int_equal(errno, EAGAIN);
	expect_unharmed(f);
}

/* Options that run past the header or have a length their kind forbids:
 * as in Linux, the option list ends there and the segment is taken, its
 * data delivered; nothing counts as an error. Each copy carries the next
 * five bytes, so every one is new data. */
static void test_malformed_tcp_option(void **state)
{
	struct fx *f = *state;
	static const uint8_t bad[][12] = {
		{ 1, 1, 8, 12 }, /* TS claiming 12 bytes where 10 are left */
		{ 1, 1, 8, 1 },  /* a length below 2 */
		{ 1, 1, 2, 10 }, /* MSS of length 10 */
		/* the last byte of the header is an option kind (9, unknown)
		 * whose length byte would be past the header */
		{ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9 },
	};
	uint32_t seq = get32(f->valid + TCP_OFF + 4);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t p[VALID_LEN];
		memcpy(p, f->valid, VALID_LEN);
		memcpy(p + OPT_OFF, bad[i], 12);
		put32(p + TCP_OFF + 4, seq + 5u * (uint32_t)i);
		fix_tcp_csum(p, VALID_LEN);
		uint64_t before[TIDE_MIB_MAX];
		for (int c = 0; c < TIDE_MIB_MAX; c++)
			before[c] = tide_stack_counter(f->h.S, (enum tide_counter)c);
		assert_int_equal(feed(f, p, VALID_LEN), 0);
		assert_int_equal(tide_stack_counter(f->h.S, TIDE_MIB_InSegs), before[TIDE_MIB_InSegs] + 1);
		assert_int_equal(tide_stack_counter(f->h.S, TIDE_MIB_InErrs), before[TIDE_MIB_InErrs]);
		for (int c = TIDE_MIB_DropIpTruncated; c < TIDE_MIB_MAX; c++)
			assert_int_equal(tide_stack_counter(f->h.S, (enum tide_counter)c), before[c]);
		expect_recv(f, f->h.S, f->sfd, "hello");
	}
}

/* ---- prefixes and noise ----------------------------------------------- */

/* Every prefix of a valid packet, as it stands (the IP total length then
 * exceeds the buffer) and with the total length cut to match (the TCP
 * header or its checksum then fails); then the whole packet is taken. */
static void test_malformed_every_prefix_is_counted(void **state)
{
	struct fx *f = *state;
	for (size_t n = 0; n < VALID_LEN; n++) {
		enum tide_counter why = n < 20 ? TIDE_MIB_DropIpTruncated : TIDE_MIB_DropIpTotalLength;
		expect_drop(f, f->valid, n, why, TIDE_MIB_IpInHdrErrors, NONE);
	}
	for (size_t n = 20; n < VALID_LEN; n++) {
		uint8_t p[VALID_LEN];
		memcpy(p, f->valid, n);
		put16(p + 2, (uint16_t)n);
		fix_ip_csum(p, n);
		if (n < DATA_OFF) { /* shorter than 20 bytes, or than the 32 of doff */
			expect_drop(f, p, n, TIDE_MIB_DropTcpTruncated, TIDE_MIB_IpInDelivers, NONE);
		} else {
			assert_int_not_equal(tide_tcp_checksum(TH_CLIENT_ADDR, TH_SERVER_ADDR,
							       p + TCP_OFF, n - TCP_OFF), 0);
			expect_drop(f, p, n, TIDE_MIB_DropTcpChecksum, TIDE_MIB_IpInDelivers,
				    TIDE_MIB_InErrs, TIDE_MIB_InCsumErrors, NONE);
		}
	}
	/* The whole packet is the client's next segment: taken. */
	assert_int_equal(feed(f, f->valid, VALID_LEN), 0);
	expect_recv(f, f->h.S, f->sfd, "hello");
	/* The client's real "hello" is now an old duplicate: the server's
	 * answer brings both ends back in step. */
	assert_int_equal(tide_send(f->h.C, f->cfd, "hello", 5, 0), 5);
	th_run_for(&f->h, TIDE_MS(5));
	assert_int_equal(tide_recv(f->h.S, f->sfd, f->valid, 1, 0), -1);
	assert_int_equal(errno, EAGAIN);
	expect_unharmed(f);
}

static uint64_t rng_state = 0x7469646566757a7aull; /* "tidefuzz" */

static uint32_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t rnd_below(uint32_t n)
{
	return rnd() % n;
}

/* Random bytes, half of them dressed as IPv4/TCP to the server so that
 * they get past the first checks. */
static size_t random_packet(uint8_t *p)
{
	size_t len = rnd_below(121);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)rnd();
	if (len >= 20 && rnd_below(4) != 0) {
		p[0] = 0x45;
		put16(p + 2, (uint16_t)len);
		put16(p + 6, 0);
		p[9] = TIDE_IPPROTO_TCP;
		put32(p + 12, rnd_below(2) ? TH_CLIENT_ADDR : rnd());
		put32(p + 16, TH_SERVER_ADDR);
		if (len >= 40 && rnd_below(2)) {
			put16(p + 20, rnd_below(2) ? CPORT : (uint16_t)rnd());
			put16(p + 22, rnd_below(2) ? SPORT : (uint16_t)rnd());
			p[32] = (uint8_t)((5 + rnd_below(4)) << 4);
			fix_tcp_csum(p, len);
		}
		fix_ip_csum(p, len);
	}
	return len;
}

/* The valid segment with 1 to 4 bytes changed, perhaps cut short, its
 * checksums perhaps repaired. */
static size_t mutated_packet(const uint8_t *valid, uint8_t *p)
{
	memcpy(p, valid, VALID_LEN);
	size_t len = VALID_LEN;
	unsigned k = 1 + rnd_below(4);
	for (unsigned i = 0; i < k; i++)
		p[rnd_below(VALID_LEN)] = (uint8_t)rnd();
	if (rnd_below(4) == 0)
		len = rnd_below(VALID_LEN + 1);
	if (rnd_below(2))
		fix_tcp_csum(p, len);
	if (rnd_below(2))
		fix_ip_csum(p, len);
	return len;
}

/* 10,000 packets of noise: never a crash, never an over-read, and each one
 * is taken (0) or refused with -reason where reason is a Drop* counter
 * that moved by exactly one. */
static void test_malformed_random_packets_are_taken_or_counted(void **state)
{
	struct fx *f = *state;
	unsigned taken = 0, dropped = 0;
	for (int i = 0; i < 10000; i++) {
		uint8_t p[128];
		size_t len = (i & 1) ? mutated_packet(f->valid, p) : random_packet(p);
		uint64_t drops[TIDE_MIB_MAX];
		for (int c = 0; c < TIDE_MIB_MAX; c++)
			drops[c] = tide_stack_counter(f->h.S, (enum tide_counter)c);
		int r = feed(f, p, len);
		assert_int_equal(tide_stack_counter(f->h.S, TIDE_MIB_IpInReceives),
				 drops[TIDE_MIB_IpInReceives] + 1);
		if (r == 0) {
			taken++;
		} else {
			assert_true(r <= -(int)TIDE_MIB_DropIpTruncated && r >= -(int)TIDE_MIB_DropTcpRst);
			assert_int_equal(tide_stack_counter(f->h.S, (enum tide_counter)-r),
					 drops[-r] + 1);
			dropped++;
		}
		if (i % 100 == 99)
			th_run_for(&f->h, TIDE_MS(1)); /* let answers and timers run */
	}
	assert_int_equal(taken + dropped, 10000);
	assert_true(taken > 0 && dropped > 0);
	th_run_for(&f->h, TIDE_SEC(10));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_malformed_ip_truncated),
		T(test_malformed_ip_version),
		T(test_malformed_ip_header_length),
		T(test_malformed_ip_total_length),
		T(test_malformed_ip_checksum),
		T(test_malformed_ip_fragment),
		T(test_malformed_ip_not_for_us),
		T(test_malformed_ip_bad_source),
		T(test_malformed_ip_protocol),
		T(test_malformed_tcp_truncated),
		T(test_malformed_tcp_offset),
		T(test_malformed_tcp_checksum),
		T(test_malformed_tcp_option),
		T(test_malformed_every_prefix_is_counted),
		T(test_malformed_random_packets_are_taken_or_counted),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
