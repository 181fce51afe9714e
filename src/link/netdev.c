/*
 * TUN and TAP devices from /dev/net/tun.
 *
 * TUN carries bare IPv4 packets, TAP Ethernet frames (the loop then speaks
 * ARP); both are opened without the 4-byte packet information header
 * (IFF_NO_PI), non-blocking, and brought up. The device lives as long as
 * the descriptor unless it was made persistent beforehand (ip tuntap add).
 *
 * Trying it by hand (as root; tide-echo or any program on tide_loop, or
 * the test probe tests/net/tide_tun_probe):
 *
 *	ip netns add tide-try
 *	ip netns exec tide-try ip link set lo up
 *	ip netns exec tide-try ./build/tests/tide_tun_probe tun tide0 198.18.0.2 30 &
 *	    (the program creates tide0 and brings it up)
 *	ip netns exec tide-try ip addr add 198.18.0.1/24 dev tide0
 *	ip netns exec tide-try ping -c 3 198.18.0.2
 *	ip netns del tide-try
 *
 * With `tap` instead of `tun`, `ip netns exec tide-try ip neigh` then shows
 * tide's MAC address for 198.18.0.2.
 */
#include "netdev_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The kernel's rule for interface names (dev_valid_name), checked here so
 * that a bad name gets a message that says what is wrong with it. */
static const char *bad_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0)
		return "is empty";
	if (n >= IFNAMSIZ)
		return "is too long (15 characters at most)";
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return "is not allowed";
	for (const char *p = name; *p; p++) {
		if (*p == '/' || *p == ':' || *p == ' ' || (*p >= '\t' && *p <= '\r'))
			return "has a character interfaces cannot have ('/', ':' or a space)";
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			return "has a control character";
	}
	return NULL;
}

/* A locally administered unicast address (bit 1 set, bit 0 clear in the
 * first byte) from the name, so a program restarted on the same device
 * keeps its address and the peers' ARP caches stay right. */
static void derive_mac(const char *name, uint8_t mac[6])
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const char *p = name; *p; p++) {
		h ^= (uint8_t)*p;
		h *= 16777619u;
	}
	mac[0] = 0x02;
	mac[1] = 0x74; /* 't' */
	mac[2] = (uint8_t)(h >> 24);
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

static int link_up(const char *name, char *err, size_t errlen)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		int e = errno;
		set_err(err, errlen, "%s: socket for the link flags: %s", name, strerror(e));
		errno = e;
		return -1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	int r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (r == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	int e = errno;
	close(s);
	if (r < 0) {
		if (e == EPERM || e == EACCES)
			set_err(err, errlen, "%s: bringing the link up needs root or CAP_NET_ADMIN",
				name);
		else
			set_err(err, errlen, "%s: bringing the link up: %s", name, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

tide_netdev *tide_netdev_open(enum tide_netdev_kind kind, const char *name, const uint8_t *mac,
			      char *err, size_t errlen)
{
	const char *what = kind == TIDE_NETDEV_TAP ? "TAP" : "TUN";
	if (err && errlen)
		err[0] = '\0';
	if (kind != TIDE_NETDEV_TUN && kind != TIDE_NETDEV_TAP) {
		set_err(err, errlen, "unknown device kind %d", (int)kind);
		errno = EINVAL;
		return NULL;
	}
	if (!name) {
		set_err(err, errlen, "no device name");
		errno = EINVAL;
		return NULL;
	}
	const char *why = bad_name(name);
	if (why) {
		set_err(err, errlen, "bad device name \"%.40s%s\": it %s", name,
			strlen(name) > 40 ? "..." : "", why);
		errno = EINVAL;
		return NULL;
	}
	if (kind == TIDE_NETDEV_TAP && mac && ((mac[0] & 1) ||
	    !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))) {
		set_err(err, errlen, "%s: the MAC address must be unicast and not zero", name);
		errno = EINVAL;
		return NULL;
	}

	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENXIO || e == ENODEV)
			set_err(err, errlen, "no /dev/net/tun: load the tun module (modprobe tun)");
		else if (e == EACCES || e == EPERM)
			set_err(err, errlen, "cannot open /dev/net/tun: creating a %s device needs "
				"root or CAP_NET_ADMIN", what);
		else
			set_err(err, errlen, "cannot open /dev/net/tun: %s", strerror(e));
		errno = e == ENXIO || e == ENODEV ? ENOENT : e;
		return NULL;
	}

	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = (short)((kind == TIDE_NETDEV_TAP ? IFF_TAP : IFF_TUN) | IFF_NO_PI);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		if (e == EPERM || e == EACCES) {
			set_err(err, errlen, "%s: creating a %s device needs root or CAP_NET_ADMIN",
				name, what);
		} else if (e == EBUSY) {
			set_err(err, errlen, "%s: the device is busy (another program has it open)",
				name);
		} else if (e == EINVAL && if_nametoindex(name) != 0) {
			/* The kernel says EINVAL when the name belongs to an
			 * interface of another type: the name is taken. */
			set_err(err, errlen, "%s: an interface of that name exists and is not a %s "
				"device", name, what);
			e = EBUSY;
		} else {
			set_err(err, errlen, "%s: creating a %s device: %s", name, what,
				strerror(e));
		}
		errno = e;
		return NULL;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		int e = errno;
		close(fd);
		set_err(err, errlen, "%s: making the device non-blocking: %s", name, strerror(e));
		errno = e;
		return NULL;
	}
	tide_netdev *dev = calloc(1, sizeof *dev);
	if (!dev) {
		close(fd);
		set_err(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	dev->fd = fd;
	dev->kind = kind;
	snprintf(dev->name, sizeof dev->name, "%s", ifr.ifr_name);
	if (kind == TIDE_NETDEV_TAP) {
		if (mac)
			memcpy(dev->mac, mac, 6);
		else
			derive_mac(dev->name, dev->mac);
	}
	if (link_up(dev->name, err, errlen) < 0) {
		int e = errno;
		tide_netdev_close(dev);
		errno = e;
		return NULL;
	}
	return dev;
}

void tide_netdev_close(tide_netdev *dev)
{
	if (!dev)
		return;
	if (dev->fd >= 0)
		close(dev->fd);
	free(dev);
}

int tide_netdev_fd(const tide_netdev *dev) { return dev->fd; }
const char *tide_netdev_name(const tide_netdev *dev) { return dev->name; }
enum tide_netdev_kind tide_netdev_kind(const tide_netdev *dev) { return dev->kind; }

const uint8_t *tide_netdev_mac(const tide_netdev *dev)
{
	return dev->kind == TIDE_NETDEV_TAP ? dev->mac : NULL;
}
