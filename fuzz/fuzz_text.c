/*
 * fuzz_text: the parsers of text a user writes.
 *
 * Input: a selector byte, then text (a NUL is added; NULs inside cut it
 * short, as a C string would).
 *   selector % 3 == 0: settings text (tide_settings_apply_text), then
 *     every line as "name value" for tide_settings_set / tide_settings_get;
 *   1: a tide-sim scenario (sim_parse), then, if it parses, each line as
 *     a --set override;
 *   2: the small parsers: times, state and errno names.
 * A failure must leave a message; a settings text that fails must change
 * nothing; a value written by tide_settings_get must read back the same.
 */
#include <tide/tide.h>
#include <tide/settings.h>
#include "scenario.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond)                                                                       \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "fuzz_text: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                            \
		}                                                                           \
	} while (0)

static void settings_text(const char *text)
{
	struct tide_settings s, before;
	char err[512];
	tide_settings_default(&s);
	before = s;
	err[0] = '\0';
	if (tide_settings_apply_text(&s, text, "fuzz", err, sizeof err) != 0) {
		REQUIRE(err[0] != '\0');
		REQUIRE(memcmp(&s, &before, sizeof s) == 0); /* all or nothing */
	}
	/* each line as "name value" */
	char *copy = strdup(text);
	REQUIRE(copy);
	for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		const char *value = "";
		if (sp) {
			*sp = '\0';
			value = sp + 1;
		}
		struct tide_settings t = s;
		err[0] = '\0';
		if (tide_settings_set(&t, line, value, err, sizeof err) != 0) {
			REQUIRE(err[0] != '\0');
			REQUIRE(memcmp(&t, &s, sizeof t) == 0);
			continue;
		}
		char out[128], out2[128];
		REQUIRE(tide_settings_get(&t, line, out, sizeof out, err, sizeof err) == 0);
		struct tide_settings u = t;
		REQUIRE(tide_settings_set(&u, line, out, err, sizeof err) == 0);
		REQUIRE(tide_settings_get(&u, line, out2, sizeof out2, err, sizeof err) == 0);
		REQUIRE(strcmp(out, out2) == 0 && memcmp(&t, &u, sizeof t) == 0);
	}
	free(copy);
}

static void scenario_text(const char *text)
{
	struct sim_scenario *sc = calloc(1, sizeof *sc);
	REQUIRE(sc);
	char err[512];
	err[0] = '\0';
	if (sim_parse(text, "fuzz.tsim", sc, err, sizeof err) != 0) {
		REQUIRE(err[0] != '\0');
		sim_scenario_free(sc);
		free(sc);
		return;
	}
	char *copy = strdup(text);
	REQUIRE(copy);
	for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		err[0] = '\0';
		if (sim_scenario_override(sc, line, err, sizeof err) != 0)
			REQUIRE(err[0] != '\0');
	}
	free(copy);
	sim_scenario_free(sc);
	free(sc);
}

static void small_parsers(const char *text)
{
	tide_time t;
	sim_parse_time(text, &t);
	sim_state_by_name(text);
	int e = sim_errno_by_name(text);
	char buf[32];
	sim_errno_name(e, buf, sizeof buf);
	REQUIRE(strlen(buf) < sizeof buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	char *text = malloc(size);
	REQUIRE(text);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0: settings_text(text); break;
	case 1: scenario_text(text); break;
	default: small_parsers(text); break;
	}
	free(text);
	return 0;
}
