/*
 * Hand-built tide-sim models for the output tests, with real packets, so
 * the writers can be tested without the runner.
 */
#ifndef SAMPLE_MODEL_H
#define SAMPLE_MODEL_H

#include "model.h"

/* The four-way close of RFC 793 with fixed ISNs (client 100, server 300),
 * 1 ms apart: handshake, 100 bytes, the client's first FIN lost and
 * retransmitted (and the network duplicates the retransmission), then the
 * server's FIN and the client's 60 s of TIME_WAIT. 11 packets sent. */
void sample_four_way_close(struct sim_model *m);

/* Appends a segment with its packet; fate DELIVERED when delivered is not
 * TIDE_TIME_NEVER, else DROPPED. Returns its index. */
/* Three hosts and every kind of mark: RST, middlebox drop, unroutable,
 * delayed, network and host notes, five connections on one host, a
 * 4-tuple reused after CLOSED, and texts that need escaping. */
void sample_zoo(struct sim_model *m);

size_t sample_seg(struct sim_model *m, tide_time t, int from, int to, uint16_t sport,
		  uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len,
		  tide_time delivered, int sender_state, int receiver_state);

void sample_state(struct sim_model *m, tide_time t, int host, uint16_t lport, uint32_t raddr,
		  uint16_t rport, int old_state, int new_state);

#endif
