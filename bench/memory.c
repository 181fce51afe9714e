/*
 * bench/memory.c — memory per connection (issue 6, item 4).
 *
 * One tide stack (the server, 198.18.0.1:80) holds N connections in one
 * state; the peers are hand-built packets (tide_ipv4_build/tide_tcp_build)
 * from many source addresses and ports, fed with tide_stack_input. The
 * cost per connection is the growth of the malloc heap
 * (mallinfo2().uordblks) divided by N: it includes malloc overhead, hash
 * table slots and timer heap entries. The reference is Linux's object
 * size of the same state, read from /proc/slabinfo.
 *
 *   ESTABLISHED: SYN, SYN-ACK, ACK; left in the accept queue (no data, so
 *                no rings), and again once accept()ed (+ a socket each).
 *   TIME_WAIT:   accept, close (FIN), peer ACK+FIN: one record each.
 *   SYN_RECV:    SYNs only, syncookies off, backlogs raised.
 *
 * Output: one JSON object per figure on stdout; chatter on stderr.
 * --quick: 10,000 connections instead of 1,000,000; --n=N for any N.
 * Run: build-dir/bench/memory [--quick] (about 10 s; /proc/slabinfo needs root)
 */
#include "bench_conn.h"

#include <malloc.h>

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd; /* small chunks + mmapped ones (big tables) */
}

/* Linux's object size of a slab cache, or 0 when /proc/slabinfo is unreadable. */
static unsigned slab_objsize(const char *name)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	if (!f)
		return 0;
	char line[512];
	unsigned size = 0;
	while (fgets(line, sizeof(line), f)) {
		char n[128];
		unsigned act, num, osz;
		if (sscanf(line, "%127s %u %u %u", n, &act, &num, &osz) == 4 && strcmp(n, name) == 0) {
			size = osz;
			break;
		}
	}
	fclose(f);
	return size;
}

static void emit(const char *name, double value, const char *slab, unsigned target, const char *note)
{
	unsigned ref = slab_objsize(slab);
	char refname[128];
	snprintf(refname, sizeof(refname), "Linux slab object size (/proc/slabinfo %s)", slab);
	printf("{\"bench\":\"memory\",\"name\":\"%s\",\"value\":%.1f,\"unit\":\"B\",", name, value);
	if (ref)
		printf("\"reference\":\"%s\",\"reference_value\":%u.0,\"ratio\":%.3f,", refname, ref,
		       value / ref);
	else
		printf("\"reference\":\"%s (unreadable)\",\"reference_value\":null,\"ratio\":null,",
		       refname);
	if (target)
		printf("\"target\":\"≤ %u\",\"meets_target\":%s,", target, value <= target ? "true" : "false");
	else
		printf("\"target\":null,\"meets_target\":null,");
	printf("\"note\":\"%s\"}\n", note);
	fflush(stdout);
}

static void emit_size(const char *name, size_t sz, size_t usable, unsigned target)
{
	printf("{\"bench\":\"memory\",\"name\":\"%s\",\"value\":%zu.0,\"unit\":\"B\","
	       "\"reference\":null,\"reference_value\":null,\"ratio\":null,",
	       name, sz);
	if (target)
		printf("\"target\":\"≤ %u\",\"meets_target\":%s,", target, sz <= target ? "true" : "false");
	else
		printf("\"target\":null,\"meets_target\":null,");
	printf("\"note\":\"sizeof; one calloc of it takes a %zu B malloc chunk (usable size + 8 B header)\"}\n", usable);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	uint32_t n = 1000000;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			n = 10000;
		else if (strncmp(argv[i], "--n=", 4) == 0)
			n = (uint32_t)strtoul(argv[i] + 4, NULL, 10);
	}
	char note[512];

	/* sizeof the records, and what one malloc of each really takes */
	{
		void *p;
		p = calloc(1, sizeof(struct tcp_conn));
		size_t uc = malloc_usable_size(p) + sizeof(size_t);
		free(p);
		p = calloc(1, sizeof(struct tcp_tw));
		size_t ut = malloc_usable_size(p) + sizeof(size_t);
		free(p);
		p = calloc(1, sizeof(struct tcp_req));
		size_t ur = malloc_usable_size(p) + sizeof(size_t);
		free(p);
		emit_size("sizeof(struct tcp_conn)", sizeof(struct tcp_conn), uc, 0);
		emit_size("sizeof(struct tcp_tw)", sizeof(struct tcp_tw), ut, 64);
		emit_size("sizeof(struct tcp_req)", sizeof(struct tcp_req), ur, 128);
		p = calloc(1, sizeof(struct tide_sock));
		size_t us = malloc_usable_size(p) + sizeof(size_t);
		free(p);
		emit_size("sizeof(struct tide_sock)", sizeof(struct tide_sock), us, 0);
		fprintf(stderr, "memory: malloc chunk (usable + header): conn %zu, tw %zu, req %zu\n",
			uc, ut, ur);
	}

	/* ESTABLISHED, in the accept queue, then accepted */
	{
		struct bconn_ctx *b = bconn_new(n);
		size_t h0 = heap_used();
		double t0 = bench_now();
		for (uint32_t i = 0; i < n; i++)
			bconn_establish(b, i);
		double t1 = bench_now();
		size_t h1 = heap_used();
		fprintf(stderr, "memory: %u ESTABLISHED in %.2f s, heap +%zu B\n", n, t1 - t0, h1 - h0);
		if (tide_stack_curr_estab(b->st) != n)
			fprintf(stderr, "memory: WARNING CurrEstab %llu != %u\n",
				(unsigned long long)tide_stack_curr_estab(b->st), n);
		snprintf(note, sizeof(note),
			 "heap growth (mallinfo2 uordblks + hblkhd) / %u connections held in the accept queue, no data "
			 "(no rings): %zu B struct + malloc overhead + %.1f B ehash slots, no timer armed; Linux's "
			 "figure is the bare TCP slab object (no socket/file/dentry)",
			 n, sizeof(struct tcp_conn), (double)(b->st->ehash.mask + 1) * sizeof(void *) / n);
		emit("bytes per ESTABLISHED connection (accept queue)", (double)(h1 - h0) / n, "TCP", 1024, note);

		/* accept them all: each gets a socket and a descriptor slot */
		for (uint32_t i = 0; i < n; i++) {
			int fd = tide_accept(b->st, b->lfd, NULL, NULL, 0);
			if (fd < 0) {
				fprintf(stderr, "memory: accept %u failed\n", i);
				return 1;
			}
		}
		size_t h2 = heap_used();
		snprintf(note, sizeof(note),
			 "heap growth / %u connections after accept(): connection + struct tide_sock + "
			 "descriptor table slot; no data (no rings)", n);
		emit("bytes per ESTABLISHED connection (accepted, with socket)", (double)(h2 - h0) / n, "TCP",
		     1024, note);
		bconn_free(b);
	}

	/* TIME_WAIT */
	{
		struct bconn_ctx *b = bconn_new(n);
		size_t h0 = heap_used();
		double t0 = bench_now();
		for (uint32_t i = 0; i < n; i++)
			bconn_time_wait(b, i);
		double t1 = bench_now();
		size_t h1 = heap_used();
		fprintf(stderr, "memory: %u TIME_WAIT in %.2f s (tw_count %u), heap +%zu B\n", n, t1 - t0,
			b->st->tw_count, h1 - h0);
		if (b->st->tw_count != n)
			fprintf(stderr, "memory: WARNING tw_count %u != %u\n", b->st->tw_count, n);
		{
			void *p = malloc(sizeof(struct tcp_tw));
			size_t chunk = malloc_usable_size(p) + sizeof(size_t);
			free(p);
			double eh = (double)(b->st->ehash.mask + 1) * sizeof(void *) / n;
			snprintf(note, sizeof(note),
				 "heap growth / %u TIME_WAIT records (tw_count %u) = %zu B malloc chunk per %zu B record "
				 "(%zu B malloc overhead) + %.1f B ehash bucket slots; no timer heap entry (FIFO). "
				 "Without malloc overhead (a pool allocator) it would be %.1f B, %s",
				 n, b->st->tw_count, chunk, sizeof(struct tcp_tw), chunk - sizeof(struct tcp_tw), eh,
				 sizeof(struct tcp_tw) + eh,
				 sizeof(struct tcp_tw) + eh <= 64 ? "within the target" :
				 "still over the target because of the ehash slot");
		}
		emit("bytes per TIME_WAIT record", (double)(h1 - h0) / n, "tw_sock_TCP", 64, note);
		bconn_free(b);
	}

	/* SYN_RECV */
	{
		struct bconn_ctx *b = bconn_new(n);
		size_t h0 = heap_used();
		double t0 = bench_now();
		for (uint32_t i = 0; i < n; i++)
			bconn_syn(b, i);
		double t1 = bench_now();
		size_t h1 = heap_used();
		fprintf(stderr, "memory: %u SYN_RECV in %.2f s (syn queue %u), heap +%zu B\n", n, t1 - t0,
			b->lsk->syn_len, h1 - h0);
		if (b->lsk->syn_len != n)
			fprintf(stderr, "memory: WARNING syn_len %u != %u\n", b->lsk->syn_len, n);
		void *p = calloc(1, sizeof(struct tcp_req));
		size_t chunk = malloc_usable_size(p) + sizeof(size_t);
		free(p);
		double eh = (double)(b->st->ehash.mask + 1) * sizeof(void *) / n;
		double hp = (double)b->st->timers.cap * sizeof(void *) / n;
		snprintf(note, sizeof(note),
			 "heap growth / %u half-open requests (syncookies 0; SYN queue %u) = %zu B malloc chunk per "
			 "%zu B record (%zu B malloc overhead) + %.1f B ehash bucket slots + %.1f B timer heap slots. "
			 "Without malloc overhead (a pool allocator) it would be %.1f B, %s",
			 n, b->lsk->syn_len, chunk, sizeof(struct tcp_req), chunk - sizeof(struct tcp_req), eh, hp,
			 sizeof(struct tcp_req) + eh + hp,
			 sizeof(struct tcp_req) + eh + hp <= 128 ? "within the target" :
			 "still over the target because of the table slots");
		emit("bytes per SYN_RECV request", (double)(h1 - h0) / n, "request_sock_TCP", 128, note);
		bconn_free(b);
	}
	return 0;
}
