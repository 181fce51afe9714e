/*
 * The pcap writer: the exact bytes of the file, and its error reporting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <tide/pcap.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4); /* the file is in the writer's (our) byte order */
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t *buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static void temp_path(char *buf, size_t cap)
{
	const char *dir = getenv("TMPDIR");
	snprintf(buf, cap, "%s/tide-test-pcap-%ld.pcap", dir && *dir ? dir : "/tmp",
		 (long)getpid());
}

static void test_three_packets(void **state)
{
	(void)state;
	char path[512];
	temp_path(path, sizeof(path));

	uint8_t p1[40], p2[1500], p3[1];
	for (size_t i = 0; i < sizeof(p1); i++)
		p1[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(p2); i++)
		p2[i] = (uint8_t)(i * 7);
	p3[0] = 0xee;
	const struct {
		tide_time t;
		const uint8_t *data;
		size_t len;
		uint32_t sec, usec;
	} pk[3] = {
		{ 0, p1, sizeof(p1), 0, 0 },
		{ TIDE_MS(1500) + 7, p2, sizeof(p2), 1, 500007 },
		{ TIDE_SEC(86400) + 999999, p3, sizeof(p3), 86400, 999999 },
	};

	tide_pcap *p = tide_pcap_open(path);
	assert_non_null(p);
	for (int i = 0; i < 3; i++)
		assert_int_equal(tide_pcap_write(p, pk[i].t, pk[i].data, pk[i].len), 0);
	assert_int_equal(tide_pcap_close(p), 0);

	size_t len;
	uint8_t *f = slurp(path, &len);
	assert_int_equal(len, 24 + 3 * 16 + 40 + 1500 + 1);

	assert_int_equal(rd32(f), 0xa1b2c3d4u);
	assert_int_equal(rd16(f + 4), 2);
	assert_int_equal(rd16(f + 6), 4);
	assert_int_equal(rd32(f + 8), 0);  /* thiszone */
	assert_int_equal(rd32(f + 12), 0); /* sigfigs */
	assert_int_equal(rd32(f + 16), 65535);
	assert_int_equal(rd32(f + 20), 101);

	size_t off = 24;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rd32(f + off), pk[i].sec);
		assert_int_equal(rd32(f + off + 4), pk[i].usec);
		assert_int_equal(rd32(f + off + 8), pk[i].len);
		assert_int_equal(rd32(f + off + 12), pk[i].len);
		off += 16;
		assert_memory_equal(f + off, pk[i].data, pk[i].len);
		off += pk[i].len;
	}
	free(f);

	/* tshark is optional: when present it must read the file. */
	if (system("command -v tshark >/dev/null 2>&1") == 0) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "tshark -r '%s' >/dev/null 2>&1", path);
		assert_int_equal(system(cmd), 0);
	}
	unlink(path);
}

static void test_empty_capture_is_just_the_header(void **state)
{
	(void)state;
	char path[512];
	temp_path(path, sizeof(path));
	tide_pcap *p = tide_pcap_open(path);
	assert_non_null(p);
	assert_int_equal(tide_pcap_close(p), 0);
	size_t len;
	uint8_t *f = slurp(path, &len);
	assert_int_equal(len, 24);
	free(f);

	/* Opening again truncates. */
	p = tide_pcap_open(path);
	assert_non_null(p);
	assert_int_equal(tide_pcap_write(p, 5, (const uint8_t *)"x", 1), 0);
	assert_int_equal(tide_pcap_close(p), 0);
	p = tide_pcap_open(path);
	assert_non_null(p);
	assert_int_equal(tide_pcap_close(p), 0);
	f = slurp(path, &len);
	assert_int_equal(len, 24);
	free(f);
	unlink(path);
}

static void test_unwritable_path(void **state)
{
	(void)state;
	errno = 0;
	assert_null(tide_pcap_open("/nonexistent-tide-dir/x.pcap"));
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_null(tide_pcap_open("/"));
	assert_true(errno != 0);
	errno = 0;
	assert_null(tide_pcap_open(NULL));
	assert_int_equal(errno, EINVAL);
}

static void test_full_device_fails_at_close_at_the_latest(void **state)
{
	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	tide_pcap *p = tide_pcap_open("/dev/full");
	if (!p) {
		/* The header was written through unbuffered: fine too. */
		assert_int_equal(errno, ENOSPC);
		return;
	}
	/* Writes are buffered, so the device's refusal may surface at any
	 * write, or at close: never silently. */
	uint8_t pkt[1500] = { 0 };
	int failed = 0;
	for (int i = 0; i < 100 && !failed; i++) {
		errno = 0;
		if (tide_pcap_write(p, (tide_time)i, pkt, sizeof(pkt)) < 0) {
			assert_int_equal(errno, ENOSPC);
			failed = 1;
		}
	}
	errno = 0;
	assert_int_equal(tide_pcap_close(p), -1);
	assert_int_equal(errno, ENOSPC);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	errno = 0;
	assert_int_equal(tide_pcap_write(NULL, 0, (const uint8_t *)"x", 1), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(tide_pcap_close(NULL), -1);
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_three_packets),
		cmocka_unit_test(test_empty_capture_is_just_the_header),
		cmocka_unit_test(test_unwritable_path),
		cmocka_unit_test(test_full_device_fails_at_close_at_the_latest),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
