/*
 * bench/timers.c — timer scaling (issue 6, item 5).
 *
 * With N = 10,000, 100,000 and 1,000,000 entries in one server stack
 * (peers are hand-built packets, see bench_conn.h):
 *   - TIME_WAIT expiry: N records, then one tide_stack_advance past their
 *     lifetime; ns per expiry (record leaves the FIFO, the ehash and the
 *     port table, and is freed).
 *   - timer re-arm: N established connections, each with its timer armed
 *     at a random time; K re-arms (tide_heap_set, the operation every
 *     retransmission/delayed-ACK/keepalive arm goes through) of random
 *     connections at random times; ns per re-arm.
 *   - send 1 byte on a random idle accepted connection (tide_send: the
 *     segment goes out and the RTO is armed); ns per send.
 * Each figure is the median of 5 runs; only the measured part is inside
 * clock_gettime(CLOCK_MONOTONIC). Flat = cost at the largest N within a
 * factor of 2 of the cost at the smallest.
 *
 * --quick: N = 1,000 and 10,000 only (about a second).
 * Run: build-dir/bench/timers [--quick]
 */
#include "bench_conn.h"

#define RUNS 5

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void emit(const char *name, double value, const char *unit, const char *target, int meets,
		 const char *note)
{
	printf("{\"bench\":\"timers\",\"name\":\"%s\",\"value\":%.2f,\"unit\":\"%s\","
	       "\"reference\":null,\"reference_value\":null,\"ratio\":null,",
	       name, value, unit);
	if (target)
		printf("\"target\":\"%s\",\"meets_target\":%s,", target,
		       meets < 0 ? "null" : meets ? "true" : "false");
	else
		printf("\"target\":null,\"meets_target\":null,");
	printf("\"note\":\"%s\"}\n", note);
	fflush(stdout);
}

/* ns per TIME_WAIT expiry with n records. */
static double bench_tw_expiry(uint32_t n)
{
	double v[RUNS];
	struct bconn_ctx *b = bconn_new(n);
	for (int r = 0; r < RUNS; r++) {
		for (uint32_t i = 0; i < n; i++)
			bconn_time_wait(b, i);
		if (b->st->tw_count != n) {
			fprintf(stderr, "timers: tw_count %u != %u\n", b->st->tw_count, n);
			exit(1);
		}
		tide_time later = b->now + TIDE_SEC(b->st->set->tcp_timewait_len) + TIDE_SEC(1);
		double t0 = bench_now();
		tide_stack_advance(b->st, later);
		double t1 = bench_now();
		b->now = later;
		if (b->st->tw_count != 0) {
			fprintf(stderr, "timers: %u records left after expiry\n", b->st->tw_count);
			exit(1);
		}
		v[r] = (t1 - t0) * 1e9 / n;
	}
	bconn_free(b);
	return bench_median(v, RUNS);
}

/* ns per timer re-arm (tide_heap_set on a random connection's timer) with
 * n connections, all with a timer armed. */
static double bench_rearm(uint32_t n, uint32_t k, double *touch)
{
	double v[RUNS], vt[RUNS];
	volatile tide_time sink = 0;
	struct bconn_ctx *b = bconn_new(n);
	struct tcp_conn **c = malloc(sizeof(*c) * n);
	uint32_t *idx = malloc(sizeof(*idx) * k);
	tide_time *when = malloc(sizeof(*when) * k);
	for (uint32_t i = 0; i < n; i++) {
		bconn_establish(b, i);
		c[i] = bconn_conn(b, i);
		if (!c[i]) {
			fprintf(stderr, "timers: no connection %u\n", i);
			exit(1);
		}
	}
	/* arm every connection's timer: RTO-like spread, 200 ms .. 120 s */
	for (uint32_t i = 0; i < n; i++)
		tide_heap_set(&b->st->timers, &c[i]->timer, b->now + TIDE_MS(200) + rnd() % TIDE_SEC(120));
	if (b->st->timers.n < n) {
		fprintf(stderr, "timers: heap holds %u < %u\n", b->st->timers.n, n);
		exit(1);
	}
	for (int r = 0; r < RUNS; r++) {
		for (uint32_t j = 0; j < k; j++) {
			idx[j] = (uint32_t)(rnd() % n);
			when[j] = b->now + TIDE_MS(200) + rnd() % TIDE_SEC(120);
		}
		struct tide_heap *h = &b->st->timers;
		double t0 = bench_now();
		for (uint32_t j = 0; j < k; j++)
			tide_heap_set(h, &c[idx[j]]->timer, when[j]);
		double t1 = bench_now();
		v[r] = (t1 - t0) * 1e9 / k;
		/* baseline: the same random connections, only read their timer */
		for (uint32_t j = 0; j < k; j++)
			idx[j] = (uint32_t)(rnd() % n);
		tide_time acc = 0;
		t0 = bench_now();
		for (uint32_t j = 0; j < k; j++)
			acc += c[idx[j]]->timer.when;
		t1 = bench_now();
		sink = acc;
		vt[r] = (t1 - t0) * 1e9 / k;
	}
	(void)sink;
	*touch = bench_median(vt, RUNS);
	free(c);
	free(idx);
	free(when);
	bconn_free(b);
	return bench_median(v, RUNS);
}

/* ns per tide_send of 1 byte on a random idle accepted connection: the
 * segment is built and output, the RTO is armed in the timer heap. */
static double bench_send(uint32_t n, uint32_t k)
{
	double v[RUNS];
	struct bconn_ctx *b = bconn_new(n);
	int *fds = malloc(sizeof(*fds) * n);
	for (uint32_t i = 0; i < n; i++) {
		bconn_establish(b, i);
		fds[i] = tide_accept(b->st, b->lfd, NULL, NULL, 0);
		if (fds[i] < 0) {
			fprintf(stderr, "timers: accept %u failed\n", i);
			exit(1);
		}
	}
	/* shuffle: each run takes the next k idle connections in random order */
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(rnd() % (i + 1));
		int t = fds[i];
		fds[i] = fds[j];
		fds[j] = t;
	}
	uint32_t pos = 0;
	for (int r = 0; r < RUNS; r++) {
		uint32_t before = b->st->timers.n;
		double t0 = bench_now();
		for (uint32_t j = 0; j < k; j++)
			if (tide_send(b->st, fds[pos + j], "x", 1, 0) != 1) {
				fprintf(stderr, "timers: send failed\n");
				exit(1);
			}
		double t1 = bench_now();
		if (b->st->timers.n != before + k) {
			fprintf(stderr, "timers: %u timers armed, expected %u\n", b->st->timers.n - before, k);
			exit(1);
		}
		pos += k;
		v[r] = (t1 - t0) * 1e9 / k;
	}
	free(fds);
	bconn_free(b);
	return bench_median(v, RUNS);
}

int main(int argc, char **argv)
{
	uint32_t full[] = { 10000, 100000, 1000000 };
	uint32_t quick[] = { 1000, 10000 };
	uint32_t *sizes = full;
	int ns = 3;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--quick") == 0) {
			sizes = quick;
			ns = 2;
		}
	const uint32_t k_rearm = 1000000;
	double tw[3], ra[3], sd[3], touch;
	char name[160], note[400];

	for (int s = 0; s < ns; s++) {
		uint32_t n = sizes[s];
		double t0 = bench_now();
		tw[s] = bench_tw_expiry(n);
		snprintf(name, sizeof(name), "ns per TIME_WAIT expiry (N=%u)", n);
		snprintf(note, sizeof(note),
			 "median of %d: %u records expired by one tide_stack_advance, total time / N", RUNS, n);
		emit(name, tw[s], "ns", NULL, -1, note);

		ra[s] = bench_rearm(n, k_rearm, &touch);
		snprintf(name, sizeof(name), "ns per timer re-arm (N=%u)", n);
		snprintf(note, sizeof(note),
			 "median of %d: %u tide_heap_set re-arms of random connections' timers, %u connections all armed",
			 RUNS, k_rearm, n);
		emit(name, ra[s], "ns", NULL, -1, note);
		snprintf(name, sizeof(name), "ns per random connection touch, baseline (N=%u)", n);
		snprintf(note, sizeof(note),
			 "median of %d: %u independent reads of a random connection's timer field (the CPU overlaps "
			 "the misses): how much slower memory gets at this N, not a tide cost",
			 RUNS, k_rearm);
		emit(name, touch, "ns", NULL, -1, note);

		uint32_t k = n / RUNS < 10000 ? n / RUNS : 10000;
		sd[s] = bench_send(n, k);
		snprintf(name, sizeof(name), "ns per 1-byte send arming the RTO (N=%u)", n);
		snprintf(note, sizeof(note),
			 "median of %d: tide_send of 1 byte on %u random idle connections of %u (segment output + "
			 "send ring allocation + RTO armed)",
			 RUNS, k, n);
		emit(name, sd[s], "ns", NULL, -1, note);
		fprintf(stderr, "timers: N=%u done in %.1f s\n", n, bench_now() - t0);
	}

	const char *what[3] = { "TIME_WAIT expiry", "timer re-arm", "1-byte send arming the RTO" };
	double *vals[3] = { tw, ra, sd };
	for (int w = 0; w < 3; w++) {
		double lo = vals[w][0], hi = vals[w][0];
		for (int s = 1; s < ns; s++) {
			if (vals[w][s] < lo)
				lo = vals[w][s];
			if (vals[w][s] > hi)
				hi = vals[w][s];
		}
		double ratio = vals[w][ns - 1] / vals[w][0];
		snprintf(name, sizeof(name), "%s cost ratio N=%u / N=%u", what[w], sizes[ns - 1], sizes[0]);
		snprintf(note, sizeof(note), "cost per op at the largest N over the smallest; max/min over all N = %.2f",
			 hi / lo);
		emit(name, ratio, "x", "≤ 2 (flat)", ratio <= 2.0, note);
	}
	return 0;
}
