/*
 * ARP (RFC 826) for one TAP interface: answering for the stack's address,
 * resolving next hops, and the cache in between.
 *
 * Learning follows Linux's arp_process: a request for our address teaches
 * us its sender (we are about to talk to it); replies and gratuitous ARP
 * (sender address = target address) create or refresh entries (Linux's
 * arp_accept=1, so a peer that changed its MAC is followed at once); other
 * traffic only refreshes entries we already have. Packets claiming our own
 * address or coming from our own MAC are ignored.
 */
#include "ether.h"
#include "wire/bytes.h"

#include <stdlib.h>
#include <string.h>

enum { ARP_FREE, ARP_INCOMPLETE, ARP_REACHABLE, ARP_PROBE };

struct arp_qpkt {
	struct arp_qpkt *next;
	size_t len;
	uint8_t data[];
};

struct arp_entry {
	uint32_t ip;
	uint8_t mac[TIDE_ETH_ALEN];
	uint8_t state;
	uint8_t tries;           /* requests sent in this resolution */
	tide_time learnt;        /* when the MAC was last confirmed */
	tide_time retry_at;      /* INCOMPLETE, PROBE: next request or failure */
	tide_time used;          /* for eviction: least recently used goes first */
	struct arp_qpkt *qhead, *qtail;
	unsigned qlen;
};

struct tide_arp_cache {
	uint8_t mac[TIDE_ETH_ALEN];
	uint32_t addr;
	tide_arp_xmit_fn xmit;
	void *ctx;
	struct tide_arp_counts n;
	struct arp_entry e[TIDE_ARP_ENTRIES];
	uint8_t frame[TIDE_ETH_HLEN + 65535];
};

int tide_arp_parse(const uint8_t *p, size_t len, struct tide_arp_pkt *a)
{
	if (len < TIDE_ARP_LEN)
		return -1;
	if (tide_get16(p) != 1 || tide_get16(p + 2) != TIDE_ETHERTYPE_IPV4 || p[4] != 6 ||
	    p[5] != 4)
		return -1;
	a->op = tide_get16(p + 6);
	memcpy(a->sha, p + 8, 6);
	a->spa = tide_get32(p + 14);
	memcpy(a->tha, p + 18, 6);
	a->tpa = tide_get32(p + 24);
	return 0;
}

size_t tide_arp_build(uint8_t *buf, size_t cap, const struct tide_arp_pkt *a)
{
	if (cap < TIDE_ARP_LEN)
		return 0;
	tide_put16(buf, 1);
	tide_put16(buf + 2, TIDE_ETHERTYPE_IPV4);
	buf[4] = 6;
	buf[5] = 4;
	tide_put16(buf + 6, a->op);
	memcpy(buf + 8, a->sha, 6);
	tide_put32(buf + 14, a->spa);
	memcpy(buf + 18, a->tha, 6);
	tide_put32(buf + 24, a->tpa);
	return TIDE_ARP_LEN;
}

struct tide_arp_cache *tide_arp_cache_new(const uint8_t mac[TIDE_ETH_ALEN], uint32_t addr,
					  tide_arp_xmit_fn xmit, void *ctx)
{
	struct tide_arp_cache *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	memcpy(c->mac, mac, TIDE_ETH_ALEN);
	c->addr = addr;
	c->xmit = xmit;
	c->ctx = ctx;
	return c;
}

static unsigned drop_queue(struct arp_entry *e)
{
	unsigned n = e->qlen;
	while (e->qhead) {
		struct arp_qpkt *q = e->qhead;
		e->qhead = q->next;
		free(q);
	}
	e->qtail = NULL;
	e->qlen = 0;
	return n;
}

void tide_arp_cache_free(struct tide_arp_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < TIDE_ARP_ENTRIES; i++)
		drop_queue(&c->e[i]);
	free(c);
}

static void send_frame(struct tide_arp_cache *c, const uint8_t dst[TIDE_ETH_ALEN], uint16_t type,
		       const uint8_t *payload, size_t len)
{
	size_t n = tide_ether_build(c->frame, sizeof c->frame, dst, c->mac, type, payload, len);
	if (n)
		c->xmit(c->ctx, c->frame, n);
}

static void send_arp(struct tide_arp_cache *c, uint16_t op, const uint8_t dst[TIDE_ETH_ALEN],
		     const uint8_t tha[TIDE_ETH_ALEN], uint32_t tpa)
{
	struct tide_arp_pkt a = { .op = op, .spa = c->addr, .tpa = tpa };
	uint8_t p[TIDE_ARP_LEN];
	memcpy(a.sha, c->mac, TIDE_ETH_ALEN);
	memcpy(a.tha, tha, TIDE_ETH_ALEN);
	tide_arp_build(p, sizeof p, &a);
	if (op == TIDE_ARP_REQUEST)
		c->n.requests++;
	else
		c->n.replies++;
	send_frame(c, dst, TIDE_ETHERTYPE_ARP, p, sizeof p);
}

static void send_request(struct tide_arp_cache *c, struct arp_entry *e, tide_time now)
{
	static const uint8_t zero[TIDE_ETH_ALEN];
	e->tries++;
	e->retry_at = now + TIDE_ARP_RETRY;
	send_arp(c, TIDE_ARP_REQUEST, tide_eth_broadcast, zero, e->ip);
}

static struct arp_entry *find(const struct tide_arp_cache *c, uint32_t ip)
{
	for (int i = 0; i < TIDE_ARP_ENTRIES; i++)
		if (c->e[i].state != ARP_FREE && c->e[i].ip == ip)
			return (struct arp_entry *)&c->e[i];
	return NULL;
}

/* A free slot, else the least recently used entry (the packets it held, if
 * any, count as failed). */
static struct arp_entry *slot(struct tide_arp_cache *c, uint32_t ip)
{
	struct arp_entry *victim = NULL;
	for (int i = 0; i < TIDE_ARP_ENTRIES; i++) {
		struct arp_entry *e = &c->e[i];
		if (e->state == ARP_FREE) {
			victim = e;
			break;
		}
		if (!victim || e->used < victim->used)
			victim = e;
	}
	c->n.failed += drop_queue(victim);
	memset(victim, 0, sizeof *victim);
	victim->ip = ip;
	return victim;
}

static void flush_queue(struct tide_arp_cache *c, struct arp_entry *e)
{
	/* Detached first: xmit may not re-enter the cache, but the entry must
	 * be consistent whatever happens. */
	struct arp_qpkt *q = e->qhead;
	e->qhead = e->qtail = NULL;
	e->qlen = 0;
	while (q) {
		struct arp_qpkt *next = q->next;
		send_frame(c, e->mac, TIDE_ETHERTYPE_IPV4, q->data, q->len);
		free(q);
		q = next;
	}
}

static void learn(struct tide_arp_cache *c, struct arp_entry *e, const uint8_t mac[TIDE_ETH_ALEN],
		  tide_time now)
{
	memcpy(e->mac, mac, TIDE_ETH_ALEN);
	e->state = ARP_REACHABLE;
	e->tries = 0;
	e->learnt = now;
	e->retry_at = TIDE_TIME_NEVER;
	if (e->used < now)
		e->used = now;
	flush_queue(c, e);
}

void tide_arp_output_to(struct tide_arp_cache *c, const uint8_t dst[TIDE_ETH_ALEN],
			const uint8_t *pkt, size_t len)
{
	send_frame(c, dst, TIDE_ETHERTYPE_IPV4, pkt, len);
}

void tide_arp_output(struct tide_arp_cache *c, uint32_t nh, const uint8_t *pkt, size_t len,
		     tide_time now)
{
	struct arp_entry *e = find(c, nh);
	if (e && e->state != ARP_INCOMPLETE) {
		e->used = now;
		if (e->state == ARP_REACHABLE && now >= e->learnt + TIDE_ARP_LIFETIME) {
			/* Expired: ask again, but keep using the address we
			 * have until the answer (or its absence) settles it,
			 * as Linux's STALE -> PROBE does. */
			e->state = ARP_PROBE;
			e->tries = 0;
			send_request(c, e, now);
		}
		send_frame(c, e->mac, TIDE_ETHERTYPE_IPV4, pkt, len);
		return;
	}
	if (!e) {
		e = slot(c, nh);
		e->state = ARP_INCOMPLETE;
		e->used = now;
		send_request(c, e, now);
	}
	if (e->qlen >= TIDE_ARP_QLEN) {
		/* The oldest goes, as in Linux's unresolved queue: the newest
		 * packets are the ones TCP is waiting on. */
		struct arp_qpkt *old = e->qhead;
		e->qhead = old->next;
		if (!e->qhead)
			e->qtail = NULL;
		e->qlen--;
		free(old);
		c->n.failed++;
	}
	struct arp_qpkt *q = malloc(sizeof *q + len);
	if (!q) {
		c->n.failed++;
		return;
	}
	q->next = NULL;
	q->len = len;
	memcpy(q->data, pkt, len);
	if (e->qtail)
		e->qtail->next = q;
	else
		e->qhead = q;
	e->qtail = q;
	e->qlen++;
	c->n.queued++;
}

int tide_arp_input(struct tide_arp_cache *c, const uint8_t *p, size_t len, tide_time now)
{
	struct tide_arp_pkt a;
	if (tide_arp_parse(p, len, &a) < 0 || (a.op != TIDE_ARP_REQUEST && a.op != TIDE_ARP_REPLY) ||
	    tide_eth_is_multicast(a.sha) || memcmp(a.sha, c->mac, TIDE_ETH_ALEN) == 0 ||
	    a.spa == c->addr || (a.spa >> 28) == 0xe || a.spa == 0xffffffffu) {
		c->n.dropped++;
		return -1;
	}
	bool for_us = a.tpa == c->addr;
	bool gratuitous = a.spa == a.tpa;
	struct arp_entry *e = a.spa ? find(c, a.spa) : NULL;
	/* spa 0 is a probe (RFC 5227): answer it, learn nothing. */
	if (a.spa && !e && (for_us || a.op == TIDE_ARP_REPLY || gratuitous))
		e = slot(c, a.spa);
	if (e)
		learn(c, e, a.sha, now);
	if (a.op == TIDE_ARP_REQUEST && for_us)
		send_arp(c, TIDE_ARP_REPLY, a.sha, a.sha, a.spa);
	return 0;
}

void tide_arp_advance(struct tide_arp_cache *c, tide_time now)
{
	for (int i = 0; i < TIDE_ARP_ENTRIES; i++) {
		struct arp_entry *e = &c->e[i];
		if ((e->state != ARP_INCOMPLETE && e->state != ARP_PROBE) || e->retry_at > now)
			continue;
		if (e->tries < TIDE_ARP_TRIES) {
			send_request(c, e, now);
			continue;
		}
		c->n.failed += drop_queue(e);
		memset(e, 0, sizeof *e);
	}
}

tide_time tide_arp_next_timer(const struct tide_arp_cache *c)
{
	tide_time t = TIDE_TIME_NEVER;
	for (int i = 0; i < TIDE_ARP_ENTRIES; i++) {
		const struct arp_entry *e = &c->e[i];
		if ((e->state == ARP_INCOMPLETE || e->state == ARP_PROBE) && e->retry_at < t)
			t = e->retry_at;
	}
	return t;
}

bool tide_arp_lookup(const struct tide_arp_cache *c, uint32_t ip, uint8_t mac[TIDE_ETH_ALEN],
		     tide_time now)
{
	const struct arp_entry *e = find(c, ip);
	if (!e || e->state == ARP_INCOMPLETE || now >= e->learnt + TIDE_ARP_LIFETIME)
		return false;
	memcpy(mac, e->mac, TIDE_ETH_ALEN);
	return true;
}

unsigned tide_arp_pending(const struct tide_arp_cache *c, uint32_t ip)
{
	const struct arp_entry *e = find(c, ip);
	return e ? e->qlen : 0;
}

void tide_arp_get_counts(const struct tide_arp_cache *c, struct tide_arp_counts *out)
{
	*out = c->n;
}
