/*
 * The stack object: creation, the inbound IPv4 path, time, counters.
 */
#include "stack_int.h"
#include "invariants.h"
#include <stdlib.h>

void tide_config_init(struct tide_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mtu = 1500;
	cfg->secret = 0x7469646573656564ull;
	tide_settings_default(&cfg->settings);
}

tide_stack *tide_stack_new(const struct tide_config *cfg, tide_time now)
{
	if (!cfg || !cfg->output || cfg->mtu < 68) {
		errno = EINVAL;
		return NULL;
	}
	struct tide_stack *st = tide_mem_stack_new(cfg);
	if (!st) {
		errno = ENOMEM;
		return NULL;
	}
	st->set = &st->cfg.settings;
	st->now = now;
	st->txcap = (size_t)cfg->mtu + 64;
	/* twice: packets are built in the first half, payload staged in the second */
	st->txbuf = tide_mem_alloc(st, TIDE_MEM_STACK, 2 * st->txcap);
	if (!st->txbuf || tide_htab_init(st, &st->ehash, 256) != 0) {
		tide_mem_free(st, TIDE_MEM_STACK, st->txbuf, 2 * st->txcap);
		tide_mem_stack_free(st);
		errno = ENOMEM;
		return NULL;
	}
	st->ip_id = (uint32_t)tide_hash64(cfg->secret, 1, cfg->addr);
	st->rng = tide_hash64(cfg->secret ^ 0x72616e64ull, 2, cfg->addr); /* "rand" */
	return st;
}

void tide_stack_free(tide_stack *st)
{
	if (!st)
		return;
	tide_fdtab_free(st);
	/* Whatever is left in the ehash is orphaned: free it silently. */
	for (uint32_t i = 0; i <= st->ehash.mask; i++) {
		while (st->ehash.b[i]) {
			struct tide_hentry *e = st->ehash.b[i];
			if (e->kind == TIDE_EH_CONN) {
				struct tcp_conn *c = TIDE_CONTAINER_OF(e, struct tcp_conn, h);
				st->cfg.on_state = NULL;
				tide_tcp_destroy(c);
			} else if (e->kind == TIDE_EH_REQ) {
				struct tcp_req *rq = TIDE_CONTAINER_OF(e, struct tcp_req, h);
				rq->listener = NULL; /* its socket was freed above */
				tide_tcp_req_free(st, rq, false);
			} else {
				tide_htab_remove(st, e);
			}
		}
	}
	tide_tw_free_all(st);
	tide_htab_free(st, &st->ehash);
	tide_heap_free(st, &st->timers);
	tide_ports_free(st, &st->ports);
	tide_mem_free(st, TIDE_MEM_STACK, st->txbuf, 2 * st->txcap);
	tide_mem_stack_free(st);
}

uint64_t tide_hash64(uint64_t secret, uint64_t a, uint64_t b)
{
	/* splitmix64-style finalizer over the secret-keyed input. */
	uint64_t x = secret ^ (a * 0x9e3779b97f4a7c15ull) ^ (b + 0xbf58476d1ce4e5b9ull);
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

uint32_t tide_hash_key(const struct tide_stack *st, const struct tide_conn_id *k)
{
	uint64_t a = ((uint64_t)k->laddr << 32) | k->raddr;
	uint64_t b = ((uint64_t)k->lport << 16) | k->rport;
	return (uint32_t)tide_hash64(st->cfg.secret, a, b);
}

void tide_emit_ip(struct tide_stack *st, uint32_t dst, const uint8_t *tcp, size_t len)
{
	/* tcp already sits at txbuf + 20: the header goes in front of it. */
	uint8_t *pkt = st->txbuf;
	(void)tcp;
	tide_ipv4_build(pkt, st->txcap, st->cfg.addr, dst, TIDE_IPPROTO_TCP,
			(uint16_t)len, (uint8_t)st->set->ip_default_ttl,
			(uint16_t)st->ip_id++, true);
	TIDE_INC(st, IpOutRequests);
	TIDE_INC(st, OutSegs);
	st->cfg.output(st->cfg.output_ctx, pkt, len + TIDE_IPV4_HLEN);
}

void tide_notify_state(struct tide_stack *st, const struct tide_conn_id *id, int old_state, int new_state)
{
	if (st->cfg.on_state && old_state != new_state)
		st->cfg.on_state(st->cfg.state_ctx, id, old_state, new_state, st->now);
}

static void run_timers(tide_stack *st, tide_time now);

/*
 * ICMP, as much as a host needs to be pinged (RFC 1122 3.2.2.6: a host MUST
 * answer echo requests). Every other type is counted and ignored: tide
 * does not act on ICMP errors (no path MTU discovery, no soft errors on
 * connections), so a destination unreachable or a fragmentation needed
 * leaves connections to their own timers.
 */
static int icmp_input(tide_stack *st, const struct tide_ipv4 *ip)
{
	struct tide_icmp ic;
	/* Linux counts every message in IcmpInMsgs before looking at it, and
	 * a bad one in IcmpInErrors too (icmp_rcv). */
	TIDE_INC(st, IcmpInMsgs);
	enum tide_wire_err e = tide_icmp_parse(ip->payload, ip->payload_len, true, &ic);
	if (e != TIDE_WIRE_OK) {
		TIDE_INC(st, IcmpInErrors);
		if (e == TIDE_WIRE_ICMP_CHECKSUM) {
			TIDE_INC(st, IcmpInCsumErrors);
			TIDE_INC(st, DropIcmpChecksum);
			return -(int)TIDE_MIB_DropIcmpChecksum;
		}
		TIDE_INC(st, DropIcmpTruncated);
		return -(int)TIDE_MIB_DropIcmpTruncated;
	}
	if (ic.type != TIDE_ICMP_ECHO_REQUEST)
		return 0;
	TIDE_INC(st, IcmpInEchos);
	/* A reply that does not fit the stack's MTU is not sent: tide does not
	 * fragment (Linux would). */
	size_t len = TIDE_IPV4_HLEN + TIDE_ICMP_HLEN + ic.payload_len;
	if (len > (size_t)st->cfg.mtu || len > st->txcap)
		return 0;
	uint8_t *pkt = st->txbuf;
	tide_icmp_build_echo(pkt + TIDE_IPV4_HLEN, st->txcap - TIDE_IPV4_HLEN, TIDE_ICMP_ECHO_REPLY,
			     ic.id, ic.seq, ic.payload, ic.payload_len);
	/* Linux's ICMP socket never sets DF (IP_PMTUDISC_DONT) and copies the
	 * request's TOS into the reply. */
	tide_ipv4_build(pkt, st->txcap, st->cfg.addr, ip->src, TIDE_IPPROTO_ICMP,
			(uint16_t)(len - TIDE_IPV4_HLEN), (uint8_t)st->set->ip_default_ttl,
			(uint16_t)st->ip_id++, false);
	pkt[1] = ip->tos;
	pkt[10] = pkt[11] = 0;
	uint16_t csum = tide_csum_fold(tide_csum_add(0, pkt, TIDE_IPV4_HLEN));
	pkt[10] = (uint8_t)(csum >> 8);
	pkt[11] = (uint8_t)csum;
	TIDE_INC(st, IpOutRequests);
	TIDE_INC(st, IcmpOutMsgs);
	TIDE_INC(st, IcmpOutEchoReps);
	st->cfg.output(st->cfg.output_ctx, pkt, len);
	return 0;
}

static bool bad_source(uint32_t a)
{
	/* 0.0.0.0/8, 127/8 from the wire, multicast, limited broadcast */
	return (a >> 24) == 0 || (a >> 24) == 127 || (a >> 28) == 0xe || a == 0xffffffffu;
}

int tide_stack_input(tide_stack *st, const uint8_t *pkt, size_t len, tide_time now)
{
	TIDE_INV_SCOPE(st, "tide_stack_input", pkt, len, -1);
	/* Timers due strictly before the packet run first; those due at the
	 * same instant run after it (the packet was there first). */
	if (now > st->now)
		run_timers(st, now - 1);
	if (now > st->now)
		st->now = now;
	TIDE_INC(st, IpInReceives);
	struct tide_ipv4 ip;
	enum tide_wire_err e = tide_ipv4_parse(pkt, len, &ip);
	enum tide_counter why = TIDE_MIB_MAX;
	switch (e) {
	case TIDE_WIRE_OK: break;
	case TIDE_WIRE_IP_TRUNCATED: why = TIDE_MIB_DropIpTruncated; break;
	case TIDE_WIRE_IP_VERSION: why = TIDE_MIB_DropIpVersion; break;
	case TIDE_WIRE_IP_HEADER_LENGTH: why = TIDE_MIB_DropIpHeaderLength; break;
	case TIDE_WIRE_IP_TOTAL_LENGTH: why = TIDE_MIB_DropIpTotalLength; break;
	case TIDE_WIRE_IP_CHECKSUM: why = TIDE_MIB_DropIpChecksum; break;
	case TIDE_WIRE_IP_FRAGMENT: why = TIDE_MIB_DropIpFragment; break;
	default: why = TIDE_MIB_DropIpTruncated; break;
	}
	if (why != TIDE_MIB_MAX) {
		if (why == TIDE_MIB_DropIpFragment)
			TIDE_INC(st, IpReasmFails);
		else
			TIDE_INC(st, IpInHdrErrors);
		st->mib[why]++;
		return -(int)why;
	}
	if (ip.dst != st->cfg.addr) {
		TIDE_INC(st, IpInAddrErrors);
		TIDE_INC(st, DropIpNotForUs);
		return -(int)TIDE_MIB_DropIpNotForUs;
	}
	if (bad_source(ip.src)) {
		TIDE_INC(st, IpInAddrErrors);
		TIDE_INC(st, DropIpBadSource);
		return -(int)TIDE_MIB_DropIpBadSource;
	}
	if (ip.protocol == TIDE_IPPROTO_ICMP) {
		TIDE_INC(st, IpInDelivers);
		return icmp_input(st, &ip);
	}
	if (ip.protocol != TIDE_IPPROTO_TCP) {
		TIDE_INC(st, IpInUnknownProtos);
		TIDE_INC(st, DropIpProtocol);
		return -(int)TIDE_MIB_DropIpProtocol;
	}
	TIDE_INC(st, IpInDelivers);
	struct tide_tcp th;
	e = tide_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &th);
	/* Linux's accounting (tcp_v4_rcv): a bad checksum or a data offset
	 * below 5 is an error (InErrs); a header cut short is just discarded;
	 * a malformed option ends the option list and the segment is taken
	 * with the options read before it (tcp_parse_options stops there). */
	switch (e) {
	case TIDE_WIRE_OK:
	case TIDE_WIRE_TCP_OPTION:
		break;
	case TIDE_WIRE_TCP_CHECKSUM:
		TIDE_INC(st, InCsumErrors);
		TIDE_INC(st, InErrs);
		why = TIDE_MIB_DropTcpChecksum;
		break;
	case TIDE_WIRE_TCP_OFFSET:
		TIDE_INC(st, InErrs);
		why = TIDE_MIB_DropTcpOffset;
		break;
	default: why = TIDE_MIB_DropTcpTruncated; break;
	}
	if (why != TIDE_MIB_MAX) {
		st->mib[why]++;
		return -(int)why;
	}
	TIDE_INC(st, InSegs);
	return tide_tcp_input(st, &ip, &th);
}

static void run_timers(tide_stack *st, tide_time now)
{
	for (;;) {
		struct tide_timer *t = tide_heap_top(&st->timers);
		tide_time tw_at = tide_tw_next(st);
		tide_time at = t ? t->when : TIDE_TIME_NEVER;
		if (tw_at <= now && tw_at <= at) {
			st->now = tw_at;
			tide_tw_expire(st, tw_at);
			continue;
		}
		if (at > now)
			break;
		st->now = at;
		if (t->kind == TIDE_EH_CONN)
			tide_tcp_timer_fire(TIDE_CONTAINER_OF(t, struct tcp_conn, timer));
		else
			tide_tcp_req_timer(st, TIDE_CONTAINER_OF(t, struct tcp_req, timer));
	}
	if (now > st->now)
		st->now = now;
}

void tide_stack_advance(tide_stack *st, tide_time now)
{
	TIDE_INV_SCOPE(st, "tide_stack_advance", NULL, 0, -1);
	if (now < st->now)
		return; /* time never runs backwards */
	run_timers(st, now);
	st->now = now;
}

tide_time tide_stack_next_timer(const tide_stack *st)
{
	struct tide_timer *t = tide_heap_top(&st->timers);
	tide_time at = t ? t->when : TIDE_TIME_NEVER;
	tide_time tw_at = tide_tw_next(st);
	if (tw_at < at)
		at = tw_at;
	return at;
}

tide_time tide_stack_now(const tide_stack *st) { return st->now; }
uint32_t tide_stack_addr(const tide_stack *st) { return st->cfg.addr; }
struct tide_settings *tide_stack_settings(tide_stack *st) { return st->set; }

static const char *const counter_names[] = {
#define TIDE_COUNTER_NAME(name) #name,
	TIDE_COUNTERS(TIDE_COUNTER_NAME)
#undef TIDE_COUNTER_NAME
};

const char *tide_counter_name(enum tide_counter c)
{
	if ((unsigned)c >= TIDE_MIB_MAX)
		return NULL;
	const char *n = counter_names[c];
	/* The IP group is spelled without its "Ip" prefix by nstat's Ip: line;
	 * keep the prefix here so every name is unique. */
	return n;
}

uint64_t tide_stack_counter(const tide_stack *st, enum tide_counter c)
{
	return (unsigned)c < TIDE_MIB_MAX ? st->mib[c] : 0;
}

uint64_t tide_stack_curr_estab(const tide_stack *st) { return st->curr_estab; }

const char *tide_state_name(int state)
{
	switch (state) {
	case TIDE_TCP_ESTABLISHED: return "ESTABLISHED";
	case TIDE_TCP_SYN_SENT: return "SYN_SENT";
	case TIDE_TCP_SYN_RECV: return "SYN_RECV";
	case TIDE_TCP_FIN_WAIT1: return "FIN_WAIT_1";
	case TIDE_TCP_FIN_WAIT2: return "FIN_WAIT_2";
	case TIDE_TCP_TIME_WAIT: return "TIME_WAIT";
	case TIDE_TCP_CLOSE: return "CLOSED";
	case TIDE_TCP_CLOSE_WAIT: return "CLOSE_WAIT";
	case TIDE_TCP_LAST_ACK: return "LAST_ACK";
	case TIDE_TCP_LISTEN: return "LISTEN";
	case TIDE_TCP_CLOSING: return "CLOSING";
	default: return "?";
	}
}

const char *tide_state_rfc_name(int state)
{
	switch (state) {
	case TIDE_TCP_ESTABLISHED: return "ESTABLISHED";
	case TIDE_TCP_SYN_SENT: return "SYN-SENT";
	case TIDE_TCP_SYN_RECV: return "SYN-RECEIVED";
	case TIDE_TCP_FIN_WAIT1: return "FIN-WAIT-1";
	case TIDE_TCP_FIN_WAIT2: return "FIN-WAIT-2";
	case TIDE_TCP_TIME_WAIT: return "TIME-WAIT";
	case TIDE_TCP_CLOSE: return "CLOSED";
	case TIDE_TCP_CLOSE_WAIT: return "CLOSE-WAIT";
	case TIDE_TCP_LAST_ACK: return "LAST-ACK";
	case TIDE_TCP_LISTEN: return "LISTEN";
	case TIDE_TCP_CLOSING: return "CLOSING";
	default: return "?";
	}
}

/* The timer `ss -o` shows for a connection, chosen as Linux's
 * inet_sk_diag_fill chooses it (the delayed ACK last, as recent kernels). */
static void conn_ss_timer(const struct tcp_conn *c, struct tide_conn_info *ci)
{
	ci->timer = TIDE_CONN_TIMER_OFF;
	ci->timer_count = 0;
	ci->timer_expires = TIDE_TIME_NEVER;
	if (c->t_rexmit != TIDE_TIME_NEVER) {
		ci->timer = c->rexmit_is_probe ? TIDE_CONN_TIMER_PERSIST : TIDE_CONN_TIMER_ON;
		ci->timer_count = c->rexmit_is_probe ? c->probes_out : c->retransmits;
		ci->timer_expires = c->t_rexmit;
	} else if (c->t_keepalive != TIDE_TIME_NEVER) {
		ci->timer = TIDE_CONN_TIMER_KEEPALIVE;
		ci->timer_count = c->probes_out;
		ci->timer_expires = c->t_keepalive;
	} else if (c->t_delack != TIDE_TIME_NEVER) {
		ci->timer = TIDE_CONN_TIMER_DELACK;
		ci->timer_expires = c->t_delack;
	}
}

size_t tide_stack_foreach_conn(tide_stack *st, tide_conn_visit_fn fn, void *ctx)
{
	size_t n = 0;
	struct tide_conn_info ci;
	for (struct tide_sock *l = st->listeners; l; l = l->lnext) {
		memset(&ci, 0, sizeof(ci));
		ci.id.laddr = l->laddr;
		ci.id.lport = l->lport;
		ci.state = TIDE_TCP_LISTEN;
		ci.recv_q = l->acc_len;
		ci.send_q = (uint32_t)l->backlog;
		ci.fd = l->fd;
		ci.timer_at = TIDE_TIME_NEVER;
		ci.timer_expires = TIDE_TIME_NEVER;
		fn(ctx, &ci);
		n++;
	}
	for (uint32_t i = 0; i <= st->ehash.mask; i++) {
		for (struct tide_hentry *e = st->ehash.b[i]; e; e = e->next) {
			memset(&ci, 0, sizeof(ci));
			ci.id = e->key;
			ci.fd = -1;
			ci.timer_expires = TIDE_TIME_NEVER;
			if (e->kind == TIDE_EH_CONN) {
				struct tcp_conn *c = TIDE_CONTAINER_OF(e, struct tcp_conn, h);
				ci.state = c->state;
				ci.recv_q = c->rcvq.len;
				ci.send_q = c->snd_max - c->snd_una;
				if (c->sndq.len > ci.send_q)
					ci.send_q = c->sndq.len;
				ci.fd = c->sk ? c->sk->fd : -1;
				ci.state_since = c->state_since;
				ci.timer_at = c->timer.when;
				conn_ss_timer(c, &ci);
			} else if (e->kind == TIDE_EH_REQ) {
				struct tcp_req *r = TIDE_CONTAINER_OF(e, struct tcp_req, h);
				ci.state = TIDE_TCP_SYN_RECV;
				ci.state_since = r->created;
				ci.timer_at = r->timer.when;
				if (ci.timer_at != TIDE_TIME_NEVER) {
					ci.timer = TIDE_CONN_TIMER_ON;
					ci.timer_count = r->num_retrans;
					ci.timer_expires = ci.timer_at;
				}
			} else {
				struct tcp_tw *tw = TIDE_CONTAINER_OF(e, struct tcp_tw, h);
				ci.state = tide_tw_state(tw); /* or FIN_WAIT_2 */
				ci.timer_at = tide_tw_expiry(tw);
				ci.state_since = tide_tw_state_since(st, tw);
				ci.timer = TIDE_CONN_TIMER_TIMEWAIT;
				ci.timer_expires = ci.timer_at;
			}
			fn(ctx, &ci);
			n++;
		}
	}
	return n;
}
