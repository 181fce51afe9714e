/*
 * Real links: a tide stack on a Linux TUN (IP packets) or TAP (Ethernet)
 * device, driven by a run loop on the real clock.
 *
 * The core stays sans-IO; this layer owns the clock and the device:
 * tide_loop_run_once waits (epoll) for the device, the stack's next timer
 * and any extra descriptors the program added, feeds received packets to
 * the stack with the current time, advances the stack's clock, and calls
 * the program's tick callback so it can use the socket API (non-blocking,
 * with tide_epoll_*). On TAP the loop speaks ARP (answers requests for the
 * stack's address, resolves next hops, keeps an ARP cache, queues packets
 * waiting for a reply) and drops frames for other MAC addresses.
 *
 * Needs root or CAP_NET_ADMIN to create devices. Errors come back as -1 or
 * NULL with errno and a message naming the cause: no /dev/net/tun, no
 * permission, a bad or busy device name.
 */
#ifndef TIDE_NETDEV_H
#define TIDE_NETDEV_H

#include <tide/tide.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_netdev tide_netdev;
typedef struct tide_loop tide_loop;

enum tide_netdev_kind { TIDE_NETDEV_TUN, TIDE_NETDEV_TAP };

/* Opens (creating if needed) the TUN or TAP device `name` (IFNAMSIZ-1
 * characters at most), without packet information headers. For TAP, mac is
 * the stack's Ethernet address (NULL: a locally administered one derived
 * from the name). The device is brought up; its kernel-side address is the
 * caller's business (ip addr add ...). */
tide_netdev *tide_netdev_open(enum tide_netdev_kind kind, const char *name, const uint8_t *mac,
			      char *err, size_t errlen);
void tide_netdev_close(tide_netdev *dev);
int tide_netdev_fd(const tide_netdev *dev);
const char *tide_netdev_name(const tide_netdev *dev);
enum tide_netdev_kind tide_netdev_kind(const tide_netdev *dev);

/* The loop's clock: microseconds of CLOCK_MONOTONIC. */
tide_time tide_loop_clock(void);

/* Creates the stack from cfg (its output goes to the device; cfg->output
 * is ignored) on dev. The loop owns neither cfg nor dev: close dev after
 * freeing the loop. */
tide_loop *tide_loop_new(const struct tide_config *cfg, tide_netdev *dev, char *err, size_t errlen);
void tide_loop_free(tide_loop *loop);
tide_stack *tide_loop_stack(tide_loop *loop);

/* For TAP: the IPv4 next hop for destinations outside the stack's subnet
 * (0: none) and the subnet's prefix length (default 24). */
void tide_loop_set_route(tide_loop *loop, uint8_t prefix_len, uint32_t gateway);

/* Extra descriptors (a control socket, stdin...): cb runs when fd has any
 * of the epoll `events`. */
typedef void (*tide_loop_fd_fn)(void *ctx, int fd, uint32_t events);
int tide_loop_add_fd(tide_loop *loop, int fd, uint32_t events, tide_loop_fd_fn cb, void *ctx);
int tide_loop_del_fd(tide_loop *loop, int fd);

/* Called after every iteration (packets fed, timers run): the program's
 * chance to use the socket API. It may set a wake-up time for itself. */
typedef void (*tide_loop_tick_fn)(void *ctx, tide_loop *loop);
void tide_loop_set_tick(tide_loop *loop, tide_loop_tick_fn fn, void *ctx);
/* Ask for a tick no later than `at` (loop clock). */
void tide_loop_wake_at(tide_loop *loop, tide_time at);

/* One iteration: waits at most max_wait_ms (-1: until something happens).
 * Returns 0, or -1 with errno on a device error. */
int tide_loop_run_once(tide_loop *loop, int max_wait_ms);
/* Iterates until tide_loop_stop (or SIGINT/SIGTERM if the program set
 * handlers that call it). Returns 0, or -1 on a device error. */
int tide_loop_run(tide_loop *loop);
void tide_loop_stop(tide_loop *loop);

/* Packets counted by the loop, for diagnostics. */
struct tide_loop_stats {
	uint64_t rx_packets, tx_packets, rx_dropped;   /* rx_dropped: not for us, bad frames */
	uint64_t arp_requests, arp_replies, arp_queued, arp_failed;
};
void tide_loop_stats(const tide_loop *loop, struct tide_loop_stats *out);

#ifdef __cplusplus
}
#endif
#endif
