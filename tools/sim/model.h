/*
 * What a tide-sim run produced, in time order: the model every output
 * (text trace, state timeline, JSON, SVG, pcap) is written from. The runner
 * (run.c) fills it; the writers only read it.
 */
#ifndef TIDE_SIM_MODEL_H
#define TIDE_SIM_MODEL_H

#include <tide/tide.h>
#include <tide/wire.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_MAX_HOSTS 16

enum sim_fate {
	FATE_DELIVERED,    /* reached the receiver */
	FATE_DROPPED,      /* a drop rule, or a cut link */
	FATE_MIDDLEBOX,    /* dropped by the middlebox (idle connection) */
	FATE_UNROUTABLE,   /* no host owns the address */
};

/* One packet a host sent, with what became of it. A duplicated packet is
 * one segment with dup_delivered set; a delayed or reordered one just
 * arrives later. */
struct sim_segment {
	int from, to;              /* host indexes (to: -1 when unroutable) */
	struct tide_conn_id id;    /* addresses and ports, from the sender's side */
	uint8_t flags;
	uint32_t seq, ack;
	uint32_t len;              /* payload bytes */
	uint16_t win;              /* as on the wire */
	struct tide_tcp_opts opts;
	enum sim_fate fate;
	bool delayed;              /* a delay or reorder rule held it */
	bool retransmission;       /* its sequence space was sent before */
	int dup_count;             /* extra copies delivered */
	tide_time sent, delivered; /* delivered: NEVER when not delivered */
	int sender_state;          /* sender's connection state when it left */
	int receiver_state;        /* receiver's state right after it arrived (0: n/a) */
	uint8_t *pkt;              /* the IPv4 packet as sent (for pcap) */
	size_t pktlen;
};

/* What made a state change happen (CAUSE_UNKNOWN when not recorded). */
enum sim_cause {
	CAUSE_UNKNOWN,
	CAUSE_ARRIVAL,             /* a segment arrived: cause_seg */
	CAUSE_ACTION,              /* a timeline action (a call, dies, reboots) */
	CAUSE_TIMER,               /* one of the stack's timers */
};

struct sim_state_change {
	int host;
	struct tide_conn_id id;    /* from that host's side; rport 0 for a listener */
	int old_state, new_state;
	enum sim_cause cause;
	size_t cause_seg;          /* CAUSE_ARRIVAL: index into segs */
};

/* A stack timer that fired and did something visible (a retransmission,
 * a probe, a delayed ACK, the end of TIME_WAIT...), for "timer" marks. */
struct sim_timer {
	int host;
	struct tide_conn_id id;
	char what[48];             /* "retransmission timeout", "delayed ACK", ... */
};

/* An application call of the timeline, with its result. */
struct sim_call {
	int host;
	int line;                  /* in the scenario file */
	char text[96];             /* "close(c)", "recv(s, 100)" */
	long ret;                  /* the return value (-1 on failure) */
	int err;                   /* errno when ret == -1, else 0 */
};

/* A note the runner adds: a link cut starting/ending, a host rebooting, a
 * process dying, the middlebox forgetting a connection. */
struct sim_note {
	int host;                  /* -1 for the network */
	char text[96];
};

enum sim_event_kind { EV_SEGMENT, EV_STATE, EV_TIMER, EV_CALL, EV_NOTE };

struct sim_event {
	enum sim_event_kind kind;
	tide_time t;
	size_t index;              /* into the array of its kind */
};

struct sim_expect_result {
	int line;
	char text[128];            /* the expectation as written */
	bool ok;
	char detail[128];          /* what was found, when not ok */
	tide_time t;               /* when it was checked (m->end for `at end`) */
	bool at_end;
};

struct sim_host_info {
	char name[32];
	uint32_t addr;
};

struct sim_model {
	char title[128];
	char about[512];
	char source[256];          /* file name, or "builtin:NAME" */
	int nhosts;
	struct sim_host_info hosts[SIM_MAX_HOSTS];
	tide_time delay;
	tide_time end;             /* when the run stopped */

	struct sim_segment *segs; size_t nsegs, segcap;
	struct sim_state_change *states; size_t nstates, statecap;
	struct sim_timer *timers; size_t ntimers, timercap;
	struct sim_call *calls; size_t ncalls, callcap;
	struct sim_note *notes; size_t nnotes, notecap;
	struct sim_event *events; size_t nevents, eventcap; /* all of the above, in order */
	struct sim_expect_result *expects; size_t nexpects, expectcap;
};

/* Frees the arrays (and packet copies) and empties the model; the struct
 * itself is the caller's. */
void sim_model_free(struct sim_model *m);

/*
 * Appending to a model (the runner's side). Each adder appends one zeroed
 * entry of its kind plus an event at time t pointing at it, and returns the
 * entry for the caller to fill, or NULL with errno ENOMEM (the model is left
 * as it was). The pointer stays valid only until the next add of the same
 * kind (the arrays grow by realloc); keep indexes, not pointers. Events are
 * kept in the order they were added, so add them in time order (or call
 * sim_model_sort_events before writing).
 *
 * sim_model_add_segment also sets sent = t, delivered = TIDE_TIME_NEVER and
 * to = -1; the caller fills the rest and, for pcap, the packet bytes with
 * sim_segment_set_packet.
 */
struct sim_segment *sim_model_add_segment(struct sim_model *m, tide_time t);
struct sim_state_change *sim_model_add_state(struct sim_model *m, tide_time t);
struct sim_timer *sim_model_add_timer(struct sim_model *m, tide_time t);
struct sim_call *sim_model_add_call(struct sim_model *m, tide_time t);
struct sim_note *sim_model_add_note(struct sim_model *m, tide_time t);
/* Expectations are results, not events: no time, no event. */
struct sim_expect_result *sim_model_add_expect(struct sim_model *m);

/* Copies the IPv4 packet into the segment (replacing any earlier copy).
 * 0, or -1 with errno ENOMEM. */
int sim_segment_set_packet(struct sim_segment *s, const uint8_t *pkt, size_t len);

/* Stable sort of the events by time (ties keep their order of addition). */
void sim_model_sort_events(struct sim_model *m);

/* The index of the host with this address, or -1. */
int sim_model_host_by_addr(const struct sim_model *m, uint32_t addr);

/*
 * Per-connection state timelines, computed from the state changes: one per
 * connection (a host and a 4-tuple; a listener has rport 0), in the order
 * the connections first appear. A connection ends when it reaches CLOSED;
 * a later change on the same host and 4-tuple starts a new timeline. Each
 * span is one state with the time it was entered and left; CLOSED itself
 * is not a span. A connection still open when the run stopped has open set
 * and its last span ends at m->end.
 */
struct sim_span {
	int state;
	tide_time from, to;
};

struct sim_timeline {
	int host;
	struct tide_conn_id id;
	struct sim_span *spans;
	size_t nspans, spancap;
	bool open;
};

/* 0, or -1 with errno ENOMEM (nothing to free then). */
int sim_model_timelines(const struct sim_model *m, struct sim_timeline **out, size_t *n);
void sim_timelines_free(struct sim_timeline *t, size_t n);

/* The length of the valid UTF-8 character at p (1..4), or 0 when the bytes
 * there are not valid UTF-8 (writers replace such bytes). *p != 0. */
size_t sim_utf8_len(const unsigned char *p);

/* "198.18.0.1:40000" into buf (at least 22 bytes); returns buf. */
const char *sim_addr_str(uint32_t addr, uint16_t port, char *buf, size_t cap);

/* An output that keeps its first write error, so a writer need not check
 * every call: it looks at err once at the end. */
struct sim_out {
	FILE *out;
	int err;
};
void sim_out_puts(struct sim_out *w, const char *s);
void sim_out_printf(struct sim_out *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writers (each returns 0, or -1 with errno). */
int sim_write_trace(const struct sim_model *m, FILE *out);   /* trace + state timeline */
int sim_write_json(const struct sim_model *m, FILE *out);
int sim_write_svg(const struct sim_model *m, FILE *out);
int sim_write_pcap(const struct sim_model *m, const char *path);

#endif
