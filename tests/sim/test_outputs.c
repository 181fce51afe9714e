/*
 * tide-sim's machine and picture outputs (JSON, SVG, pcap) and the model's
 * bookkeeping, from hand-built models (tests/sim/sample_model.c). The
 * outside tools' view of the same files (xmllint, tshark) is checked by
 * check_outputs.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sample_model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs a FILE writer into memory; returns the NUL-terminated text. */
static char *render(int (*fn)(const struct sim_model *, FILE *), const struct sim_model *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(fn(m, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* --- A strict JSON checker (RFC 8259), enough to say "a parser takes it". */

struct js {
	const char *p;
	int depth;
};

static void ws(struct js *s)
{
	while (*s->p == ' ' || *s->p == '\n' || *s->p == '\t' || *s->p == '\r')
		s->p++;
}

static bool jvalue(struct js *s);

static bool jstring(struct js *s)
{
	if (*s->p != '"')
		return false;
	s->p++;
	for (;;) {
		unsigned char c = (unsigned char)*s->p;
		if (c == '"') {
			s->p++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			s->p++;
			if (*s->p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", s->p[i]) || !s->p[i])
						return false;
				s->p += 5;
			} else if (*s->p && strchr("\"\\/bfnrt", *s->p)) {
				s->p++;
			} else {
				return false;
			}
			continue;
		}
		size_t n = sim_utf8_len((const unsigned char *)s->p);
		if (!n)
			return false;
		s->p += n;
	}
}

static bool jnumber(struct js *s)
{
	const char *start = s->p;
	if (*s->p == '-')
		s->p++;
	if (*s->p == '0')
		s->p++;
	else if (*s->p >= '1' && *s->p <= '9')
		while (*s->p >= '0' && *s->p <= '9')
			s->p++;
	else
		return false;
	if (*s->p == '.') {
		s->p++;
		if (!(*s->p >= '0' && *s->p <= '9'))
			return false;
		while (*s->p >= '0' && *s->p <= '9')
			s->p++;
	}
	return s->p > start;
}

static bool jcontainer(struct js *s, char close, bool object)
{
	s->p++;
	if (++s->depth > 64)
		return false;
	ws(s);
	if (*s->p == close) {
		s->p++;
		s->depth--;
		return true;
	}
	for (;;) {
		ws(s);
		if (object) {
			if (!jstring(s))
				return false;
			ws(s);
			if (*s->p++ != ':')
				return false;
		}
		if (!jvalue(s))
			return false;
		ws(s);
		if (*s->p == ',') {
			s->p++;
			continue;
		}
		if (*s->p++ != close)
			return false;
		s->depth--;
		return true;
	}
}

static bool jvalue(struct js *s)
{
	ws(s);
	switch (*s->p) {
	case '{': return jcontainer(s, '}', true);
	case '[': return jcontainer(s, ']', false);
	case '"': return jstring(s);
	case 't': return strncmp(s->p, "true", 4) == 0 && (s->p += 4);
	case 'f': return strncmp(s->p, "false", 5) == 0 && (s->p += 5);
	case 'n': return strncmp(s->p, "null", 4) == 0 && (s->p += 4);
	default: return jnumber(s);
	}
}

static bool json_valid(const char *text)
{
	struct js s = { text, 0 };
	if (!jvalue(&s))
		return false;
	ws(&s);
	return *s.p == 0;
}

static void test_json_checker_itself(void **state)
{
	(void)state;
	assert_true(json_valid("{\"a\": [1, -2.5, true, null, \"x\\u00e9\\n\"], \"b\": {}}"));
	assert_false(json_valid("{\"a\": 1,}"));
	assert_false(json_valid("{\"a\": \"tab\there\"}"));
	assert_false(json_valid("{\"a\": \"\xff\"}"));
	assert_false(json_valid("[01]"));
	assert_false(json_valid("{} x"));
}

/* --- The model. */

static void test_model_adders(void **state)
{
	(void)state;
	struct sim_model m;
	memset(&m, 0, sizeof m);
	for (int i = 0; i < 100; i++) {
		struct sim_segment *s = sim_model_add_segment(&m, (tide_time)i * 10);
		assert_non_null(s);
		assert_int_equal(s->sent, (tide_time)i * 10);
		assert_true(s->delivered == TIDE_TIME_NEVER);
		assert_int_equal(s->to, -1);
		assert_int_equal(s->dup_count, 0);
		assert_null(s->pkt);
		struct sim_state_change *c = sim_model_add_state(&m, (tide_time)i * 10 + 1);
		assert_non_null(c);
		assert_int_equal(c->new_state, 0);
	}
	assert_non_null(sim_model_add_timer(&m, 2000));
	assert_non_null(sim_model_add_call(&m, 2000));
	assert_non_null(sim_model_add_note(&m, 2000));
	assert_non_null(sim_model_add_expect(&m));
	assert_int_equal(m.nsegs, 100);
	assert_int_equal(m.nstates, 100);
	assert_int_equal(m.nevents, 203);
	assert_int_equal(m.nexpects, 1);
	assert_int_equal(m.events[4].kind, EV_SEGMENT);
	assert_int_equal(m.events[4].index, 2);
	assert_int_equal(m.events[5].kind, EV_STATE);
	assert_int_equal(m.events[5].t, 21);
	assert_int_equal(m.events[202].kind, EV_NOTE);

	uint8_t a[3] = { 1, 2, 3 }, b[5] = { 9, 9, 9, 9, 9 };
	assert_int_equal(sim_segment_set_packet(&m.segs[7], a, sizeof a), 0);
	assert_int_equal(sim_segment_set_packet(&m.segs[7], b, sizeof b), 0);
	assert_int_equal(m.segs[7].pktlen, 5);
	assert_memory_equal(m.segs[7].pkt, b, 5);

	sim_model_free(&m);
	assert_int_equal(m.nevents, 0);
	assert_null(m.segs);
	sim_model_free(&m); /* twice is harmless */
}

static void test_model_sort_is_stable(void **state)
{
	(void)state;
	struct sim_model m;
	memset(&m, 0, sizeof m);
	tide_time times[] = { 30, 10, 30, 20, 10, 30 };
	for (size_t i = 0; i < 6; i++)
		snprintf(sim_model_add_note(&m, times[i])->text, 8, "%zu", i);
	sim_model_sort_events(&m);
	const char *want[] = { "1", "4", "3", "0", "2", "5" };
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(m.notes[m.events[i].index].text, want[i]);
	sim_model_free(&m);
}

static void test_model_helpers(void **state)
{
	(void)state;
	struct sim_model m;
	char buf[32];
	sample_four_way_close(&m);
	assert_int_equal(sim_model_host_by_addr(&m, 0xc6120002), 1);
	assert_int_equal(sim_model_host_by_addr(&m, 0xc6130005), -1);
	assert_string_equal(sim_addr_str(0xc6120001, 40000, buf, sizeof buf), "198.18.0.1:40000");
	assert_int_equal(sim_utf8_len((const unsigned char *)"\xc3\xa9"), 2);
	assert_int_equal(sim_utf8_len((const unsigned char *)"\xe2\x9c\x95"), 3);
	assert_int_equal(sim_utf8_len((const unsigned char *)"\xc0\xaf"), 0);  /* overlong */
	assert_int_equal(sim_utf8_len((const unsigned char *)"\xed\xa0\x80"), 0); /* surrogate */
	assert_int_equal(sim_utf8_len((const unsigned char *)"\xe2\x9c"), 0);  /* cut short */
	sim_model_free(&m);
}

static void expect_span(const struct sim_timeline *t, size_t i, int state, tide_time from,
			tide_time to)
{
	assert_true(i < t->nspans);
	assert_string_equal(tide_state_name(t->spans[i].state), tide_state_name(state));
	assert_int_equal(t->spans[i].from, from);
	assert_int_equal(t->spans[i].to, to);
}

static void test_timelines(void **state)
{
	(void)state;
	struct sim_model m;
	struct sim_timeline *t;
	size_t n;
	sample_four_way_close(&m);
	assert_int_equal(sim_model_timelines(&m, &t, &n), 0);
	assert_int_equal(n, 3);
	/* The listener: still listening when the run stopped. */
	assert_int_equal(t[0].host, 1);
	assert_int_equal(t[0].id.rport, 0);
	assert_true(t[0].open);
	assert_int_equal(t[0].nspans, 1);
	expect_span(&t[0], 0, TIDE_TCP_LISTEN, 0, 60401000);
	/* The client, through TIME_WAIT to CLOSED. */
	assert_int_equal(t[1].host, 0);
	assert_false(t[1].open);
	assert_int_equal(t[1].nspans, 5);
	expect_span(&t[1], 0, TIDE_TCP_SYN_SENT, 0, 2000);
	expect_span(&t[1], 1, TIDE_TCP_ESTABLISHED, 2000, 100000);
	expect_span(&t[1], 2, TIDE_TCP_FIN_WAIT1, 100000, 314000);
	expect_span(&t[1], 3, TIDE_TCP_FIN_WAIT2, 314000, 401000);
	expect_span(&t[1], 4, TIDE_TCP_TIME_WAIT, 401000, 60401000);
	/* The server's accepted connection. */
	assert_int_equal(t[2].host, 1);
	assert_int_equal(t[2].id.rport, 40000);
	assert_false(t[2].open);
	assert_int_equal(t[2].nspans, 4);
	expect_span(&t[2], 0, TIDE_TCP_SYN_RECV, 1000, 3000);
	expect_span(&t[2], 3, TIDE_TCP_LAST_ACK, 400000, 402000);
	sim_timelines_free(t, n);
	sim_model_free(&m);

	/* A 4-tuple used again after CLOSED is a new connection. */
	sample_zoo(&m);
	assert_int_equal(sim_model_timelines(&m, &t, &n), 0);
	size_t uses = 0;
	for (size_t i = 0; i < n; i++)
		if (t[i].host == 0 && t[i].id.lport == 40003) {
			uses++;
			if (uses == 2) {
				assert_true(t[i].open);
				assert_int_equal(t[i].nspans, 1);
				expect_span(&t[i], 0, TIDE_TCP_SYN_SENT, 130000, 5000000);
			}
		}
	assert_int_equal(uses, 2);
	sim_timelines_free(t, n);
	sim_model_free(&m);
}

/* --- JSON. */

static void test_json_exact(void **state)
{
	(void)state;
	struct sim_model m;
	memset(&m, 0, sizeof m);
	snprintf(m.title, sizeof m.title, "T \"q\"");
	snprintf(m.about, sizeof m.about, "a\\b\n\t\x01 \xc3\xa9 \xff/");
	snprintf(m.source, sizeof m.source, "x.tsim");
	m.nhosts = 2;
	snprintf(m.hosts[0].name, 32, "c");
	m.hosts[0].addr = 0xc6120001;
	snprintf(m.hosts[1].name, 32, "s");
	m.hosts[1].addr = 0xc6120002;
	m.delay = 1000;
	m.end = 5000;
	struct sim_state_change *c = sim_model_add_state(&m, 0);
	c->host = 1;
	c->id = (struct tide_conn_id){ .laddr = 0xc6120002, .lport = 80 };
	c->old_state = TIDE_TCP_CLOSE;
	c->new_state = TIDE_TCP_LISTEN;
	struct sim_segment *s = sim_model_add_segment(&m, 10);
	s->from = 0;
	s->to = 1;
	s->id = (struct tide_conn_id){ 0xc6120001, 0xc6120002, 40000, 80 };
	s->flags = TIDE_TCP_ACK;
	s->seq = 4294967295u;
	s->ack = 7;
	s->len = 3;
	s->win = 502;
	s->opts.present = TIDE_OPT_TS | TIDE_OPT_SACK;
	s->opts.tsval = 1;
	s->opts.tsecr = 2;
	s->opts.nsack = 2;
	s->opts.sack[0].left = 10;
	s->opts.sack[0].right = 20;
	s->opts.sack[1].left = 30;
	s->opts.sack[1].right = 40;
	s->fate = FATE_MIDDLEBOX;
	s->retransmission = true;
	s->sender_state = TIDE_TCP_ESTABLISHED;
	struct sim_timer *t = sim_model_add_timer(&m, 20);
	t->host = 0;
	t->id = (struct tide_conn_id){ 0xc6120001, 0xc6120002, 40000, 80 };
	snprintf(t->what, sizeof t->what, "keepalive timer");
	struct sim_call *k = sim_model_add_call(&m, 30);
	k->host = 0;
	k->line = 12;
	snprintf(k->text, sizeof k->text, "recv(c)");
	k->ret = -1;
	k->err = ECONNRESET;
	struct sim_note *n = sim_model_add_note(&m, 40);
	n->host = -1;
	snprintf(n->text, sizeof n->text, "cut");
	struct sim_expect_result *x = sim_model_add_expect(&m);
	x->line = 20;
	snprintf(x->text, sizeof x->text, "expect at end c c state CLOSED");
	snprintf(x->detail, sizeof x->detail, "found \"SYN_SENT\"");

	char *got = render(sim_write_json, &m);
	const char *want =
		"{\n"
		"  \"schema\": \"tide-sim/1\",\n"
		"  \"title\": \"T \\\"q\\\"\",\n"
		"  \"about\": \"a\\\\b\\n\\t\\u0001 \xc3\xa9 \\ufffd/\",\n"
		"  \"source\": \"x.tsim\",\n"
		"  \"hosts\": [{\"name\": \"c\", \"addr\": \"198.18.0.1\"}, "
		"{\"name\": \"s\", \"addr\": \"198.18.0.2\"}],\n"
		"  \"delay_us\": 1000,\n"
		"  \"end_us\": 5000,\n"
		"  \"events\": [\n"
		"    {\"type\": \"state\", \"t_us\": 0, \"host\": \"s\", \"local\": \"198.18.0.2:80\", "
		"\"remote\": null, \"from\": \"CLOSED\", \"to\": \"LISTEN\"},\n"
		"    {\"type\": \"segment\", \"t_us\": 10, \"from\": \"c\", \"to\": \"s\", "
		"\"src\": \"198.18.0.1:40000\", \"dst\": \"198.18.0.2:80\",\n"
		"     \"flags\": [\"ACK\"], \"seq\": 4294967295, \"ack\": 7, \"len\": 3, \"win\": 502, "
		"\"options\": {\"ts\": [1, 2], \"sack\": [[10, 20], [30, 40]]},\n"
		"     \"fate\": \"middlebox\", \"retransmission\": true, \"duplicated\": 0, "
		"\"delayed\": false, \"delivered_us\": null, \"sender_state\": \"ESTABLISHED\", "
		"\"receiver_state\": null},\n"
		"    {\"type\": \"timer\", \"t_us\": 20, \"host\": \"c\", \"local\": \"198.18.0.1:40000\", "
		"\"remote\": \"198.18.0.2:80\", \"what\": \"keepalive timer\"},\n"
		"    {\"type\": \"call\", \"t_us\": 30, \"host\": \"c\", \"line\": 12, \"call\": \"recv(c)\", "
		"\"ret\": -1, \"errno\": \"ECONNRESET\"},\n"
		"    {\"type\": \"note\", \"t_us\": 40, \"host\": null, \"text\": \"cut\"}\n"
		"  ],\n"
		"  \"connections\": [\n"
		"    {\"host\": \"s\", \"local\": \"198.18.0.2:80\", \"remote\": null, \"open_at_end\": true,\n"
		"     \"states\": [{\"state\": \"LISTEN\", \"from_us\": 0, \"to_us\": 5000}]}\n"
		"  ],\n"
		"  \"expectations\": [\n"
		"    {\"line\": 20, \"text\": \"expect at end c c state CLOSED\", \"ok\": false, "
		"\"detail\": \"found \\\"SYN_SENT\\\"\"}\n"
		"  ]\n"
		"}\n";
	assert_string_equal(got, want);
	assert_true(json_valid(got));
	free(got);
	sim_model_free(&m);
}

static void test_json_samples_parse(void **state)
{
	(void)state;
	struct sim_model m;
	sample_four_way_close(&m);
	char *j = render(sim_write_json, &m);
	assert_true(json_valid(j));
	assert_int_equal(count(j, "\"type\": \"segment\""), 11);
	assert_int_equal(count(j, "\"type\": \"state\""), 12);
	assert_int_equal(count(j, "\"fate\": \"dropped\""), 1);
	assert_int_equal(count(j, "\"delivered_us\": null"), 1);
	assert_int_equal(count(j, "\"duplicated\": 1"), 1);
	assert_non_null(strstr(j, "\"errno\": \"EINPROGRESS\""));
	assert_non_null(strstr(j, "\"options\": {\"mss\": 1460, \"wscale\": 7, \"sack_ok\": true, "
				  "\"ts\": [1000, 0]}"));
	assert_non_null(strstr(j, "{\"state\": \"TIME_WAIT\", \"from_us\": 401000, "
				  "\"to_us\": 60401000}"));
	free(j);
	sim_model_free(&m);

	sample_zoo(&m);
	j = render(sim_write_json, &m);
	assert_true(json_valid(j));
	assert_non_null(strstr(j, "\"fate\": \"unroutable\", "));
	assert_non_null(strstr(j, "\"to\": null, \"src\": \"198.18.0.2:80\", "
				  "\"dst\": \"198.19.0.5:50000\""));
	assert_non_null(strstr(j, "\"detail\": \"found ESTABLISHED\\tinstead\\n\""));
	free(j);
	sim_model_free(&m);

	/* An empty model is still a complete document. */
	memset(&m, 0, sizeof m);
	j = render(sim_write_json, &m);
	assert_true(json_valid(j));
	assert_non_null(strstr(j, "\"events\": [],\n  \"connections\": [],\n  \"expectations\": []"));
	free(j);
}

/* --- SVG. */

static void test_svg_sample(void **state)
{
	(void)state;
	struct sim_model m;
	sample_four_way_close(&m);
	char *v = render(sim_write_svg, &m);
	assert_true(strncmp(v, "<?xml version=\"1.0\" encoding=\"UTF-8\"", 36) == 0);
	assert_non_null(strstr(v, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\""));
	assert_true(strcmp(v + strlen(v) - 7, "</svg>\n") == 0);
	/* Hosts on top, every segment an arrow (the duplicate adds one), the
	 * lost FIN stops with its cross and label. */
	assert_non_null(strstr(v, ">client</text>"));
	assert_non_null(strstr(v, ">198.18.0.2</text>"));
	assert_int_equal(count(v, "<line class=\"arrow"), 11 + 1 + 4 /* legend */);
	assert_int_equal(count(v, " dup\""), 1 + 1 /* legend */);
	assert_int_equal(count(v, ">lost</text>"), 1);
	assert_non_null(strstr(v, ">FIN,ACK seq=201 ack=301 (retransmission)</text>"));
	assert_non_null(strstr(v, ">PSH,ACK seq=101 ack=301 len=100</text>"));
	/* States along the lifelines, TIME_WAIT hatched. */
	assert_non_null(strstr(v, ">TIME_WAIT</text>"));
	assert_non_null(strstr(v, ">CLOSE_WAIT</text>"));
	assert_non_null(strstr(v, "<rect class=\"st band\""));
	/* Times at the left; the long waits as gaps, not as height. */
	assert_non_null(strstr(v, ">60.401 s</text>"));
	assert_non_null(strstr(v, ">212 ms pass</text>"));
	assert_non_null(strstr(v, ">59.901 s pass</text>"));
	assert_non_null(strstr(v, "timer: retransmission timeout"));
	assert_non_null(strstr(v, "recv(c) → -1 ENOTCONN"));
	/* 60 s of TIME_WAIT does not make the picture tall. */
	const char *h = strstr(v, "height=\"");
	assert_non_null(h);
	assert_true(atoi(h + 8) < 2000);
	free(v);
	sim_model_free(&m);
}

static void test_svg_escapes_and_marks(void **state)
{
	(void)state;
	struct sim_model m;
	sample_zoo(&m);
	char *v = render(sim_write_svg, &m);
	assert_non_null(strstr(v, "<title>Everything at once &lt;&amp;&gt; &quot;quoted&quot; "
				  "&apos;single&apos;</title>"));
	assert_non_null(strstr(v, "&lt;tag&gt; &amp; &quot;q&quot; ? ? (a stray byte) and UTF-8 "
				  "\xc3\xa9t\xc3\xa9."));
	assert_null(strstr(v, "\x01"));
	assert_null(strstr(v, "\xff"));
	assert_non_null(strstr(v, "lost: dropped by the middlebox"));
	assert_non_null(strstr(v, "lost: no host has that address"));
	assert_non_null(strstr(v, ">RST seq=0</text>"));
	assert_non_null(strstr(v, "(delayed)"));
	assert_non_null(strstr(v, ">the link is cut &lt;until 2s&gt;</text>"));
	assert_non_null(strstr(v, ">c reboots &amp; forgets everything</text>"));
	assert_non_null(strstr(v, "send(c&lt;2&gt;, 10 &amp; &quot;more&quot;) → -1 ECONNRESET"));
	/* Connections sharing the listener's port are named by their peer. */
	assert_non_null(strstr(v, ">SYN_RECV (a:40003)</text>"));
	assert_non_null(strstr(v, ">ESTABLISHED :40001</text>"));
	/* Three hosts: three lifelines. */
	assert_int_equal(count(v, "<line class=\"life\""), 3);
	free(v);
	sim_model_free(&m);
}

static void test_svg_is_bounded(void **state)
{
	(void)state;
	struct sim_model m;
	memset(&m, 0, sizeof m);
	m.nhosts = 2;
	snprintf(m.hosts[0].name, 32, "client");
	m.hosts[0].addr = 0xc6120001;
	snprintf(m.hosts[1].name, 32, "server");
	m.hosts[1].addr = 0xc6120002;
	m.delay = 1000;
	for (int i = 0; i < 3000; i++)
		sample_seg(&m, (tide_time)i * 1000, i % 2, 1 - i % 2, 40000, 80, TIDE_TCP_ACK,
			   (uint32_t)i, 0, 0, (tide_time)i * 1000 + 1000, TIDE_TCP_ESTABLISHED,
			   TIDE_TCP_ESTABLISHED);
	m.end = 3001000;
	char *v = render(sim_write_svg, &m);
	assert_non_null(strstr(v, "rows left out here, from "));
	const char *h = strstr(v, "height=\"");
	assert_true(atoi(h + 8) < 20000);
	free(v);
	sim_model_free(&m);

	/* Nothing at all still makes a picture. */
	memset(&m, 0, sizeof m);
	v = render(sim_write_svg, &m);
	assert_true(strcmp(v + strlen(v) - 7, "</svg>\n") == 0);
	free(v);
}

/* --- pcap. */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_pcap_records(void **state)
{
	(void)state;
	struct sim_model m;
	char path[] = "/tmp/tide-test-outputs-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	sample_four_way_close(&m);
	assert_int_equal(sim_write_pcap(&m, path), 0);

	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t buf[65536];
	size_t len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	unlink(path);
	assert_true(len >= 24);
	uint32_t magic = le32(buf);
	assert_true(magic == 0xa1b2c3d4u || magic == 0xd4c3b2a1u);
	bool swap = magic != 0xa1b2c3d4u;
	assert_false(swap); /* the tests run little-endian; the writer writes native order */
	assert_int_equal(le32(buf + 20), 101); /* LINKTYPE_RAW */

	size_t off = 24, i = 0;
	for (size_t e = 0; e < m.nevents; e++) {
		if (m.events[e].kind != EV_SEGMENT)
			continue;
		const struct sim_segment *s = &m.segs[m.events[e].index];
		assert_true(off + 16 <= len);
		uint64_t t = (uint64_t)le32(buf + off) * 1000000 + le32(buf + off + 4);
		assert_int_equal(t, s->sent);
		assert_int_equal(le32(buf + off + 8), s->pktlen);
		assert_int_equal(le32(buf + off + 12), s->pktlen);
		assert_memory_equal(buf + off + 16, s->pkt, s->pktlen);
		off += 16 + s->pktlen;
		i++;
	}
	assert_int_equal(i, 11);
	assert_int_equal(off, len);
	sim_model_free(&m);
}

/* --- Errors are reported, not swallowed. */

static void test_write_errors(void **state)
{
	(void)state;
	struct sim_model m;
	sample_four_way_close(&m);
	errno = 0;
	assert_int_equal(sim_write_pcap(&m, "/nonexistent-dir/x.pcap"), -1);
	assert_int_equal(errno, ENOENT);

	FILE *full = fopen("/dev/full", "w");
	if (full) {
		errno = 0;
		assert_int_equal(sim_write_json(&m, full), -1);
		assert_int_equal(errno, ENOSPC);
		clearerr(full);
		errno = 0;
		assert_int_equal(sim_write_svg(&m, full), -1);
		assert_int_equal(errno, ENOSPC);
		fclose(full);
	}
	if (access("/dev/full", W_OK) == 0) {
		errno = 0;
		assert_int_equal(sim_write_pcap(&m, "/dev/full"), -1);
		assert_int_equal(errno, ENOSPC);
	}
	sim_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_checker_itself),
		cmocka_unit_test(test_model_adders),
		cmocka_unit_test(test_model_sort_is_stable),
		cmocka_unit_test(test_model_helpers),
		cmocka_unit_test(test_timelines),
		cmocka_unit_test(test_json_exact),
		cmocka_unit_test(test_json_samples_parse),
		cmocka_unit_test(test_svg_sample),
		cmocka_unit_test(test_svg_escapes_and_marks),
		cmocka_unit_test(test_svg_is_bounded),
		cmocka_unit_test(test_pcap_records),
		cmocka_unit_test(test_write_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
