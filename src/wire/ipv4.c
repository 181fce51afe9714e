/* IPv4 header parsing and building (RFC 791). */
#include "tide/wire.h"
#include "bytes.h"

#include <string.h>

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
	total = tide_get16(pkt + 2);
	/* Trailing bytes past total_len are link-layer padding (Ethernet pads
	 * short frames), so only a shorter buffer is an error. */
	if (total < hlen || total > len)
		return TIDE_WIRE_IP_TOTAL_LENGTH;
	if (tide_csum_fold(tide_csum_add(0, pkt, hlen)) != 0)
		return TIDE_WIRE_IP_CHECKSUM;

	frag = tide_get16(pkt + 6);
	ip->header_len = (uint8_t)hlen;
	ip->tos = pkt[1];
	ip->total_len = (uint16_t)total;
	ip->id = tide_get16(pkt + 4);
	ip->df = (frag & IP_DF) != 0;
	ip->mf = (frag & IP_MF) != 0;
	ip->frag_offset = (uint16_t)(frag & IP_OFFSET_MASK);
	ip->ttl = pkt[8];
	ip->protocol = pkt[9];
	ip->checksum = tide_get16(pkt + 10);
	ip->src = tide_get32(pkt + 12);
	ip->dst = tide_get32(pkt + 16);
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
	tide_put16(buf + 2, (uint16_t)total);
	tide_put16(buf + 4, id);
	tide_put16(buf + 6, df ? (uint16_t)IP_DF : 0);
	buf[8] = ttl;
	buf[9] = protocol;
	tide_put16(buf + 10, 0);
	tide_put32(buf + 12, src);
	tide_put32(buf + 16, dst);
	tide_put16(buf + 10, tide_csum_fold(tide_csum_add(0, buf, TIDE_IPV4_HLEN)));
	return TIDE_IPV4_HLEN;
}
