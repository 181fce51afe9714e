/*
 * HTTP/1.x for tide's programs: the request parser, path rules and
 * response heads of tide-httpd, and the URL, response and chunked-body
 * parsers of tide-get. No I/O here, so the unit tests (tests/net) can
 * check every rule on strings.
 */
#ifndef TIDE_TOOLS_HTTP_H
#define TIDE_TOOLS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Apache's LimitRequestLine (8190) for the request line, and a bound on
 * the whole head; beyond them the server answers 414 and 400. */
#define TIDE_HTTP_MAX_LINE 8190
#define TIDE_HTTP_MAX_HEAD 16384

/* ---- server side ---- */

struct tide_http_request {
	char method[32];
	char target[TIDE_HTTP_MAX_LINE + 1]; /* as sent: "/a%20b?x=1" */
	int minor;                           /* HTTP/1.minor */
	bool keep_alive;                     /* the client allows a persistent connection */
	uint64_t content_length;             /* request body to skip */
	size_t head_len;                     /* bytes of the head, blank line included */
};

/*
 * Parses one request head at the start of buf. Returns its length (> 0)
 * when complete and valid, 0 when more bytes are needed, or minus an HTTP
 * status: -400 (malformed, or a head longer than TIDE_HTTP_MAX_HEAD),
 * -414 (request line longer than TIDE_HTTP_MAX_LINE), -505 (not HTTP/1.x),
 * -501 (a request body in a transfer coding). Empty lines before a request
 * are skipped (RFC 9112 section 2.2) and counted in the length.
 * keep_alive follows RFC 9112 section 9.3: HTTP/1.1 unless "Connection:
 * close"; HTTP/1.0 only with "Connection: keep-alive".
 */
long tide_http_parse_request(const char *buf, size_t len, struct tide_http_request *req);

/*
 * Turns a request target into a clean path under the document root:
 * origin-form ("/a/b") or absolute-form ("http://host/a/b"); the query
 * and fragment dropped; %XX decoded; "." and ".." segments resolved and
 * repeated slashes collapsed; a trailing slash kept. Returns 0, -400 (not
 * a path, a bad or NUL escape, ".." above the root) or -414 (too long for
 * out).
 */
int tide_http_clean_path(const char *target, char *out, size_t outlen);

/* A clean path made fit for a Location field: bytes other than RFC 3986's
 * unreserved characters, '/' and a few safe sub-delimiters %-encoded.
 * Returns 0, or -1 if out is too small. */
int tide_http_encode_path(const char *path, char *out, size_t outlen);

/* "text/html; charset=utf-8" ... by extension; application/octet-stream
 * for anything else. */
const char *tide_http_content_type(const char *path);
const char *tide_http_reason(int status);

struct tide_http_head {
	int status;
	const char *content_type;  /* NULL: none */
	uint64_t content_length;
	bool keep_alive;           /* Connection: keep-alive / close */
	int keepalive_timeout;     /* for Keep-Alive: timeout=T, max=M */
	int keepalive_max;         /* requests left on the connection; < 0: none */
	const char *location;      /* 301 */
	const char *allow;         /* 405 */
	time_t date;
};

/* Writes the status line and header fields, blank line included. Returns
 * the length, or 0 if cap is too small. */
size_t tide_http_format_head(char *out, size_t cap, const struct tide_http_head *h);
/* A short HTML body for an error status. Returns its length (0 if cap is
 * too small). */
size_t tide_http_error_body(char *out, size_t cap, int status);

/* ---- client side ---- */

struct tide_http_url {
	uint32_t addr;      /* host byte order */
	uint16_t port;
	char host[32];      /* for the Host field: "198.18.0.1" or "198.18.0.1:8000" */
	char path[4096];    /* "/" if the URL has none; query kept */
};

/* http://A.B.C.D[:port][/path]. A host name is refused (tide has no
 * resolver), and so are https, user info and IPv6. Returns 0, or -1 with a
 * message in err. */
int tide_http_parse_url(const char *url, struct tide_http_url *u, char *err, size_t errlen);

struct tide_http_response {
	int minor;
	int status;
	char reason[128];
	int64_t content_length;  /* -1: none */
	bool chunked;
	bool close;              /* the server will close after this response */
	size_t head_len;
};

/* Parses a response head. Returns its length, 0 if incomplete, -1 if
 * malformed or longer than TIDE_HTTP_MAX_HEAD. close is true for
 * "Connection: close", and for HTTP/1.0 without "Connection: keep-alive". */
long tide_http_parse_response(const char *buf, size_t len, struct tide_http_response *r);

/* Incremental decoder of a chunked body (RFC 9112 section 7.1). */
struct tide_http_chunked {
	int state;
	uint64_t left;     /* bytes left in the current chunk */
	int digits;
	bool done;         /* the last chunk and the trailers were read */
};

/*
 * Consumes a prefix of in. Body bytes come back one run at a time in
 * data and datalen (pointing into in); used says how many bytes of in were
 * consumed, run included. Call again with the rest until *used is 0 or
 * done is set; bytes after the end belong to the next response. Returns 0,
 * or -1 on a malformed body.
 */
int tide_http_chunked_feed(struct tide_http_chunked *d, const char *in, size_t len, size_t *used,
			   const char **data, size_t *datalen);

#endif
