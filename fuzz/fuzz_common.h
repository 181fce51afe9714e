/*
 * Shared by the fuzz targets and the seed generator: the encoding of
 * fuzz_stack's programs, and how raw bytes are mended into packets that
 * get past the IPv4 checks.
 */
#ifndef TIDE_FUZZ_COMMON_H
#define TIDE_FUZZ_COMMON_H

#include <tide/wire.h>
#include "wire/bytes.h"

#include <stddef.h>
#include <stdint.h>

#define FZ_ADDR_A 0xc6120001u     /* 198.18.0.1, node 0 */
#define FZ_ADDR_B 0xc6120002u     /* 198.18.0.2, node 1 */
#define FZ_ADDR_NOBODY 0xc6120009u /* 198.18.0.9: no node has it */

/* Raw-packet mending (fuzz_packet's mode byte, fuzz_stack's FZ_RAW). */
#define FZ_MEND_ADDRS 0x01        /* destination := dst, source := src */
#define FZ_MEND_IP_CSUM 0x02      /* IPv4 header checksum recomputed */
#define FZ_MEND_L4_CSUM 0x04      /* TCP or ICMP checksum recomputed */
#define FZ_MEND_TOTLEN 0x08       /* IPv4 total length := the length */

static inline void fz_mend(uint8_t *p, size_t n, uint8_t mode, uint32_t src, uint32_t dst)
{
	if (n < TIDE_IPV4_HLEN)
		return;
	size_t ihl = (size_t)(p[0] & 0xf) * 4;
	if (mode & FZ_MEND_ADDRS) {
		tide_put32(p + 12, src);
		tide_put32(p + 16, dst);
	}
	if (mode & FZ_MEND_TOTLEN)
		tide_put16(p + 2, (uint16_t)(n > 0xffff ? 0xffff : n));
	if ((mode & FZ_MEND_L4_CSUM) && ihl >= TIDE_IPV4_HLEN && ihl < n) {
		size_t tot = tide_get16(p + 2);
		size_t end = tot >= ihl && tot <= n ? tot : n;
		uint8_t *l4 = p + ihl;
		size_t l4len = end - ihl;
		if (p[9] == TIDE_IPPROTO_TCP && l4len >= TIDE_TCP_HLEN) {
			tide_put16(l4 + 16, 0);
			tide_put16(l4 + 16, tide_tcp_checksum(tide_get32(p + 12), tide_get32(p + 16), l4, l4len));
		} else if (p[9] == TIDE_IPPROTO_ICMP && l4len >= TIDE_ICMP_HLEN) {
			tide_put16(l4 + 2, 0);
			tide_put16(l4 + 2, tide_csum_fold(tide_csum_add(0, l4, l4len)));
		}
	}
	if ((mode & FZ_MEND_IP_CSUM) && ihl >= TIDE_IPV4_HLEN && ihl <= n) {
		tide_put16(p + 10, 0);
		tide_put16(p + 10, tide_csum_fold(tide_csum_add(0, p, ihl)));
	}
}

/*
 * fuzz_stack's programs. Byte 0: set-up flags (FZ_SETUP_*). Then
 * operations: an opcode byte (taken modulo FZ_OP_COUNT) and its arguments
 * in the order listed; 16- and 32-bit values are big-endian; an input that
 * ends early reads zeros. "ns" is a node (bit 4) and one of its 16
 * descriptor slots (bits 0-3).
 */
enum fz_setup {
	FZ_SETUP_NO_TS = 0x01,      /* tcp_timestamps 0 on both */
	FZ_SETUP_NO_SACK = 0x02,    /* tcp_sack 0 */
	FZ_SETUP_NO_WSCALE = 0x04,  /* tcp_window_scaling 0 */
	FZ_SETUP_COOKIES = 0x08,    /* tcp_syncookies 2 on node 1 */
	FZ_SETUP_SMALL_BUF = 0x10,  /* tcp_rmem/wmem default 4096 */
	FZ_SETUP_SHORT = 0x20,      /* short timers: TIME_WAIT 2 s, fin_timeout 3 s, keepalive 5/1/2 */
	FZ_SETUP_SMALL_MTU = 0x40,  /* node 0's MTU 576 */
	FZ_SETUP_BARE = 0x80,       /* no connections made before the program */
};

/*
 * Unless FZ_SETUP_BARE: node 1 listens on port 80 (slot 0, backlog 8);
 * node 0 connects slots 0 and 1 to it; after 10 ms node 1 accepts slot 0's
 * connection into its slot 1, and slot 1's waits in the accept queue.
 */
enum fz_op {
	FZ_ADVANCE,     /* t8: (t & 31) + 1 units of FZ_UNITS[t >> 5] */
	FZ_STEP,        /* run one event of the simulated network */
	FZ_SOCKET,      /* ns8, flags8 (bit 0: SOCK_NONBLOCK, bit 1: a bad type) */
	FZ_BIND,        /* ns8, addr8 (FZ_BIND_ADDRS), port8 (FZ_PORTS) */
	FZ_LISTEN,      /* ns8, backlog8 (signed) */
	FZ_CONNECT,     /* ns8, dst8 (FZ_CONNECT_ADDRS), port8 (FZ_PORTS) */
	FZ_ACCEPT,      /* ns8 (listener), slot8 (for the new fd), flags8 */
	FZ_SEND,        /* ns8, len16, flags8 */
	FZ_RECV,        /* ns8, len16, flags8 (bit 0 MSG_PEEK, 1 MSG_DONTWAIT, 2 MSG_OOB) */
	FZ_SHUTDOWN,    /* ns8, how8 (0..2, 3 invalid) */
	FZ_CLOSE,       /* ns8 */
	FZ_SETSOCKOPT,  /* ns8, opt8 (FZ_SOCKOPTS), val32 (SO_LINGER: on = bit 0, secs = high 16 bits) */
	FZ_GETSOCKOPT,  /* ns8, opt8, len8 */
	FZ_EPOLL_CREATE,/* ns8 */
	FZ_EPOLL_CTL,   /* ns8 (epoll), slot8 (socket), op8 (1 add, 2 del, 3 mod), events32 */
	FZ_EPOLL_WAIT,  /* ns8, max8 */
	FZ_POLL,        /* node8, mask16 (slots) */
	FZ_INJECT,      /* see fuzz_stack.c: a segment built around a connection's numbers */
	FZ_RAW,         /* node8, mend8 (FZ_MEND_*), len8, len bytes: a packet from the other node */
	FZ_SETTING,     /* node8, which8 (tide_settings_table index), val32 (bit 31: a value near
			 * the minimum, from the low 7 bits; else anywhere in the range) */
	FZ_FAULT,       /* from8, action8, mask8, match8, nth8, count8, delay8 */
	FZ_OWNER,       /* ns8, owner8 */
	FZ_RELEASE,     /* node8, owner8 */
	FZ_CUT,         /* t8: the link drops everything for that long (FZ_ADVANCE's units) */
	FZ_NAMES,       /* ns8: getsockname and getpeername */
	FZ_ALLOC_FAIL,  /* node8, skip8, count8: the node's allocator refuses `count`
			 * allocations after `skip` more succeed (count 0: none) */
	FZ_OP_COUNT
};

/* FZ_INJECT's arguments: node8 (the victim), target8 (one of its
 * connections, requests, TIME_WAIT records and listeners, in table order,
 * modulo their number + 1; the last is a made-up 4-tuple), flags8,
 * seqsel8, seqdelta8, acksel8, ackdelta8, win16, opts8, then for opts8's
 * bits: 0x01 mss16, 0x02 wscale8, 0x08 tsdelta16 ecrdelta16, (opts8 >> 4)
 * & 3 SACK blocks of ldelta16 len16 (from SND.UNA); 0x04 is SACK_OK; then
 * len16, the payload's length. seqsel's low 3 bits pick the base
 * (FZ_SEQ_*), its bits 3-4 multiply the signed 8-bit delta by 1, 2^6, 2^12
 * or 2^18 (FZ_SHIFT): small deltas, the ones that find edge cases, are
 * the likeliest; acksel likewise (FZ_ACK_*). */
#define FZ_SHIFT(n) ((uint8_t)((n) << 3))
enum { FZ_SEQ_RCV_NXT, FZ_SEQ_WND_END, FZ_SEQ_RCV_WUP, FZ_SEQ_IRS, FZ_SEQ_RCV_NXT_1, FZ_SEQ_RCV_ADV,
       FZ_SEQ_ZERO, FZ_SEQ_ANY };
enum { FZ_ACK_SND_UNA, FZ_ACK_SND_NXT, FZ_ACK_SND_MAX, FZ_ACK_ISS, FZ_ACK_SND_UNA_1, FZ_ACK_FIN,
       FZ_ACK_WND_END, FZ_ACK_ANY };
#define FZ_OPT_MSS 0x01
#define FZ_OPT_WS 0x02
#define FZ_OPT_SACK_OK 0x04
#define FZ_OPT_TS 0x08
#define FZ_OPT_NSACK(n) ((uint8_t)((n) << 4))

/* The tables the byte arguments index (modulo their length). */
#define FZ_NPORTS 8
#define FZ_PORTS { 0, 80, 81, 40000, 40001, 32768, 60999, 65535 }
#define FZ_NSOCKOPTS 18
enum { FZ_SO_REUSEADDR, FZ_SO_REUSEPORT, FZ_SO_KEEPALIVE, FZ_SO_LINGER, FZ_SO_RCVBUF, FZ_SO_SNDBUF,
       FZ_TCP_NODELAY, FZ_TCP_KEEPIDLE, FZ_TCP_KEEPINTVL, FZ_TCP_KEEPCNT, FZ_TCP_LINGER2,
       FZ_TCP_USER_TIMEOUT, FZ_TCP_DEFER_ACCEPT, FZ_TCP_MAXSEG, FZ_SO_ERROR, FZ_TCP_INFO,
       FZ_SO_TYPE, FZ_BAD_LEVEL };
enum { FZ_ADDR_ANY, FZ_ADDR_OWN, FZ_ADDR_PEER, FZ_ADDR_NONE, FZ_ADDR_LOOP, FZ_ADDR_MCAST, FZ_NADDRS };

#endif
