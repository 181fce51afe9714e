/*
 * A pcap file writer for raw IPv4 packets (LINKTYPE_RAW), for Wireshark and
 * tshark. Timestamps are the packets' tide_time (microseconds).
 */
#ifndef TIDE_PCAP_H
#define TIDE_PCAP_H

#include <tide/tide.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_pcap tide_pcap;

/* Creates (truncates) path and writes the file header. NULL with errno on
 * failure. */
tide_pcap *tide_pcap_open(const char *path);
/* Appends one packet; returns 0 or -1 with errno. */
int tide_pcap_write(tide_pcap *p, tide_time when, const uint8_t *pkt, size_t len);
/* Flushes and closes; returns 0 or -1 with errno (a failed write is
 * reported here at the latest). */
int tide_pcap_close(tide_pcap *p);

#ifdef __cplusplus
}
#endif
#endif
