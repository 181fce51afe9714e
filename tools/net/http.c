/*
 * HTTP/1.x rules shared by tide-httpd and tide-get (see http.h). The
 * grammar is RFC 9112's, read strictly where being lenient could let a
 * request mean two things (obsolete line folding, a space before the
 * colon, conflicting lengths) and leniently where it cannot (bare LF line
 * ends, empty lines before a request).
 */
#include "http.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- lines and fields ---- */

/* One line of buf[off..len): sets *end to the index of its LF and returns
 * its length without the line end (CR LF or LF), or -1 if no LF yet. */
static long line_at(const char *buf, size_t len, size_t off, size_t *end)
{
	const char *lf = memchr(buf + off, '\n', len - off);
	if (!lf)
		return -1;
	size_t e = (size_t)(lf - buf);
	*end = e;
	size_t l = e - off;
	if (l > 0 && buf[e - 1] == '\r')
		l--;
	return (long)l;
}

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Walks the comma-separated tokens of a Connection value. */
static void connection_tokens(const char *v, size_t vlen, bool *close, bool *keep_alive)
{
	size_t i = 0;
	while (i < vlen) {
		while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < vlen && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		size_t n = i - s;
		if (n == 5 && !strncasecmp(v + s, "close", 5))
			*close = true;
		else if (n == 10 && !strncasecmp(v + s, "keep-alive", 10))
			*keep_alive = true;
	}
}

/* A Content-Length value: digits only (a list of equal values, which RFC
 * 9112 section 6.3 lets a recipient accept, is refused for simplicity). */
static int parse_length(const char *v, size_t vlen, uint64_t *out)
{
	if (vlen == 0 || vlen > 18)
		return -1;
	uint64_t n = 0;
	for (size_t i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	*out = n;
	return 0;
}

struct fields {
	bool close, keep_alive, chunked, other_coding, has_te, has_host;
	bool has_length;
	uint64_t length;
};

/* Parses the field lines from off up to the blank line. Returns the
 * offset after the blank line, 0 if incomplete, -1 if malformed. */
static long parse_fields(const char *buf, size_t len, size_t off, struct fields *f)
{
	for (;;) {
		size_t end;
		long l = line_at(buf, len, off, &end);
		if (l < 0)
			return 0;
		if (l == 0)
			return (long)(end + 1);
		const char *line = buf + off;
		/* obsolete line folding: refused (RFC 9112 section 5.2) */
		if (line[0] == ' ' || line[0] == '\t')
			return -1;
		const char *colon = memchr(line, ':', (size_t)l);
		if (!colon || colon == line)
			return -1;
		size_t nlen = (size_t)(colon - line);
		for (size_t i = 0; i < nlen; i++)
			if (!is_tchar((unsigned char)line[i]))
				return -1; /* includes a space before the colon */
		const char *v = colon + 1;
		size_t vlen = (size_t)(line + l - v);
		while (vlen && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		for (size_t i = 0; i < vlen; i++)
			if (v[i] == '\0' || v[i] == '\r' || v[i] == '\n')
				return -1;
		if (nlen == 10 && !strncasecmp(line, "connection", 10)) {
			connection_tokens(v, vlen, &f->close, &f->keep_alive);
		} else if (nlen == 14 && !strncasecmp(line, "content-length", 14)) {
			uint64_t n;
			if (parse_length(v, vlen, &n) != 0 || (f->has_length && n != f->length))
				return -1;
			f->has_length = true;
			f->length = n;
		} else if (nlen == 17 && !strncasecmp(line, "transfer-encoding", 17)) {
			f->has_te = true;
			/* chunked must be the last coding; anything else means
			 * a body read until the connection closes */
			size_t s = vlen;
			while (s && v[s - 1] != ',')
				s--;
			const char *last = v + s;
			size_t llen = vlen - s;
			while (llen && (*last == ' ' || *last == '\t')) {
				last++;
				llen--;
			}
			if (llen == 7 && !strncasecmp(last, "chunked", 7)) {
				f->chunked = true;
				f->other_coding = false;
			} else {
				f->chunked = false;
				f->other_coding = true;
			}
		} else if (nlen == 4 && !strncasecmp(line, "host", 4)) {
			f->has_host = true;
		}
		off = end + 1;
	}
}

/* ---- requests ---- */

long tide_http_parse_request(const char *buf, size_t len, struct tide_http_request *req)
{
	memset(req, 0, sizeof(*req));
	size_t start = 0;
	/* RFC 9112 section 2.2: ignore at least one empty line before a
	 * request (clients that send CRLF after a POST body) */
	while (start < len && (buf[start] == '\r' || buf[start] == '\n'))
		start++;
	size_t end;
	long l = line_at(buf, len, start, &end);
	if (l < 0)
		return len - start > TIDE_HTTP_MAX_LINE ? -414 : 0;
	if (l > TIDE_HTTP_MAX_LINE)
		return -414;
	const char *line = buf + start;
	const char *sp1 = memchr(line, ' ', (size_t)l);
	if (!sp1 || sp1 == line)
		return -400;
	const char *tgt = sp1 + 1;
	const char *sp2 = memchr(tgt, ' ', (size_t)(line + l - tgt));
	if (!sp2 || sp2 == tgt)
		return -400;
	size_t mlen = (size_t)(sp1 - line), tlen = (size_t)(sp2 - tgt);
	const char *ver = sp2 + 1;
	size_t vlen = (size_t)(line + l - ver);
	if (mlen >= sizeof(req->method))
		return -400;
	for (size_t i = 0; i < mlen; i++)
		if (!is_tchar((unsigned char)line[i]))
			return -400;
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)tgt[i] <= ' ' || tgt[i] == 0x7f)
			return -400;
	if (vlen != 8 || memcmp(ver, "HTTP/", 5) || !isdigit((unsigned char)ver[5]) || ver[6] != '.' ||
	    !isdigit((unsigned char)ver[7]))
		return -400;
	if (ver[5] != '1')
		return -505;
	memcpy(req->method, line, mlen);
	req->method[mlen] = '\0';
	memcpy(req->target, tgt, tlen);
	req->target[tlen] = '\0';
	req->minor = ver[7] - '0';

	struct fields f = { 0 };
	long hend = parse_fields(buf, len, end + 1, &f);
	if (hend == 0)
		return len >= TIDE_HTTP_MAX_HEAD ? -400 : 0;
	if (hend < 0 || (size_t)hend - start > TIDE_HTTP_MAX_HEAD)
		return -400;
	/* RFC 9112 section 3.2: an HTTP/1.1 request without Host is refused */
	if (req->minor >= 1 && !f.has_host)
		return -400;
	/* request bodies are only skipped, and only with a length */
	if (f.has_te)
		return -501;
	req->content_length = f.has_length ? f.length : 0;
	req->keep_alive = req->minor >= 1 ? !f.close : (f.keep_alive && !f.close);
	req->head_len = (size_t)hend;
	return hend;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int tide_http_clean_path(const char *target, char *out, size_t outlen)
{
	const char *p = target;
	if (!strncasecmp(p, "http://", 7)) {
		p += 7;
		while (*p && *p != '/' && *p != '?' && *p != '#')
			p++;
		if (*p != '/')
			p = "/"; /* "http://host" and "http://host?q" mean the root */
	}
	if (*p != '/')
		return -400;
	size_t plen = strcspn(p, "?#");
	if (plen > TIDE_HTTP_MAX_LINE)
		return -414;
	/* decode first, so that %2e%2e is a ".." like any other */
	char dec[TIDE_HTTP_MAX_LINE + 1];
	size_t dlen = 0;
	for (size_t i = 0; i < plen; i++) {
		char c = p[i];
		if (c == '%') {
			int hi = i + 1 < plen ? hexval((unsigned char)p[i + 1]) : -1;
			int lo = i + 2 < plen ? hexval((unsigned char)p[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return -400;
			c = (char)(hi * 16 + lo);
			if (c == '\0')
				return -400;
			i += 2;
		}
		dec[dlen++] = c;
	}
	dec[dlen] = '\0';

	/* remove dot segments (RFC 3986 section 5.2.4), refusing to climb
	 * above the root instead of clamping there */
	size_t o = 0;
	size_t i = 0;
	bool trailing = false;
	if (outlen < 2)
		return -414;
	while (i < dlen) {
		while (i < dlen && dec[i] == '/')
			i++;
		size_t s = i;
		while (i < dlen && dec[i] != '/')
			i++;
		size_t n = i - s;
		trailing = i < dlen || n == 0;
		if (n == 0)
			break;
		if (n == 1 && dec[s] == '.') {
			trailing = true;
			continue;
		}
		if (n == 2 && dec[s] == '.' && dec[s + 1] == '.') {
			if (o == 0)
				return -400;
			while (o > 0 && out[o - 1] != '/')
				o--;
			o--; /* the slash before the segment */
			trailing = true;
			continue;
		}
		if (o + 1 + n + 1 > outlen)
			return -414;
		out[o++] = '/';
		memcpy(out + o, dec + s, n);
		o += n;
	}
	if (o == 0 || trailing) {
		if (o + 2 > outlen)
			return -414;
		out[o++] = '/';
	}
	out[o] = '\0';
	return 0;
}

int tide_http_encode_path(const char *path, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		bool plain = isalnum(*p) || strchr("/-._~!$&'()*+,;=:@", *p);
		size_t need = plain ? 1 : 3;
		if (o + need + 1 > outlen)
			return -1;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (o + 1 > outlen)
		return -1;
	out[o] = '\0';
	return 0;
}

const char *tide_http_content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "htm", "text/html; charset=utf-8" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "css", "text/css" },
		{ "js", "text/javascript" },
		{ "mjs", "text/javascript" },
		{ "json", "application/json" },
		{ "xml", "application/xml" },
		{ "csv", "text/csv" },
		{ "md", "text/markdown; charset=utf-8" },
		{ "svg", "image/svg+xml" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "webp", "image/webp" },
		{ "ico", "image/vnd.microsoft.icon" },
		{ "pdf", "application/pdf" },
		{ "wasm", "application/wasm" },
		{ "gz", "application/gzip" },
		{ "tar", "application/x-tar" },
		{ "zip", "application/zip" },
		{ "pcap", "application/vnd.tcpdump.pcap" },
	};
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dot = strrchr(base, '.');
	if (dot && dot != base)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcasecmp(dot + 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

const char *tide_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 301: return "Moved Permanently";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* snprintf that reports overflow through *ok */
static size_t put(char *out, size_t cap, size_t at, bool *ok, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static size_t put(char *out, size_t cap, size_t at, bool *ok, const char *fmt, ...)
{
	if (!*ok)
		return at;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out + at, cap > at ? cap - at : 0, fmt, ap);
	va_end(ap);
	if (n < 0 || at + (size_t)n >= cap) {
		*ok = false;
		return at;
	}
	return at + (size_t)n;
}

size_t tide_http_format_head(char *out, size_t cap, const struct tide_http_head *h)
{
	bool ok = cap > 0;
	size_t n = 0;
	char date[64];
	struct tm tm;
	gmtime_r(&h->date, &tm);
	/* IMF-fixdate; the names are fixed English, whatever the locale */
	static const char *wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *mo[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday % 7],
		 tm.tm_mday, mo[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	n = put(out, cap, n, &ok, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: tide-httpd\r\n", h->status,
		tide_http_reason(h->status), date);
	if (h->content_type)
		n = put(out, cap, n, &ok, "Content-Type: %s\r\n", h->content_type);
	n = put(out, cap, n, &ok, "Content-Length: %llu\r\n", (unsigned long long)h->content_length);
	if (h->location)
		n = put(out, cap, n, &ok, "Location: %s\r\n", h->location);
	if (h->allow)
		n = put(out, cap, n, &ok, "Allow: %s\r\n", h->allow);
	if (h->keep_alive) {
		if (h->keepalive_max >= 0)
			n = put(out, cap, n, &ok, "Keep-Alive: timeout=%d, max=%d\r\n", h->keepalive_timeout,
				h->keepalive_max);
		else
			n = put(out, cap, n, &ok, "Keep-Alive: timeout=%d\r\n", h->keepalive_timeout);
		n = put(out, cap, n, &ok, "Connection: keep-alive\r\n\r\n");
	} else {
		n = put(out, cap, n, &ok, "Connection: close\r\n\r\n");
	}
	return ok ? n : 0;
}

size_t tide_http_error_body(char *out, size_t cap, int status)
{
	const char *r = tide_http_reason(status);
	int n = snprintf(out, cap,
			 "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>"
			 "<body><h1>%d %s</h1></body></html>\n",
			 status, r, status, r);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* ---- client side ---- */

int tide_http_parse_url(const char *url, struct tide_http_url *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof(*u));
	if (!strncasecmp(url, "https://", 8)) {
		snprintf(err, errlen, "%s: https is not supported (tide-get speaks plain HTTP)", url);
		return -1;
	}
	if (strncasecmp(url, "http://", 7)) {
		snprintf(err, errlen, "%s: not an http:// URL", url);
		return -1;
	}
	const char *a = url + 7;
	size_t alen = strcspn(a, "/?#");
	if (memchr(a, '@', alen)) {
		snprintf(err, errlen, "%s: user names in URLs are not supported", url);
		return -1;
	}
	if (alen && a[0] == '[') {
		snprintf(err, errlen, "%s: IPv6 is not supported (tide is IPv4 only)", url);
		return -1;
	}
	const char *colon = memchr(a, ':', alen);
	size_t hlen = colon ? (size_t)(colon - a) : alen;
	char host[256];
	if (hlen == 0 || hlen >= sizeof(host)) {
		snprintf(err, errlen, "%s: no host", url);
		return -1;
	}
	memcpy(host, a, hlen);
	host[hlen] = '\0';
	struct in_addr in;
	if (inet_pton(AF_INET, host, &in) != 1) {
		bool name = false;
		for (size_t i = 0; i < hlen; i++)
			if (isalpha((unsigned char)host[i]))
				name = true;
		if (name)
			snprintf(err, errlen,
				 "%s: '%s' is a host name; tide-get takes an IPv4 address (A.B.C.D) "
				 "because tide has no resolver",
				 url, host);
		else
			snprintf(err, errlen, "%s: '%s' is not an IPv4 address (A.B.C.D)", url, host);
		return -1;
	}
	u->addr = ntohl(in.s_addr);
	u->port = 80;
	if (colon) {
		const char *p = colon + 1;
		size_t plen = (size_t)(a + alen - p);
		unsigned long port = 0;
		if (plen > 5) {
			snprintf(err, errlen, "%s: bad port", url);
			return -1;
		}
		for (size_t i = 0; i < plen; i++) {
			if (!isdigit((unsigned char)p[i])) {
				snprintf(err, errlen, "%s: bad port", url);
				return -1;
			}
			port = port * 10 + (unsigned long)(p[i] - '0');
		}
		if (plen && (port == 0 || port > 65535)) {
			snprintf(err, errlen, "%s: port out of range (1-65535)", url);
			return -1;
		}
		if (plen)
			u->port = (uint16_t)port;
	}
	char canon[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &in, canon, sizeof(canon));
	if (u->port == 80)
		snprintf(u->host, sizeof(u->host), "%s", canon);
	else
		snprintf(u->host, sizeof(u->host), "%s:%u", canon, u->port);
	const char *path = a + alen;
	size_t plen = strcspn(path, "#");
	for (size_t i = 0; i < plen; i++) {
		if ((unsigned char)path[i] <= ' ' || path[i] == 0x7f) {
			snprintf(err, errlen, "%s: spaces and control characters must be %%-encoded", url);
			return -1;
		}
	}
	size_t need = plen + (plen == 0 || path[0] != '/') + 1;
	if (need > sizeof(u->path)) {
		snprintf(err, errlen, "%s: path too long", url);
		return -1;
	}
	size_t o = 0;
	if (plen == 0 || path[0] != '/')
		u->path[o++] = '/';
	memcpy(u->path + o, path, plen);
	u->path[o + plen] = '\0';
	return 0;
}

long tide_http_parse_response(const char *buf, size_t len, struct tide_http_response *r)
{
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	size_t end;
	long l = line_at(buf, len, 0, &end);
	if (l < 0)
		return len > TIDE_HTTP_MAX_LINE ? -1 : 0;
	/* HTTP/1.x SSS[ reason] */
	if (l < 12 || memcmp(buf, "HTTP/1.", 7) || !isdigit((unsigned char)buf[7]) || buf[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++)
		if (!isdigit((unsigned char)buf[i]))
			return -1;
	if (l > 12 && buf[12] != ' ')
		return -1;
	r->minor = buf[7] - '0';
	r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if (r->status < 100)
		return -1;
	if (l > 13) {
		size_t rl = (size_t)l - 13;
		if (rl >= sizeof(r->reason))
			rl = sizeof(r->reason) - 1;
		memcpy(r->reason, buf + 13, rl);
		r->reason[rl] = '\0';
	}
	struct fields f = { 0 };
	long hend = parse_fields(buf, len, end + 1, &f);
	if (hend == 0)
		return len >= TIDE_HTTP_MAX_HEAD ? -1 : 0;
	if (hend < 0 || hend > TIDE_HTTP_MAX_HEAD)
		return -1;
	r->chunked = f.chunked;
	if (f.has_length && !f.has_te)
		r->content_length = (int64_t)f.length;
	/* a coding other than chunked: the body ends with the connection */
	r->close = f.close || f.other_coding || (r->minor == 0 && !f.keep_alive);
	r->head_len = (size_t)hend;
	return hend;
}

enum {
	CH_SIZE,       /* hex digits of the chunk size */
	CH_EXT,        /* extensions, up to the line end */
	CH_SIZE_LF,    /* CR seen after the size line */
	CH_DATA,
	CH_DATA_CR,    /* the CRLF after the data */
	CH_DATA_LF,
	CH_TRAILER,    /* at the start of a trailer line */
	CH_TRAILER_LINE,
	CH_END_LF,     /* CR of the final blank line seen */
};

int tide_http_chunked_feed(struct tide_http_chunked *d, const char *in, size_t len, size_t *used,
			   const char **data, size_t *datalen)
{
	size_t i = 0;
	*data = NULL;
	*datalen = 0;
	while (i < len && !d->done) {
		unsigned char c = (unsigned char)in[i];
		switch (d->state) {
		case CH_SIZE: {
			int v = hexval(c);
			if (v >= 0) {
				if (++d->digits > 15)
					return -1;
				d->left = d->left * 16 + (uint64_t)v;
				i++;
				break;
			}
			if (d->digits == 0)
				return -1;
			if (c == ';' || c == ' ' || c == '\t') {
				d->state = CH_EXT;
				i++;
			} else if (c == '\r') {
				d->state = CH_SIZE_LF;
				i++;
			} else if (c == '\n') {
				d->state = d->left ? CH_DATA : CH_TRAILER;
				i++;
			} else {
				return -1;
			}
			break;
		}
		case CH_EXT:
			if (c == '\n')
				d->state = d->left ? CH_DATA : CH_TRAILER;
			else if (c == '\r')
				d->state = CH_SIZE_LF;
			i++;
			break;
		case CH_SIZE_LF:
			if (c != '\n')
				return -1;
			d->state = d->left ? CH_DATA : CH_TRAILER;
			i++;
			break;
		case CH_DATA: {
			size_t n = len - i;
			if (n > d->left)
				n = (size_t)d->left;
			*data = in + i;
			*datalen = n;
			d->left -= n;
			if (d->left == 0)
				d->state = CH_DATA_CR;
			*used = i + n;
			return 0;
		}
		case CH_DATA_CR:
			if (c == '\r')
				d->state = CH_DATA_LF;
			else if (c == '\n')
				d->state = CH_SIZE, d->digits = 0;
			else
				return -1;
			i++;
			break;
		case CH_DATA_LF:
			if (c != '\n')
				return -1;
			d->state = CH_SIZE;
			d->digits = 0;
			i++;
			break;
		case CH_TRAILER:
			if (c == '\r')
				d->state = CH_END_LF;
			else if (c == '\n')
				d->done = true;
			else
				d->state = CH_TRAILER_LINE;
			i++;
			break;
		case CH_TRAILER_LINE:
			if (c == '\n')
				d->state = CH_TRAILER;
			i++;
			break;
		case CH_END_LF:
			if (c != '\n')
				return -1;
			d->done = true;
			i++;
			break;
		default:
			return -1;
		}
	}
	*used = i;
	return 0;
}
