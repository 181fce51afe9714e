/*
 * ICMP messages (RFC 792): parsing any type, building echo messages.
 */
#include "tide/wire.h"
#include "bytes.h"

#include <string.h>

enum tide_wire_err tide_icmp_parse(const uint8_t *msg, size_t len, bool verify_csum,
				   struct tide_icmp *icmp)
{
	if (len < TIDE_ICMP_HLEN)
		return TIDE_WIRE_ICMP_TRUNCATED;
	/* The checksum covers the whole message, the data included, and a
	 * correct message sums to zero. */
	if (verify_csum && tide_csum_fold(tide_csum_add(0, msg, len)) != 0)
		return TIDE_WIRE_ICMP_CHECKSUM;
	icmp->type = msg[0];
	icmp->code = msg[1];
	icmp->checksum = tide_get16(msg + 2);
	icmp->id = tide_get16(msg + 4);
	icmp->seq = tide_get16(msg + 6);
	icmp->payload = msg + TIDE_ICMP_HLEN;
	icmp->payload_len = len - TIDE_ICMP_HLEN;
	return TIDE_WIRE_OK;
}

size_t tide_icmp_build_echo(uint8_t *buf, size_t cap, uint8_t type, uint16_t id, uint16_t seq,
			    const void *data, size_t data_len)
{
	if (cap < TIDE_ICMP_HLEN || data_len > cap - TIDE_ICMP_HLEN)
		return 0;
	buf[0] = type;
	buf[1] = 0;
	tide_put16(buf + 2, 0);
	tide_put16(buf + 4, id);
	tide_put16(buf + 6, seq);
	if (data_len)
		memcpy(buf + TIDE_ICMP_HLEN, data, data_len);
	size_t len = TIDE_ICMP_HLEN + data_len;
	tide_put16(buf + 2, tide_csum_fold(tide_csum_add(0, buf, len)));
	return len;
}
