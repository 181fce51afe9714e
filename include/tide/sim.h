/*
 * The simulated network: tide stacks (or any packet-driven node) on one
 * shared segment with a virtual clock, a per-packet delay, and fault rules.
 *
 * Deterministic: the same calls give the same packets at the same virtual
 * times. Events at the same time run in the order they were scheduled.
 * A packet sent by a node at time t reaches the node owning its
 * destination address at t + delay (unless a fault rule says otherwise);
 * a packet for an address no node owns is dropped (counted).
 */
#ifndef TIDE_SIM_H
#define TIDE_SIM_H

#include <tide/tide.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_sim tide_sim;

/* A node: anything fed packets and time. A tide stack is one; a test may
 * add a scripted node that answers with hand-made segments. */
struct tide_sim_node_ops {
	void (*input)(void *node, const uint8_t *pkt, size_t len, tide_time now);
	void (*advance)(void *node, tide_time now);
	tide_time (*next_timer)(void *node);
};

/* What happened to a packet, reported to the tap. */
enum tide_sim_event {
	TIDE_SIM_SENT,        /* a node handed the packet to the network */
	TIDE_SIM_DELIVERED,   /* the packet reached its destination node */
	TIDE_SIM_DROPPED,     /* a fault (rule or random) or a cut link dropped it */
	TIDE_SIM_DUPLICATED,  /* a fault made one extra copy */
	TIDE_SIM_DELAYED,     /* a fault delayed or reordered it */
	TIDE_SIM_UNROUTABLE,  /* no node owns the destination address */
	TIDE_SIM_FILTERED,    /* the filter (a middlebox) dropped it */
};

/* Sees every packet event. `from`/`to` are node indexes (-1 if none). */
typedef void (*tide_sim_tap_fn)(void *ctx, enum tide_sim_event ev, tide_time now,
				int from, int to, const uint8_t *pkt, size_t len);

/* A fault rule: acts on the nth (1-based) packet that matches, and on the
 * `count - 1` matching packets after it (count 0 means 1). Matching: sent by
 * node `from` (-1: any), TCP flags with (flags & flags_mask) == flags_match,
 * payload length in [min_len, max_len] (max_len 0: any), and no payload at
 * all when no_payload is set (a pure ACK, which max_len cannot say). */
enum tide_fault_action {
	TIDE_FAULT_DROP,
	TIDE_FAULT_DUPLICATE, /* deliver twice, the copy `delay` later */
	TIDE_FAULT_DELAY,     /* deliver `delay` later than normal */
	TIDE_FAULT_REORDER,   /* hold it until the next packet on the same
			       * direction has been delivered, then deliver */
};
struct tide_fault {
	int from;
	uint8_t flags_mask, flags_match;
	uint16_t min_len, max_len;
	unsigned nth;
	unsigned count;
	enum tide_fault_action action;
	tide_time delay;
	bool no_payload;
};

tide_sim *tide_sim_new(tide_time one_way_delay);
/* Frees the sim, the stacks it created, and packets in flight. */
void tide_sim_free(tide_sim *sim);

/* Adds a tide stack created from cfg (its output is routed into the sim;
 * cfg->output is ignored). `name` is copied ("client"). Returns the node
 * index, or -1 (errno). The stack is freed with the sim. */
int tide_sim_add_stack(tide_sim *sim, const char *name, const struct tide_config *cfg);
tide_stack *tide_sim_stack(tide_sim *sim, int node);
/* Adds any node owning `addr`. Packets it sends go through tide_sim_send. */
int tide_sim_add_node(tide_sim *sim, const char *name, uint32_t addr,
		      const struct tide_sim_node_ops *ops, void *node);
/* A node hands a packet to the network at the current virtual time. */
void tide_sim_send(tide_sim *sim, int from, const uint8_t *pkt, size_t len);
const char *tide_sim_node_name(const tide_sim *sim, int node);
int tide_sim_node_count(const tide_sim *sim);
/* The node that owns addr, or -1. */
int tide_sim_node_by_addr(const tide_sim *sim, uint32_t addr);

void tide_sim_set_tap(tide_sim *sim, tide_sim_tap_fn fn, void *ctx);

/* Decides, for every packet sent, whether the network silently drops it
 * (true), e.g. a stateful middlebox that forgets idle connections. It runs
 * after link cuts and before fault rules. */
typedef bool (*tide_sim_filter_fn)(void *ctx, tide_time now, int from, int to,
				   const uint8_t *pkt, size_t len);
void tide_sim_set_filter(tide_sim *sim, tide_sim_filter_fn fn, void *ctx);

/* A host reboots: its stack is freed (sending nothing) and a fresh one
 * made from cfg takes its place, at the same address and node index.
 * Packets in flight reach the new stack. Returns 0, or -1 with errno. */
int tide_sim_replace_stack(tide_sim *sim, int node, const struct tide_config *cfg);
/* Adds a fault rule; returns its index or -1. */
int tide_sim_add_fault(tide_sim *sim, const struct tide_fault *f);
/*
 * Random faults: every packet no fault rule acted on (and that a cut link
 * or the filter let through) is, with the given probabilities in parts per
 * million, dropped; else delayed by an extra time drawn uniformly in
 * [1 us, delay_max], which lets later packets overtake it; and, whether
 * delayed or not, duplicated, the copy arriving a time drawn uniformly in
 * [0, dup_delay_max] after the original. The tap sees TIDE_SIM_DROPPED,
 * TIDE_SIM_DELAYED and TIDE_SIM_DUPLICATED as for fault rules.
 *
 * The draws come from a generator of the sim's own, seeded by `seed`: the
 * same calls with the same seed make the same faults. `from` is the node
 * whose packets these apply to, or -1 for every node that has no setting
 * of its own; one setting per `from`, a later call replacing it (and
 * restarting its generator). A node's own setting with all probabilities
 * 0 exempts it from the -1 setting.
 * Returns 0, or -1 with EINVAL (a probability above 1000000, a delay
 * probability without delay_max, an unknown node) or ENOMEM.
 */
struct tide_sim_random_faults {
	uint64_t seed;
	int from;
	uint32_t drop_ppm;
	uint32_t duplicate_ppm;
	uint32_t delay_ppm;
	tide_time delay_max;      /* extra delay of a delayed packet, at most */
	tide_time dup_delay_max;  /* how much later a copy arrives, at most */
};
int tide_sim_set_random_faults(tide_sim *sim, const struct tide_sim_random_faults *rf);

/* Drops every packet sent between t1 (inclusive) and t2 (exclusive). */
int tide_sim_cut_link(tide_sim *sim, tide_time t1, tide_time t2);
void tide_sim_set_delay(tide_sim *sim, tide_time one_way_delay);

tide_time tide_sim_now(const tide_sim *sim);
/* The time of the next event (packet delivery or node timer), or NEVER. */
tide_time tide_sim_next_event(const tide_sim *sim);
/* Runs the next event; returns false if there is none. */
bool tide_sim_step(tide_sim *sim);
/* Runs every event up to and including time t, then moves the clock (and
 * every node's clock) to t. */
void tide_sim_run_until(tide_sim *sim, tide_time t);
/* Runs for a duration from now. */
void tide_sim_run_for(tide_sim *sim, tide_time d);
/* Runs events until pred returns true (checked before each event) or the
 * clock would pass `limit`; returns pred's last value. */
bool tide_sim_run_while_not(tide_sim *sim, bool (*pred)(void *ctx), void *ctx,
			    tide_time limit);

/* Packet counts for assertions. */
uint64_t tide_sim_count(const tide_sim *sim, enum tide_sim_event ev);

#ifdef __cplusplus
}
#endif
#endif
