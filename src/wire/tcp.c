/* TCP header and option parsing and building (RFC 9293, RFC 7323, RFC 2018). */
#include "tide/wire.h"
#include "bytes.h"

#include <string.h>

enum {
	OPT_EOL = 0,
	OPT_NOP = 1,
	OPT_MSS = 2,
	OPT_WSCALE = 3,
	OPT_SACK_OK = 4,
	OPT_SACK = 5,
	OPT_TS = 8,
};

enum {
	OPTLEN_MSS = 4,
	OPTLEN_WSCALE = 3,
	OPTLEN_SACK_OK = 2,
	OPTLEN_TS = 10,
	OPTLEN_SACK_BASE = 2,
	OPTLEN_SACK_BLOCK = 8,
};

/* Options seen twice: the last one wins, as with any later field overriding
 * an earlier one; tide has no reason to reject such a segment. */
enum tide_wire_err tide_tcp_parse_opts(const uint8_t *p, size_t len, struct tide_tcp_opts *o)
{
	size_t i = 0;

	memset(o, 0, sizeof(*o));
	while (i < len) {
		uint8_t kind = p[i];
		size_t olen;

		if (kind == OPT_EOL)
			break;
		if (kind == OPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2)
			return TIDE_WIRE_TCP_OPTION;
		olen = p[i + 1];
		/* A length below 2 would never advance past the kind byte. */
		if (olen < 2 || olen > len - i)
			return TIDE_WIRE_TCP_OPTION;
		switch (kind) {
		case OPT_MSS:
			if (olen != OPTLEN_MSS)
				return TIDE_WIRE_TCP_OPTION;
			o->mss = tide_get16(p + i + 2);
			o->present |= TIDE_OPT_MSS;
			break;
		case OPT_WSCALE:
			if (olen != OPTLEN_WSCALE)
				return TIDE_WIRE_TCP_OPTION;
			o->wscale = p[i + 2];
			o->present |= TIDE_OPT_WSCALE;
			break;
		case OPT_SACK_OK:
			if (olen != OPTLEN_SACK_OK)
				return TIDE_WIRE_TCP_OPTION;
			o->present |= TIDE_OPT_SACK_OK;
			break;
		case OPT_TS:
			if (olen != OPTLEN_TS)
				return TIDE_WIRE_TCP_OPTION;
			o->tsval = tide_get32(p + i + 2);
			o->tsecr = tide_get32(p + i + 6);
			o->present |= TIDE_OPT_TS;
			break;
		case OPT_SACK: {
			size_t n, k;

			if (olen < OPTLEN_SACK_BASE + OPTLEN_SACK_BLOCK ||
			    (olen - OPTLEN_SACK_BASE) % OPTLEN_SACK_BLOCK != 0)
				return TIDE_WIRE_TCP_OPTION;
			/* More than 4 blocks cannot fit in a real header; from a
			 * longer buffer given directly, keep what the view holds. */
			n = (olen - OPTLEN_SACK_BASE) / OPTLEN_SACK_BLOCK;
			if (n > TIDE_TCP_MAX_SACK)
				n = TIDE_TCP_MAX_SACK;
			for (k = 0; k < n; k++) {
				const uint8_t *b = p + i + OPTLEN_SACK_BASE + k * OPTLEN_SACK_BLOCK;

				o->sack[k].left = tide_get32(b);
				o->sack[k].right = tide_get32(b + 4);
			}
			o->nsack = (uint8_t)n;
			o->present |= TIDE_OPT_SACK;
			break;
		}
		default:
			break;
		}
		i += olen;
	}
	return TIDE_WIRE_OK;
}

enum tide_wire_err tide_tcp_parse(const uint8_t *seg, size_t len, uint32_t src,
				  uint32_t dst, bool verify_csum, struct tide_tcp *tcp)
{
	size_t hlen;

	memset(tcp, 0, sizeof(*tcp));
	if (len < TIDE_TCP_HLEN)
		return TIDE_WIRE_TCP_TRUNCATED;
	hlen = (size_t)(seg[12] >> 4) * 4;
	if (hlen < TIDE_TCP_HLEN)
		return TIDE_WIRE_TCP_OFFSET;
	if (hlen > len)
		return TIDE_WIRE_TCP_TRUNCATED;
	/* Before the options: a corrupted segment should be reported as
	 * corrupted, not as whatever its damaged options look like. */
	if (verify_csum && tide_tcp_checksum(src, dst, seg, len) != 0)
		return TIDE_WIRE_TCP_CHECKSUM;

	tcp->sport = tide_get16(seg);
	tcp->dport = tide_get16(seg + 2);
	tcp->seq = tide_get32(seg + 4);
	tcp->ack = tide_get32(seg + 8);
	tcp->header_len = (uint8_t)hlen;
	tcp->flags = seg[13];
	tcp->window = tide_get16(seg + 14);
	tcp->checksum = tide_get16(seg + 16);
	tcp->urg = tide_get16(seg + 18);
	tcp->payload = seg + hlen;
	tcp->payload_len = len - hlen;
	return tide_tcp_parse_opts(seg + TIDE_TCP_HLEN, hlen - TIDE_TCP_HLEN, &tcp->opts);
}

/* Appends one 4-byte word. The caller has checked the room beforehand, so
 * running out here is a bug in the size computation. */
static uint8_t *word(uint8_t *p, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	p[0] = a;
	p[1] = b;
	p[2] = c;
	p[3] = d;
	return p + 4;
}

/* How many SACK blocks to write: what was asked for, trimmed to what fits
 * beside the other options (with timestamps, Linux sends at most 3). */
static size_t sack_blocks(const struct tide_tcp_opts *o, size_t used)
{
	size_t n, room;

	if (!(o->present & TIDE_OPT_SACK) || o->nsack == 0)
		return 0;
	if (used + 4 + OPTLEN_SACK_BLOCK > TIDE_TCP_MAX_OPTLEN)
		return 0;
	room = (TIDE_TCP_MAX_OPTLEN - used - 4) / OPTLEN_SACK_BLOCK;
	n = o->nsack < TIDE_TCP_MAX_SACK ? o->nsack : TIDE_TCP_MAX_SACK;
	return n < room ? n : room;
}

/*
 * One sequence covers SYNs and other segments, as in Linux: which words
 * appear depends only on `present` (a SYN carries MSS and perhaps SACK_OK
 * and WSCALE; later segments carry TS and SACK). Every option is padded
 * with NOPs in front to a 4-byte word, except that SACK_OK and TS share
 * their word when both are present. Returns 0 if cap is too small for the
 * whole list: a partial list would be a different, wrong, segment.
 */
size_t tide_tcp_build_opts(uint8_t *buf, size_t cap, const struct tide_tcp_opts *o)
{
	size_t need = 0, nsack, k;
	uint8_t *p = buf;
	bool ts, sack_ok;

	if (!o)
		return 0;
	ts = (o->present & TIDE_OPT_TS) != 0;
	sack_ok = (o->present & TIDE_OPT_SACK_OK) != 0;
	if (o->present & TIDE_OPT_MSS)
		need += 4;
	if (ts)
		need += 12;
	else if (sack_ok)
		need += 4;
	if (o->present & TIDE_OPT_WSCALE)
		need += 4;
	nsack = sack_blocks(o, need);
	if (nsack)
		need += 4 + nsack * OPTLEN_SACK_BLOCK;
	if (need > cap)
		return 0;

	if (o->present & TIDE_OPT_MSS)
		p = word(p, OPT_MSS, OPTLEN_MSS, (uint8_t)(o->mss >> 8), (uint8_t)o->mss);
	if (ts) {
		if (sack_ok)
			p = word(p, OPT_SACK_OK, OPTLEN_SACK_OK, OPT_TS, OPTLEN_TS);
		else
			p = word(p, OPT_NOP, OPT_NOP, OPT_TS, OPTLEN_TS);
		tide_put32(p, o->tsval);
		tide_put32(p + 4, o->tsecr);
		p += 8;
	} else if (sack_ok) {
		p = word(p, OPT_NOP, OPT_NOP, OPT_SACK_OK, OPTLEN_SACK_OK);
	}
	if (o->present & TIDE_OPT_WSCALE)
		p = word(p, OPT_NOP, OPT_WSCALE, OPTLEN_WSCALE, o->wscale);
	if (nsack) {
		p = word(p, OPT_NOP, OPT_NOP, OPT_SACK,
			 (uint8_t)(OPTLEN_SACK_BASE + nsack * OPTLEN_SACK_BLOCK));
		for (k = 0; k < nsack; k++) {
			tide_put32(p, o->sack[k].left);
			tide_put32(p + 4, o->sack[k].right);
			p += 8;
		}
	}
	return (size_t)(p - buf);
}

/* The payload may already sit in buf (moved, not copied, into place). Also
 * returns 0 if the segment would not fit IPv4's 16-bit lengths. */
size_t tide_tcp_build(uint8_t *buf, size_t cap, uint32_t src, uint32_t dst,
		      uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		      uint8_t flags, uint16_t window, const struct tide_tcp_opts *opts,
		      const void *payload, size_t payload_len)
{
	uint8_t optbuf[TIDE_TCP_MAX_OPTLEN];
	size_t optlen = tide_tcp_build_opts(optbuf, sizeof(optbuf), opts);
	size_t hlen = TIDE_TCP_HLEN + optlen;

	if (cap < hlen || payload_len > cap - hlen ||
	    payload_len > 0xffffu - TIDE_IPV4_HLEN - hlen)
		return 0;
	/* The payload first, in case it overlaps the header's bytes. */
	if (payload_len && payload != buf + hlen)
		memmove(buf + hlen, payload, payload_len);
	tide_put16(buf, sport);
	tide_put16(buf + 2, dport);
	tide_put32(buf + 4, seq);
	tide_put32(buf + 8, ack);
	buf[12] = (uint8_t)(hlen / 4 << 4);
	buf[13] = flags;
	tide_put16(buf + 14, window);
	tide_put16(buf + 16, 0);
	tide_put16(buf + 18, 0);
	memcpy(buf + TIDE_TCP_HLEN, optbuf, optlen);
	tide_put16(buf + 16, tide_tcp_checksum(src, dst, buf, hlen + payload_len));
	return hlen + payload_len;
}

static void append(char *buf, size_t cap, size_t *n, const char *s)
{
	for (; *s && *n + 1 < cap; s++)
		buf[(*n)++] = *s;
}

/* Truncates rather than overruns if cap is below the 32 bytes that all
 * eight flags need. */
const char *tide_tcp_flags_str(uint8_t flags, char *buf, size_t cap)
{
	/* Linux's and tcpdump's reading order, not bit order: SYN first. */
	static const struct {
		uint8_t bit;
		char name[4];
	} names[] = {
		{ TIDE_TCP_SYN, "SYN" }, { TIDE_TCP_FIN, "FIN" }, { TIDE_TCP_RST, "RST" },
		{ TIDE_TCP_PSH, "PSH" }, { TIDE_TCP_ACK, "ACK" }, { TIDE_TCP_URG, "URG" },
		{ TIDE_TCP_ECE, "ECE" }, { TIDE_TCP_CWR, "CWR" },
	};
	size_t n = 0, k;
	bool first = true;

	if (!buf || cap == 0)
		return "";
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		if (!(flags & names[k].bit))
			continue;
		if (!first)
			append(buf, cap, &n, ",");
		append(buf, cap, &n, names[k].name);
		first = false;
	}
	if (first)
		append(buf, cap, &n, "none");
	buf[n] = '\0';
	return buf;
}
