/*
 * The command line and set-up shared by tide's programs (see common.h).
 */
#include "common.h"
#include "ctl.h"
#include <tide/settings.h>

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>

const char tide_app_common_help[] =
	"Device and stack (common to tide's programs):\n"
	"  --tun NAME           run on the TUN device NAME (IP packets; default: --tun tide0)\n"
	"  --tap NAME           run on the TAP device NAME (Ethernet, with ARP)\n"
	"  --addr A.B.C.D[/N]   the stack's IPv4 address and prefix length (required;\n"
	"                       default prefix 24)\n"
	"  --gw A.B.C.D         with --tap: next hop for destinations outside the prefix\n"
	"  --set KEY=VALUE      a stack setting by its sysctl name, for example\n"
	"                       --set net.ipv4.tcp_fin_timeout=5 (repeatable; `tide-settings`\n"
	"                       lists them all)\n"
	"  --settings FILE      settings from a file of 'name = value' lines\n"
	"  --quiet              no log lines on stderr\n"
	"  -h, --help           this help\n"
	"\n"
	"The device is created if it does not exist (root or CAP_NET_ADMIN) and goes\n"
	"away when the program ends unless made beforehand with `ip tuntap add`. The\n"
	"kernel's side of the link needs an address of the same subnet, for example:\n"
	"  ip addr add 198.18.0.1/24 dev tide0 && ip link set tide0 up\n"
	"\n"
	"The program's connections and counters are shown by tide-ss and tide-nstat,\n"
	"through its control socket $TIDE_RUN_DIR/PROGRAM.PID.sock (by default in\n"
	"/run/tide, or /tmp/tide-UID if that is not writable). SIGINT and SIGTERM stop\n"
	"the program cleanly.\n"
	"\n"
	"Exit status: 0 success, 1 runtime error (the device cannot be opened, ...),\n"
	"2 usage error (bad option, unknown setting or bad value).\n";

void tide_app_init(struct tide_app *app, const char *prog)
{
	memset(app, 0, sizeof(*app));
	app->prog = prog;
	app->kind = TIDE_NETDEV_TUN;
	app->ifname = "tide0";
	app->prefix_len = 24;
	app->sigfd = -1;
	tide_config_init(&app->cfg);
}

static void vmsg(struct tide_app *app, const char *fmt, va_list ap)
{
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "%s: %s\n", app->prog, buf);
}

void tide_app_usage_error(struct tide_app *app, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(app, fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help'.\n", app->prog);
	tide_app_finish(app);
	exit(2);
}

void tide_app_fatal(struct tide_app *app, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(app, fmt, ap);
	va_end(ap);
	tide_app_finish(app);
	exit(1);
}

void tide_app_log(struct tide_app *app, const char *fmt, ...)
{
	if (app->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vmsg(app, fmt, ap);
	va_end(ap);
}

bool tide_app_opt(struct tide_app *app, int argc, char **argv, int *i, const char *name,
		  const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0)
		return false;
	if (a[n] == '=') {
		*val = a + n + 1;
		return true;
	}
	if (a[n] != '\0')
		return false;
	if (*i + 1 >= argc)
		tide_app_usage_error(app, "%s needs a value", name);
	*val = argv[++*i];
	return true;
}

long tide_app_int(struct tide_app *app, const char *opt, const char *val, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(val, &end, 10);
	if (errno || end == val || *end || v < min || v > max)
		tide_app_usage_error(app, "%s: '%s' is not a number from %ld to %ld", opt, val, min, max);
	return v;
}

static uint32_t parse_ipv4(struct tide_app *app, const char *opt, const char *s)
{
	struct in_addr in;
	if (inet_pton(AF_INET, s, &in) != 1)
		tide_app_usage_error(app, "%s: '%s' is not an IPv4 address (A.B.C.D)", opt, s);
	return ntohl(in.s_addr);
}

static void parse_addr(struct tide_app *app, const char *val)
{
	char buf[64];
	if (strlen(val) >= sizeof(buf))
		tide_app_usage_error(app, "--addr: '%s' is not A.B.C.D[/PREFIX]", val);
	strcpy(buf, val);
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		app->prefix_len = (uint8_t)tide_app_int(app, "--addr prefix", slash + 1, 1, 32);
	}
	uint32_t a = parse_ipv4(app, "--addr", buf);
	if (a == 0 || a == 0xffffffffu || (a >> 28) >= 0xe || (a >> 24) == 127)
		tide_app_usage_error(app, "--addr: %s cannot be a host's address", buf);
	app->addr = a;
}

bool tide_app_common_option(struct tide_app *app, int argc, char **argv, int *i)
{
	const char *v;
	char err[512];
	if (tide_app_opt(app, argc, argv, i, "--tun", &v)) {
		app->kind = TIDE_NETDEV_TUN;
		app->ifname = v;
	} else if (tide_app_opt(app, argc, argv, i, "--tap", &v)) {
		app->kind = TIDE_NETDEV_TAP;
		app->ifname = v;
	} else if (tide_app_opt(app, argc, argv, i, "--addr", &v)) {
		parse_addr(app, v);
	} else if (tide_app_opt(app, argc, argv, i, "--gw", &v)) {
		app->gateway = parse_ipv4(app, "--gw", v);
	} else if (tide_app_opt(app, argc, argv, i, "--set", &v)) {
		const char *eq = strchr(v, '=');
		if (!eq || eq == v)
			tide_app_usage_error(app, "--set: '%s' is not KEY=VALUE", v);
		char key[256];
		size_t kl = (size_t)(eq - v);
		if (kl >= sizeof(key))
			tide_app_usage_error(app, "--set: unknown setting '%.*s'", (int)kl, v);
		memcpy(key, v, kl);
		key[kl] = '\0';
		while (kl && (key[kl - 1] == ' ' || key[kl - 1] == '\t'))
			key[--kl] = '\0';
		const char *value = eq + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		if (tide_settings_set(&app->cfg.settings, key, value, err, sizeof(err)) != 0)
			tide_app_usage_error(app, "--set: %s", err);
	} else if (tide_app_opt(app, argc, argv, i, "--settings", &v)) {
		if (tide_settings_load_file(&app->cfg.settings, v, err, sizeof(err)) != 0)
			tide_app_usage_error(app, "--settings: %s", err);
	} else if (!strcmp(argv[*i], "--quiet") || !strcmp(argv[*i], "-q")) {
		app->quiet = true;
	} else {
		return false;
	}
	return true;
}

static void on_signal(void *ctx, int fd, uint32_t events)
{
	struct tide_app *app = ctx;
	(void)events;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (!app->signo) {
			app->signo = (int)si.ssi_signo;
			tide_app_log(app, "%s: stopping", strsignal((int)si.ssi_signo));
		}
		tide_loop_stop(app->loop);
	}
}

void tide_app_start(struct tide_app *app)
{
	char err[512];
	if (!app->addr)
		tide_app_usage_error(app, "--addr A.B.C.D[/PREFIX] is required (the stack's address)");
	if (app->gateway && app->kind != TIDE_NETDEV_TAP)
		tide_app_usage_error(app, "--gw applies to --tap only (on TUN everything goes to the kernel)");
	if (app->gateway) {
		uint32_t mask = 0xffffffffu << (32 - app->prefix_len);
		if ((app->gateway & mask) != (app->addr & mask))
			tide_app_usage_error(app, "--gw: the next hop must be in the stack's subnet /%u",
					     app->prefix_len);
	}
	/* Signals become readable events of the loop: no handler runs in the
	 * middle of the stack's work, and SIGINT during set-up still stops the
	 * loop once it runs. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	/* tide never raises SIGPIPE, and a reader of our output that goes away
	 * must be an error to handle, not death */
	signal(SIGPIPE, SIG_IGN);
	app->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (app->sigfd < 0)
		tide_app_fatal(app, "signalfd: %s", strerror(errno));

	app->cfg.addr = app->addr;
	if (getrandom(&app->cfg.secret, sizeof(app->cfg.secret), 0) != (ssize_t)sizeof(app->cfg.secret))
		app->cfg.secret = (uint64_t)tide_loop_clock() ^ ((uint64_t)getpid() << 32);
	app->cfg.on_state = app->on_state;
	app->cfg.state_ctx = app->state_ctx;

	app->dev = tide_netdev_open(app->kind, app->ifname, NULL, err, sizeof(err));
	if (!app->dev)
		tide_app_fatal(app, "%s", err);
	app->loop = tide_loop_new(&app->cfg, app->dev, err, sizeof(err));
	if (!app->loop)
		tide_app_fatal(app, "%s", err);
	app->st = tide_loop_stack(app->loop);
	if (app->kind == TIDE_NETDEV_TAP)
		tide_loop_set_route(app->loop, app->prefix_len, app->gateway);
	if (tide_loop_add_fd(app->loop, app->sigfd, EPOLLIN, on_signal, app) != 0)
		tide_app_fatal(app, "cannot watch signals: %s", strerror(errno));
	app->ctl = tide_ctl_start(app->loop, app->prog, app->ifname, err, sizeof(err));
	if (!app->ctl)
		tide_app_fatal(app, "control socket: %s", err);
}

int tide_app_run(struct tide_app *app)
{
	if (tide_loop_run(app->loop) != 0) {
		fprintf(stderr, "%s: %s: %s\n", app->prog, app->ifname, strerror(errno));
		return 1;
	}
	return 0;
}

void tide_app_finish(struct tide_app *app)
{
	if (app->ctl) {
		tide_ctl_stop(app->ctl);
		app->ctl = NULL;
	}
	if (app->loop) {
		tide_loop_free(app->loop);
		app->loop = NULL;
		app->st = NULL;
	}
	if (app->dev) {
		tide_netdev_close(app->dev);
		app->dev = NULL;
	}
	if (app->sigfd >= 0) {
		close(app->sigfd);
		app->sigfd = -1;
	}
}

const char *tide_app_addr_str(const struct sockaddr_in *sin, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
	snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
	return buf;
}
