/*
 * Internal structures of a tide stack. Nothing here is public API.
 *
 * One stack owns:
 *  - an "established hash" (ehash) of every connection-like object keyed by
 *    its 4-tuple: full connections (struct tcp_conn), half-open requests of
 *    listeners (struct tcp_req, SYN_RECV) and TIME_WAIT records (struct
 *    tcp_tw), told apart by a kind byte, so one probe finds any of them;
 *  - a port table (which local ports are bound, by whom, how many
 *    connections and TIME_WAIT records use each);
 *  - a timer heap of connections and requests (one entry each: the
 *    earliest of their timers), and a FIFO of TIME_WAIT records (all share
 *    one lifetime, so arrival order is expiry order);
 *  - a descriptor table of sockets and epoll instances.
 */
#ifndef TIDE_STACK_INT_H
#define TIDE_STACK_INT_H

#include <tide/tide.h>
#include <tide/socket.h>
#include <tide/wire.h>
#include <errno.h>
#include <string.h>

#define TIDE_CONTAINER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Sequence-number comparisons modulo 2^32 (RFC 9293 §3.4). */
static inline int tide_seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline int tide_seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline int tide_seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline int tide_seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
static inline uint32_t tide_seq_max(uint32_t a, uint32_t b) { return tide_seq_gt(a, b) ? a : b; }

/* ---- ehash: 4-tuple table ---- */
enum { TIDE_EH_CONN = 1, TIDE_EH_REQ = 2, TIDE_EH_TW = 3 };

struct tide_hentry {
	struct tide_hentry *next;
	struct tide_conn_id key;
	uint8_t kind;
	uint8_t aux8;      /* free for the owner (fits the padding) */
	uint16_t aux16;
};

struct tide_htab {
	struct tide_hentry **b;
	uint32_t mask;
	uint32_t n;
};

/* ---- timer heap ---- */
struct tide_timer {
	tide_time when;    /* TIDE_TIME_NEVER when not queued */
	uint32_t idx;      /* position in the heap */
	uint8_t kind;      /* TIDE_EH_CONN or TIDE_EH_REQ */
};

struct tide_heap {
	struct tide_timer **a;
	uint32_t n, cap;
};

/* ---- sockets ---- */
enum { TIDE_FD_SOCK = 1, TIDE_FD_EPOLL = 2 };

struct tide_epoll;
struct tide_epitem;

struct tcp_conn;
struct tcp_req;

struct tide_sock {
	int fd;
	struct tide_stack *st;
	bool nonblock;
	bool bound, reuseaddr, reuseport, keepalive, nodelay;
	bool sndbuf_locked;        /* SO_SNDBUF set: memory pressure leaves sndbuf alone */
	bool connecting;           /* SS_CONNECTING: connect() issued, not reported */
	bool connected;            /* SS_CONNECTED */
	bool listening;
	uint8_t shutdown;          /* TIDE_SHUT_RD | TIDE_SHUT_WR */
	int so_error;              /* pending error, reported once */
	int rcvbuf, sndbuf;        /* as getsockopt reports them */
	int linger_onoff, linger_secs;
	int linger2;               /* TCP_LINGER2 as Linux keeps it: -1, 0 (the sysctl) or seconds */
	uint32_t user_timeout_ms;  /* TCP_USER_TIMEOUT */
	int keepidle, keepintvl, keepcnt; /* TCP_KEEP*: 0 = the sysctl */
	uint32_t owner;            /* tide_sock_set_owner (LC-C12) */
	uint32_t laddr;            /* bound address (0: any) */
	uint16_t lport;            /* bound port (0: none) */
	struct tcp_conn *conn;     /* connection, once connect/accept made one */
	struct tide_sock *bind_next; /* in its port bucket's bound list */
	/* listener */
	int backlog;               /* max accept queue length */
	struct tcp_conn *acc_head, *acc_tail;
	uint32_t acc_len;
	uint32_t syn_len;          /* requests in the SYN queue */
	uint32_t syn_young;        /* ... whose SYN-ACK timer never fired (Linux's young) */
	uint8_t defer_accept;      /* TCP_DEFER_ACCEPT as SYN-ACK timeouts (rskq_defer_accept) */
	bool synq_overflowed;      /* a SYN cookie was ever sent (LC-H08) */
	tide_time synq_overflow_at;/* ... last time, moved at most once a second */
	struct tide_sock *lnext;   /* in the stack's listener list */
	uint32_t rp_idx;           /* slot in its SO_REUSEPORT group (Linux's socks[]) */
	/* epoll */
	struct tide_epitem *epitems;
};

#define TIDE_SHUT_RD 1
#define TIDE_SHUT_WR 2

/* What a socket shares its port with (Linux's sk_reuse, sk_reuseport). */
#define TIDE_REUSE_ADDR 1
#define TIDE_REUSE_PORT 2

struct tide_epitem {
	struct tide_epitem *sock_next; /* in the socket's list */
	struct tide_epitem *ready_next;/* in the epoll's ready list */
	struct tide_epitem *all_next;  /* in the epoll's list of items */
	struct tide_epoll *ep;
	struct tide_sock *sk;
	struct epoll_event ev;
	bool on_ready;
	bool disabled;                 /* EPOLLONESHOT fired */
	uint32_t last;                 /* last reported mask, for EPOLLET */
};

struct tide_epoll {
	int fd;
	uint32_t owner;            /* tide_sock_set_owner (LC-C12) */
	struct tide_epitem *items;
	struct tide_epitem *ready_head, *ready_tail;
};

/* ---- byte ring used for send and receive queues ---- */
struct tide_ring {
	uint8_t *buf;
	uint32_t cap, head, len;
};

/* An out-of-order segment held until the hole before it fills. */
struct tcp_ofo {
	struct tcp_ofo *next;
	uint32_t seq, len;
	uint32_t stamp;            /* arrival rank: SACK blocks go newest first */
	bool fin;
	uint8_t data[];
};

/* ---- a full connection (every state but LISTEN and TIME_WAIT) ---- */
struct tcp_conn {
	struct tide_hentry h;      /* key = 4-tuple; kind TIDE_EH_CONN */
	struct tide_timer timer;
	struct tide_stack *st;
	struct tide_sock *sk;      /* NULL when orphaned (closed by the app) */
	struct tide_sock *listener;/* while in the accept queue */
	struct tcp_conn *acc_next;
	uint8_t state;
	bool in_ehash;
	bool ts_ok, sack_ok, ws_ok;
	bool fin_queued;           /* the app closed the sending side */
	bool fin_sent;             /* a FIN has been sent at least once */
	bool fin_rcvd;             /* peer's FIN taken in order */
	bool rcv_shutdown;         /* app will read no more (close/SHUT_RD) */
	bool reset_pending;        /* connection aborted; socket must see error */
	bool ack_pending;          /* an ACK is owed */
	bool pingpong;             /* interactive: delay ACKs */
	bool nodelay;
	bool keepalive;
	bool orphan_counted;       /* counted in st->orphans (closed by the app) */
	uint8_t reuse;             /* TIDE_REUSE_* bits of its socket */
	uint8_t snd_wscale, rcv_wscale;
	uint8_t retransmits;       /* RTO expiries since the last new ACK */
	uint8_t backoff;
	uint8_t probes_out;        /* zero-window / keepalive probes unanswered */
	uint8_t dupacks;
	uint8_t quick;             /* quick ACKs left */
	bool in_recovery;
	bool rtt_timing;
	bool rcv_nomem;            /* data dropped for memory: next ACK shows window 0 (Linux's ICSK_ACK_NOMEM) */
	uint16_t mss;              /* effective send MSS (payload per segment) */
	uint16_t peer_mss;         /* from the peer's SYN */
	uint16_t advmss;           /* what we announce */
	uint16_t rcv_mss;          /* estimate of the peer's segment size */

	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
	uint32_t max_window;
	uint32_t snd_sml;          /* end of the last sub-MSS segment sent (Minshall's Nagle) */
	uint64_t bytes_acked;      /* SYN and data acknowledged so far (Linux's) */
	uint32_t irs, rcv_nxt, rcv_wnd, rcv_adv, rcv_wup, rcv_wnd_clamp;
	uint32_t fin_seq;          /* sequence number of our FIN */
	uint32_t recover;
	uint32_t cwnd, ssthresh;   /* bytes */
	uint32_t ts_recent, ts_offset;
	tide_time ts_recent_stamp;
	uint32_t rtt_seq;
	tide_time rtt_time;
	uint32_t srtt_us, rttvar_us, rto_us;
	tide_time retrans_stamp;   /* first transmission of the oldest unACKed */
	tide_time lrcvtime;        /* last data received */
	uint32_t ato_us;
	uint32_t segs_unacked;     /* full segments received since our last ACK */

	/* timers (absolute times, NEVER when off) */
	tide_time t_rexmit;        /* retransmission or zero-window probe */
	bool rexmit_is_probe;
	tide_time t_delack;
	tide_time t_keepalive;     /* keepalive, or the FIN_WAIT_2 timeout */
	tide_time t_linger;
	tide_time state_since;
	tide_time last_rcv;        /* last acceptable ACK (Linux's rcv_tstamp: keepalive idle) */
	tide_time lsndtime;        /* last segment with payload sent (Linux's lsndtime) */
	tide_time last_rcv_oow;    /* last out-of-window ACK we answered */

	struct tide_ring sndq;     /* bytes from snd_una on (SYN/FIN excluded) */
	struct tide_ring rcvq;     /* in-order bytes not yet read */
	struct tcp_ofo *ofo;
	uint32_t ofo_bytes;
	int sndbuf, rcvbuf;        /* sndbuf: the socket's size before memory pressure cut it */
	int keepidle, keepintvl, keepcnt; /* 0: the sysctl (read when used) */
	int linger2;               /* TCP_LINGER2: -1, 0 (use the sysctl) or seconds */
	uint32_t user_timeout_ms;
	int pending_err;           /* error to hand to the socket accept() makes */
};

/* ---- a half-open request (SYN received by a listener) ---- */
struct tcp_req {
	struct tide_hentry h;      /* kind TIDE_EH_REQ */
	struct tide_timer timer;
	struct tide_sock *listener;
	uint32_t iss, irs;
	uint32_t ts_recent, ts_offset;
	uint16_t peer_mss;
	uint8_t snd_wscale;        /* the peer's */
	uint8_t retransmits;
	bool ts_ok, sack_ok, ws_ok;
	bool acked;                /* final ACK dropped: accept queue full, or TCP_DEFER_ACCEPT */
	bool resent;               /* a SYN-ACK went again (Karn: no RTT sample from it) */
	uint8_t num_retrans;       /* SYN-ACKs sent again (Linux's num_retrans, shown by ss) */
	bool cookie;               /* not queued: rebuilt from, or answered with, a SYN cookie */
	uint16_t cookie_mss;       /* the MSS a cookie carried */
	uint32_t tsval_first, tsval_last; /* TSvals of the SYN-ACKs sent (TSecr check) */
	tide_time last_oow;        /* last rate-limited answer (0: none yet) */
	tide_time created;
};

/* ---- a TIME_WAIT record (the connection itself is gone) ---- */
struct tcp_tw {
	struct tide_hentry h;      /* kind TIDE_EH_TW; aux8 = flags, aux16 = window */
	struct tcp_tw *fifo_next;
	/* Packed to keep the record at 64 bytes: expiry in µs (48 bits, 8.9
	 * years of clock), then the receive window scale and the socket's
	 * TIDE_REUSE_* bits. Use the accessors below. */
	uint64_t exp_bits;
	uint32_t snd_nxt, rcv_nxt;
	uint32_t ts_recent;
	uint32_t ts_recent_stamp_s;
	uint32_t created_ms;       /* entry into TIME_WAIT (Linux's tw_entry_stamp, LC-K08), ms clock */
	uint32_t last_oow_ms;      /* last rate-limited answer, ms clock (0: none yet) */
};
#define TIDE_TW_EXP_MASK ((UINT64_C(1) << 48) - 1)
static inline tide_time tide_tw_expiry(const struct tcp_tw *tw) { return tw->exp_bits & TIDE_TW_EXP_MASK; }
static inline void tide_tw_set_expiry(struct tcp_tw *tw, tide_time t)
{
	if (t > TIDE_TW_EXP_MASK)
		t = TIDE_TW_EXP_MASK;
	tw->exp_bits = (tw->exp_bits & ~TIDE_TW_EXP_MASK) | t;
}
static inline uint8_t tide_tw_wscale(const struct tcp_tw *tw) { return (uint8_t)((tw->exp_bits >> 48) & 0xf); }
static inline uint8_t tide_tw_reuse(const struct tcp_tw *tw) { return (uint8_t)((tw->exp_bits >> 52) & 0x3); }
static inline void tide_tw_set_bits(struct tcp_tw *tw, uint8_t wscale, uint8_t reuse)
{
	tw->exp_bits = (tw->exp_bits & TIDE_TW_EXP_MASK) | ((uint64_t)(wscale & 0xf) << 48) |
		       ((uint64_t)(reuse & 0x3) << 52);
}
static inline uint32_t tide_ms32(tide_time t) { return (uint32_t)(t / 1000u); }
#define TIDE_TW_TS 0x01
#define TIDE_TW_RESTARTED 0x02 /* in the FIFO, expiry moved later */
#define TIDE_TW_IN_HEAP 0x04   /* in the heap of restarted records */
/* Linux's FIN_WAIT2 substate: an orphaned FIN_WAIT_2 kept as a record
 * (tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)). It reports FIN_WAIT_2, obeys
 * tcp_timewait_state_process's FIN_WAIT2 rules, and tcp_tw_reuse never
 * takes it over (tcp_twsk_unique). */
#define TIDE_TW_FW2 0x08

/* Records whose 2MSL restarted leave the FIFO for this heap, keyed by the
 * expiry they had when they entered it (refreshed lazily). */
struct tide_twheap {
	struct tide_twheap_ent { tide_time key; struct tcp_tw *tw; } *a;
	uint32_t n, cap;
	uint32_t pending;          /* restarted records still in the FIFO: each has a slot reserved */
};

/* ---- port table ---- */
struct tide_port {
	uint16_t port;
	bool used;
	uint32_t nconn;            /* connections using it as local port */
	uint32_t ntw;              /* TIME_WAIT records using it */
	uint32_t nuse[4];          /* connections and records by TIDE_REUSE_* bits */
	struct tide_sock *bound;   /* sockets bound to it with bind()/listen() */
};

struct tide_ports {
	struct tide_port *a;
	uint32_t mask, n;
};

struct tide_fdent {
	void *obj;                 /* struct tide_sock* or struct tide_epoll* */
	uint8_t kind;              /* TIDE_FD_SOCK or TIDE_FD_EPOLL; 0: free */
};

struct tide_fdtab {
	struct tide_fdent *a;
	uint32_t cap;
	uint32_t lowest_free;      /* hint */
	uint32_t used;             /* open descriptors (fs.file-max) */
};

/* What the stack holds, by kind (core/mem.c). */
struct tide_memacct {
	uint64_t bytes[TIDE_MEM_KINDS];
	uint64_t objects[TIDE_MEM_KINDS];
	uint64_t total, peak;
	uint64_t buffers;          /* SNDBUF + RCVBUF + OFO bytes: what tcp_mem limits */
	uint64_t failures;
	tide_time pressure_since;  /* when memory pressure began (TCPMemoryPressuresChrono) */
	bool pressure;             /* Linux's tcp_memory_pressure */
};

struct tide_stack {
	struct tide_config cfg;
	struct tide_settings *set; /* = &cfg.settings */
	tide_time now;
	uint64_t mib[TIDE_MIB_MAX];
	uint64_t curr_estab;
	uint32_t ip_id;
	uint32_t port_perturb;
	uint32_t tw_count;
	uint32_t tw_isn;           /* ISN a TIME_WAIT hands to the listener (Linux's tcp_tw_isn) */
	uint32_t orphans;
	/* Linux's host-wide challenge ACK budget (tcp_challenge_ack_limit):
	 * the second it was drawn for (+1; 0: never) and what is left of it */
	uint64_t challenge_second;
	uint32_t challenge_count;
	uint64_t rng;              /* tide_random_u32's state, seeded from the secret */
	struct tide_htab ehash;
	struct tide_heap timers;
	struct tcp_tw *tw_head, *tw_tail;
	struct tide_twheap tw_heap;
	struct tide_ports ports;
	struct tide_fdtab fds;
	struct tide_sock *listeners;
	/* the automatic invariant checks of debug builds (core/invariants.c) */
	uint32_t inv_depth;        /* public calls in progress (callbacks nest them) */
	uint64_t inv_events;       /* public calls so far */
	uint64_t inv_next_full;    /* ... at which the next full check runs */
	uint8_t *txbuf;            /* scratch for building packets */
	size_t txcap;
	struct tide_memacct mem;
};

/* A deterministic per-stack random number (splitmix64), for what Linux
 * draws from get_random_u32(): the same secret gives the same draws, so
 * simulations replay exactly; other stacks' draws do not disturb them. */
static inline uint32_t tide_random_u32(struct tide_stack *st)
{
	uint64_t z = (st->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

#define TIDE_INC(st, name) ((st)->mib[TIDE_MIB_##name]++)
#define TIDE_ADD(st, name, v) ((st)->mib[TIDE_MIB_##name] += (v))

/* core/stack.c */
uint32_t tide_hash_key(const struct tide_stack *st, const struct tide_conn_id *k);
uint64_t tide_hash64(uint64_t secret, uint64_t a, uint64_t b);
void tide_emit_ip(struct tide_stack *st, uint32_t dst, const uint8_t *tcp, size_t len);
void tide_notify_state(struct tide_stack *st, const struct tide_conn_id *id, int old_state, int new_state);

/* core/mem.c: every allocation of the core goes through these, which count
 * it by kind in st->mem and use the configured allocator. Sizes are given
 * back on free (the allocator is told them). tide_mem_zalloc zeroes. */
void *tide_mem_alloc(struct tide_stack *st, enum tide_mem_kind k, size_t size);
void *tide_mem_zalloc(struct tide_stack *st, enum tide_mem_kind k, size_t size);
void *tide_mem_realloc(struct tide_stack *st, enum tide_mem_kind k, void *p, size_t old_size,
		       size_t new_size);
void tide_mem_free(struct tide_stack *st, enum tide_mem_kind k, void *p, size_t size);
struct tide_stack *tide_mem_stack_new(const struct tide_config *cfg);
void tide_mem_stack_free(struct tide_stack *st);
/* net.ipv4.tcp_mem (Linux's __sk_mem_raise_allocated): may c's buffers
 * grow by `bytes`? Enters memory pressure above tcp_mem[1]; false above
 * tcp_mem[2], or under pressure for a connection above its fair share,
 * except for the guarantee of tcp_rmem[0] (receive) or tcp_wmem[0] (send)
 * below tcp_mem[2]. */
enum { TIDE_MEM_RECV, TIDE_MEM_SEND };
bool tide_mem_schedule(struct tcp_conn *c, size_t bytes, int dir);
/* Buffer memory in pages, as tcp_mem counts it. */
uint64_t tide_mem_pages(const struct tide_stack *st);
/* Linux's tcp_out_of_memory: an orphan holding more than SOCK_MIN_SNDBUF
 * queued while buffer memory is above tcp_mem[2]. */
bool tide_mem_orphan_oom(const struct tcp_conn *c);
/* Buffer memory fell: leave pressure below tcp_mem[0], give back sndbuf. */
void tide_mem_reclaimed(struct tide_stack *st);
/* An allocation failed, or tcp_mem[1] was passed: Linux's tcp_enter_memory_pressure. */
void tide_mem_enter_pressure(struct tide_stack *st);
static inline bool tide_mem_pressure(const struct tide_stack *st) { return st->mem.pressure; }

/* core/table.c */
int tide_htab_init(struct tide_stack *st, struct tide_htab *t, uint32_t size);
void tide_htab_free(struct tide_stack *st, struct tide_htab *t);
struct tide_hentry *tide_htab_find(struct tide_stack *st, const struct tide_conn_id *k);
int tide_htab_insert(struct tide_stack *st, struct tide_hentry *e);
void tide_htab_remove(struct tide_stack *st, struct tide_hentry *e);
struct tide_port *tide_port_get(struct tide_stack *st, uint16_t port, bool create);
void tide_ports_free(struct tide_stack *st, struct tide_ports *p);

/* core/heap.c */
/* Room for n timers, so that tide_heap_set never allocates: reserved when
 * a connection or request is made (-1 when memory is short). */
int tide_heap_reserve(struct tide_stack *st, struct tide_heap *h, uint32_t n);
void tide_heap_set(struct tide_heap *h, struct tide_timer *t, tide_time when);
struct tide_timer *tide_heap_top(const struct tide_heap *h);
void tide_heap_free(struct tide_stack *st, struct tide_heap *h);

/* core/ring.c: capacity grows on demand, geometrically, so buffer memory
 * follows use; kind is TIDE_MEM_SNDBUF or TIDE_MEM_RCVBUF. */
#define TIDE_RING_MIN 2048u
/* The capacity the ring would grow to so that it holds `need` bytes (at
 * most `max`, at least need): 0 if it already does. */
uint32_t tide_ring_grow_size(const struct tide_ring *r, uint32_t need, uint32_t max);
int tide_ring_resize(struct tide_stack *st, struct tide_ring *r, uint32_t cap, enum tide_mem_kind k);
uint32_t tide_ring_write(struct tide_ring *r, const void *data, uint32_t len);
uint32_t tide_ring_peek(const struct tide_ring *r, uint32_t off, void *out, uint32_t len);
void tide_ring_drop(struct tide_ring *r, uint32_t len);
void tide_ring_free(struct tide_stack *st, struct tide_ring *r, enum tide_mem_kind k);
void tide_ring_consume(struct tide_stack *st, struct tide_ring *r, uint32_t len, enum tide_mem_kind k);
static inline uint32_t tide_ring_space(const struct tide_ring *r) { return r->cap - r->len; }

/* tcp/ */
int tide_tcp_input(struct tide_stack *st, const struct tide_ipv4 *ip, const struct tide_tcp *th);
void tide_tcp_send_reset_for(struct tide_stack *st, const struct tide_ipv4 *ip, const struct tide_tcp *th);
struct tcp_conn *tide_tcp_conn_new(struct tide_stack *st, struct tide_sock *sk);
void tide_tcp_set_state(struct tcp_conn *c, int state);
void tide_tcp_destroy(struct tcp_conn *c);
void tide_tcp_done(struct tcp_conn *c);
void tide_tcp_detach_closed(struct tcp_conn *c);
void tide_tcp_purge_ofo(struct tcp_conn *c);
void tide_tcp_reset_conn(struct tcp_conn *c, int err);
void tide_tcp_timers_update(struct tcp_conn *c);
void tide_tcp_timer_fire(struct tcp_conn *c);
void tide_tcp_output(struct tcp_conn *c);
void tide_tcp_write_wakeup(struct tcp_conn *c);
void tide_tcp_send_ack(struct tcp_conn *c);
void tide_tcp_send_syn(struct tcp_conn *c, bool with_ack);
void tide_tcp_send_active_reset(struct tcp_conn *c);
void tide_tcp_send_probe(struct tcp_conn *c);
int tide_tcp_retransmit_head(struct tcp_conn *c);
void tide_tcp_rearm_rexmit(struct tcp_conn *c);
void tide_tcp_schedule_ack(struct tcp_conn *c);
uint32_t tide_tcp_tsval(const struct tcp_conn *c);
uint32_t tide_tcp_initial_rcv_wnd(const struct tide_stack *st, uint16_t mss_eff);
uint8_t tide_tcp_rcv_wscale(const struct tide_stack *st);
uint16_t tide_tcp_adv_mss(const struct tide_stack *st);
uint32_t tide_tcp_isn(struct tide_stack *st, const struct tide_conn_id *id);
uint32_t tide_tcp_ts_offset(struct tide_stack *st, const struct tide_conn_id *id);
void tide_tcp_init_rto(struct tcp_conn *c);
void tide_tcp_rtt_sample(struct tcp_conn *c, uint32_t rtt_us);
void tide_tcp_set_mss(struct tcp_conn *c);
bool tide_tcp_write_timed_out(struct tcp_conn *c, int boundary, tide_time rto_base);
/* tcp/tcp_timer.c: the orphaned FIN_WAIT_2 (LC-L03, LC-L05, LC-K01) */
tide_time tide_tcp_rto_now(const struct tcp_conn *c);
tide_time tide_tcp_rto_3_5(const struct tcp_conn *c);
tide_time tide_tcp_fin_time(const struct tcp_conn *c);
bool tide_tcp_orphan_fin_wait2(struct tcp_conn *c, bool fin_in_segment);
bool tide_tcp_fin_wait2_timer(struct tcp_conn *c);
/* tcp/tcp_keepalive.c: keepalive (LC-K05) and orphan accounting (LC-K13) */
int tide_tcp_keepidle(const struct tcp_conn *c);
int tide_tcp_keepintvl(const struct tcp_conn *c);
int tide_tcp_keepcnt(const struct tcp_conn *c);
void tide_tcp_keepalive_start(struct tcp_conn *c);
void tide_tcp_set_keepalive(struct tcp_conn *c, bool on);
void tide_tcp_set_keepidle(struct tcp_conn *c, int secs);
bool tide_tcp_keepalive_timer(struct tcp_conn *c);
bool tide_tcp_keepalive_acts(const struct tcp_conn *c);
void tide_tcp_orphan_inc(struct tcp_conn *c);
void tide_tcp_orphan_dec(struct tcp_conn *c);
bool tide_tcp_too_many_orphans(const struct tide_stack *st, int shift);
bool tide_tcp_out_of_resources(struct tcp_conn *c, bool do_reset);

/* tcp/tcp_usrreq.c: actions of the socket layer */
int tide_tcp_connect(struct tide_stack *st, struct tide_sock *sk, uint32_t daddr, uint16_t dport);
void tide_tcp_close(struct tcp_conn *c);
void tide_tcp_shutdown_wr(struct tcp_conn *c);

/* tcp/tcp_listen.c */
void tide_tcp_listen_input(struct tide_stack *st, struct tide_sock *lsk, const struct tide_ipv4 *ip, const struct tide_tcp *th);
void tide_tcp_req_input(struct tide_stack *st, struct tcp_req *rq, const struct tide_ipv4 *ip, const struct tide_tcp *th);
void tide_tcp_req_timer(struct tide_stack *st, struct tcp_req *rq);
void tide_tcp_req_free(struct tide_stack *st, struct tcp_req *rq, bool notify);
void tide_tcp_listener_stop(struct tide_sock *lsk);
void tide_tcp_listener_drop_requests(struct tide_stack *st, struct tide_sock *lsk);
void tide_tcp_send_synack(struct tide_stack *st, struct tcp_req *rq);
/* TCP_DEFER_ACCEPT seconds <-> SYN-ACK timeouts (Linux's secs_to_retrans
 * and retrans_to_secs, with its 1 s initial and 120 s maximum timeout). */
uint8_t tide_tcp_defer_secs_to_retrans(int secs);
int tide_tcp_defer_retrans_to_secs(uint8_t retrans);
/* Linux's syn_recv_sock and complete_hashdance: makes the connection a
 * request (or a cookie) becomes, puts it in the listener's accept queue and
 * feeds it the segment that completed it; false (counted) when the accept
 * queue is full; true without a connection for a cookie whose 4-tuple is
 * taken. A queued request is freed; a cookie's is the caller's. */
bool tide_tcp_req_child(struct tide_stack *st, struct tcp_req *rq, const struct tide_ipv4 *ip,
			const struct tide_tcp *th);
/* tcp/tcp_syncookie.c (LC-H08) */
void tide_syncookie_send(struct tide_stack *st, struct tcp_req *rq, const struct tide_tcp *th);
uint32_t tide_syncookie_tsval(const struct tide_stack *st, const struct tcp_req *rq);
/* An ACK to a listener: true if a cookie took it (a connection, or a drop). */
bool tide_syncookie_ack(struct tide_stack *st, struct tide_sock *lsk, const struct tide_ipv4 *ip,
			const struct tide_tcp *th);
/* The listener for a segment to k->laddr:k->lport from k->raddr:k->rport:
 * an exact address beats the wildcard; in a SO_REUSEPORT group a hash of
 * the 4-tuple picks the member (Linux's reuseport_select_sock). */
struct tide_sock *tide_tcp_find_listener(struct tide_stack *st, const struct tide_conn_id *k);
/* listen() and its end: the listener list and SO_REUSEPORT groups. */
void tide_tcp_listener_link(struct tide_stack *st, struct tide_sock *lsk);
void tide_tcp_listener_unlink(struct tide_stack *st, struct tide_sock *lsk);

/* tcp/tcp_timewait.c */
/* Moves c into a TIME_WAIT record; with ack, the record then sends the
 * ACK of the peer's FIN (so traces show it leaving TIME-WAIT). */
void tide_tcp_time_wait(struct tcp_conn *c, bool ack);
void tide_tw_input(struct tide_stack *st, struct tcp_tw *tw, const struct tide_ipv4 *ip, const struct tide_tcp *th);
void tide_tw_expire(struct tide_stack *st, tide_time now);
void tide_tw_kill(struct tide_stack *st, struct tcp_tw *tw);
/* connect() may take over the record's 4-tuple (Linux's tcp_twsk_unique,
 * LC-K08); port_bound: the port came from bind(), not the ephemeral range. */
bool tide_tw_reusable(struct tide_stack *st, const struct tcp_tw *tw, bool port_bound);
/* Moves an orphaned FIN_WAIT_2 into a record living max(timeo, 3.5 RTO)
 * (Linux's tcp_time_wait(sk, TCP_FIN_WAIT2, timeo)). */
void tide_tcp_fin_wait2_record(struct tcp_conn *c, tide_time timeo);
/* The state a record reports: TIME_WAIT, or FIN_WAIT_2 in that substate. */
int tide_tw_state(const struct tcp_tw *tw);
tide_time tide_tw_state_since(const struct tide_stack *st, const struct tcp_tw *tw);
void tide_tw_free_all(struct tide_stack *st);
tide_time tide_tw_next(const struct tide_stack *st);

/* sock/ */
void tide_sock_wakeup(struct tide_sock *sk);
void tide_sock_release_conn(struct tide_sock *sk);
void tide_fdtab_free(struct tide_stack *st);
uint32_t tide_sock_poll_mask(struct tide_sock *sk);
void tide_port_bind_conn(struct tide_stack *st, uint16_t port, uint8_t reuse, int delta);

#endif
