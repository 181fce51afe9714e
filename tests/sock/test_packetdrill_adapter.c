/*
 * The packetdrill adapter (tools/packetdrill): tide behind packetdrill's
 * shared-object interface, driven here as packetdrill drives it.
 *
 * - A listener answers an injected SYN with a SYN-ACK stamped with the exact
 *   virtual time of the SYN; with nothing else to send, netdev_receive
 *   advances the clock to the SYN-ACK retransmission, 1 s later exactly.
 * - usleep and gettimeofday are the virtual clock: a 60 s sleep is instant.
 * - A non-blocking read with nothing to read fails with EAGAIN at once.
 * - A blocking accept() in a second thread (packetdrill's "t1...t2" calls)
 *   completes at the virtual time of the ACK that completes the handshake,
 *   and the clock does not move on before that thread has read it.
 * - A blocking connect() alone advances the clock itself: with
 *   tcp_syn_retries 1 its SYNs leave at 0, 1 and 2 s (Linux's budget of 3 s
 *   of linear timeouts) and it fails with ETIMEDOUT at 3 s.
 * - The flags: a setting given with set= reaches the stack.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pd_interface.h"

#include <tide/wire.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOCAL 0xC6120001u  /* 198.18.0.1 */
#define PEER 0xC6130001u   /* 198.19.0.1 */
#define EPOCH_US 1700000000000000ll

static long long now_us(struct packetdrill_interface *ifc)
{
	struct timeval tv;
	assert_int_equal(ifc->gettimeofday(ifc->userdata, &tv, NULL), 0);
	return (long long)tv.tv_sec * 1000000ll + tv.tv_usec - EPOCH_US;
}

/* One TCP segment from the peer into the stack. */
static void inject(struct packetdrill_interface *ifc, uint16_t sport, uint16_t dport,
		   uint32_t seq, uint32_t ack, uint8_t flags, bool mss)
{
	uint8_t pkt[128];
	struct tide_tcp_opts o = {0};
	if (mss) {
		o.present = TIDE_OPT_MSS;
		o.mss = 1000;
	}
	size_t tl = tide_tcp_build(pkt + 20, sizeof(pkt) - 20, PEER, LOCAL, sport, dport, seq,
				   ack, flags, 32792, &o, NULL, 0);
	assert_true(tl > 0);
	tide_ipv4_build(pkt, 20, PEER, LOCAL, 6, (uint16_t)tl, 64, 1, true);
	assert_int_equal(ifc->netdev_send(ifc->userdata, pkt, 20 + tl), 0);
}

/* The next packet the stack sent, parsed; its time relative to the start. */
static long long sniff(struct packetdrill_interface *ifc, struct tide_tcp *t, uint8_t *buf,
		       size_t cap)
{
	size_t n = cap;
	long long at = -1;
	assert_int_equal(ifc->netdev_receive(ifc->userdata, buf, &n, &at), 0);
	assert_true(n > 20);
	struct tide_ipv4 ip;
	assert_int_equal(tide_ipv4_parse(buf, n, &ip), 0);
	assert_int_equal(ip.src, LOCAL);
	assert_int_equal(ip.dst, PEER);
	assert_int_equal(tide_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, t), 0);
	return at - EPOCH_US;
}

static int listener(struct packetdrill_interface *ifc, uint16_t port)
{
	int fd = ifc->socket(ifc->userdata, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	assert_int_equal(fd, 3);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(LOCAL)};
	assert_int_equal(ifc->bind(ifc->userdata, fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(ifc->listen(ifc->userdata, fd, 1), 0);
	return fd;
}

static void test_pd_synack_exact_virtual_times(void **state)
{
	(void)state;
	struct packetdrill_interface ifc;
	packetdrill_interface_init("addr=198.18.0.1", &ifc);
	assert_int_equal(now_us(&ifc), 0);
	int lfd = listener(&ifc, 8080);

	/* 60 s of sleep, at once. */
	assert_int_equal(ifc.usleep(ifc.userdata, 60000000), 0);
	assert_int_equal(now_us(&ifc), 60000000);

	inject(&ifc, 40000, 8080, 1000, 0, TIDE_TCP_SYN, true);
	uint8_t buf[2048];
	struct tide_tcp t;
	assert_int_equal(sniff(&ifc, &t, buf, sizeof(buf)), 60000000);
	assert_int_equal(t.flags, TIDE_TCP_SYN | TIDE_TCP_ACK);
	assert_int_equal(t.ack, 1001);
	assert_int_equal(t.sport, 8080);
	assert_int_equal(t.dport, 40000);
	uint32_t iss = t.seq;

	/* Nothing else queued: the clock runs to the retransmission. */
	assert_int_equal(sniff(&ifc, &t, buf, sizeof(buf)), 61000000);
	assert_int_equal(t.flags, TIDE_TCP_SYN | TIDE_TCP_ACK);
	assert_int_equal(t.seq, iss);
	assert_int_equal(now_us(&ifc), 61000000);

	inject(&ifc, 40000, 8080, 1001, iss + 1, TIDE_TCP_ACK, false);
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	int c = ifc.accept(ifc.userdata, lfd, (struct sockaddr *)&from, &fl);
	assert_int_equal(c, 4);
	assert_int_equal(ntohl(from.sin_addr.s_addr), PEER);
	assert_int_equal(ntohs(from.sin_port), 40000);

	/* Non-blocking and nothing to read: EAGAIN, the clock unmoved. */
	assert_int_equal(ifc.fcntl(ifc.userdata, c, F_SETFL, O_RDWR | O_NONBLOCK), 0);
	char rb[8];
	errno = 0;
	assert_int_equal(ifc.read(ifc.userdata, c, rb, sizeof(rb)), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(now_us(&ifc), 61000000);

	/* The data leaves at once, at the current virtual time. */
	assert_int_equal(ifc.write(ifc.userdata, c, "hello", 5), 5);
	assert_int_equal(sniff(&ifc, &t, buf, sizeof(buf)), 61000000);
	assert_int_equal(t.flags, TIDE_TCP_ACK | TIDE_TCP_PSH);
	assert_int_equal(t.seq, iss + 1);
	assert_int_equal(t.payload_len, 5);
	assert_int_equal(ifc.close(ifc.userdata, c), 0);
	assert_int_equal(ifc.close(ifc.userdata, lfd), 0);
	ifc.free(ifc.userdata);
}

struct accept_job {
	struct packetdrill_interface *ifc;
	int fd, result;
	long long returned_at;
	volatile pid_t tid;
};

static void *blocking_accept(void *arg)
{
	struct accept_job *j = arg;
	j->tid = gettid();
	j->result = j->ifc->accept(j->ifc->userdata, j->fd, NULL, NULL);
	j->returned_at = now_us(j->ifc);
	return NULL;
}

/* As packetdrill does before it goes on: wait until the thread of the
 * blocking call sleeps (state S in /proc), i.e. is held in the adapter. */
static void wait_until_sleeping(volatile pid_t *tid)
{
	for (int i = 0; i < 100000; i++) {
		if (*tid) {
			char path[64], stat[512] = {0};
			snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)*tid);
			FILE *f = fopen(path, "r");
			assert_non_null(f);
			size_t n = fread(stat, 1, sizeof(stat) - 1, f);
			fclose(f);
			stat[n] = '\0';
			const char *rp = strrchr(stat, ')');
			if (rp && rp[1] == ' ' && rp[2] == 'S')
				return;
		}
		usleep(1000);
	}
	fail_msg("the blocking thread never slept");
}

static void test_pd_blocking_accept_returns_at_handshake_time(void **state)
{
	(void)state;
	struct packetdrill_interface ifc;
	packetdrill_interface_init("addr=198.18.0.1", &ifc);
	int lfd = listener(&ifc, 8080);
	struct accept_job j = {.ifc = &ifc, .fd = lfd, .result = -2};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, blocking_accept, &j), 0);
	wait_until_sleeping(&j.tid);

	assert_int_equal(ifc.usleep(ifc.userdata, 100000), 0);
	inject(&ifc, 40001, 8080, 5000, 0, TIDE_TCP_SYN, true);
	uint8_t buf[2048];
	struct tide_tcp t;
	assert_int_equal(sniff(&ifc, &t, buf, sizeof(buf)), 100000);
	assert_int_equal(t.flags, TIDE_TCP_SYN | TIDE_TCP_ACK);
	assert_int_equal(ifc.usleep(ifc.userdata, 100000), 0);
	inject(&ifc, 40001, 8080, 5001, t.seq + 1, TIDE_TCP_ACK, false);
	/* The main thread moves on at once, as packetdrill's does. */
	assert_int_equal(ifc.usleep(ifc.userdata, 100000), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(j.result, 4);
	assert_int_equal(j.returned_at, 200000);
	assert_int_equal(now_us(&ifc), 300000);
	ifc.free(ifc.userdata);
}

static void test_pd_blocking_connect_times_out_on_virtual_clock(void **state)
{
	(void)state;
	struct packetdrill_interface ifc;
	packetdrill_interface_init("addr=198.18.0.1; set=net.ipv4.tcp_syn_retries=1", &ifc);
	int fd = ifc.socket(ifc.userdata, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(fd, 3);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80),
				.sin_addr.s_addr = htonl(PEER)};
	errno = 0;
	assert_int_equal(ifc.connect(ifc.userdata, fd, (struct sockaddr *)&a, sizeof(a)), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(now_us(&ifc), 3000000);
	uint8_t buf[2048];
	struct tide_tcp t;
	assert_int_equal(sniff(&ifc, &t, buf, sizeof(buf)), 0);
	assert_int_equal(t.flags, TIDE_TCP_SYN);
	uint32_t iss = t.seq;
	assert_int_equal(sniff(&ifc, &t, buf, sizeof(buf)), 1000000);
	assert_int_equal(t.flags, TIDE_TCP_SYN);
	assert_int_equal(t.seq, iss);
	/* Linux's SYN budget for 1 retry is 3 s of 1 s timeouts
	 * (tcp_syn_linear_timeouts): one more SYN fits, at 2 s. */
	assert_int_equal(sniff(&ifc, &t, buf, sizeof(buf)), 2000000);
	assert_int_equal(t.flags, TIDE_TCP_SYN);
	/* Nothing left to send and no timer: an empty answer. */
	size_t n = sizeof(buf);
	long long at = 0;
	assert_int_equal(ifc.netdev_receive(ifc.userdata, buf, &n, &at), 0);
	assert_int_equal(n, 0);
	assert_int_equal(ifc.close(ifc.userdata, fd), 0);
	ifc.free(ifc.userdata);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pd_synack_exact_virtual_times),
		cmocka_unit_test(test_pd_blocking_accept_returns_at_handshake_time),
		cmocka_unit_test(test_pd_blocking_connect_times_out_on_virtual_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
