/* Internals of the link layer for real devices (netdev.c, loop.c), shared
 * with the tests and the probe tool. Not public API. */
#ifndef TIDE_LINK_NETDEV_INT_H
#define TIDE_LINK_NETDEV_INT_H

#include <tide/netdev.h>
#include <net/if.h>

struct tide_netdev {
	int fd;
	enum tide_netdev_kind kind;
	char name[IFNAMSIZ];
	uint8_t mac[6];           /* TAP: the stack's address */
};

/* The stack's Ethernet address on a TAP device (NULL on TUN). */
const uint8_t *tide_netdev_mac(const tide_netdev *dev);

#endif
