/*
 * lwip_server: the lwIP reference for bench/wrk.sh.
 *
 * A minimal HTTP/1.1 server on Debian's liblwip (lwIP 2.1.3 as packaged,
 * NO_SYS=0: a tcpip thread with core locking) and the package's tapif netif
 * (TAP device named by --tap, passed to tapif as PRECONFIGURED_TAPIF). It
 * runs the raw API tcp_* callbacks inside the tcpip thread.
 *
 * It answers every GET with the bytes tide-httpd answers for the same file
 * (same header lines: Date fixed at start, Server, Content-Type,
 * Content-Length, Keep-Alive/Connection), keeping the connection open
 * unless the request says "Connection: close", in which case it closes
 * after the response (the server sends the first FIN, as tide-httpd does).
 *
 * usage: lwip_server --tap NAME --addr A.B.C.D/N --file PATH [--port N]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lwip/tcpip.h"
#include "lwip/tcp.h"
#include "lwip/netif.h"
#include "netif/tapif.h"

#define REQ_CAP 8192

static char *resp_ka, *resp_close;
static size_t resp_ka_len, resp_close_len;
static ip4_addr_t g_ip, g_mask, g_gw;
static unsigned g_port = 80;
static struct netif g_netif;

struct conn {
	size_t len;
	char buf[REQ_CAP];
};

static char *build(const char *body, size_t blen, const char *conn_hdr, size_t *olen)
{
	char date[64], head[512];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 200 OK\r\nDate: %s\r\nServer: tide-httpd\r\n"
			 "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n%s\r\n",
			 date, blen, conn_hdr);
	char *r = malloc((size_t)n + blen);
	if (!r)
		abort();
	memcpy(r, head, (size_t)n);
	memcpy(r + n, body, blen);
	*olen = (size_t)n + blen;
	return r;
}

static void conn_free(struct tcp_pcb *pcb, struct conn *c)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_err(pcb, NULL);
	free(c);
}

static void on_err(void *arg, err_t err)
{
	(void)err;
	free(arg); /* the pcb is already gone */
}

/* Does the head (NUL-terminated) carry "Connection: close"? */
static int wants_close(const char *head)
{
	for (const char *p = head; (p = strchr(p, '\n')) != NULL;) {
		p++;
		if (strncasecmp(p, "connection:", 11) == 0) {
			const char *v = p + 11;
			while (*v == ' ' || *v == '\t')
				v++;
			return strncasecmp(v, "close", 5) == 0;
		}
	}
	return 0;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;
	if (!p) { /* the peer's FIN */
		if (c)
			conn_free(pcb, c);
		if (tcp_close(pcb) != ERR_OK) {
			tcp_abort(pcb);
			return ERR_ABRT;
		}
		return ERR_OK;
	}
	if (err != ERR_OK || !c) {
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	}
	size_t take = p->tot_len;
	if (take > REQ_CAP - 1 - c->len) {
		/* a head larger than we keep: drop the connection */
		pbuf_free(p);
		conn_free(pcb, c);
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	pbuf_copy_partial(p, c->buf + c->len, (u16_t)take, 0);
	c->len += take;
	c->buf[c->len] = '\0';
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);

	int close_now = 0;
	char *end;
	while (!close_now && (end = strstr(c->buf, "\r\n\r\n")) != NULL) {
		size_t hl = (size_t)(end - c->buf) + 4;
		end[2] = '\0';
		close_now = wants_close(c->buf);
		/* the response lives in static memory: no copy */
		if (close_now)
			tcp_write(pcb, resp_close, (u16_t)resp_close_len, 0);
		else
			tcp_write(pcb, resp_ka, (u16_t)resp_ka_len, 0);
		memmove(c->buf, c->buf + hl, c->len - hl + 1);
		c->len -= hl;
	}
	tcp_output(pcb);
	if (close_now) {
		conn_free(pcb, c);
		if (tcp_close(pcb) != ERR_OK) {
			tcp_abort(pcb);
			return ERR_ABRT;
		}
	}
	return ERR_OK;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	struct conn *c = malloc(sizeof(*c));
	if (!c) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	c->len = 0;
	tcp_arg(pcb, c);
	tcp_recv(pcb, on_recv);
	tcp_err(pcb, on_err);
	tcp_nagle_disable(pcb);
	return ERR_OK;
}

static void setup(void *arg)
{
	(void)arg;
	if (!netif_add(&g_netif, &g_ip, &g_mask, &g_gw, NULL, tapif_init, tcpip_input)) {
		fprintf(stderr, "lwip_server: netif_add (tapif) failed\n");
		exit(1);
	}
	netif_set_default(&g_netif);
	netif_set_up(&g_netif);
	netif_set_link_up(&g_netif);
	struct tcp_pcb *l = tcp_new();
	if (!l || tcp_bind(l, IP_ADDR_ANY, (u16_t)g_port) != ERR_OK) {
		fprintf(stderr, "lwip_server: bind failed\n");
		exit(1);
	}
	l = tcp_listen_with_backlog(l, 255);
	if (!l) {
		fprintf(stderr, "lwip_server: listen failed\n");
		exit(1);
	}
	tcp_accept(l, on_accept);
	fprintf(stderr, "lwip_server: listening on %s:%u\n", ip4addr_ntoa(&g_ip), g_port);
}

static void usage(void)
{
	fprintf(stderr, "usage: lwip_server --tap NAME --addr A.B.C.D/N --file PATH [--port N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *tap = NULL, *addr = NULL, *file = NULL;
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--tap"))
			tap = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--addr"))
			addr = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--file"))
			file = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--port"))
			g_port = (unsigned)atoi(argv[++i]);
		else
			usage();
	}
	if (!tap || !addr || !file)
		usage();

	char a[32];
	snprintf(a, sizeof(a), "%s", addr);
	int plen = 24;
	char *sl = strchr(a, '/');
	if (sl) {
		*sl = '\0';
		plen = atoi(sl + 1);
	}
	struct in_addr in;
	if (inet_pton(AF_INET, a, &in) != 1 || plen < 1 || plen > 32)
		usage();
	g_ip.addr = in.s_addr;
	g_mask.addr = htonl(plen == 32 ? 0xffffffffu : ~(0xffffffffu >> plen));
	g_gw.addr = 0;

	FILE *f = fopen(file, "rb");
	if (!f) {
		perror(file);
		return 1;
	}
	static char body[65536];
	size_t blen = fread(body, 1, sizeof(body), f);
	fclose(f);
	resp_ka = build(body, blen, "Keep-Alive: timeout=15, max=99\r\nConnection: keep-alive\r\n",
			&resp_ka_len);
	resp_close = build(body, blen, "Connection: close\r\n", &resp_close_len);
	if (resp_ka_len > 65535)
		usage();

	setenv("PRECONFIGURED_TAPIF", tap, 1);
	signal(SIGPIPE, SIG_IGN);
	tcpip_init(setup, NULL);
	for (;;)
		pause();
}
