/*
 * tide: a userspace TCP/IPv4 stack whose connection lifecycle behaves like
 * Linux's. This header is the stack itself; the socket API is in
 * <tide/socket.h>, packet formats in <tide/wire.h>, the simulated network in
 * <tide/sim.h>.
 *
 * The stack is sans-IO: it never reads a clock or a device. The caller
 *   - creates it with a configuration (address, output callback, settings),
 *   - feeds it inbound IPv4 packets with the current time (tide_stack_input),
 *   - tells it when time advances (tide_stack_advance),
 *   - asks when its next timer is due (tide_stack_next_timer),
 * and the stack hands every outbound IPv4 packet to the output callback.
 * There is no global state: a process may run any number of stacks.
 * A stack is not thread-safe; drive each one from one thread.
 */
#ifndef TIDE_TIDE_H
#define TIDE_TIDE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Time in microseconds on the caller's clock (virtual or real). */
typedef uint64_t tide_time;
#define TIDE_TIME_NEVER UINT64_MAX
#define TIDE_US(x) ((tide_time)(x))
#define TIDE_MS(x) ((tide_time)(x) * 1000u)
#define TIDE_SEC(x) ((tide_time)(x) * 1000000u)

typedef struct tide_stack tide_stack;

/* TCP states, numbered as Linux numbers them (tcpi_state, /proc/net/tcp). */
enum tide_tcp_state {
	TIDE_TCP_ESTABLISHED = 1,
	TIDE_TCP_SYN_SENT = 2,
	TIDE_TCP_SYN_RECV = 3,
	TIDE_TCP_FIN_WAIT1 = 4,
	TIDE_TCP_FIN_WAIT2 = 5,
	TIDE_TCP_TIME_WAIT = 6,
	TIDE_TCP_CLOSE = 7,
	TIDE_TCP_CLOSE_WAIT = 8,
	TIDE_TCP_LAST_ACK = 9,
	TIDE_TCP_LISTEN = 10,
	TIDE_TCP_CLOSING = 11,
};
#define TIDE_TCP_CLOSED TIDE_TCP_CLOSE

/* "FIN_WAIT_1" style names (the catalogue's spelling); "?" if unknown. */
const char *tide_state_name(int state);
/* "FIN-WAIT-1" style names (RFC 793's spelling, used in traces). */
const char *tide_state_rfc_name(int state);

/* One connection's addresses, all in host byte order. */
struct tide_conn_id {
	uint32_t laddr, raddr;
	uint16_t lport, rport;
};

/* Called for every outbound IPv4 packet (header included). The buffer is
 * only valid during the call. */
typedef void (*tide_output_fn)(void *ctx, const uint8_t *pkt, size_t len);

/* Called on every state change of a connection, including the move of a
 * connection into a TIME_WAIT record and the end of that record. */
typedef void (*tide_state_fn)(void *ctx, const struct tide_conn_id *id,
			      int old_state, int new_state, tide_time now);

/* Optional: told when one of a connection's timers fires and acts, for
 * traces: `what` is "retransmission timeout", "zero-window probe timer",
 * "delayed ACK", "keepalive timer", "FIN_WAIT_2 timer" or "SYN-ACK
 * retransmission". (The end of TIME_WAIT shows as a state change.) */
typedef void (*tide_timer_fn)(void *ctx, const struct tide_conn_id *id, const char *what,
			      tide_time now);

/* Optional: choose the initial sequence number (tests, RFC examples). */
typedef uint32_t (*tide_isn_fn)(void *ctx, const struct tide_conn_id *id,
				tide_time now);

/* Optional: the allocator of everything a stack holds, in the style of
 * Lua's lua_Alloc. ptr NULL: return a new block of new_size bytes;
 * new_size 0: free ptr (of old_size bytes) and return NULL; else resize ptr
 * from old_size to new_size bytes. NULL means failure (ptr stays valid).
 * The stack treats a failure as Linux treats an allocation failure: the
 * call fails (ENOBUFS, ENOMEM) or the packet is dropped, and it is counted
 * (tide_mem_stats.failures); it never crashes. */
typedef void *(*tide_alloc_fn)(void *ctx, void *ptr, size_t old_size, size_t new_size);

/*
 * Runtime settings of one stack, named after Linux's sysctls
 * (net.ipv4.<field>, net.core.<field>). Defaults are Linux's
 * (tide_settings_default); <tide/settings.h> reads and writes them by name,
 * checks ranges and loads "key = value" text. Times are in the units the
 * name says (seconds unless _ms or _us).
 */
struct tide_settings {
	int tcp_syn_retries;          /* 6 */
	int tcp_syn_linear_timeouts;  /* 4: first SYN retransmissions at a fixed 1 s */
	int tcp_synack_retries;       /* 5 */
	int tcp_retries2;             /* 15 */
	int tcp_orphan_retries;       /* 0 (= 8 while the peer is alive) */
	int tcp_fin_timeout;          /* 60 s */
	int tcp_timewait_len;         /* 60 s: Linux's compile-time TCP_TIMEWAIT_LEN */
	int tcp_keepalive_time;       /* 7200 s */
	int tcp_keepalive_intvl;      /* 75 s */
	int tcp_keepalive_probes;     /* 9 */
	int tcp_timestamps;           /* 1 (2: no random offset) */
	int tcp_window_scaling;       /* 1 */
	int tcp_sack;                 /* 1 */
	int tcp_rmem_min;             /* 4096: tcp_rmem[0] */
	int tcp_rmem_default;         /* 131072: tcp_rmem[1] */
	int tcp_rmem_max;             /* 6291456: tcp_rmem[2], sets the window scale */
	int tcp_wmem_min;             /* 4096: tcp_wmem[0] */
	int tcp_wmem_default;         /* 16384: tcp_wmem[1] */
	int tcp_wmem_max;             /* 4194304: tcp_wmem[2] */
	int core_rmem_max;            /* 212992: net.core.rmem_max, caps SO_RCVBUF */
	int core_wmem_max;            /* 212992: net.core.wmem_max, caps SO_SNDBUF */
	int somaxconn;                /* 4096: net.core.somaxconn */
	int tcp_max_syn_backlog;      /* 128 */
	int tcp_abort_on_overflow;    /* 0 */
	int tcp_syncookies;           /* 1 */
	int tcp_max_tw_buckets;       /* 131072 */
	int tcp_tw_reuse;             /* 2: loopback only */
	int tcp_tw_reuse_delay;       /* 1000 ms */
	int tcp_rfc1337;              /* 0 */
	int tcp_max_orphans;          /* 131072 */
	int tcp_invalid_ratelimit;    /* 500 ms */
	int tcp_challenge_ack_limit;  /* INT_MAX (off): challenge ACKs per second, stack-wide */
	int tcp_mem_min;              /* tcp_mem[0], pages of 4096 B: pressure ends below */
	int tcp_mem_pressure;         /* tcp_mem[1]: pressure starts above */
	int tcp_mem_max;              /* tcp_mem[2]: hard limit of buffer memory */
	int file_max;                 /* fs.file-max: descriptors (sockets, epolls) at most */
	int ip_local_port_range_lo;   /* 32768 */
	int ip_local_port_range_hi;   /* 60999 */
	int ip_default_ttl;           /* 64 */
	int tcp_delack_min_ms;        /* 40: Linux's TCP_DELACK_MIN */
	int tcp_rto_min_ms;           /* 200: Linux's TCP_RTO_MIN (tcp_rto_min_us) */
	int tcp_rto_max_ms;           /* 120000: Linux's TCP_RTO_MAX (tcp_rto_max_ms) */
	int tcp_rto_initial_ms;       /* 1000: Linux's TCP_TIMEOUT_INIT */
};

struct tide_config {
	uint32_t addr;            /* the stack's IPv4 address, host byte order */
	uint16_t mtu;             /* 1500: MSS is mtu - 40 */
	uint64_t secret;          /* seeds ISNs, ephemeral ports, TS offsets */
	tide_output_fn output;
	void *output_ctx;
	tide_state_fn on_state;   /* may be NULL */
	void *state_ctx;
	tide_timer_fn on_timer;   /* may be NULL */
	void *timer_ctx;
	tide_isn_fn isn;          /* may be NULL: Linux-style hashed ISN */
	void *isn_ctx;
	tide_alloc_fn alloc;      /* may be NULL: malloc, realloc, free */
	void *alloc_ctx;
	struct tide_settings settings;
};

/* Fills *cfg with Linux's defaults (no address, no callbacks). */
void tide_config_init(struct tide_config *cfg);
void tide_settings_default(struct tide_settings *s);

/* Creates a stack whose clock starts at `now`. NULL (errno ENOMEM or
 * EINVAL) on failure. */
tide_stack *tide_stack_new(const struct tide_config *cfg, tide_time now);
/* Frees the stack and everything it holds, sending nothing. */
void tide_stack_free(tide_stack *st);

/* Feeds one inbound IPv4 packet received at `now` (>= the last time).
 * Returns 0 if the packet was taken, or a negative tide_counter of the drop
 * reason (the reason is also counted). Never keeps `pkt`. */
int tide_stack_input(tide_stack *st, const uint8_t *pkt, size_t len, tide_time now);
/* Runs every timer due at or before `now`, then sets the clock to `now`. */
void tide_stack_advance(tide_stack *st, tide_time now);
/* The time of the earliest pending timer, or TIDE_TIME_NEVER. */
tide_time tide_stack_next_timer(const tide_stack *st);
/* The stack's clock: the last time it was given. */
tide_time tide_stack_now(const tide_stack *st);
uint32_t tide_stack_addr(const tide_stack *st);
/* The live settings; changes take effect for later events. */
struct tide_settings *tide_stack_settings(tide_stack *st);

/*
 * Memory. Every block a stack holds is counted by kind, so that the
 * limits (net.ipv4.tcp_mem on buffer memory, fs.file-max on descriptors,
 * tcp_max_orphans, tcp_max_tw_buckets, listen backlogs) can be watched.
 * After tide_stack_free nothing remains.
 */
enum tide_mem_kind {
	TIDE_MEM_STACK,   /* the stack object and its packet scratch */
	TIDE_MEM_TABLE,   /* 4-tuple hash, port table, descriptor table, timer heaps */
	TIDE_MEM_CONN,    /* connections (every state but LISTEN and TIME_WAIT) */
	TIDE_MEM_REQ,     /* half-open requests of listeners (SYN_RECV) */
	TIDE_MEM_TW,      /* TIME_WAIT and orphaned FIN_WAIT_2 records */
	TIDE_MEM_SOCK,    /* sockets */
	TIDE_MEM_EPOLL,   /* epoll instances */
	TIDE_MEM_EPITEM,  /* sockets registered in epoll instances */
	TIDE_MEM_SNDBUF,  /* send queues */
	TIDE_MEM_RCVBUF,  /* receive queues */
	TIDE_MEM_OFO,     /* out-of-order segments */
	TIDE_MEM_KINDS
};

struct tide_mem_stats {
	uint64_t bytes[TIDE_MEM_KINDS];   /* held now, by kind */
	uint64_t objects[TIDE_MEM_KINDS]; /* blocks held now, by kind */
	uint64_t total_bytes;             /* the sum of bytes[] */
	uint64_t peak_bytes;              /* the most total_bytes has been */
	uint64_t buffer_bytes;            /* SNDBUF + RCVBUF + OFO: what tcp_mem limits */
	uint64_t pages;                   /* buffer_bytes in 4096-byte pages, rounded up
					     (Linux's tcp_memory_allocated) */
	uint64_t failures;                /* allocations the allocator refused */
	uint32_t descriptors;             /* open sockets and epoll instances (fs.file-max) */
	bool pressure;                    /* above tcp_mem[1] and not yet below tcp_mem[0] */
};
void tide_stack_mem(const tide_stack *st, struct tide_mem_stats *out);
/* "conn", "sndbuf", ...; NULL for an unknown kind. */
const char *tide_mem_kind_name(enum tide_mem_kind k);

/*
 * Counters. The first group carries Linux's names (nstat / netstat -s); the
 * Drop* group counts why inbound packets were refused (like Linux's drop
 * reasons) so that every rejected packet is accounted for.
 */
#define TIDE_COUNTERS(X) \
	X(IpInReceives) X(IpInHdrErrors) X(IpInAddrErrors) X(IpInUnknownProtos) \
	X(IpInDelivers) X(IpOutRequests) X(IpReasmFails) \
	X(IcmpInMsgs) X(IcmpInErrors) X(IcmpInCsumErrors) X(IcmpInEchos) \
	X(IcmpOutMsgs) X(IcmpOutEchoReps) \
	X(ActiveOpens) X(PassiveOpens) X(AttemptFails) X(EstabResets) \
	X(InSegs) X(OutSegs) X(RetransSegs) X(InErrs) X(OutRsts) X(InCsumErrors) \
	X(TW) X(TWRecycled) X(TWKilled) X(TCPTimeWaitOverflow) \
	X(ListenOverflows) X(ListenDrops) \
	X(TCPAbortOnData) X(TCPAbortOnClose) X(TCPAbortOnMemory) \
	X(TCPAbortOnTimeout) X(TCPAbortOnLinger) X(TCPAbortFailed) \
	X(TCPMemoryPressures) X(TCPMemoryPressuresChrono) X(OfoPruned) \
	X(SyncookiesSent) X(SyncookiesRecv) X(SyncookiesFailed) \
	X(TCPReqQFullDoCookies) X(TCPReqQFullDrop) X(TCPDeferAcceptDrop) \
	X(EmbryonicRsts) X(TSEcrRejected) \
	X(DelayedACKs) X(TCPPureAcks) X(TCPHPAcks) X(TCPOFOQueue) X(TCPOFODrop) \
	X(TCPRcvQDrop) X(TCPZeroWindowDrop) X(OutOfWindowIcmps) \
	X(TCPSYNChallenge) X(TCPChallengeACK) X(PAWSEstab) X(TCPACKSkippedSynRecv) \
	X(PAWSTimewait) X(TCPACKSkippedTimeWait) X(TCPACKSkippedFinWait2) \
	X(TCPACKSkippedPAWS) X(TCPACKSkippedSeq) X(TCPACKSkippedChallenge) \
	X(DropIpTruncated) X(DropIpVersion) X(DropIpHeaderLength) \
	X(DropIpTotalLength) X(DropIpChecksum) X(DropIpFragment) \
	X(DropIpNotForUs) X(DropIpBadSource) X(DropIpProtocol) \
	X(DropIcmpTruncated) X(DropIcmpChecksum) \
	X(DropTcpTruncated) X(DropTcpOffset) X(DropTcpChecksum) \
	X(DropTcpFlags) X(DropTcpNoSocket) X(DropTcpState) \
	X(DropTcpSequence) X(DropTcpAck) X(DropTcpRst) X(DropTcpMemory)

enum tide_counter {
#define TIDE_COUNTER_ENUM(name) TIDE_MIB_##name,
	TIDE_COUNTERS(TIDE_COUNTER_ENUM)
#undef TIDE_COUNTER_ENUM
	TIDE_MIB_MAX
};

/* Linux's name ("ActiveOpens"), or NULL for an unknown counter. */
const char *tide_counter_name(enum tide_counter c);
uint64_t tide_stack_counter(const tide_stack *st, enum tide_counter c);
/* CurrEstab is a gauge: connections in ESTABLISHED or CLOSE_WAIT now. */
uint64_t tide_stack_curr_estab(const tide_stack *st);

/* Connections of the stack, for views like `ss -tan` (LC-O01). */
struct tide_conn_info {
	struct tide_conn_id id;
	int state;
	uint32_t recv_q, send_q;  /* bytes: unread / unacknowledged+unsent */
	int fd;                   /* owning descriptor, -1 when orphaned */
	tide_time state_since;    /* when the current state was entered */
	tide_time timer_at;       /* next timer of this connection, or NEVER */
	/* The timer `ss -o` shows (Linux's inet_diag choice: retransmission,
	 * else zero-window probe, else keepalive, else delayed ACK), when it
	 * fires (NEVER when off) and its count: retransmissions for ON (of
	 * the SYN-ACK for SYN_RECV requests), probes out for PERSIST and
	 * KEEPALIVE. */
	uint8_t timer;            /* enum tide_conn_timer */
	uint8_t timer_count;
	tide_time timer_expires;
};
/* Numbered as Linux's idiag_timer (IDIAG_TIMER_*). */
enum tide_conn_timer {
	TIDE_CONN_TIMER_OFF = 0,
	TIDE_CONN_TIMER_ON = 1,        /* retransmission: SYN, SYN-ACK, data, FIN */
	TIDE_CONN_TIMER_KEEPALIVE = 2, /* keepalive, or an orphaned FIN_WAIT_2's timeout */
	TIDE_CONN_TIMER_TIMEWAIT = 3,  /* TIME_WAIT and orphaned FIN_WAIT_2 records */
	TIDE_CONN_TIMER_PERSIST = 4,   /* zero-window probe */
	TIDE_CONN_TIMER_DELACK = 5,    /* delayed ACK (reported by recent kernels) */
};
typedef void (*tide_conn_visit_fn)(void *ctx, const struct tide_conn_info *ci);
/* Visits every connection (listeners, SYN_RECV requests, TIME_WAIT
 * records included). Returns how many were visited. */
size_t tide_stack_foreach_conn(tide_stack *st, tide_conn_visit_fn fn, void *ctx);

/* Checks every internal invariant of the stack (sequence spaces, queues,
 * timers, tables, counts; see docs/fuzzing.md). 0 if all hold; -1 with a
 * message in msg (cap bytes, may be 0) naming the object and the broken
 * invariant. Cost: one step per object. Debug builds (TIDE_INVARIANTS)
 * also check automatically after every call and abort on a violation. */
int tide_stack_check(const tide_stack *st, char *msg, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
