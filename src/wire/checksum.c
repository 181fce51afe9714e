/*
 * Internet checksum (RFC 1071).
 *
 * tide_csum_add returns a partial sum that callers chain across pieces
 * (pseudo-header, header, payload); tide_csum_fold turns it into the value
 * that goes in a header, which is also 0 when the covered bytes already hold
 * a correct checksum. Only the last piece of a chain may have an odd length,
 * because an odd piece is padded with a zero byte as the RFC prescribes.
 */
#include "tide/wire.h"

uint32_t tide_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	/* 64 bits so that no input length can overflow before we fold; since
	 * 2^32 and 2^16 are both 1 modulo 0xffff, folding the carries back in
	 * keeps the one's complement sum unchanged. */
	uint64_t acc = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t tide_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t tide_tcp_checksum(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len)
{
	uint32_t sum = 0;

	/* The pseudo-header, added as 16-bit words instead of being laid out
	 * in a buffer: the sum does not depend on where the words come from. */
	sum += src >> 16;
	sum += src & 0xffffu;
	sum += dst >> 16;
	sum += dst & 0xffffu;
	sum += TIDE_IPPROTO_TCP;
	sum += (uint32_t)(len & 0xffffu);
	return tide_csum_fold(tide_csum_add(sum, seg, len));
}
