/*
 * Packet formats: IPv4, TCP and ICMP, parsed and built in place.
 *
 * Parsers take a buffer and its length, never read past it, and return
 * TIDE_WIRE_OK or the reason the packet is malformed. Builders write into a
 * caller's buffer and return the bytes written (0 if it does not fit).
 * Addresses and ports are in host byte order in the views.
 */
#ifndef TIDE_WIRE_H
#define TIDE_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

enum tide_wire_err {
	TIDE_WIRE_OK = 0,
	TIDE_WIRE_IP_TRUNCATED,    /* shorter than 20 bytes or than its IHL */
	TIDE_WIRE_IP_VERSION,      /* version is not 4 */
	TIDE_WIRE_IP_HEADER_LENGTH,/* IHL < 5 */
	TIDE_WIRE_IP_TOTAL_LENGTH, /* total length < IHL or > buffer */
	TIDE_WIRE_IP_CHECKSUM,
	TIDE_WIRE_IP_FRAGMENT,     /* MF set or offset != 0: tide does not reassemble */
	TIDE_WIRE_TCP_TRUNCATED,   /* shorter than 20 bytes or than its data offset */
	TIDE_WIRE_TCP_OFFSET,      /* data offset < 5 */
	TIDE_WIRE_TCP_CHECKSUM,
	TIDE_WIRE_TCP_OPTION,      /* an option runs past the header or has a bad length */
	TIDE_WIRE_ICMP_TRUNCATED,  /* shorter than the 8-byte ICMP header */
	TIDE_WIRE_ICMP_CHECKSUM,
};
/* "tcp checksum" style text for an error. */
const char *tide_wire_strerror(enum tide_wire_err e);

#define TIDE_IPPROTO_TCP 6
#define TIDE_IPPROTO_ICMP 1
#define TIDE_IPV4_HLEN 20
#define TIDE_TCP_HLEN 20
#define TIDE_TCP_MAX_OPTLEN 40

/* TCP flags, as in the header's 13th byte. */
#define TIDE_TCP_FIN 0x01
#define TIDE_TCP_SYN 0x02
#define TIDE_TCP_RST 0x04
#define TIDE_TCP_PSH 0x08
#define TIDE_TCP_ACK 0x10
#define TIDE_TCP_URG 0x20
#define TIDE_TCP_ECE 0x40
#define TIDE_TCP_CWR 0x80

struct tide_ipv4 {
	uint8_t header_len;       /* bytes, 20..60 */
	uint8_t tos;
	uint16_t total_len;       /* from the header; the packet may be padded */
	uint16_t id;
	bool df, mf;
	uint16_t frag_offset;     /* in 8-byte units */
	uint8_t ttl;
	uint8_t protocol;
	uint16_t checksum;
	uint32_t src, dst;
	const uint8_t *payload;   /* points into the parsed buffer */
	size_t payload_len;       /* total_len - header_len */
};

/* Parses and validates (version, lengths, header checksum). Fragments are
 * parsed but reported as TIDE_WIRE_IP_FRAGMENT (after the view is filled). */
enum tide_wire_err tide_ipv4_parse(const uint8_t *pkt, size_t len, struct tide_ipv4 *ip);
/* Writes a 20-byte header (no options) with its checksum. */
size_t tide_ipv4_build(uint8_t *buf, size_t cap, uint32_t src, uint32_t dst,
		       uint8_t protocol, uint16_t payload_len, uint8_t ttl,
		       uint16_t id, bool df);

/* TCP options. `present` says which were seen or are to be written. */
#define TIDE_OPT_MSS      0x01
#define TIDE_OPT_WSCALE   0x02
#define TIDE_OPT_SACK_OK  0x04
#define TIDE_OPT_TS       0x08
#define TIDE_OPT_SACK     0x10
#define TIDE_TCP_MAX_SACK 4

struct tide_tcp_opts {
	uint8_t present;
	uint8_t wscale;
	uint16_t mss;
	uint32_t tsval, tsecr;
	uint8_t nsack;
	struct { uint32_t left, right; } sack[TIDE_TCP_MAX_SACK];
};

struct tide_tcp {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t header_len;       /* bytes, 20..60 */
	uint8_t flags;
	uint16_t window;          /* as on the wire, not scaled */
	uint16_t checksum;
	uint16_t urg;
	struct tide_tcp_opts opts;
	const uint8_t *payload;
	size_t payload_len;
};

/* Parses a TCP segment (the IPv4 payload). With verify_csum, checks the
 * checksum over the pseudo-header built from src and dst. Unknown options
 * are skipped; a malformed option list is TIDE_WIRE_TCP_OPTION. */
enum tide_wire_err tide_tcp_parse(const uint8_t *seg, size_t len, uint32_t src,
				  uint32_t dst, bool verify_csum, struct tide_tcp *tcp);
/* Parses only the option bytes (between the fixed header and the data). */
enum tide_wire_err tide_tcp_parse_opts(const uint8_t *p, size_t len, struct tide_tcp_opts *o);

/* Writes options in Linux's order and padding, returns their length (a
 * multiple of 4, at most 40):
 *   SYN/SYN-ACK: MSS, then SACK_OK+TS as (SACK_OK, TS) or, without SACK_OK,
 *   (NOP, NOP, TS); without TS, (NOP, NOP, SACK_OK); then (NOP, WSCALE).
 *   Other segments: (NOP, NOP, TS), then (NOP, NOP, SACK blocks). */
size_t tide_tcp_build_opts(uint8_t *buf, size_t cap, const struct tide_tcp_opts *o);

/* Writes a TCP header with the given options and copies the payload after
 * it, then the checksum over the pseudo-header. Returns header+payload
 * length or 0 if cap is too small. */
size_t tide_tcp_build(uint8_t *buf, size_t cap, uint32_t src, uint32_t dst,
		      uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		      uint8_t flags, uint16_t window, const struct tide_tcp_opts *opts,
		      const void *payload, size_t payload_len);

/* ICMP (RFC 792). tide answers echo requests and counts the rest. */
#define TIDE_ICMP_HLEN 8
#define TIDE_ICMP_ECHO_REPLY 0
#define TIDE_ICMP_DEST_UNREACH 3
#define TIDE_ICMP_ECHO_REQUEST 8
#define TIDE_ICMP_TIME_EXCEEDED 11

struct tide_icmp {
	uint8_t type, code;
	uint16_t checksum;
	uint16_t id, seq;         /* bytes 4..7 as echo fields (any type) */
	const uint8_t *payload;   /* after the 8-byte header */
	size_t payload_len;
};

/* Parses an ICMP message (the IPv4 payload, len bytes); with verify_csum,
 * checks its checksum (over the whole message). */
enum tide_wire_err tide_icmp_parse(const uint8_t *msg, size_t len, bool verify_csum,
				   struct tide_icmp *icmp);
/* Writes an echo request or reply (type TIDE_ICMP_ECHO_*, code 0) with
 * `data` after the header, and its checksum. Returns 8 + data_len, or 0 if
 * cap is too small. data may overlap nothing in buf. */
size_t tide_icmp_build_echo(uint8_t *buf, size_t cap, uint8_t type, uint16_t id, uint16_t seq,
			    const void *data, size_t data_len);

/* Internet checksum helpers (RFC 1071). */
uint32_t tide_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t tide_csum_fold(uint32_t sum);
uint16_t tide_tcp_checksum(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len);

/* Writes "SYN,ACK" style text for flags into buf (at least 32 bytes). */
const char *tide_tcp_flags_str(uint8_t flags, char *buf, size_t cap);

/* A one-line summary of an IPv4/TCP packet, tcpdump-like:
 * "198.18.0.1:40000 > 198.18.0.2:80 [SYN] seq 1 ack 0 win 64240 len 0 <mss 1460,...>"
 * Options are listed in wire order ("nop", "eol", "mss N", "wscale N",
 * "sackOK", "TS val N ecr N", "sack N {l:r}...", "unknown-K len N") and
 * "<...>" is left out when there are none. A segment whose TCP checksum is
 * wrong is still shown, followed by " [bad tcp checksum]". Other protocols:
 * "A > B proto N len L". Anything that does not parse (fragments included):
 * "malformed: <tide_wire_strerror text>". No trailing newline. Returns the
 * length of the whole line, as snprintf does; buf is always terminated when
 * cap > 0, and may be NULL when cap is 0. */
size_t tide_packet_summary(const uint8_t *pkt, size_t len, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
