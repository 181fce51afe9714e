/*
 * The run loop on a stand-in device: one end of an AF_UNIX SOCK_SEQPACKET
 * pair plays the TUN/TAP descriptor (it keeps packet boundaries as the
 * device does), the test holds the other end and plays the kernel. No root
 * needed. Checked: pings answered on TUN and TAP (frame bytes included),
 * ARP both ways with the loop's stats, frames for other MACs, bad frames
 * and IPv6 dropped, routing through a gateway, extra descriptors, the tick
 * and its wake-up, a device that goes away.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <tide/netdev.h>
#include <tide/socket.h>
#include <tide/wire.h>
#include "link/ether.h"
#include "link/netdev_int.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KERNEL 0xc6120001u /* 198.18.0.1 */
#define TIDE   0xc6120002u /* 198.18.0.2 */

static const uint8_t kmac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t tmac[6] = { 0x02, 0x74, 0x00, 0x00, 0x00, 0x02 };

struct fx {
	tide_netdev *dev;
	tide_loop *loop;
	int peer;                 /* the "kernel" end */
	unsigned ticks;
};

static void tick(void *ctx, tide_loop *loop)
{
	struct fx *f = ctx;
	(void)loop;
	f->ticks++;
}

static void setup_kind(struct fx *f, enum tide_netdev_kind kind)
{
	memset(f, 0, sizeof *f);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	f->dev = calloc(1, sizeof *f->dev);
	assert_non_null(f->dev);
	f->dev->fd = sv[0];
	f->dev->kind = kind;
	strcpy(f->dev->name, "fake0");
	memcpy(f->dev->mac, tmac, 6);
	f->peer = sv[1];
	struct tide_config cfg;
	tide_config_init(&cfg);
	cfg.addr = TIDE;
	cfg.secret = 3;
	char err[128];
	f->loop = tide_loop_new(&cfg, f->dev, err, sizeof err);
	assert_non_null(f->loop);
	tide_loop_set_tick(f->loop, tick, f);
}

static void teardown(struct fx *f)
{
	tide_loop_free(f->loop);
	tide_netdev_close(f->dev);
	if (f->peer >= 0)
		close(f->peer);
}

static void send_to_tide(struct fx *f, const uint8_t *p, size_t len)
{
	assert_int_equal(write(f->peer, p, len), (ssize_t)len);
}

/* Runs the loop until the device has something for the kernel (at most
 * 2 s), and returns its length (0: nothing came). */
static size_t recv_from_tide(struct fx *f, uint8_t *buf, size_t cap)
{
	for (int i = 0; i < 40; i++) {
		struct pollfd pfd = { f->peer, POLLIN, 0 };
		if (poll(&pfd, 1, 0) == 1) {
			ssize_t n = read(f->peer, buf, cap);
			assert_true(n > 0);
			return (size_t)n;
		}
		assert_int_equal(tide_loop_run_once(f->loop, 50), 0);
	}
	return 0;
}

/* Nothing for the kernel after a few quick iterations. */
static void expect_silence(struct fx *f)
{
	for (int i = 0; i < 3; i++)
		assert_int_equal(tide_loop_run_once(f->loop, 10), 0);
	struct pollfd pfd = { f->peer, POLLIN, 0 };
	assert_int_equal(poll(&pfd, 1, 0), 0);
}

/* An echo request from the kernel (198.18.0.1), id 0x1234 seq 1 "abcdefghi". */
static size_t ping_packet(uint8_t *p, uint32_t src)
{
	size_t n = tide_icmp_build_echo(p + 20, 64, TIDE_ICMP_ECHO_REQUEST, 0x1234, 1,
					"abcdefghi", 9);
	tide_ipv4_build(p, 128, src, TIDE, TIDE_IPPROTO_ICMP, (uint16_t)n, 64, 0x4242, true);
	return 20 + n;
}

/* Asserts pkt is the echo reply to ping_packet. */
static void expect_pong(const uint8_t *pkt, size_t len, uint32_t dst)
{
	struct tide_ipv4 ip;
	assert_int_equal(tide_ipv4_parse(pkt, len, &ip), TIDE_WIRE_OK);
	assert_int_equal(ip.src, TIDE);
	assert_int_equal(ip.dst, dst);
	assert_int_equal(ip.protocol, TIDE_IPPROTO_ICMP);
	uint8_t want[64];
	size_t n = tide_icmp_build_echo(want, sizeof want, TIDE_ICMP_ECHO_REPLY, 0x1234, 1,
					"abcdefghi", 9);
	assert_int_equal(ip.payload_len, n);
	assert_memory_equal(ip.payload, want, n);
}

static size_t frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t type,
		    const uint8_t *payload, size_t len)
{
	size_t n = tide_ether_build(buf, 1600, dst, src, type, payload, len);
	assert_true(n > 0);
	return n;
}

static void test_loop_tun_ping(void **state)
{
	(void)state;
	struct fx f;
	setup_kind(&f, TIDE_NETDEV_TUN);
	assert_int_equal(tide_netdev_kind(f.dev), TIDE_NETDEV_TUN);
	assert_string_equal(tide_netdev_name(f.dev), "fake0");
	assert_null(tide_netdev_mac(f.dev));
	uint8_t p[128], r[2048];
	size_t n = ping_packet(p, KERNEL);
	send_to_tide(&f, p, n);
	size_t got = recv_from_tide(&f, r, sizeof r);
	assert_int_equal(got, n);
	expect_pong(r, got, KERNEL);

	/* IPv6 on a TUN device: dropped before the stack, which counts it
	 * nowhere. */
	uint8_t v6[48] = { 0x60 };
	send_to_tide(&f, v6, sizeof v6);
	expect_silence(&f);
	struct tide_loop_stats s;
	tide_loop_stats(f.loop, &s);
	assert_int_equal(s.rx_packets, 2);
	assert_int_equal(s.tx_packets, 1);
	assert_int_equal(s.rx_dropped, 1);
	tide_stack *st = tide_loop_stack(f.loop);
	assert_int_equal(tide_stack_counter(st, TIDE_MIB_IpInReceives), 1);
	assert_int_equal(tide_stack_counter(st, TIDE_MIB_IcmpOutEchoReps), 1);
	assert_true(f.ticks > 0);
	teardown(&f);
}

/* The kernel asks for tide's MAC, then pings: tide answers both without
 * asking anything itself (it learnt the kernel's MAC from the request). */
static void test_loop_tap_ping_after_kernel_arp(void **state)
{
	(void)state;
	struct fx f;
	setup_kind(&f, TIDE_NETDEV_TAP);
	uint8_t buf[1600], r[2048];
	struct tide_arp_pkt a = { .op = TIDE_ARP_REQUEST, .spa = KERNEL, .tpa = TIDE };
	memcpy(a.sha, kmac, 6);
	uint8_t ap[28];
	tide_arp_build(ap, sizeof ap, &a);
	send_to_tide(&f, buf, frame(buf, tide_eth_broadcast, kmac, TIDE_ETHERTYPE_ARP, ap, 28));
	size_t got = recv_from_tide(&f, r, sizeof r);
	assert_int_equal(got, 14 + 28);
	struct tide_ether e;
	assert_int_equal(tide_ether_parse(r, got, &e), 0);
	assert_memory_equal(e.dst, kmac, 6);
	assert_memory_equal(e.src, tmac, 6);
	assert_int_equal(e.type, TIDE_ETHERTYPE_ARP);
	struct tide_arp_pkt ra;
	assert_int_equal(tide_arp_parse(e.payload, e.payload_len, &ra), 0);
	assert_int_equal(ra.op, TIDE_ARP_REPLY);
	assert_memory_equal(ra.sha, tmac, 6);
	assert_int_equal(ra.spa, TIDE);
	assert_memory_equal(ra.tha, kmac, 6);
	assert_int_equal(ra.tpa, KERNEL);

	uint8_t p[128];
	size_t n = ping_packet(p, KERNEL);
	send_to_tide(&f, buf, frame(buf, tmac, kmac, TIDE_ETHERTYPE_IPV4, p, n));
	got = recv_from_tide(&f, r, sizeof r);
	assert_int_equal(got, 14 + n);
	assert_int_equal(tide_ether_parse(r, got, &e), 0);
	assert_memory_equal(e.dst, kmac, 6);
	assert_memory_equal(e.src, tmac, 6);
	assert_int_equal(e.type, TIDE_ETHERTYPE_IPV4);
	expect_pong(e.payload, e.payload_len, KERNEL);

	struct tide_loop_stats s;
	tide_loop_stats(f.loop, &s);
	assert_int_equal(s.rx_packets, 2);
	assert_int_equal(s.tx_packets, 2);
	assert_int_equal(s.rx_dropped, 0);
	assert_int_equal(s.arp_replies, 1);
	assert_int_equal(s.arp_requests, 0);
	assert_int_equal(s.arp_queued, 0);
	teardown(&f);
}

/* A ping from an address tide never heard of: the reply waits while tide
 * asks; the kernel's answer releases it. Ethernet padding (a 60-byte
 * minimum frame) is fine. */
static void test_loop_tap_resolves_next_hop(void **state)
{
	(void)state;
	struct fx f;
	setup_kind(&f, TIDE_NETDEV_TAP);
	uint8_t buf[1600], r[2048], p[128];
	size_t n = ping_packet(p, KERNEL);
	send_to_tide(&f, buf, frame(buf, tmac, kmac, TIDE_ETHERTYPE_IPV4, p, n));
	size_t got = recv_from_tide(&f, r, sizeof r);
	struct tide_ether e;
	struct tide_arp_pkt a;
	assert_int_equal(tide_ether_parse(r, got, &e), 0);
	assert_memory_equal(e.dst, tide_eth_broadcast, 6);
	assert_int_equal(e.type, TIDE_ETHERTYPE_ARP);
	assert_int_equal(tide_arp_parse(e.payload, e.payload_len, &a), 0);
	assert_int_equal(a.op, TIDE_ARP_REQUEST);
	assert_int_equal(a.tpa, KERNEL);
	assert_int_equal(a.spa, TIDE);

	struct tide_arp_pkt rep = { .op = TIDE_ARP_REPLY, .spa = KERNEL, .tpa = TIDE };
	memcpy(rep.sha, kmac, 6);
	memcpy(rep.tha, tmac, 6);
	uint8_t ap[46] = { 0 }; /* padded to a 60-byte frame */
	tide_arp_build(ap, sizeof ap, &rep);
	send_to_tide(&f, buf, frame(buf, tmac, kmac, TIDE_ETHERTYPE_ARP, ap, sizeof ap));
	got = recv_from_tide(&f, r, sizeof r);
	assert_int_equal(tide_ether_parse(r, got, &e), 0);
	assert_memory_equal(e.dst, kmac, 6);
	expect_pong(e.payload, e.payload_len, KERNEL);
	struct tide_loop_stats s;
	tide_loop_stats(f.loop, &s);
	assert_int_equal(s.arp_requests, 1);
	assert_int_equal(s.arp_queued, 1);
	assert_int_equal(s.arp_failed, 0);
	teardown(&f);
}

/* Frames for another MAC, multicast frames, runts, other ethertypes: all
 * dropped and counted, the stack never sees them. */
static void test_loop_tap_drops_frames_not_for_us(void **state)
{
	(void)state;
	struct fx f;
	setup_kind(&f, TIDE_NETDEV_TAP);
	uint8_t buf[1600], p[128];
	size_t n = ping_packet(p, KERNEL);
	const uint8_t other[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };
	send_to_tide(&f, buf, frame(buf, other, kmac, TIDE_ETHERTYPE_IPV4, p, n));
	send_to_tide(&f, buf, frame(buf, mcast, kmac, TIDE_ETHERTYPE_IPV4, p, n));
	send_to_tide(&f, buf, frame(buf, tmac, kmac, TIDE_ETHERTYPE_IPV6, p, n));
	send_to_tide(&f, buf, frame(buf, tmac, kmac, 0x0046, p, n)); /* 802.3 length */
	send_to_tide(&f, buf, 13);                                  /* runt */
	uint8_t ap[20] = { 0 };                                     /* short ARP */
	send_to_tide(&f, buf, frame(buf, tide_eth_broadcast, kmac, TIDE_ETHERTYPE_ARP, ap, 20));
	expect_silence(&f);
	struct tide_loop_stats s;
	tide_loop_stats(f.loop, &s);
	assert_int_equal(s.rx_packets, 6);
	assert_int_equal(s.rx_dropped, 6);
	assert_int_equal(s.tx_packets, 0);
	assert_int_equal(tide_stack_counter(tide_loop_stack(f.loop), TIDE_MIB_IpInReceives), 0);
	teardown(&f);
}

/* Off the subnet, packets go to the gateway's MAC; without a gateway they
 * do not leave. */
static void test_loop_tap_gateway(void **state)
{
	(void)state;
	struct fx f;
	setup_kind(&f, TIDE_NETDEV_TAP);
	uint8_t buf[1600], r[2048], p[128];
	const uint32_t far = 0xc6130005u; /* 198.19.0.5: another /24 */
	size_t n = ping_packet(p, far);
	send_to_tide(&f, buf, frame(buf, tmac, kmac, TIDE_ETHERTYPE_IPV4, p, n));
	expect_silence(&f);
	assert_int_equal(tide_stack_counter(tide_loop_stack(f.loop), TIDE_MIB_IcmpOutEchoReps), 1);

	tide_loop_set_route(f.loop, 24, KERNEL);
	send_to_tide(&f, buf, frame(buf, tmac, kmac, TIDE_ETHERTYPE_IPV4, p, n));
	size_t got = recv_from_tide(&f, r, sizeof r);
	struct tide_ether e;
	struct tide_arp_pkt a;
	assert_int_equal(tide_ether_parse(r, got, &e), 0);
	assert_int_equal(tide_arp_parse(e.payload, e.payload_len, &a), 0);
	assert_int_equal(a.tpa, KERNEL); /* asks for the gateway, not 198.19.0.5 */

	/* With a /15 the same address is on the subnet: asked for directly. */
	tide_loop_free(f.loop);
	struct tide_config cfg;
	tide_config_init(&cfg);
	cfg.addr = TIDE;
	f.loop = tide_loop_new(&cfg, f.dev, NULL, 0);
	assert_non_null(f.loop);
	tide_loop_set_route(f.loop, 15, 0);
	send_to_tide(&f, buf, frame(buf, tmac, kmac, TIDE_ETHERTYPE_IPV4, p, n));
	got = recv_from_tide(&f, r, sizeof r);
	assert_int_equal(tide_ether_parse(r, got, &e), 0);
	assert_int_equal(tide_arp_parse(e.payload, e.payload_len, &a), 0);
	assert_int_equal(a.tpa, far);
	teardown(&f);
}

/* Unanswered: three requests a second apart, then the packet is dropped
 * and counted; the loop wakes up for the retries by itself. */
static void test_loop_tap_arp_failure(void **state)
{
	(void)state;
	struct fx f;
	setup_kind(&f, TIDE_NETDEV_TAP);
	uint8_t buf[1600], r[2048], p[128];
	size_t n = ping_packet(p, KERNEL);
	send_to_tide(&f, buf, frame(buf, tmac, kmac, TIDE_ETHERTYPE_IPV4, p, n));
	tide_time t0 = tide_loop_clock();
	unsigned requests = 0;
	struct tide_loop_stats s;
	while (tide_loop_clock() - t0 < TIDE_SEC(5)) {
		assert_int_equal(tide_loop_run_once(f.loop, 1000), 0);
		struct pollfd pfd = { f.peer, POLLIN, 0 };
		while (poll(&pfd, 1, 0) == 1) {
			assert_true(read(f.peer, r, sizeof r) > 0);
			requests++;
		}
		tide_loop_stats(f.loop, &s);
		if (s.arp_failed)
			break;
	}
	tide_time took = tide_loop_clock() - t0;
	assert_int_equal(requests, 3);
	assert_int_equal(s.arp_requests, 3);
	assert_int_equal(s.arp_queued, 1);
	assert_int_equal(s.arp_failed, 1);
	assert_true(took >= TIDE_SEC(3) && took < TIDE_MS(4500));
	teardown(&f);
}

struct fdcb {
	int calls;
	uint32_t events;
	tide_loop *loop;
	int other;               /* removed from the loop by the callback */
};

static void on_fd(void *ctx, int fd, uint32_t events)
{
	struct fdcb *c = ctx;
	char b[16];
	assert_true(read(fd, b, sizeof b) > 0);
	c->calls++;
	c->events = events;
	if (c->other >= 0) {
		assert_int_equal(tide_loop_del_fd(c->loop, c->other), 0);
		c->other = -1;
	}
}

static void test_loop_extra_fds(void **state)
{
	(void)state;
	struct fx f;
	setup_kind(&f, TIDE_NETDEV_TUN);
	int p1[2], p2[2];
	assert_int_equal(pipe(p1), 0);
	assert_int_equal(pipe(p2), 0);
	struct fdcb c1 = { 0, 0, f.loop, -1 }, c2 = { 0, 0, f.loop, -1 };
	assert_int_equal(tide_loop_add_fd(f.loop, p1[0], EPOLLIN, on_fd, &c1), 0);
	assert_int_equal(tide_loop_add_fd(f.loop, p2[0], EPOLLIN, on_fd, &c2), 0);
	assert_int_equal(tide_loop_add_fd(f.loop, p1[0], EPOLLIN, on_fd, &c1), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(tide_loop_add_fd(f.loop, tide_netdev_fd(f.dev), EPOLLIN, on_fd, &c1), -1);

	assert_int_equal(write(p1[1], "x", 1), 1);
	assert_int_equal(tide_loop_run_once(f.loop, 1000), 0);
	assert_int_equal(c1.calls, 1);
	assert_int_equal(c1.events, EPOLLIN);
	assert_int_equal(c2.calls, 0);

	/* Both ready at once; whichever runs first removes the other, which
	 * then must not run. */
	c1.other = p2[0];
	c2.other = p1[0];
	assert_int_equal(write(p1[1], "x", 1), 1);
	assert_int_equal(write(p2[1], "x", 1), 1);
	assert_int_equal(tide_loop_run_once(f.loop, 1000), 0);
	assert_int_equal(c1.calls + c2.calls, 2);
	int left = c1.other < 0 ? p1[0] : p2[0];
	assert_int_equal(tide_loop_del_fd(f.loop, left), 0);
	assert_int_equal(tide_loop_del_fd(f.loop, left), -1);
	assert_int_equal(errno, ENOENT);
	for (int i = 0; i < 2; i++) {
		close(p1[i]);
		close(p2[i]);
	}
	teardown(&f);
}

struct waker {
	unsigned ticks;
	tide_time at;
};

static void wake_tick(void *ctx, tide_loop *loop)
{
	struct waker *w = ctx;
	if (w->ticks++ == 0)
		tide_loop_wake_at(loop, w->at);
	else
		tide_loop_stop(loop);
}

/* tide_loop_wake_at bounds the wait; tide_loop_run returns once stopped. */
static void test_loop_wake_at_and_stop(void **state)
{
	(void)state;
	struct fx f;
	setup_kind(&f, TIDE_NETDEV_TUN);
	tide_time t0 = tide_loop_clock();
	struct waker w = { 0, t0 + TIDE_MS(30) };
	tide_loop_set_tick(f.loop, wake_tick, &w);
	assert_int_equal(tide_loop_run_once(f.loop, 0), 0);
	assert_int_equal(tide_loop_run(f.loop), 0);
	tide_time took = tide_loop_clock() - t0;
	assert_int_equal(w.ticks, 2);
	assert_true(took >= TIDE_MS(30));
	assert_true(took < TIDE_MS(1000));
	teardown(&f);
}

/* A TCP connection from the kernel side, driven by the stack's timers on
 * the real clock: a SYN to a listener is answered by a SYN-ACK, and with
 * no ACK, retransmitted after about 1 s (the loop slept until then). */
static void test_loop_stack_timers(void **state)
{
	(void)state;
	struct fx f;
	setup_kind(&f, TIDE_NETDEV_TUN);
	tide_stack *st = tide_loop_stack(f.loop);
	int lfd = tide_socket(st, AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
	sa.sin_addr.s_addr = htonl(TIDE);
	assert_int_equal(tide_bind(st, lfd, (const struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(tide_listen(st, lfd, 8), 0);
	uint8_t p[128], r[2048];
	struct tide_tcp_opts o = { .present = TIDE_OPT_MSS, .mss = 1460 };
	size_t n = tide_tcp_build(p + 20, 100, KERNEL, TIDE, 40000, 80, 1000, 0, TIDE_TCP_SYN,
				  64240, &o, NULL, 0);
	tide_ipv4_build(p, 128, KERNEL, TIDE, TIDE_IPPROTO_TCP, (uint16_t)n, 64, 1, true);
	send_to_tide(&f, p, 20 + n);
	size_t got = recv_from_tide(&f, r, sizeof r);
	tide_time t1 = tide_loop_clock();
	struct tide_ipv4 ip;
	struct tide_tcp th;
	assert_int_equal(tide_ipv4_parse(r, got, &ip), TIDE_WIRE_OK);
	assert_int_equal(tide_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &th),
			 TIDE_WIRE_OK);
	assert_int_equal(th.flags, TIDE_TCP_SYN | TIDE_TCP_ACK);
	unsigned iterations = 0;
	for (;;) {
		assert_int_equal(tide_loop_run_once(f.loop, 3000), 0);
		iterations++;
		struct pollfd pfd = { f.peer, POLLIN, 0 };
		if (poll(&pfd, 1, 0) == 1)
			break;
		assert_true(tide_loop_clock() - t1 < TIDE_SEC(3));
	}
	tide_time gap = tide_loop_clock() - t1;
	got = (size_t)read(f.peer, r, sizeof r);
	assert_int_equal(tide_ipv4_parse(r, got, &ip), TIDE_WIRE_OK);
	assert_int_equal(tide_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &th),
			 TIDE_WIRE_OK);
	assert_int_equal(th.flags, TIDE_TCP_SYN | TIDE_TCP_ACK);
	assert_true(gap >= TIDE_MS(900) && gap < TIDE_MS(1500));
	assert_true(iterations <= 3); /* it slept, it did not spin */
	tide_close(st, lfd);
	teardown(&f);
}

/* The device goes away: run_once reports it. */
static void test_loop_device_gone(void **state)
{
	(void)state;
	struct fx f;
	setup_kind(&f, TIDE_NETDEV_TUN);
	close(f.peer);
	f.peer = -1;
	errno = 0;
	assert_int_equal(tide_loop_run_once(f.loop, 1000), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(tide_loop_run(f.loop), -1);
	teardown(&f);
}

/* Opening real devices needs root; what needs nothing is checked here:
 * bad names and MACs are refused before the kernel is asked. */
static void test_netdev_bad_arguments(void **state)
{
	(void)state;
	char err[160];
	const char *names[] = { "", "abcdefghijklmnop", "a/b", "a:b", "a b", ".", ".." };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		errno = 0;
		assert_null(tide_netdev_open(TIDE_NETDEV_TUN, names[i], NULL, err, sizeof err));
		assert_int_equal(errno, EINVAL);
		assert_non_null(strstr(err, "bad device name"));
	}
	assert_null(tide_netdev_open(TIDE_NETDEV_TUN, NULL, NULL, err, sizeof err));
	assert_int_equal(errno, EINVAL);
	assert_null(tide_netdev_open(TIDE_NETDEV_TAP, "abcdefghijklmnop", NULL, err, sizeof err));
	assert_non_null(strstr(err, "too long"));
	const uint8_t mcast[6] = { 0x01, 0, 0, 0, 0, 1 }, zero[6] = { 0 };
	assert_null(tide_netdev_open(TIDE_NETDEV_TAP, "tide0", mcast, err, sizeof err));
	assert_int_equal(errno, EINVAL);
	assert_null(tide_netdev_open(TIDE_NETDEV_TAP, "tide0", zero, err, sizeof err));
	assert_int_equal(errno, EINVAL);
	/* No buffer for the message: still an error, no crash. */
	assert_null(tide_netdev_open(TIDE_NETDEV_TUN, "a/b", NULL, NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_tun_ping),
		cmocka_unit_test(test_loop_tap_ping_after_kernel_arp),
		cmocka_unit_test(test_loop_tap_resolves_next_hop),
		cmocka_unit_test(test_loop_tap_drops_frames_not_for_us),
		cmocka_unit_test(test_loop_tap_gateway),
		cmocka_unit_test(test_loop_tap_arp_failure),
		cmocka_unit_test(test_loop_extra_fds),
		cmocka_unit_test(test_loop_wake_at_and_stop),
		cmocka_unit_test(test_loop_stack_timers),
		cmocka_unit_test(test_loop_device_gone),
		cmocka_unit_test(test_netdev_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
