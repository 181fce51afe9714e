/*
 * The pcap output: every packet as a host sent it, stamped with its send
 * time. Packets are recorded once per transmission; the copies a duplicate
 * rule made and the fate of each packet are the network's doing and are not
 * in the capture, as a capture at the sender would not show them either.
 */
#include "model.h"

#include <tide/pcap.h>

#include <errno.h>

int sim_write_pcap(const struct sim_model *m, const char *path)
{
	tide_pcap *p = tide_pcap_open(path);
	if (!p)
		return -1;
	int err = 0;
	/* In event order, not array order, so that the file's timestamps never
	 * go backwards even if the runner added segments out of order and
	 * sorted the events afterwards. */
	for (size_t i = 0; i < m->nevents && !err; i++) {
		if (m->events[i].kind != EV_SEGMENT)
			continue;
		const struct sim_segment *s = &m->segs[m->events[i].index];
		if (!s->pkt || !s->pktlen)
			continue;
		if (tide_pcap_write(p, s->sent, s->pkt, s->pktlen) < 0)
			err = errno;
	}
	if (tide_pcap_close(p) < 0 && !err)
		err = errno;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}
