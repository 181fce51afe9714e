/*
 * The HTTP rules of tide-httpd and tide-get (tools/net/http.c): request
 * heads and their limits, keep-alive by version and Connection, paths that
 * must not leave the document root, response heads, URLs that tide-get
 * takes or refuses, response heads and chunked bodies in any slicing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static struct tide_http_request req;

static long parse(const char *s)
{
	return tide_http_parse_request(s, strlen(s), &req);
}

static void test_request_basic(void **state)
{
	(void)state;
	const char *s = "GET /index.html HTTP/1.1\r\nHost: 198.18.0.2\r\nUser-Agent: x\r\n\r\n";
	assert_int_equal(parse(s), (long)strlen(s));
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.target, "/index.html");
	assert_int_equal(req.minor, 1);
	assert_true(req.keep_alive);
	assert_int_equal(req.content_length, 0);
	assert_int_equal(req.head_len, strlen(s));
}

static void test_request_incomplete_then_complete(void **state)
{
	(void)state;
	const char *s = "HEAD / HTTP/1.0\r\n\r\n";
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(tide_http_parse_request(s, i, &req), 0);
	assert_int_equal(tide_http_parse_request(s, n, &req), (long)n);
	assert_string_equal(req.method, "HEAD");
	assert_false(req.keep_alive);
}

static void test_request_pipelined_and_bare_lf(void **state)
{
	(void)state;
	const char *s = "GET /a HTTP/1.1\nHost: h\n\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
	long r = parse(s);
	assert_int_equal(r, (long)strlen("GET /a HTTP/1.1\nHost: h\n\n"));
	assert_string_equal(req.target, "/a");
	assert_int_equal(tide_http_parse_request(s + r, strlen(s + r), &req), (long)strlen(s + r));
	assert_string_equal(req.target, "/b");
	/* empty lines before a request are skipped and counted */
	const char *t = "\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n";
	assert_int_equal(parse(t), (long)strlen(t));
	assert_string_equal(req.target, "/c");
}

static void test_request_keep_alive_rules(void **state)
{
	(void)state;
	assert_true(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n") > 0);
	assert_true(req.keep_alive);
	assert_true(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n") > 0);
	assert_false(req.keep_alive);
	assert_true(parse("GET / HTTP/1.1\r\nHost: h\r\nconnection: Keep-Alive, CLOSE\r\n\r\n") > 0);
	assert_false(req.keep_alive);
	assert_true(parse("GET / HTTP/1.0\r\n\r\n") > 0);
	assert_false(req.keep_alive);
	assert_true(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") > 0);
	assert_true(req.keep_alive);
	assert_true(parse("GET / HTTP/1.0\r\nConnection: te, Keep-Alive\r\n\r\n") > 0);
	assert_true(req.keep_alive);
	/* "closed" is not "close" */
	assert_true(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n") > 0);
	assert_true(req.keep_alive);
}

static void test_request_errors(void **state)
{
	(void)state;
	assert_int_equal(parse("GET /\r\n\r\n"), -400);                      /* HTTP/0.9 */
	assert_int_equal(parse("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), -400);  /* double space */
	assert_int_equal(parse("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), -400);
	assert_int_equal(parse("GET / XTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	assert_int_equal(parse("GE(T / HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	assert_int_equal(parse("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), -505);
	assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n"), -400);              /* no Host */
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), -400);  /* space before colon */
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n"), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n"), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
			       "Content-Length: 2\r\n\r\n"), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
			 -501);
	/* equal repeated lengths are one length */
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
			       "Content-Length: 3\r\n\r\n") > 0, 1);
	assert_int_equal(req.content_length, 3);
	/* control characters in the target */
	char bad[] = "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n";
	assert_int_equal(parse(bad), -400);
}

static void test_request_limits(void **state)
{
	(void)state;
	size_t n = TIDE_HTTP_MAX_LINE + 100;
	char *s = malloc(n + 64);
	assert_non_null(s);
	/* a request line that does not end within the limit: 414 at once */
	memcpy(s, "GET /", 5);
	memset(s + 5, 'a', n - 5);
	assert_int_equal(tide_http_parse_request(s, n, &req), -414);
	/* the longest line accepted */
	size_t tlen = TIDE_HTTP_MAX_LINE - strlen("GET  HTTP/1.1");
	memset(s + 4, 'a', tlen);
	s[4] = '/';
	strcpy(s + 4 + tlen, " HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_true(parse(s) > 0);
	assert_int_equal(strlen(req.target), tlen);
	/* one more byte: 414 */
	memset(s + 4, 'a', tlen + 1);
	s[4] = '/';
	strcpy(s + 4 + tlen + 1, " HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(parse(s), -414);
	free(s);
	/* a head that never ends: 400 once it is over the limit */
	size_t hn = TIDE_HTTP_MAX_HEAD + 10;
	char *h = malloc(hn + 1);
	assert_non_null(h);
	strcpy(h, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (size_t i = strlen(h); i < hn; i++)
		h[i] = (i % 40 == 39) ? '\n' : 'x';
	for (size_t i = strlen("GET / HTTP/1.1\r\nHost: h\r\n"); i < hn; i += 40)
		memcpy(h + i, "X-A: ", 5);
	h[hn] = '\0';
	assert_int_equal(tide_http_parse_request(h, TIDE_HTTP_MAX_HEAD - 100, &req), 0);
	assert_int_equal(tide_http_parse_request(h, hn, &req), -400);
	free(h);
}

static int clean(const char *target, char *out)
{
	return tide_http_clean_path(target, out, 256);
}

static void test_clean_path(void **state)
{
	(void)state;
	char out[256];
	assert_int_equal(clean("/", out), 0);
	assert_string_equal(out, "/");
	assert_int_equal(clean("/index.html", out), 0);
	assert_string_equal(out, "/index.html");
	assert_int_equal(clean("/a/b/", out), 0);
	assert_string_equal(out, "/a/b/");
	assert_int_equal(clean("//a///b", out), 0);
	assert_string_equal(out, "/a/b");
	assert_int_equal(clean("/a/./b/../c", out), 0);
	assert_string_equal(out, "/a/c");
	assert_int_equal(clean("/a/b/..", out), 0);
	assert_string_equal(out, "/a/");
	assert_int_equal(clean("/a/.", out), 0);
	assert_string_equal(out, "/a/");
	assert_int_equal(clean("/a/..", out), 0);
	assert_string_equal(out, "/");
	assert_int_equal(clean("/a%20b.txt?x=1#f", out), 0);
	assert_string_equal(out, "/a b.txt");
	assert_int_equal(clean("http://198.18.0.2:80/x/y", out), 0);
	assert_string_equal(out, "/x/y");
	assert_int_equal(clean("http://198.18.0.2", out), 0);
	assert_string_equal(out, "/");
	assert_int_equal(clean("/%2E%2e/", out), -400);          /* encoded dots are dots */
	/* escaping the root, plainly or encoded */
	assert_int_equal(clean("/..", out), -400);
	assert_int_equal(clean("/../etc/passwd", out), -400);
	assert_int_equal(clean("/a/../../etc/passwd", out), -400);
	assert_int_equal(clean("/%2e%2e/etc/passwd", out), -400);
	assert_int_equal(clean("/a/..%2f..%2fetc", out), -400);
	/* bad escapes, NUL */
	assert_int_equal(clean("/a%zz", out), -400);
	assert_int_equal(clean("/a%2", out), -400);
	assert_int_equal(clean("/a%00b", out), -400);
	/* not a path */
	assert_int_equal(clean("*", out), -400);
	assert_int_equal(clean("index.html", out), -400);
	/* too long for the buffer */
	char small[8];
	assert_int_equal(tide_http_clean_path("/abcdefghij", small, sizeof(small)), -414);
}

static void test_encode_path(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(tide_http_encode_path("/a b/c%d", out, sizeof(out)), 0);
	assert_string_equal(out, "/a%20b/c%25d");
	assert_int_equal(tide_http_encode_path("/\xc3\xa9t\xc3\xa9", out, sizeof(out)), 0);
	assert_string_equal(out, "/%C3%A9t%C3%A9");
	assert_int_equal(tide_http_encode_path("/abcdef", out, 4), -1);
}

static void test_content_types(void **state)
{
	(void)state;
	assert_string_equal(tide_http_content_type("/index.html"), "text/html; charset=utf-8");
	assert_string_equal(tide_http_content_type("/a/b.HTM"), "text/html; charset=utf-8");
	assert_string_equal(tide_http_content_type("/s.css"), "text/css");
	assert_string_equal(tide_http_content_type("/p.PNG"), "image/png");
	assert_string_equal(tide_http_content_type("/x.tar.gz"), "application/gzip");
	assert_string_equal(tide_http_content_type("/noext"), "application/octet-stream");
	assert_string_equal(tide_http_content_type("/.hidden"), "application/octet-stream");
	assert_string_equal(tide_http_content_type("/d.html/file"), "application/octet-stream");
}

static void test_format_head(void **state)
{
	(void)state;
	char out[512];
	struct tide_http_head h = { .status = 200, .content_type = "text/plain; charset=utf-8",
				    .content_length = 12, .keep_alive = true, .keepalive_timeout = 15,
				    .keepalive_max = 99, .date = 784111777 };
	size_t n = tide_http_format_head(out, sizeof(out), &h);
	assert_int_equal(n, strlen(out));
	assert_string_equal(out, "HTTP/1.1 200 OK\r\n"
				 "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
				 "Server: tide-httpd\r\n"
				 "Content-Type: text/plain; charset=utf-8\r\n"
				 "Content-Length: 12\r\n"
				 "Keep-Alive: timeout=15, max=99\r\n"
				 "Connection: keep-alive\r\n\r\n");
	struct tide_http_head e = { .status = 405, .content_length = 0, .allow = "GET, HEAD",
				    .date = 0 };
	n = tide_http_format_head(out, sizeof(out), &e);
	assert_non_null(strstr(out, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(out, "\r\nAllow: GET, HEAD\r\n"));
	assert_non_null(strstr(out, "\r\nConnection: close\r\n\r\n"));
	assert_null(strstr(out, "Keep-Alive"));
	struct tide_http_head r = { .status = 301, .location = "/dir/", .date = 0 };
	n = tide_http_format_head(out, sizeof(out), &r);
	assert_non_null(strstr(out, "\r\nLocation: /dir/\r\n"));
	/* too small: 0, never a cut head */
	assert_int_equal(tide_http_format_head(out, 40, &h), 0);
	char body[256];
	size_t bl = tide_http_error_body(body, sizeof(body), 404);
	assert_int_equal(bl, strlen(body));
	assert_non_null(strstr(body, "404 Not Found"));
	assert_string_equal(tide_http_reason(414), "URI Too Long");
}

static void test_url(void **state)
{
	(void)state;
	struct tide_http_url u;
	char err[256];
	assert_int_equal(tide_http_parse_url("http://198.18.0.1:8000/five.bin", &u, err, sizeof(err)), 0);
	assert_int_equal(u.addr, 0xc6120001u);
	assert_int_equal(u.port, 8000);
	assert_string_equal(u.host, "198.18.0.1:8000");
	assert_string_equal(u.path, "/five.bin");
	assert_int_equal(tide_http_parse_url("HTTP://198.18.0.1", &u, err, sizeof(err)), 0);
	assert_int_equal(u.port, 80);
	assert_string_equal(u.host, "198.18.0.1");
	assert_string_equal(u.path, "/");
	assert_int_equal(tide_http_parse_url("http://198.18.0.1:/a?b=c#frag", &u, err, sizeof(err)), 0);
	assert_int_equal(u.port, 80);
	assert_string_equal(u.path, "/a?b=c");
	assert_int_equal(tide_http_parse_url("http://198.18.0.1?q", &u, err, sizeof(err)), 0);
	assert_string_equal(u.path, "/?q");

	assert_int_equal(tide_http_parse_url("http://example.com/", &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "host name"));
	assert_int_equal(tide_http_parse_url("http://localhost:80/", &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "host name"));
	assert_int_equal(tide_http_parse_url("https://198.18.0.1/", &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "https"));
	assert_int_equal(tide_http_parse_url("ftp://198.18.0.1/", &u, err, sizeof(err)), -1);
	assert_int_equal(tide_http_parse_url("198.18.0.1/", &u, err, sizeof(err)), -1);
	assert_int_equal(tide_http_parse_url("http://198.18.0/", &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an IPv4 address"));
	assert_int_equal(tide_http_parse_url("http://198.18.0.1:0/", &u, err, sizeof(err)), -1);
	assert_int_equal(tide_http_parse_url("http://198.18.0.1:65536/", &u, err, sizeof(err)), -1);
	assert_int_equal(tide_http_parse_url("http://198.18.0.1:8x/", &u, err, sizeof(err)), -1);
	assert_int_equal(tide_http_parse_url("http://[::1]/", &u, err, sizeof(err)), -1);
	assert_int_equal(tide_http_parse_url("http://u@198.18.0.1/", &u, err, sizeof(err)), -1);
	assert_int_equal(tide_http_parse_url("http:///x", &u, err, sizeof(err)), -1);
	assert_int_equal(tide_http_parse_url("http://198.18.0.1/a b", &u, err, sizeof(err)), -1);
}

static void test_response_head(void **state)
{
	(void)state;
	struct tide_http_response r;
	const char *s = "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6\r\nContent-Length: 5\r\n\r\nhello";
	long n = tide_http_parse_response(s, strlen(s), &r);
	assert_int_equal(n, (long)strlen(s) - 5);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.minor, 0);
	assert_string_equal(r.reason, "OK");
	assert_int_equal(r.content_length, 5);
	assert_true(r.close);    /* HTTP/1.0 without keep-alive */
	assert_false(r.chunked);
	for (size_t i = 0; i < (size_t)n; i++)
		assert_int_equal(tide_http_parse_response(s, i, &r), 0);

	s = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 9\r\n\r\n";
	assert_true(tide_http_parse_response(s, strlen(s), &r) > 0);
	assert_int_equal(r.status, 404);
	assert_true(r.chunked);
	assert_int_equal(r.content_length, -1);   /* Transfer-Encoding wins */
	assert_false(r.close);

	s = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
	assert_true(tide_http_parse_response(s, strlen(s), &r) > 0);
	assert_true(r.close);
	assert_int_equal(r.content_length, -1);
	s = "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n";
	assert_true(tide_http_parse_response(s, strlen(s), &r) > 0);
	assert_false(r.close);
	s = "HTTP/1.1 204\r\n\r\n";   /* no reason phrase */
	assert_true(tide_http_parse_response(s, strlen(s), &r) > 0);
	assert_int_equal(r.status, 204);

	assert_int_equal(tide_http_parse_response("HTTP/1.1 2000 OK\r\n\r\n", 20, &r), -1);
	assert_int_equal(tide_http_parse_response("ICY 200 OK\r\n\r\n", 14, &r), -1);
	s = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
	assert_int_equal(tide_http_parse_response(s, strlen(s), &r), -1);
}

/* Decodes a whole chunked body given in pieces of `step` bytes (carrying
 * over what a call did not consume, as tide-get does). */
static int dechunk(const char *in, size_t len, size_t step, char *out, size_t *outlen, size_t *rest)
{
	struct tide_http_chunked d = { 0 };
	char buf[1024];
	size_t have = 0, pos = 0, o = 0;
	while (!d.done) {
		size_t add = len - pos < step ? len - pos : step;
		memcpy(buf + have, in + pos, add);
		have += add;
		pos += add;
		size_t off = 0;
		for (;;) {
			const char *data;
			size_t dl, used;
			if (tide_http_chunked_feed(&d, buf + off, have - off, &used, &data, &dl) != 0)
				return -1;
			if (dl)
				memcpy(out + o, data, dl);
			o += dl;
			off += used;
			if (used == 0 || d.done || off == have)
				break;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
		if (pos == len && !d.done)
			return -2;
	}
	*outlen = o;
	*rest = have + (len - pos);
	return 0;
}

static void test_chunked(void **state)
{
	(void)state;
	const char *body = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n"
			   "Trailer: x\r\n\r\nHTTP/1.1 200 OK";
	size_t len = strlen(body);
	for (size_t step = 1; step <= len; step++) {
		char out[128];
		size_t ol = 0, rest = 0;
		assert_int_equal(dechunk(body, len, step, out, &ol, &rest), 0);
		out[ol] = '\0';
		assert_string_equal(out, "Wikipedia in\r\n\r\nchunks.");
		/* the next response is left alone */
		assert_int_equal(rest, strlen("HTTP/1.1 200 OK"));
	}
	/* bare LF line ends, upper-case hex, no trailers */
	const char *b2 = "A\nabcdefghij\n0\n\n";
	char out[64];
	size_t ol, rest;
	assert_int_equal(dechunk(b2, strlen(b2), 3, out, &ol, &rest), 0);
	assert_int_equal(ol, 10);
	assert_int_equal(rest, 0);
	/* malformed: no size, a bad character, data not followed by CRLF,
	 * a size that overflows */
	assert_int_equal(dechunk("\r\n", 2, 2, out, &ol, &rest), -1);
	assert_int_equal(dechunk("4x\r\n", 4, 4, out, &ol, &rest), -1);
	assert_int_equal(dechunk("1\r\nab\r\n0\r\n\r\n", 13, 13, out, &ol, &rest), -1);
	assert_int_equal(dechunk("10000000000000000\r\n", 19, 19, out, &ol, &rest), -1);
	/* cut short */
	assert_int_equal(dechunk("4\r\nWi", 5, 5, out, &ol, &rest), -2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_basic),
		cmocka_unit_test(test_request_incomplete_then_complete),
		cmocka_unit_test(test_request_pipelined_and_bare_lf),
		cmocka_unit_test(test_request_keep_alive_rules),
		cmocka_unit_test(test_request_errors),
		cmocka_unit_test(test_request_limits),
		cmocka_unit_test(test_clean_path),
		cmocka_unit_test(test_encode_path),
		cmocka_unit_test(test_content_types),
		cmocka_unit_test(test_format_head),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_response_head),
		cmocka_unit_test(test_chunked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
