/*
 * The scenario parser (tools/sim/parse.c): what it builds from the format
 * of docs/scenarios.md, and the exact message of every mistake it catches,
 * since those messages are what a scenario's author reads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "scenario.h"

#include <tide/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOSTS "host client 198.18.0.1\nhost server 198.18.0.2\n"

/* Parses text that must be right. */
static void parse_ok(const char *text, struct sim_scenario *sc)
{
	char err[512];
	int rc = sim_parse(text, "x.tsim", sc, err, sizeof(err));
	if (rc != 0)
		fail_msg("unexpected parse error: %s", err);
}

/* Parses text that must fail with exactly this message. */
static void parse_err(const char *text, const char *want)
{
	struct sim_scenario sc;
	char err[512];
	int rc = sim_parse(text, "x.tsim", &sc, err, sizeof(err));
	if (rc == 0) {
		sim_scenario_free(&sc);
		fail_msg("parsed, but should fail with: %s", want);
	}
	assert_string_equal(err, want);
	/* nothing is left to free after an error */
	assert_int_equal(sc.nactions, 0);
	assert_null(sc.actions);
}

static void test_times(void **state)
{
	(void)state;
	tide_time t;
	assert_int_equal(sim_parse_time("0", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(sim_parse_time("250us", &t), 0);
	assert_int_equal(t, 250);
	assert_int_equal(sim_parse_time("40ms", &t), 0);
	assert_int_equal(t, 40000);
	assert_int_equal(sim_parse_time("1.5s", &t), 0);
	assert_int_equal(t, 1500000);
	assert_int_equal(sim_parse_time("2min", &t), 0);
	assert_int_equal(t, 120000000);
	assert_int_equal(sim_parse_time("1h", &t), 0);
	assert_int_equal(t, 3600000000ull);
	assert_int_equal(sim_parse_time("10", &t), 0);
	assert_int_equal(t, 10000000);
	assert_int_equal(sim_parse_time("60.152s", &t), 0);
	assert_int_equal(t, 60152000);
	assert_int_equal(sim_parse_time("0.5ms", &t), 0);
	assert_int_equal(t, 500);
	/* not a whole microsecond, unknown units, no digits */
	assert_int_equal(sim_parse_time("0.5us", &t), -1);
	assert_int_equal(sim_parse_time("10q", &t), -1);
	assert_int_equal(sim_parse_time("ms", &t), -1);
	assert_int_equal(sim_parse_time("", &t), -1);
	assert_int_equal(sim_parse_time("1.2.3s", &t), -1);
	assert_int_equal(sim_parse_time("99999999999999999999h", &t), -1);
}

static void test_the_documented_example(void **state)
{
	(void)state;
	struct sim_scenario sc;
	parse_ok("# The four-way close\n"
		 "title  Normal four-way close   # a comment after it\n"
		 "about  The client closes first,\n"
		 "about  so only the client passes through TIME_WAIT.\n"
		 "\n"
		 "host   client 198.18.0.1\n"
		 "host   server 198.18.0.2\n"
		 "delay  2ms\n"
		 "isn    client 100\n"
		 "isn    server 300\n"
		 "at 0      server listen 80 as L\n"
		 "at 0      client connect server:80 from 40000 as c\n"
		 "at 10ms   server accept L as s\n"
		 "at 20ms   client send c 100\n"
		 "at 30ms   server recv s                 => 100\n"
		 "at 50ms   client close c                => 0\n"
		 "at 150ms  server recv s                 => 0\n"
		 "at 150ms  server close s\n"
		 "expect at 51ms    client c state FIN_WAIT_1\n"
		 "expect at end     client counter TW = 1\n"
		 "expect at 60.152s client c state CLOSED\n"
		 "expect at end     segments = 9\n",
		 &sc);
	assert_string_equal(sc.title, "Normal four-way close");
	assert_string_equal(sc.about, "The client closes first, so only the client passes through TIME_WAIT.");
	assert_int_equal(sc.nhosts, 2);
	assert_string_equal(sc.hosts[1].name, "server");
	assert_int_equal(sc.hosts[1].addr, 0xc6120002u);
	assert_true(sc.hosts[0].has_isn);
	assert_int_equal(sc.hosts[0].isn, 100);
	assert_int_equal(sc.delay, TIDE_MS(2));
	assert_int_equal(sc.run_limit, TIDE_TIME_NEVER);

	assert_int_equal(sc.nactions, 8);
	const struct sim_action *a = sc.actions;
	assert_int_equal(a[0].kind, ACT_LISTEN);
	assert_int_equal(a[0].host, 1);
	assert_int_equal(a[0].port, 80);
	assert_int_equal(a[0].backlog, -1);
	assert_int_equal(a[1].kind, ACT_CONNECT);
	assert_int_equal(a[1].peer_addr, 0xc6120002u);
	assert_int_equal(a[1].port, 80);
	assert_int_equal(a[1].from_port, 40000);
	assert_int_equal(a[2].kind, ACT_ACCEPT);
	assert_int_equal(a[2].sock2, a[0].sock);
	assert_int_equal(a[3].kind, ACT_SEND);
	assert_int_equal(a[3].n, 100);
	assert_int_equal(a[3].fill, 'x');
	assert_int_equal(a[3].sock, a[1].sock);
	assert_int_equal(a[4].kind, ACT_RECV);
	assert_int_equal(a[4].n, -1);
	assert_int_equal(a[4].want.kind, RES_NUMBER);
	assert_int_equal(a[4].want.value, 100);
	assert_int_equal(a[4].line, 15);
	assert_string_equal(a[4].text, "server recv s => 100");
	assert_int_equal(a[7].kind, ACT_CLOSE);
	assert_int_equal(a[7].t, TIDE_MS(150));
	assert_int_equal(a[7].want.kind, RES_NONE);

	/* sockets: L and s on the server, c on the client */
	assert_int_equal(sc.nsocks, 3);
	assert_string_equal(sc.socks[a[2].sock].name, "s");
	assert_int_equal(sc.socks[a[2].sock].host, 1);

	/* expectations in time order, `end` ones last in file order */
	assert_int_equal(sc.nexpects, 4);
	const struct sim_expect *e = sc.expects;
	assert_int_equal(e[0].kind, EXP_STATE);
	assert_int_equal(e[0].state, TIDE_TCP_FIN_WAIT1);
	assert_int_equal(e[0].t, TIDE_MS(51));
	assert_string_equal(e[0].text, "expect at 51ms client c state FIN_WAIT_1");
	assert_int_equal(e[1].t, TIDE_MS(60152));
	assert_int_equal(e[1].state, TIDE_TCP_CLOSE);
	assert_true(e[2].at_end);
	assert_int_equal(e[2].kind, EXP_COUNTER);
	assert_int_equal(e[2].counter, TIDE_MIB_TW);
	assert_int_equal(e[2].n, 1);
	assert_int_equal(e[2].line, 20);
	assert_int_equal(e[3].kind, EXP_SEGMENTS);
	assert_int_equal(e[3].host, -1);
	assert_int_equal(e[3].n, 9);
	sim_scenario_free(&sc);
}

static void test_every_action(void **state)
{
	(void)state;
	struct sim_scenario sc;
	parse_ok(HOSTS
		 "at 0     server listen 80 backlog 4 reuseaddr reuseport as L => 0\n"
		 "at 1ms   client socket as x\n"
		 "at +1ms  client bind x 5000              => ok\n"
		 "at +1ms  client listen x 7\n"
		 "at 4ms   client connect x server:80      => EINPROGRESS\n"
		 "at 5ms   client connect 198.18.0.9:81 reuseaddr as y\n"
		 "at 6ms   client send x 10 fill a\n"
		 "at 6ms   client send x 10 fill \"#\"\n"
		 "at 7ms   server accept L as s            => EAGAIN\n"
		 "at 8ms   server recv s 5\n"
		 "at 9ms   server shutdown s wr\n"
		 "at 10ms  server setsockopt s SO_LINGER 1 0\n"
		 "at 10ms  server setsockopt s TCP_KEEPIDLE 10\n"
		 "at 11ms  server set net.ipv4.tcp_fin_timeout = 30\n"
		 "at 11ms  server set tcp_tw_reuse=1\n"
		 "at 12ms  server dies\n"
		 "at 13ms  client reboots\n"
		 "at 14ms  client flood server:80 4 over 1s\n"
		 "at 15ms  client close y\n",
		 &sc);
	const struct sim_action *a = sc.actions;
	assert_int_equal(sc.nactions, 22);
	assert_int_equal(a[0].backlog, 4);
	assert_true(a[0].reuseaddr && a[0].reuseport);
	assert_int_equal(a[0].want.kind, RES_NUMBER);
	assert_int_equal(a[1].kind, ACT_SOCKET);
	assert_int_equal(a[2].kind, ACT_BIND);
	assert_int_equal(a[2].t, TIDE_MS(2));
	assert_int_equal(a[2].port, 5000);
	assert_int_equal(a[2].want.kind, RES_OK);
	assert_int_equal(a[3].kind, ACT_LISTEN_ON);
	assert_int_equal(a[3].t, TIDE_MS(3));
	assert_int_equal(a[3].backlog, 7);
	assert_int_equal(a[4].kind, ACT_CONNECT_ON);
	assert_int_equal(a[4].want.kind, RES_ERRNO);
	assert_int_equal(a[4].want.value, EINPROGRESS);
	assert_int_equal(a[5].kind, ACT_CONNECT);
	assert_int_equal(a[5].peer_addr, 0xc6120009u);
	assert_true(a[5].reuseaddr);
	assert_int_equal(a[6].fill, 'a');
	assert_int_equal(a[7].fill, '#');
	assert_int_equal(a[8].want.value, EAGAIN);
	assert_int_equal(a[9].n, 5);
	assert_int_equal(a[10].how, SHUT_WR);
	assert_int_equal(a[11].opt_level, SOL_SOCKET);
	assert_int_equal(a[11].opt_name, SO_LINGER);
	assert_int_equal(a[11].nopt, 2);
	assert_int_equal(a[11].optval[0], 1);
	assert_int_equal(a[11].optval[1], 0);
	assert_int_equal(a[12].opt_level, IPPROTO_TCP);
	assert_int_equal(a[12].opt_name, TCP_KEEPIDLE);
	assert_int_equal(a[13].kind, ACT_SET);
	assert_string_equal(a[13].key, "net.ipv4.tcp_fin_timeout");
	assert_string_equal(a[13].value, "30");
	assert_string_equal(a[14].key, "tcp_tw_reuse");
	assert_string_equal(a[14].value, "1");
	assert_int_equal(a[15].kind, ACT_DIES);
	assert_int_equal(a[16].kind, ACT_REBOOTS);
	/* the flood: 4 SYNs, 250 ms apart; in time order, the close at 15 ms
	 * comes between the first and the second */
	static const int at[4] = { 17, 19, 20, 21 };
	for (int i = 0; i < 4; i++) {
		const struct sim_action *f = &a[at[i]];
		assert_int_equal(f->kind, ACT_FLOOD_SYN);
		assert_int_equal(f->flood_i, i);
		assert_int_equal(f->flood_n, 4);
		assert_int_equal(f->flood_seq, i);
		assert_int_equal(f->port, 80);
		assert_int_equal(f->peer_addr, 0xc6120002u);
		assert_int_equal(f->t, TIDE_MS(14) + (tide_time)i * TIDE_MS(250));
	}
	assert_int_equal(a[18].kind, ACT_CLOSE);
	sim_scenario_free(&sc);

	parse_ok(HOSTS "at 0 client flood server:80 3\nat 1ms client close c\nat 0 client connect server:80 as c\n", &sc);
	assert_int_equal(sc.nactions, 5);
	assert_int_equal(sc.actions[0].kind, ACT_FLOOD_SYN);
	assert_int_equal(sc.actions[2].kind, ACT_FLOOD_SYN);
	assert_int_equal(sc.actions[2].t, 0);
	assert_int_equal(sc.actions[3].kind, ACT_CONNECT);
	assert_int_equal(sc.actions[4].kind, ACT_CLOSE);
	sim_scenario_free(&sc);
}

static void test_network_rules(void **state)
{
	(void)state;
	struct sim_scenario sc;
	parse_ok(HOSTS
		 "drop client FIN\n"
		 "drop server ACK 2-4\n"
		 "drop client DATA all\n"
		 "dup server SYN-ACK by 5ms\n"
		 "delay client syn 3 by 1s\n"
		 "reorder server RST 2\n"
		 "drop client any 7\n"
		 "cut 10s..20s\n"
		 "cut 30s .. 31s\n"
		 "middlebox idle 300s\n"
		 "run 2min\n",
		 &sc);
	assert_int_equal(sc.nrules, 9);
	const struct tide_fault *f = &sc.rules[0].fault;
	assert_int_equal(sc.rules[0].kind, RULE_FAULT);
	assert_int_equal(f->from, 0);
	assert_int_equal(f->flags_mask, TIDE_TCP_FIN);
	assert_int_equal(f->flags_match, TIDE_TCP_FIN);
	assert_int_equal(f->nth, 1);
	assert_int_equal(f->count, 1);
	assert_int_equal(f->action, TIDE_FAULT_DROP);
	f = &sc.rules[1].fault;
	assert_int_equal(f->from, 1);
	assert_int_equal(f->flags_mask, TIDE_TCP_SYN | TIDE_TCP_FIN | TIDE_TCP_RST | TIDE_TCP_ACK);
	assert_int_equal(f->flags_match, TIDE_TCP_ACK);
	assert_true(f->no_payload);
	assert_int_equal(f->nth, 2);
	assert_int_equal(f->count, 3);
	f = &sc.rules[2].fault;
	assert_int_equal(f->flags_mask, 0);
	assert_int_equal(f->min_len, 1);
	assert_false(f->no_payload);
	assert_int_equal(f->count, UINT32_MAX);
	f = &sc.rules[3].fault;
	assert_int_equal(f->action, TIDE_FAULT_DUPLICATE);
	assert_int_equal(f->flags_match, TIDE_TCP_SYN | TIDE_TCP_ACK);
	assert_int_equal(f->delay, TIDE_MS(5));
	f = &sc.rules[4].fault;
	assert_int_equal(f->action, TIDE_FAULT_DELAY);
	assert_int_equal(f->flags_mask, TIDE_TCP_SYN | TIDE_TCP_ACK);
	assert_int_equal(f->flags_match, TIDE_TCP_SYN);
	assert_int_equal(f->nth, 3);
	assert_int_equal(f->delay, TIDE_SEC(1));
	f = &sc.rules[5].fault;
	assert_int_equal(f->action, TIDE_FAULT_REORDER);
	assert_int_equal(f->flags_match, TIDE_TCP_RST);
	f = &sc.rules[6].fault;
	assert_int_equal(f->flags_mask, 0);
	assert_int_equal(f->min_len, 0);
	assert_int_equal(f->nth, 7);
	assert_int_equal(sc.rules[7].kind, RULE_CUT);
	assert_int_equal(sc.rules[7].t1, TIDE_SEC(10));
	assert_int_equal(sc.rules[7].t2, TIDE_SEC(20));
	assert_int_equal(sc.rules[8].t1, TIDE_SEC(30));
	assert_int_equal(sc.middlebox_idle, TIDE_SEC(300));
	assert_int_equal(sc.run_limit, TIDE_SEC(120));
	assert_int_equal(sc.delay, TIDE_MS(1));
	sim_scenario_free(&sc);
}

static void test_settings(void **state)
{
	(void)state;
	struct sim_scenario sc;
	parse_ok("set * net.ipv4.tcp_fin_timeout = 5\n" HOSTS
		 "set server net.ipv4.tcp_syncookies = 0\n"
		 "set * tcp_timestamps = 0\n"
		 "set client net.ipv4.ip_local_port_range = 40000 40100\n",
		 &sc);
	/* `set *` reaches hosts declared after it too */
	assert_int_equal(sc.hosts[0].settings.tcp_fin_timeout, 5);
	assert_int_equal(sc.hosts[1].settings.tcp_fin_timeout, 5);
	assert_int_equal(sc.hosts[0].settings.tcp_syncookies, 1);
	assert_int_equal(sc.hosts[1].settings.tcp_syncookies, 0);
	assert_int_equal(sc.hosts[1].settings.tcp_timestamps, 0);
	assert_int_equal(sc.hosts[0].settings.ip_local_port_range_lo, 40000);
	assert_int_equal(sc.hosts[0].settings.ip_local_port_range_hi, 40100);
	assert_int_equal(sc.hosts[1].settings.ip_local_port_range_lo, 32768);

	char err[256];
	assert_int_equal(sim_scenario_override(&sc, "server.tcp_fin_timeout=9", err, sizeof(err)), 0);
	assert_int_equal(sc.hosts[1].settings.tcp_fin_timeout, 9);
	assert_int_equal(sc.hosts[0].settings.tcp_fin_timeout, 5);
	assert_int_equal(sim_scenario_override(&sc, "net.ipv4.tcp_fin_timeout = 7", err, sizeof(err)), 0);
	assert_int_equal(sc.hosts[0].settings.tcp_fin_timeout, 7);
	assert_int_equal(sc.hosts[1].settings.tcp_fin_timeout, 7);
	assert_int_equal(sim_scenario_override(&sc, "net.ipv4.tcp_fin_timout=3", err, sizeof(err)), -1);
	assert_string_equal(err, "--set net.ipv4.tcp_fin_timout=3: unknown setting 'net.ipv4.tcp_fin_timout'");
	assert_int_equal(sim_scenario_override(&sc, "client.nothing=3", err, sizeof(err)), -1);
	assert_string_equal(err, "--set client.nothing=3: unknown setting 'nothing'");
	assert_int_equal(sim_scenario_override(&sc, "tcp_fin_timeout", err, sizeof(err)), -1);
	assert_string_equal(err, "--set wants KEY=VALUE or HOST.KEY=VALUE, not 'tcp_fin_timeout'");
	sim_scenario_free(&sc);
}

static void test_repeat(void **state)
{
	(void)state;
	struct sim_scenario sc;
	parse_ok(HOSTS
		 "at 0 server listen 80 as L\n"
		 "repeat 3 every 10ms\n"
		 "  at 1ms     client connect server:80 from 4000{i} as c{i}\n"
		 "\n"
		 "  # comments and blank lines do not end the block\n"
		 "  at +4ms    server accept L as s{i}\n"
		 "  expect at 8ms server s{i} state ESTABLISHED\n"
		 "at +1ms client close c0\n",
		 &sc);
	assert_int_equal(sc.nactions, 1 + 3 * 2 + 1);
	const struct sim_action *a = sc.actions;
	assert_int_equal(a[1].kind, ACT_CONNECT);
	assert_int_equal(a[1].t, TIDE_MS(1));
	assert_int_equal(a[1].from_port, 40000);
	assert_string_equal(sc.socks[a[1].sock].name, "c0");
	assert_int_equal(a[2].kind, ACT_ACCEPT);
	assert_int_equal(a[2].t, TIDE_MS(5));
	assert_string_equal(sc.socks[a[2].sock].name, "s0");
	/* after the block, + counts from its last line as written (round 0):
	 * the expectation at 8 ms */
	assert_int_equal(a[3].kind, ACT_CLOSE);
	assert_int_equal(a[3].t, TIDE_MS(9));
	assert_int_equal(a[4].t, TIDE_MS(11));
	assert_int_equal(a[4].from_port, 40001);
	assert_string_equal(sc.socks[a[4].sock].name, "c1");
	assert_int_equal(a[7].t, TIDE_MS(25));
	assert_string_equal(sc.socks[a[7].sock].name, "s2");
	assert_int_equal(a[7].line, 8);
	assert_int_equal(sc.nexpects, 3);
	assert_int_equal(sc.expects[2].t, TIDE_MS(28));
	assert_string_equal(sc.socks[sc.expects[2].sock].name, "s2");
	sim_scenario_free(&sc);
}

static void test_expectations(void **state)
{
	(void)state;
	struct sim_scenario sc;
	parse_ok(HOSTS
		 "at 0 client connect server:80 as c\n"
		 "expect at 1ms segments client = 1\n"
		 "expect at 1ms server conns SYN_RECV = 0\n"
		 "expect at 1ms server counter CurrEstab = 0\n"
		 "expect at 1ms client c state FIN-WAIT-1\n"
		 "expect at end client c read = \"ab # c\"   # the comment\n"
		 "expect at end client c read = abc def\n"
		 "expect at end client c read = \"\"\n",
		 &sc);
	const struct sim_expect *e = sc.expects;
	assert_int_equal(e[0].kind, EXP_SEGMENTS);
	assert_int_equal(e[0].host, 0);
	assert_int_equal(e[1].kind, EXP_CONNS);
	assert_int_equal(e[1].state, TIDE_TCP_SYN_RECV);
	assert_int_equal(e[2].counter, SIM_COUNTER_CURR_ESTAB);
	assert_int_equal(e[3].state, TIDE_TCP_FIN_WAIT1);
	assert_int_equal(e[4].kind, EXP_READ);
	assert_string_equal(e[4].read, "ab # c");
	assert_int_equal(e[4].readlen, 6);
	assert_string_equal(e[5].read, "abc def");
	assert_int_equal(e[6].readlen, 0);
	sim_scenario_free(&sc);
}

static void test_errors(void **state)
{
	(void)state;
	parse_err("title x\n\nhots client 198.18.0.1\n", "x.tsim:3:1: unknown directive 'hots'");
	parse_err(HOSTS "set client net.ipv4.tcp_fin_timout = 3\n",
		  "x.tsim:3:12: unknown setting 'net.ipv4.tcp_fin_timout'");
	parse_err(HOSTS "at 0 server listen 80 as L\nat 1ms server set net.ipv4.tcp_fin_timout = 3\n",
		  "x.tsim:4:19: unknown setting 'net.ipv4.tcp_fin_timout'");
	parse_err(HOSTS "set client net.ipv4.tcp_syncookies = 7\n",
		  "x.tsim:3:12: net.ipv4.tcp_syncookies: 7 is out of range (valid: 0..2)");
	parse_err(HOSTS "at 10q client socket as x\n",
		  "x.tsim:3:4: bad time '10q' (use 250us, 40ms, 1.5s, 2min, 1h, a number of seconds, or +TIME)");
	parse_err(HOSTS "delay 10q\n",
		  "x.tsim:3:7: bad time '10q' (use 250us, 40ms, 1.5s, 2min, 1h or a number of seconds)");
	parse_err(HOSTS "at 0 klient socket as x\n", "x.tsim:3:6: unknown host 'klient'");
	parse_err("isn client 5\n", "x.tsim:1:5: unknown host 'client' (declare hosts first: host NAME ADDR)");
	parse_err(HOSTS "at 0 client connect srv:80 as c\n", "x.tsim:3:21: unknown host 'srv'");
	parse_err(HOSTS "at 0 client connect server:80 as c\nexpect at 1s client c state ESTABLISED\n",
		  "x.tsim:4:29: unknown state 'ESTABLISED' (expected CLOSED, LISTEN, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK or TIME_WAIT)");
	parse_err(HOSTS "expect at end client counter TWW = 1\n",
		  "x.tsim:3:30: unknown counter 'TWW' (Linux's names, e.g. TW, ActiveOpens, ListenOverflows)");
	parse_err(HOSTS "drop client SYNACK\n",
		  "x.tsim:3:13: bad KIND 'SYNACK' (expected SYN, SYN-ACK, ACK, DATA, FIN, RST or any)");
	parse_err(HOSTS "drop client FIN 0\n",
		  "x.tsim:3:17: bad segment number '0' (expected N, N-M or all; the first is 1)");
	parse_err(HOSTS "drop client FIN 3-2\n",
		  "x.tsim:3:17: bad segment number '3-2' (expected N, N-M or all; the first is 1)");
	parse_err(HOSTS "delay client FIN 2\n", "x.tsim:3:19: expected 'by TIME' (how much later)");
	parse_err(HOSTS "drop client FIN by 2ms\n", "x.tsim:3:17: 'drop' takes no 'by TIME'");
	parse_err(HOSTS "host client 198.18.0.3\n",
		  "x.tsim:3:6: duplicate host 'client' (first declared on line 1)");
	parse_err("host client 203.0.113.1\n",
		  "x.tsim:1:13: address 203.0.113.1 is outside 198.18.0.0/15, the simulated network's range");
	parse_err("host client 198.20.0.1\n",
		  "x.tsim:1:13: address 198.20.0.1 is outside 198.18.0.0/15, the simulated network's range");
	parse_err("host client 198.18.0.1\nhost server 198.18.0.1\n",
		  "x.tsim:2:13: address 198.18.0.1 is already client's");
	parse_err("host client 198.18.0.300\n",
		  "x.tsim:1:13: bad address '198.18.0.300' (expected an IPv4 address like 198.18.0.1)");
	parse_err("title nothing\n",
		  "x.tsim:1:1: no host declared (a scenario needs at least one line: host NAME ADDR)");
	/* socket names */
	parse_err(HOSTS "at 0 server listen 80 as L\nat 1ms server close x\n",
		  "x.tsim:4:21: no socket named 'x' on server");
	parse_err(HOSTS "at 0 client connect server:80 as x\nat 1ms server close x\n",
		  "x.tsim:4:21: no socket named 'x' on server");
	parse_err(HOSTS "at 10ms client connect server:80 as c\nat 5ms client close c\n",
		  "x.tsim:4:21: no socket named 'c' on client at 5.000 ms yet (it is created at 10.000 ms, line 3)");
	parse_err(HOSTS "at 0 client connect server:80 as c\nexpect at end server c state CLOSED\n",
		  "x.tsim:4:22: no socket named 'c' on server");
	parse_err(HOSTS "at 0 server accept L as s\n", "x.tsim:3:20: no socket named 'L' on server");
	/* the shape of lines */
	parse_err(HOSTS "at 0 client connect server:80\n",
		  "x.tsim:3:30: expected 'as NAME' (the new socket's name)");
	parse_err(HOSTS "at 0 client jump\n",
		  "x.tsim:3:13: unknown action 'jump' (expected listen, connect, socket, bind, accept, send, recv, close, shutdown, setsockopt, set, dies, reboots or flood)");
	parse_err(HOSTS "at 0 client dies => 0\n", "x.tsim:3:18: 'dies' has no result to check");
	parse_err(HOSTS "at 0 client socket as x => EWHAT\n", "x.tsim:3:28: unknown errno name 'EWHAT'");
	parse_err(HOSTS "at 0 client socket as x => maybe\n",
		  "x.tsim:3:28: bad result 'maybe' (expected a number, an errno name like ECONNRESET, or ok)");
	parse_err(HOSTS "at 0 client socket as x => 0 1\n", "x.tsim:3:30: unexpected '1'");
	parse_err(HOSTS "at 0 client socket as 9x\n",
		  "x.tsim:3:23: bad socket name '9x' (a letter, then letters, digits, '_' or '-')");
	parse_err(HOSTS "at 0 client socket as x\nat 0 client shutdown x both\n",
		  "x.tsim:4:24: expected rd, wr or rdwr, got 'both'");
	parse_err(HOSTS "at 0 client socket as x\nat 0 client setsockopt x SO_FOO 1\n",
		  "x.tsim:4:26: unknown socket option 'SO_FOO' (see docs/scenarios.md for the list)");
	parse_err(HOSTS "at 0 client socket as x\nat 0 client setsockopt x SO_LINGER 1\n",
		  "x.tsim:4:37: SO_LINGER takes 2 values");
	parse_err(HOSTS "at 0 client listen 0 as L\n", "x.tsim:3:20: bad port '0' (expected 1 to 65535)");
	parse_err(HOSTS "at 0 client connect server:99999 as c\n",
		  "x.tsim:3:28: bad port '99999' (expected 1 to 65535)");
	parse_err(HOSTS "at end client socket as x\n",
		  "x.tsim:3:4: 'end' is only for expectations (expect at end ...)");
	parse_err(HOSTS "expect at 1s segments == 3\n", "x.tsim:3:23: expected '= N'");
	parse_err(HOSTS "about \"unclosed\nx\n", "x.tsim:3:7: missing closing '\"'");
	parse_err(HOSTS "repeat 3 every 1ms\nat 0 client socket as x\n",
		  "x.tsim:3:1: a repeat block needs indented 'at' lines under it");
	parse_err(HOSTS "repeat 3 every 1ms\n  host x 198.18.0.5\n",
		  "x.tsim:4:3: a repeat block holds only 'at' and 'expect' lines, not 'host'");
	parse_err(HOSTS "repeat 3 times\n  at 0 client socket as x\n", "x.tsim:3:10: expected: repeat N every TIME");
	parse_err(HOSTS "cut 20s..10s\n", "x.tsim:3:5: the cut must end after it starts");
	parse_err(HOSTS "middlebox 300s\n", "x.tsim:3:11: expected: middlebox idle TIME");
	parse_err(HOSTS "expect at 1s client c\n",
		  "x.tsim:3:22: expected 'state STATE' or 'read = TEXT' after the socket name");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_the_documented_example),
		cmocka_unit_test(test_every_action),
		cmocka_unit_test(test_network_rules),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_repeat),
		cmocka_unit_test(test_expectations),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
