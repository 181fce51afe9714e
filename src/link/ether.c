/*
 * Ethernet II framing (the TAP device's frames carry no preamble, no FCS).
 */
#include "ether.h"
#include "wire/bytes.h"

#include <stdio.h>
#include <string.h>

const uint8_t tide_eth_broadcast[TIDE_ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

int tide_ether_parse(const uint8_t *frame, size_t len, struct tide_ether *eth)
{
	if (len < TIDE_ETH_HLEN)
		return -1;
	memcpy(eth->dst, frame, TIDE_ETH_ALEN);
	memcpy(eth->src, frame + 6, TIDE_ETH_ALEN);
	eth->type = tide_get16(frame + 12);
	eth->payload = frame + TIDE_ETH_HLEN;
	eth->payload_len = len - TIDE_ETH_HLEN;
	return 0;
}

size_t tide_ether_build(uint8_t *buf, size_t cap, const uint8_t dst[TIDE_ETH_ALEN],
			const uint8_t src[TIDE_ETH_ALEN], uint16_t type, const void *payload,
			size_t len)
{
	if (cap < TIDE_ETH_HLEN || len > cap - TIDE_ETH_HLEN)
		return 0;
	memcpy(buf, dst, TIDE_ETH_ALEN);
	memcpy(buf + 6, src, TIDE_ETH_ALEN);
	tide_put16(buf + 12, type);
	if (len)
		memmove(buf + TIDE_ETH_HLEN, payload, len);
	return TIDE_ETH_HLEN + len;
}

bool tide_eth_is_multicast(const uint8_t mac[TIDE_ETH_ALEN])
{
	return mac[0] & 1;
}

const char *tide_eth_ntoa(const uint8_t mac[TIDE_ETH_ALEN], char *buf, size_t cap)
{
	snprintf(buf, cap, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	return buf;
}
