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

#include <string.h>

uint32_t tide_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	/* 64 bits so that no input length can overflow before we fold; since
	 * 2^32 and 2^16 are both 1 modulo 0xffff, folding the carries back in
	 * keeps the one's complement sum unchanged. */
	uint64_t acc = sum;
	size_t i = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (len >= 64) {
		/* Fast path for payloads: add native 32-bit words into 64 bits
		 * (the compiler vectorises this), fold to 16 bits and swap the
		 * bytes. The one's complement sum does not depend on byte order
		 * except for that final swap (RFC 1071, section 2.B), and
		 * 2^16 == 1 modulo 0xffff, so 32-bit words sum like pairs of
		 * 16-bit words. The folded result is the same; only the
		 * unfolded partial sum may differ. */
		uint64_t nat = 0;
		size_t even = len & ~(size_t)1;
		for (; i + 4 <= even; i += 4) {
			uint32_t w;
			memcpy(&w, p + i, 4);
			nat += w;
		}
		if (i < even) {
			uint16_t w;
			memcpy(&w, p + i, 2);
			nat += w;
			i += 2;
		}
		while (nat >> 16)
			nat = (nat & 0xffffu) + (nat >> 16);
		acc += ((nat & 0xffu) << 8) | (nat >> 8);
	}
#endif
	for (; i + 1 < len; i += 2)
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
