/*
 * The pcap writer of <tide/pcap.h>: the classic format (not pcapng), which
 * every version of tcpdump, Wireshark and tshark reads. Fields are written
 * in the host's byte order, as the format intends: readers tell the order
 * from the magic number.
 */
#include <tide/pcap.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4
#define PCAP_SNAPLEN 65535u
/* Packets start with the IPv4 header: no link-layer header to invent. */
#define PCAP_LINKTYPE_RAW 101u

struct tide_pcap {
	FILE *f;
	/* The first write error, kept so that close reports it even when a
	 * caller ignored the write's return value. */
	int err;
};

static int put(tide_pcap *p, const void *data, size_t len)
{
	if (p->err) {
		errno = p->err;
		return -1;
	}
	if (len == 0)
		return 0;
	errno = 0;
	if (fwrite(data, 1, len, p->f) != len) {
		p->err = errno ? errno : EIO;
		errno = p->err;
		return -1;
	}
	return 0;
}

tide_pcap *tide_pcap_open(const char *path)
{
	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	tide_pcap *p = calloc(1, sizeof(*p));
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	p->f = fopen(path, "wb");
	if (!p->f) {
		int e = errno;
		free(p);
		errno = e;
		return NULL;
	}
	struct {
		uint32_t magic;
		uint16_t major, minor;
		int32_t thiszone;
		uint32_t sigfigs, snaplen, linktype;
	} hdr = {
		PCAP_MAGIC_USEC, PCAP_VERSION_MAJOR, PCAP_VERSION_MINOR,
		0, 0, PCAP_SNAPLEN, PCAP_LINKTYPE_RAW,
	};
	_Static_assert(sizeof(hdr) == 24, "pcap global header is 24 bytes");
	if (put(p, &hdr, sizeof(hdr)) < 0) {
		int e = errno;
		fclose(p->f);
		free(p);
		errno = e;
		return NULL;
	}
	return p;
}

int tide_pcap_write(tide_pcap *p, tide_time when, const uint8_t *pkt, size_t len)
{
	if (!p || (!pkt && len)) {
		errno = EINVAL;
		return -1;
	}
	size_t incl = len > PCAP_SNAPLEN ? PCAP_SNAPLEN : len;
	/* ts_sec is 32 bits in this format: it wraps in 2106 of virtual time,
	 * far beyond any simulation. */
	uint32_t rec[4] = {
		(uint32_t)(when / 1000000u),
		(uint32_t)(when % 1000000u),
		(uint32_t)incl,
		len > UINT32_MAX ? UINT32_MAX : (uint32_t)len,
	};
	if (put(p, rec, sizeof(rec)) < 0 || put(p, pkt, incl) < 0)
		return -1;
	return 0;
}

int tide_pcap_close(tide_pcap *p)
{
	if (!p) {
		errno = EINVAL;
		return -1;
	}
	int err = p->err;
	errno = 0;
	if (fflush(p->f) != 0 && !err)
		err = errno ? errno : EIO;
	errno = 0;
	if (fclose(p->f) != 0 && !err)
		err = errno ? errno : EIO;
	free(p);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}
