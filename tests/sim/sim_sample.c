/*
 * Writes the sample model's JSON, SVG and pcap as PREFIX.json, PREFIX.svg
 * and PREFIX.pcap, for the tests that check them with outside tools
 * (xmllint, tshark) and for looking at them.
 */
#include "sample_model.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int write_to(const char *path, int (*fn)(const struct sim_model *, FILE *),
		    const struct sim_model *m)
{
	FILE *f = fopen(path, "w");
	if (!f || fn(m, f) < 0) {
		fprintf(stderr, "sim_sample: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 2 && !(argc == 3 && strcmp(argv[2], "zoo") == 0)) {
		fprintf(stderr, "usage: sim_sample PREFIX [zoo]\n");
		return 2;
	}
	struct sim_model m;
	char path[4096];
	int rc = 0;
	if (argc == 3)
		sample_zoo(&m);
	else
		sample_four_way_close(&m);
	snprintf(path, sizeof path, "%s.json", argv[1]);
	rc |= write_to(path, sim_write_json, &m);
	snprintf(path, sizeof path, "%s.svg", argv[1]);
	rc |= write_to(path, sim_write_svg, &m);
	snprintf(path, sizeof path, "%s.pcap", argv[1]);
	if (sim_write_pcap(&m, path) < 0) {
		fprintf(stderr, "sim_sample: %s: %s\n", path, strerror(errno));
		rc = -1;
	}
	sim_model_free(&m);
	return rc ? 1 : 0;
}
