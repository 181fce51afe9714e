/*
 * tide-settings: shows tide's runtime settings and checks settings files.
 *
 *   tide-settings                 every setting with its default, sysctl style
 *   tide-settings --markdown      the README's table of settings
 *   tide-settings --check FILE    validates a settings file (exit 1 and a
 *                                 message naming the line if it is wrong)
 *   tide-settings FILE            the settings after FILE is applied
 */
#include <tide/settings.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: tide-settings [--markdown | --check FILE | FILE]\n"
		   "Without arguments, prints every setting with its default value.\n"
		   "--markdown      print the table of settings used in the README\n"
		   "--check FILE    check a settings file ('name = value' lines, # comments)\n"
		   "FILE            print the settings that result from FILE\n");
}

static void print_all(const struct tide_settings *s)
{
	size_t n;
	const struct tide_setting_desc *t = tide_settings_table(&n);
	for (size_t i = 0; i < n; i++) {
		char val[64];
		if (tide_settings_get(s, t[i].name, val, sizeof(val), NULL, 0) == 0)
			printf("%s = %s\n", t[i].name, val);
	}
}

static void print_markdown(void)
{
	size_t n;
	const struct tide_setting_desc *t = tide_settings_table(&n);
	printf("| setting | default | range | unit | Linux counterpart (its default) | what it does |\n");
	printf("|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < n; i++) {
		char def[64] = "", range[64];
		for (int j = 0; j < t[i].nvals; j++)
			snprintf(def + strlen(def), sizeof(def) - strlen(def), "%s%d", j ? " " : "", t[i].def[j]);
		snprintf(range, sizeof(range), "%d..%d", t[i].min, t[i].max);
		printf("| `%s` | %s | %s | %s | %s | %s |\n", t[i].name, def, range, t[i].unit,
		       t[i].linux, t[i].doc);
	}
}

int main(int argc, char **argv)
{
	struct tide_settings s;
	tide_settings_default(&s);
	if (argc == 1) {
		print_all(&s);
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--markdown")) {
		print_markdown();
		return 0;
	}
	const char *path = NULL;
	bool check = false;
	if (argc == 3 && !strcmp(argv[1], "--check")) {
		path = argv[2];
		check = true;
	} else if (argc == 2 && argv[1][0] != '-') {
		path = argv[1];
	} else {
		usage(stderr);
		return 2;
	}
	char err[512];
	if (tide_settings_load_file(&s, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "tide-settings: %s\n", err);
		return 1;
	}
	if (check)
		printf("%s: ok\n", path);
	else
		print_all(&s);
	return 0;
}
