/*
 * Hand-made segments for the TCP behaviour tests (used with harness.h).
 *
 *	th_inject(&h, h.c, 40000, 80, TIDE_TCP_RST, 101, 0, 0, NULL, 0, NULL);
 *
 * th_inject makes node `from` "send" a segment it never built itself: the
 * packet goes through the simulated network like any other (recorded as a
 * segment sent by `from`, subject to fault rules, delivered after the link
 * delay), so the peer's answer shows up in the log as usual.
 * th_inject_raw skips the network: the bytes go straight into one stack, at
 * the current virtual time, and the stack's verdict is returned.
 */
#ifndef TIDE_TEST_INJECT_H
#define TIDE_TEST_INJECT_H

#include "harness.h"

/* The IPv4 packet of a TCP segment from node `from` (its address) to the
 * other node of the harness (client <-> server), with the given header
 * fields, options (NULL: none) and payload; checksums are right. Returns
 * the packet length, 0 if it does not fit in cap. */
size_t th_build_seg(struct th *h, int from, uint8_t *buf, size_t cap, uint16_t sport,
		    uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
		    const void *payload, size_t len, const struct tide_tcp_opts *opts);

/* Builds that segment and hands it to the network as sent by `from` now. */
void th_inject(struct th *h, int from, uint16_t sport, uint16_t dport, uint8_t flags,
	       uint32_t seq, uint32_t ack, uint16_t win, const void *payload, size_t len,
	       const struct tide_tcp_opts *opts /* may be NULL */);

/* Feeds pkt straight into the stack of node `to` at the current time;
 * returns tide_stack_input's result (0, or minus the drop counter). */
int th_inject_raw(struct th *h, int to, const uint8_t *pkt, size_t len);

/* A fault rule dropping `count` packets from node `from` whose flags match
 * (flags & mask) == match, starting with the nth (rules count from when
 * they are added). */
void th_drop(struct th *h, int from, uint8_t mask, uint8_t match, unsigned nth, unsigned count);

/* A SYN with a Linux client's options (mss 1460, sackOK, TS, wscale 7) to
 * the server's port 80 from a forged source, that nobody will answer for. */
void th_spoof_syn(struct th *h, uint32_t src, uint16_t sport);
/* n such SYNs at once, from 198.19.0.1.. (no host owns 198.19.0.0/16),
 * ports 1024.. */
void th_flood(struct th *h, int n);
#define TH_FLOOD_NET 0xc6130000u /* 198.19.0.0/16 */

#endif
