/*
 * The fixture of the TCP behaviour tests: a client and a server tide stack
 * on a simulated network, every packet and state change recorded, and
 * assertions on them that print the whole log when they fail.
 *
 *	struct th h;
 *	th_init(&h, NULL);                  // client 198.18.0.1, server .2
 *	int cfd, sfd;
 *	th_establish(&h, &cfd, &sfd, NULL); // segments 0..2: the handshake
 *	th_expect_seg(&h, 0, h.c, TIDE_TCP_SYN, 100, 0, 0);
 *	th_free(&h);
 *
 * Node arguments are node indexes (h.c, h.s). Segment indexes count only
 * the packets the nodes sent (TIDE_SIM_SENT), from 0. Set
 * TIDE_TEST_VERBOSE=1 to see every event as it happens.
 */
#ifndef TIDE_TEST_HARNESS_H
#define TIDE_TEST_HARNESS_H

#include <tide/tide.h>
#include <tide/socket.h>
#include <tide/sim.h>
#include <tide/wire.h>

#define TH_CLIENT_ADDR 0xc6120001u /* 198.18.0.1 */
#define TH_SERVER_ADDR 0xc6120002u /* 198.18.0.2 */

/* One packet event seen on the wire. For a packet that is not TCP the TCP
 * fields are 0 and len is the IPv4 payload length. */
struct th_seg {
	tide_time t;
	int from, to;
	enum tide_sim_event ev;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;             /* as on the wire, not scaled */
	size_t len;               /* TCP payload length */
	struct tide_tcp_opts opts;
	uint16_t sport, dport;
	uint64_t order;           /* position among all events and state changes */
};

struct th_state {
	tide_time t;
	int node;
	struct tide_conn_id id;
	int old_state, new_state;
	uint64_t order;
};

struct th;
/* Identifies a node to the stack callbacks (internal). */
struct th_node {
	struct th *h;
	int node;
};

struct th {
	tide_sim *sim;
	int c, s;                 /* node indexes: client, server */
	tide_stack *C, *S;
	struct th_seg *segs;      /* only TIDE_SIM_SENT events */
	size_t nsegs, cap;
	struct th_seg *events;    /* every tap event */
	size_t nevents, ecap;
	struct th_state *states;
	size_t nstates, scap;
	bool verbose;             /* print every event and state change */

	/* internal */
	const char *file;         /* the calling test's location, for failures */
	int line;
	uint32_t isn[2];
	uint64_t next_order;
	struct th_node nodes[2];
};

struct th_opts {
	tide_time delay;          /* one-way; 0: 1 ms */
	bool linux_isn;           /* false: fixed ISNs below */
	/* 0: 100 and 300, RFC 793 section 3.5's example (an ISN of 0 can be
	 * had from tune, with cfg->isn). */
	uint32_t client_isn, server_isn;
	/* Optional: settings text for each stack ("net.ipv4.tcp_fin_timeout
	 * = 5\n..."), applied before tune; a wrong line fails the test. */
	const char *client_settings, *server_settings;
	/* Optional: adjust a stack's config; node is 0 (client) or 1 (server). */
	void (*tune)(struct tide_config *cfg, int node);
};

void th_init(struct th *h, const struct th_opts *o);
void th_free(struct th *h);

/* Time. th_run_until/th_run_for leave every stack's clock at the new time. */
void th_run_until(struct th *h, tide_time t);
void th_run_for(struct th *h, tide_time d);
tide_time th_now(struct th *h);

tide_stack *th_stack(struct th *h, int node);
/* "client", "server" (or the sim's name for other nodes, "-" for none). */
const char *th_node_name(struct th *h, int node);

/* The i-th segment sent (fails the test if there is none). */
const struct th_seg *th_seg(struct th *h, size_t i);
/* Exact flags (all 8 bits), seq, ack (compared only when flags has ACK)
 * and payload length of the i-th segment, sent by `from`. */
void th_expect_seg(struct th *h, size_t i, int from, uint8_t flags, uint32_t seq,
		   uint32_t ack, size_t len);
/* The same, and sent at time t exactly. */
void th_expect_seg_at(struct th *h, size_t i, tide_time t, int from, uint8_t flags,
		      uint32_t seq, uint32_t ack, size_t len);
/* Exactly n segments were sent so far. */
void th_expect_nsegs(struct th *h, size_t n);
/* The exact sequence of new states of node's connections (all of them, in
 * the order they changed). */
void th_expect_states(struct th *h, int node, const int *states, size_t n);
/* The i-th state change of node (from 0) was old_state -> new_state at t. */
void th_expect_state_at(struct th *h, int node, size_t i, tide_time t, int old_state,
			int new_state);

/* socket + bind(node's address, port) + listen; returns the fd. */
int th_listen(struct th *h, int node, uint16_t port, int backlog);
/* Non-blocking socket, bind to sport unless 0, connect: asserts -1 with
 * EINPROGRESS. Returns the fd. */
int th_connect(struct th *h, int node, uint32_t dst, uint16_t dport, uint16_t sport);
/* Asserts accept gives an fd and returns it. */
int th_accept(struct th *h, int node, int lfd);
/* Server listens on port 80, client connects from port 40000; runs until
 * the handshake's ACK reached the server and accepts. lfd may be NULL (the
 * listener then stays open). The log is left as it is. */
void th_establish(struct th *h, int *cfd, int *sfd, int *lfd);

/* Prints every event and state change recorded, in order, to stderr. */
void th_dump(struct th *h);

/* The calls above report a failure at the test's own line rather than in
 * the harness: these macros hand the caller's location over first. (Call
 * a function as (th_expect_seg)(...) to bypass its macro.) */
struct th *th_here(struct th *h, const char *file, int line);
#ifndef TH_IMPLEMENTATION
#define TH_HERE(h) th_here((h), __FILE__, __LINE__)
#define th_stack(h, ...) th_stack(TH_HERE(h), __VA_ARGS__)
#define th_seg(h, ...) th_seg(TH_HERE(h), __VA_ARGS__)
#define th_expect_seg(h, ...) th_expect_seg(TH_HERE(h), __VA_ARGS__)
#define th_expect_seg_at(h, ...) th_expect_seg_at(TH_HERE(h), __VA_ARGS__)
#define th_expect_nsegs(h, ...) th_expect_nsegs(TH_HERE(h), __VA_ARGS__)
#define th_expect_states(h, ...) th_expect_states(TH_HERE(h), __VA_ARGS__)
#define th_expect_state_at(h, ...) th_expect_state_at(TH_HERE(h), __VA_ARGS__)
#define th_listen(h, ...) th_listen(TH_HERE(h), __VA_ARGS__)
#define th_connect(h, ...) th_connect(TH_HERE(h), __VA_ARGS__)
#define th_accept(h, ...) th_accept(TH_HERE(h), __VA_ARGS__)
#define th_establish(h, ...) th_establish(TH_HERE(h), __VA_ARGS__)
#endif

#endif
