/*
 * Ethernet II frames and ARP for TAP devices (ether.c, arp.c): the formats,
 * and a sans-IO ARP cache that the run loop drives with the real clock and
 * the tests with a virtual one. Not public API.
 */
#ifndef TIDE_LINK_ETHER_H
#define TIDE_LINK_ETHER_H

#include <tide/tide.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIDE_ETH_ALEN 6
#define TIDE_ETH_HLEN 14
#define TIDE_ETHERTYPE_IPV4 0x0800
#define TIDE_ETHERTYPE_ARP 0x0806
#define TIDE_ETHERTYPE_IPV6 0x86dd

extern const uint8_t tide_eth_broadcast[TIDE_ETH_ALEN];

struct tide_ether {
	uint8_t dst[TIDE_ETH_ALEN], src[TIDE_ETH_ALEN];
	uint16_t type;
	const uint8_t *payload;   /* points into the parsed frame */
	size_t payload_len;       /* everything after the header (padding included) */
};

/* 0, or -1 if the frame is shorter than its 14-byte header. A type below
 * 0x0600 is an 802.3 length, which tide does not speak: parsed all the same,
 * the caller drops it by type. */
int tide_ether_parse(const uint8_t *frame, size_t len, struct tide_ether *eth);
/* Header then payload; the bytes written, 0 if cap is too small. No
 * padding to 60 bytes: the TAP device does not need it. */
size_t tide_ether_build(uint8_t *buf, size_t cap, const uint8_t dst[TIDE_ETH_ALEN],
			const uint8_t src[TIDE_ETH_ALEN], uint16_t type, const void *payload,
			size_t len);
bool tide_eth_is_multicast(const uint8_t mac[TIDE_ETH_ALEN]); /* broadcast included */
/* "02:74:0a:0b:0c:0d"; buf needs 18 bytes. */
const char *tide_eth_ntoa(const uint8_t mac[TIDE_ETH_ALEN], char *buf, size_t cap);

/* ARP for IPv4 over Ethernet (RFC 826). */
#define TIDE_ARP_LEN 28
#define TIDE_ARP_REQUEST 1
#define TIDE_ARP_REPLY 2

struct tide_arp_pkt {
	uint16_t op;
	uint8_t sha[TIDE_ETH_ALEN];  /* sender hardware address */
	uint32_t spa;                /* sender IPv4 address, host order */
	uint8_t tha[TIDE_ETH_ALEN];
	uint32_t tpa;
};

/* 0, or -1 if shorter than 28 bytes or not Ethernet/IPv4 (hardware type 1,
 * protocol 0x0800, lengths 6 and 4). Trailing bytes (padding) are fine. */
int tide_arp_parse(const uint8_t *p, size_t len, struct tide_arp_pkt *a);
/* 28 bytes, or 0 if cap is too small. */
size_t tide_arp_build(uint8_t *buf, size_t cap, const struct tide_arp_pkt *a);

/*
 * The ARP cache of one interface (one address, one MAC). It sends frames
 * through `xmit` (ARP requests and replies, and IPv4 packets once their
 * next hop is known). An entry is trusted for 60 s after it was learnt;
 * after that it is re-resolved when next used (the old address still
 * carries traffic meanwhile). A packet to an unknown next hop waits in a
 * queue of at most TIDE_ARP_QLEN per address while requests go out 1 s
 * apart; after TIDE_ARP_TRIES unanswered ones its packets are dropped and
 * counted as failed.
 */
#define TIDE_ARP_ENTRIES 64
#define TIDE_ARP_QLEN 16
#define TIDE_ARP_TRIES 3
#define TIDE_ARP_LIFETIME TIDE_SEC(60)
#define TIDE_ARP_RETRY TIDE_SEC(1)

typedef void (*tide_arp_xmit_fn)(void *ctx, const uint8_t *frame, size_t len);
struct tide_arp_cache;

struct tide_arp_counts {
	uint64_t requests;  /* requests sent */
	uint64_t replies;   /* replies sent (answers for our address) */
	uint64_t queued;    /* packets that had to wait for a resolution */
	uint64_t failed;    /* packets dropped: no answer, or the queue was full */
	uint64_t dropped;   /* ARP packets ignored: malformed, from us, conflicting */
};

struct tide_arp_cache *tide_arp_cache_new(const uint8_t mac[TIDE_ETH_ALEN], uint32_t addr,
					  tide_arp_xmit_fn xmit, void *ctx);
void tide_arp_cache_free(struct tide_arp_cache *c);
/* Sends an IPv4 packet to the next hop `nh` (host order): framed at once
 * when its address is known, else queued behind a request. */
void tide_arp_output(struct tide_arp_cache *c, uint32_t nh, const uint8_t *pkt, size_t len,
		     tide_time now);
/* Frames pkt to a known MAC (broadcast, multicast) and sends it. */
void tide_arp_output_to(struct tide_arp_cache *c, const uint8_t dst[TIDE_ETH_ALEN],
			const uint8_t *pkt, size_t len);
/* An ARP packet (the Ethernet payload) received at `now`. 0 if it was
 * understood, -1 if dropped (counted in `dropped`). */
int tide_arp_input(struct tide_arp_cache *c, const uint8_t *p, size_t len, tide_time now);
/* Retries and failures due at or before now. */
void tide_arp_advance(struct tide_arp_cache *c, tide_time now);
tide_time tide_arp_next_timer(const struct tide_arp_cache *c);
/* The MAC of ip if the cache holds a fresh (under 60 s old) entry. */
bool tide_arp_lookup(const struct tide_arp_cache *c, uint32_t ip, uint8_t mac[TIDE_ETH_ALEN],
		     tide_time now);
/* Packets waiting for ip's resolution. */
unsigned tide_arp_pending(const struct tide_arp_cache *c, uint32_t ip);
void tide_arp_get_counts(const struct tide_arp_cache *c, struct tide_arp_counts *out);

#endif
