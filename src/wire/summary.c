/* Human-readable text for packets and parse errors, for traces and tests. */
#include "tide/wire.h"
#include "bytes.h"

#include <stdarg.h>
#include <stdio.h>

const char *tide_wire_strerror(enum tide_wire_err e)
{
	switch (e) {
	case TIDE_WIRE_OK: return "ok";
	case TIDE_WIRE_IP_TRUNCATED: return "ip truncated";
	case TIDE_WIRE_IP_VERSION: return "ip version";
	case TIDE_WIRE_IP_HEADER_LENGTH: return "ip header length";
	case TIDE_WIRE_IP_TOTAL_LENGTH: return "ip total length";
	case TIDE_WIRE_IP_CHECKSUM: return "ip checksum";
	case TIDE_WIRE_IP_FRAGMENT: return "ip fragment";
	case TIDE_WIRE_TCP_TRUNCATED: return "tcp truncated";
	case TIDE_WIRE_TCP_OFFSET: return "tcp offset";
	case TIDE_WIRE_TCP_CHECKSUM: return "tcp checksum";
	case TIDE_WIRE_TCP_OPTION: return "tcp option";
	case TIDE_WIRE_ICMP_TRUNCATED: return "icmp truncated";
	case TIDE_WIRE_ICMP_CHECKSUM: return "icmp checksum";
	}
	/* Outside the switch so that -Wswitch still flags a new enum value. */
	return "unknown";
}

/* snprintf-style accumulation: n counts what the whole line needs, even
 * past cap, so the caller can size a buffer from the return value. */
struct out {
	char *buf;
	size_t cap;
	size_t n;
};

static void out_printf(struct out *o, const char *fmt, ...)
{
	bool room = o->n < o->cap;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(room ? o->buf + o->n : NULL, room ? o->cap - o->n : 0, fmt, ap);
	va_end(ap);
	if (r > 0)
		o->n += (size_t)r;
}

/* Option kinds, as in src/wire/tcp.c. */
enum { OPT_EOL = 0, OPT_NOP = 1, OPT_MSS = 2, OPT_WSCALE = 3, OPT_SACK_OK = 4, OPT_SACK = 5, OPT_TS = 8 };

/* Walks the raw bytes rather than the parsed view so that the line shows
 * the options in wire order, NOPs and unknown kinds included. Only called
 * on lists tide_tcp_parse_opts accepted, so lengths are known to be sane. */
static void print_opts(struct out *o, const uint8_t *p, size_t len)
{
	size_t i = 0;
	const char *sep = "";

	out_printf(o, " <");
	while (i < len) {
		uint8_t kind = p[i];
		size_t olen, k;

		out_printf(o, "%s", sep);
		sep = ",";
		if (kind == OPT_EOL) {
			out_printf(o, "eol");
			break;
		}
		if (kind == OPT_NOP) {
			out_printf(o, "nop");
			i++;
			continue;
		}
		olen = p[i + 1];
		switch (kind) {
		case OPT_MSS:
			out_printf(o, "mss %u", (unsigned)p[i + 2] << 8 | p[i + 3]);
			break;
		case OPT_WSCALE:
			out_printf(o, "wscale %u", (unsigned)p[i + 2]);
			break;
		case OPT_SACK_OK:
			out_printf(o, "sackOK");
			break;
		case OPT_SACK:
			out_printf(o, "sack %u ", (unsigned)((olen - 2) / 8));
			for (k = i + 2; k + 8 <= i + olen; k += 8)
				out_printf(o, "{%lu:%lu}", (unsigned long)tide_get32(p + k),
					   (unsigned long)tide_get32(p + k + 4));
			break;
		case OPT_TS:
			out_printf(o, "TS val %lu ecr %lu", (unsigned long)tide_get32(p + i + 2),
				   (unsigned long)tide_get32(p + i + 6));
			break;
		default:
			out_printf(o, "unknown-%u len %u", (unsigned)kind, (unsigned)olen);
			break;
		}
		i += olen;
	}
	out_printf(o, ">");
}

static void print_addr(struct out *o, uint32_t a)
{
	out_printf(o, "%u.%u.%u.%u", (unsigned)(a >> 24), (unsigned)(a >> 16 & 0xff),
		   (unsigned)(a >> 8 & 0xff), (unsigned)(a & 0xff));
}

/*
 * Formats, all on one line without a trailing newline:
 *   TCP:   "A:P > B:Q [FLAGS] seq S ack K win W len L <opt,opt,...>"
 *          where <...> is omitted without options, and " [bad tcp checksum]"
 *          is appended when the TCP checksum fails (the segment is shown
 *          anyway: corrupted segments are what a trace needs to show).
 *   other: "A > B proto N len L"
 *   error: "malformed: <tide_wire_strerror text>" (fragments included).
 */
size_t tide_packet_summary(const uint8_t *pkt, size_t len, char *buf, size_t cap)
{
	struct out o = { buf, cap, 0 };
	struct tide_ipv4 ip;
	struct tide_tcp tcp;
	enum tide_wire_err err;
	bool bad_csum = false;
	char flags[32];

	if (cap > 0)
		buf[0] = '\0';
	err = tide_ipv4_parse(pkt, len, &ip);
	if (err != TIDE_WIRE_OK) {
		out_printf(&o, "malformed: %s", tide_wire_strerror(err));
		return o.n;
	}
	if (ip.protocol != TIDE_IPPROTO_TCP) {
		print_addr(&o, ip.src);
		out_printf(&o, " > ");
		print_addr(&o, ip.dst);
		out_printf(&o, " proto %u len %lu", (unsigned)ip.protocol,
			   (unsigned long)ip.payload_len);
		return o.n;
	}
	err = tide_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &tcp);
	if (err == TIDE_WIRE_TCP_CHECKSUM) {
		bad_csum = true;
		err = tide_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &tcp);
	}
	if (err != TIDE_WIRE_OK) {
		out_printf(&o, "malformed: %s", tide_wire_strerror(err));
		return o.n;
	}
	print_addr(&o, ip.src);
	out_printf(&o, ":%u > ", (unsigned)tcp.sport);
	print_addr(&o, ip.dst);
	out_printf(&o, ":%u [%s] seq %lu ack %lu win %u len %lu", (unsigned)tcp.dport,
		   tide_tcp_flags_str(tcp.flags, flags, sizeof(flags)),
		   (unsigned long)tcp.seq, (unsigned long)tcp.ack, (unsigned)tcp.window,
		   (unsigned long)tcp.payload_len);
	if (tcp.header_len > TIDE_TCP_HLEN)
		print_opts(&o, ip.payload + TIDE_TCP_HLEN, tcp.header_len - TIDE_TCP_HLEN);
	if (bad_csum)
		out_printf(&o, " [bad tcp checksum]");
	return o.n;
}
