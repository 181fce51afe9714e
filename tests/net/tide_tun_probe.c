/*
 * A test tool: a tide stack on a TUN or TAP device, answering pings (and
 * refusing TCP connections with RSTs) for a few seconds.
 *
 *	tide_tun_probe tun|tap NAME ADDR SECONDS [PREFIX_LEN [GATEWAY]]
 *
 * Once the device is up it prints "ready NAME MAC" (MAC "-" on TUN) and
 * flushes, so a script can wait for that line before configuring the
 * kernel side. At the end (or on SIGINT/SIGTERM) it prints the loop's and
 * the stack's counts, one "name value" per line. Exit status: 0, 1 when
 * the device or the loop could not be set up (the reason on stderr), 2 on
 * bad usage, 3 when the device failed while running.
 */
#include <tide/netdev.h>
#include <tide/tide.h>

#include "link/ether.h"
#include "link/netdev_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tide_loop *the_loop;

static void on_signal(int sig)
{
	(void)sig;
	if (the_loop)
		tide_loop_stop(the_loop);
}

struct run {
	tide_time end;
};

static void tick(void *ctx, tide_loop *loop)
{
	struct run *r = ctx;
	if (tide_loop_clock() >= r->end)
		tide_loop_stop(loop);
	else
		tide_loop_wake_at(loop, r->end);
}

static int usage(void)
{
	fprintf(stderr, "usage: tide_tun_probe tun|tap NAME ADDR SECONDS [PREFIX_LEN [GATEWAY]]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 5 || argc > 7)
		return usage();
	enum tide_netdev_kind kind;
	if (strcmp(argv[1], "tun") == 0)
		kind = TIDE_NETDEV_TUN;
	else if (strcmp(argv[1], "tap") == 0)
		kind = TIDE_NETDEV_TAP;
	else
		return usage();
	struct in_addr a, gw = { 0 };
	if (inet_pton(AF_INET, argv[3], &a) != 1)
		return usage();
	char *end;
	long secs = strtol(argv[4], &end, 10);
	if (*end || secs < 0 || secs > 3600)
		return usage();
	long plen = 24;
	if (argc > 5) {
		plen = strtol(argv[5], &end, 10);
		if (*end || plen < 0 || plen > 32)
			return usage();
	}
	if (argc > 6 && inet_pton(AF_INET, argv[6], &gw) != 1)
		return usage();

	char err[256];
	tide_netdev *dev = tide_netdev_open(kind, argv[2], NULL, err, sizeof err);
	if (!dev) {
		fprintf(stderr, "tide_tun_probe: %s\n", err);
		return 1;
	}
	struct tide_config cfg;
	tide_config_init(&cfg);
	cfg.addr = ntohl(a.s_addr);
	tide_loop *loop = tide_loop_new(&cfg, dev, err, sizeof err);
	if (!loop) {
		fprintf(stderr, "tide_tun_probe: %s\n", err);
		tide_netdev_close(dev);
		return 1;
	}
	tide_loop_set_route(loop, (uint8_t)plen, ntohl(gw.s_addr));
	the_loop = loop;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	char mac[18] = "-";
	if (tide_netdev_mac(dev))
		tide_eth_ntoa(tide_netdev_mac(dev), mac, sizeof mac);
	printf("ready %s %s\n", tide_netdev_name(dev), mac);
	fflush(stdout);

	struct run r = { tide_loop_clock() + TIDE_SEC((tide_time)secs) };
	tide_loop_set_tick(loop, tick, &r);
	tide_loop_wake_at(loop, r.end);
	int rc = tide_loop_run(loop);
	if (rc < 0)
		fprintf(stderr, "tide_tun_probe: %s: %s\n", tide_netdev_name(dev), strerror(errno));

	struct tide_loop_stats s;
	tide_loop_stats(loop, &s);
	printf("rx_packets %llu\ntx_packets %llu\nrx_dropped %llu\n"
	       "arp_requests %llu\narp_replies %llu\narp_queued %llu\narp_failed %llu\n",
	       (unsigned long long)s.rx_packets, (unsigned long long)s.tx_packets,
	       (unsigned long long)s.rx_dropped, (unsigned long long)s.arp_requests,
	       (unsigned long long)s.arp_replies, (unsigned long long)s.arp_queued,
	       (unsigned long long)s.arp_failed);
	tide_stack *st = tide_loop_stack(loop);
	for (int c = 0; c < TIDE_MIB_MAX; c++) {
		uint64_t v = tide_stack_counter(st, (enum tide_counter)c);
		if (v)
			printf("%s %llu\n", tide_counter_name((enum tide_counter)c),
			       (unsigned long long)v);
	}
	the_loop = NULL;
	tide_loop_free(loop);
	tide_netdev_close(dev);
	return rc < 0 ? 3 : 0;
}
