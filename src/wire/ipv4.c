/* IPv4 header parsing and building (RFC 791). */
#include "tide/wire.h"

#include <string.h>

/* Byte-wise so that any alignment of the caller's buffer is fine. */
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#define IP_DF 0x4000u
#define IP_MF 0x2000u
#define IP_OFFSET_MASK 0x1fffu

enum tide_wire_err tide_ipv4_parse(const uint8_t *pkt, size_t len, struct tide_ipv4 *ip)
{
	size_t hlen, total;
	uint16_t frag;

	/* A failed parse leaves a predictable view rather than stale fields. */
	memset(ip, 0, sizeof(*ip));
	if (len < TIDE_IPV4_HLEN)
		return TIDE_WIRE_IP_TRUNCATED;
	if (pkt[0] >> 4 != 4)
		return TIDE_WIRE_IP_VERSION;
	hlen = (size_t)(pkt[0] & 0x0f) * 4;
	if (hlen < TIDE_IPV4_HLEN)
		return TIDE_WIRE_IP_HEADER_LENGTH;
	if (hlen > len)
		return TIDE_WIRE_IP_TRUNCATED;
	total = get16(pkt + 2);
	/* Trailing bytes past total_len are link-layer padding (Ethernet pads
	 * short frames), so only a shorter buffer is an error. */
	if (total < hlen || total > len)
		return TIDE_WIRE_IP_TOTAL_LENGTH;
	if (tide_csum_fold(tide_csum_add(0, pkt, hlen)) != 0)
		return TIDE_WIRE_IP_CHECKSUM;

	frag = get16(pkt + 6);
	ip->header_len = (uint8_t)hlen;
	ip->tos = pkt[1];
	ip->total_len = (uint16_t)total;
	ip->id = get16(pkt + 4);
	ip->df = (frag & IP_DF) != 0;
	ip->mf = (frag & IP_MF) != 0;
	ip->frag_offset = (uint16_t)(frag & IP_OFFSET_MASK);
	ip->ttl = pkt[8];
	ip->protocol = pkt[9];
	ip->checksum = get16(pkt + 10);
	ip->src = get32(pkt + 12);
	ip->dst = get32(pkt + 16);
	ip->payload = pkt + hlen;
	ip->payload_len = total - hlen;
	if (ip->mf || ip->frag_offset != 0)
		return TIDE_WIRE_IP_FRAGMENT;
	return TIDE_WIRE_OK;
}

/* Returns 0 also when the header plus payload_len would not fit the 16-bit
 * total length field. */
size_t tide_ipv4_build(uint8_t *buf, size_t cap, uint32_t src, uint32_t dst,
		       uint8_t protocol, uint16_t payload_len, uint8_t ttl,
		       uint16_t id, bool df)
{
	uint32_t total = (uint32_t)TIDE_IPV4_HLEN + payload_len;

	if (cap < TIDE_IPV4_HLEN || total > 0xffffu)
		return 0;
	buf[0] = 0x45;
	buf[1] = 0;
	put16(buf + 2, (uint16_t)total);
	put16(buf + 4, id);
	put16(buf + 6, df ? (uint16_t)IP_DF : 0);
	buf[8] = ttl;
	buf[9] = protocol;
	put16(buf + 10, 0);
	put32(buf + 12, src);
	put32(buf + 16, dst);
	put16(buf + 10, tide_csum_fold(tide_csum_add(0, buf, TIDE_IPV4_HLEN)));
	return TIDE_IPV4_HLEN;
}
