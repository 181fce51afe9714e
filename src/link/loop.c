/*
 * The run loop of a stack on a real device (see <tide/netdev.h>).
 *
 * One iteration: wait in epoll for the device, the extra descriptors, or
 * the earliest deadline (the stack's next timer, the ARP cache's next
 * retry, the program's wake-up); read every packet the device has, each fed
 * with the clock read as it arrives; advance the stack and the ARP cache to
 * now; then call the program's tick. The stack's output goes straight to
 * the device from inside those calls: on TUN as the IPv4 packet itself, on
 * TAP framed for the next hop's MAC (or queued while ARP resolves it).
 */
#include "netdev_int.h"
#include "ether.h"
#include "wire/bytes.h"
#include <tide/wire.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* Packets read per wake-up before timers get their turn: a flood on the
 * device must not starve retransmissions or the program's tick. */
#define LOOP_RX_BATCH 256
#define LOOP_RX_BUF (TIDE_ETH_HLEN + 65535)

struct loop_fd {
	struct loop_fd *next;
	int fd;
	uint32_t events;
	tide_loop_fd_fn cb;
	void *ctx;
};

struct tide_loop {
	tide_netdev *dev;
	tide_stack *st;
	int epfd;
	struct loop_fd *fds;
	tide_loop_tick_fn tick;
	void *tick_ctx;
	tide_time wake_at;
	volatile sig_atomic_t stop;
	uint8_t prefix_len;
	uint32_t gateway;
	struct tide_arp_cache *arp;   /* TAP only */
	struct tide_loop_stats stats;
	uint8_t *rxbuf;
};

tide_time tide_loop_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (tide_time)ts.tv_sec * 1000000u + (tide_time)ts.tv_nsec / 1000u;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void dev_write(tide_loop *loop, const uint8_t *buf, size_t len)
{
	/* A full device queue or a packet the kernel refuses loses that packet
	 * only: TCP retransmits, and a dead device shows up on the read side. */
	ssize_t n;
	do
		n = write(loop->dev->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len)
		loop->stats.tx_packets++;
}

static void arp_xmit(void *ctx, const uint8_t *frame, size_t len)
{
	dev_write(ctx, frame, len);
}

static uint32_t prefix_mask(uint8_t prefix_len)
{
	return prefix_len == 0 ? 0 : 0xffffffffu << (32 - prefix_len);
}

static void stack_output(void *ctx, const uint8_t *pkt, size_t len)
{
	tide_loop *loop = ctx;
	if (loop->dev->kind == TIDE_NETDEV_TUN) {
		dev_write(loop, pkt, len);
		return;
	}
	if (len < TIDE_IPV4_HLEN)
		return;
	uint32_t dst = tide_get32(pkt + 16);
	uint32_t me = tide_stack_addr(loop->st);
	uint32_t mask = prefix_mask(loop->prefix_len);
	if (dst == 0xffffffffu || (mask != 0xffffffffu && mask && dst == (me | ~mask))) {
		tide_arp_output_to(loop->arp, tide_eth_broadcast, pkt, len);
		return;
	}
	if ((dst >> 28) == 0xe) {
		/* RFC 1112's mapping of a group to 01:00:5e + its low 23 bits. */
		uint8_t mac[6] = { 0x01, 0x00, 0x5e, (uint8_t)((dst >> 16) & 0x7f),
				   (uint8_t)(dst >> 8), (uint8_t)dst };
		tide_arp_output_to(loop->arp, mac, pkt, len);
		return;
	}
	uint32_t nh = dst;
	if ((dst & mask) != (me & mask)) {
		if (!loop->gateway)
			return; /* no route: as Linux's ENETUNREACH, nothing leaves */
		nh = loop->gateway;
	}
	tide_arp_output(loop->arp, nh, pkt, len, tide_loop_clock());
}

tide_loop *tide_loop_new(const struct tide_config *cfg, tide_netdev *dev, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!cfg || !dev) {
		set_err(err, errlen, "no configuration or no device");
		errno = EINVAL;
		return NULL;
	}
	if (cfg->addr == 0) {
		set_err(err, errlen, "the stack has no IPv4 address");
		errno = EINVAL;
		return NULL;
	}
	tide_loop *loop = calloc(1, sizeof *loop);
	if (!loop) {
		set_err(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	loop->dev = dev;
	loop->epfd = -1;
	loop->prefix_len = 24;
	loop->wake_at = TIDE_TIME_NEVER;
	loop->rxbuf = malloc(LOOP_RX_BUF);
	if (!loop->rxbuf) {
		set_err(err, errlen, "out of memory");
		errno = ENOMEM;
		goto fail;
	}
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int e = errno;
		set_err(err, errlen, "epoll_create1: %s", strerror(e));
		errno = e;
		goto fail;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = dev->fd };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, dev->fd, &ev) < 0) {
		int e = errno;
		set_err(err, errlen, "%s: epoll_ctl: %s", dev->name, strerror(e));
		errno = e;
		goto fail;
	}
	if (dev->kind == TIDE_NETDEV_TAP) {
		loop->arp = tide_arp_cache_new(dev->mac, cfg->addr, arp_xmit, loop);
		if (!loop->arp) {
			set_err(err, errlen, "out of memory");
			errno = ENOMEM;
			goto fail;
		}
	}
	struct tide_config c = *cfg;
	c.output = stack_output;
	c.output_ctx = loop;
	loop->st = tide_stack_new(&c, tide_loop_clock());
	if (!loop->st) {
		int e = errno;
		set_err(err, errlen, e == EINVAL ? "the stack's configuration is invalid"
						 : "out of memory creating the stack");
		errno = e;
		goto fail;
	}
	return loop;
fail:
	tide_loop_free(loop);
	return NULL;
}

void tide_loop_free(tide_loop *loop)
{
	if (!loop)
		return;
	if (loop->st)
		tide_stack_free(loop->st);
	tide_arp_cache_free(loop->arp);
	while (loop->fds) {
		struct loop_fd *f = loop->fds;
		loop->fds = f->next;
		free(f);
	}
	if (loop->epfd >= 0)
		close(loop->epfd);
	free(loop->rxbuf);
	free(loop);
}

tide_stack *tide_loop_stack(tide_loop *loop) { return loop->st; }

void tide_loop_set_route(tide_loop *loop, uint8_t prefix_len, uint32_t gateway)
{
	loop->prefix_len = prefix_len > 32 ? 32 : prefix_len;
	loop->gateway = gateway;
}

int tide_loop_add_fd(tide_loop *loop, int fd, uint32_t events, tide_loop_fd_fn cb, void *ctx)
{
	if (fd < 0 || !cb || fd == loop->dev->fd) {
		errno = EINVAL;
		return -1;
	}
	for (struct loop_fd *f = loop->fds; f; f = f->next)
		if (f->fd == fd) {
			errno = EEXIST;
			return -1;
		}
	struct loop_fd *f = calloc(1, sizeof *f);
	if (!f) {
		errno = ENOMEM;
		return -1;
	}
	struct epoll_event ev = { .events = events, .data.fd = fd };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(f);
		errno = e;
		return -1;
	}
	f->fd = fd;
	f->events = events;
	f->cb = cb;
	f->ctx = ctx;
	f->next = loop->fds;
	loop->fds = f;
	return 0;
}

int tide_loop_del_fd(tide_loop *loop, int fd)
{
	for (struct loop_fd **pp = &loop->fds; *pp; pp = &(*pp)->next) {
		struct loop_fd *f = *pp;
		if (f->fd != fd)
			continue;
		*pp = f->next;
		free(f);
		/* The descriptor may be closed already (which removed it from
		 * epoll): not an error. */
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	errno = ENOENT;
	return -1;
}

void tide_loop_set_tick(tide_loop *loop, tide_loop_tick_fn fn, void *ctx)
{
	loop->tick = fn;
	loop->tick_ctx = ctx;
}

void tide_loop_wake_at(tide_loop *loop, tide_time at)
{
	if (at < loop->wake_at)
		loop->wake_at = at;
}

void tide_loop_stop(tide_loop *loop) { loop->stop = 1; }

void tide_loop_stats(const tide_loop *loop, struct tide_loop_stats *out)
{
	*out = loop->stats;
	if (loop->arp) {
		struct tide_arp_counts n;
		tide_arp_get_counts(loop->arp, &n);
		out->arp_requests = n.requests;
		out->arp_replies = n.replies;
		out->arp_queued = n.queued;
		out->arp_failed = n.failed;
	}
}

/* One frame from the TAP device. */
static void ether_input(tide_loop *loop, const uint8_t *frame, size_t len, tide_time now)
{
	struct tide_ether eth;
	if (tide_ether_parse(frame, len, &eth) < 0) {
		loop->stats.rx_dropped++;
		return;
	}
	if (memcmp(eth.dst, loop->dev->mac, TIDE_ETH_ALEN) != 0 &&
	    memcmp(eth.dst, tide_eth_broadcast, TIDE_ETH_ALEN) != 0) {
		loop->stats.rx_dropped++;
		return;
	}
	switch (eth.type) {
	case TIDE_ETHERTYPE_IPV4:
		tide_stack_input(loop->st, eth.payload, eth.payload_len, now);
		return;
	case TIDE_ETHERTYPE_ARP:
		if (tide_arp_input(loop->arp, eth.payload, eth.payload_len, now) < 0)
			loop->stats.rx_dropped++;
		return;
	default:
		loop->stats.rx_dropped++;
		return;
	}
}

/* Reads what the device has. -1 with errno if the device failed. */
static int device_input(tide_loop *loop)
{
	for (int i = 0; i < LOOP_RX_BATCH; i++) {
		ssize_t n = read(loop->dev->fd, loop->rxbuf, LOOP_RX_BUF);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		loop->stats.rx_packets++;
		tide_time now = tide_loop_clock();
		if (loop->dev->kind == TIDE_NETDEV_TAP) {
			ether_input(loop, loop->rxbuf, (size_t)n, now);
		} else if ((loop->rxbuf[0] >> 4) != 4) {
			/* IPv6 (router solicitations and the like, sent as soon
			 * as the link is up) is not IPv4's business: it must not
			 * show in the stack's Ip counters. */
			loop->stats.rx_dropped++;
		} else {
			tide_stack_input(loop->st, loop->rxbuf, (size_t)n, now);
		}
	}
	return 0;
}

/* Milliseconds from now until `at`, rounded up so that a wake-up is never
 * early (an early one would spin until the deadline). */
static int ms_until(tide_time at, tide_time now)
{
	if (at == TIDE_TIME_NEVER)
		return -1;
	if (at <= now)
		return 0;
	tide_time d = (at - now + 999) / 1000;
	return d > 24u * 3600 * 1000 ? 24 * 3600 * 1000 : (int)d;
}

int tide_loop_run_once(tide_loop *loop, int max_wait_ms)
{
	tide_time now = tide_loop_clock();
	tide_time at = tide_stack_next_timer(loop->st);
	if (loop->wake_at < at)
		at = loop->wake_at;
	if (loop->arp) {
		tide_time a = tide_arp_next_timer(loop->arp);
		if (a < at)
			at = a;
	}
	int timeout = ms_until(at, now);
	if (max_wait_ms >= 0 && (timeout < 0 || max_wait_ms < timeout))
		timeout = max_wait_ms;
	if (loop->stop)
		timeout = 0;

	struct epoll_event evs[16];
	int n = epoll_wait(loop->epfd, evs, 16, timeout);
	if (n < 0) {
		if (errno != EINTR)
			return -1;
		n = 0; /* a signal: its handler may have stopped the loop */
	}
	int rc = 0, saved = 0;
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd;
		if (fd == loop->dev->fd) {
			if (device_input(loop) < 0) {
				saved = errno;
				rc = -1;
			}
			continue;
		}
		/* Looked up each time: an earlier callback may have removed
		 * this descriptor. */
		for (struct loop_fd *f = loop->fds; f; f = f->next)
			if (f->fd == fd) {
				f->cb(f->ctx, fd, evs[i].events);
				break;
			}
	}
	now = tide_loop_clock();
	tide_stack_advance(loop->st, now);
	if (loop->arp)
		tide_arp_advance(loop->arp, now);
	if (loop->wake_at <= now)
		loop->wake_at = TIDE_TIME_NEVER;
	if (loop->tick)
		loop->tick(loop->tick_ctx, loop);
	if (rc < 0)
		errno = saved;
	return rc;
}

int tide_loop_run(tide_loop *loop)
{
	/* A stop asked before the call (a signal during set-up) counts; the
	 * flag is cleared on the way out so that the loop can run again. */
	while (!loop->stop)
		if (tide_loop_run_once(loop, -1) < 0)
			return -1;
	loop->stop = 0;
	return 0;
}
