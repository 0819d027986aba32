/*
 * common.c — the helpers of common.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "bundle/conf.h"
#include "cli/common.h"
#include "util/util.h"

#define PASSWORD_MAX 1024

bool cli_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0)
		return false;
	if (a[n] == '=') {
		*val = a + n + 1;
		return true;
	}
	if (a[n] != 0)
		return false;
	if (*i + 1 >= argc) {
		cli_err(cmd, "%s needs a value", name);
		*val = NULL;
		return true;
	}
	*val = argv[++*i];
	return true;
}

static int push(const char *cmd, const char **list, size_t *n, const char *v, const char *name)
{
	if (*n >= CLI_MAX_LIST) {
		cli_err(cmd, "too many %s options", name);
		return -1;
	}
	list[(*n)++] = v;
	return 1;
}

int cli_opt_table(const char *cmd, int argc, char **argv, int *i, const cli_opt_field *t, size_t n,
		  void *base)
{
	const char *v;
	for (size_t k = 0; k < n; k++) {
		if (cli_opt(cmd, argc, argv, i, t[k].name, &v)) {
			if (!v)
				return -1;
			*(const char **)((char *)base + t[k].off) = v;
			return 1;
		}
	}
	return 0;
}

bool cli_positional(const char *cmd, const char *arg, ...)
{
	va_list ap;
	const char **slot = NULL;
	va_start(ap, arg);
	if (arg[0] != '-')
		while ((slot = va_arg(ap, const char **)) && *slot)
			;
	va_end(ap);
	if (!slot) {
		cli_err(cmd, "unexpected argument '%s' (see --help)", arg);
		return false;
	}
	*slot = arg;
	return true;
}

int cli_common_arg(cli_common *c, const char *cmd, int argc, char **argv, int *i)
{
	const char *v;
	if (!strcmp(argv[*i], "--allow-expired")) {
		c->allow_expired = true;
		return 1;
	}
	if (!strcmp(argv[*i], "--json")) {
		c->json = true;
		return 1;
	}
	if (cli_opt(cmd, argc, argv, i, "--trust", &v))
		return v ? push(cmd, c->trust, &c->ntrust, v, "--trust") : -1;
	if (cli_opt(cmd, argc, argv, i, "--intel-root", &v))
		return v ? push(cmd, c->intel_root, &c->nintel, v, "--intel-root") : -1;
	if (cli_opt(cmd, argc, argv, i, "--amd-ark", &v))
		return v ? push(cmd, c->amd_ark, &c->namd, v, "--amd-ark") : -1;
	if (cli_opt(cmd, argc, argv, i, "--threshold", &v)) {
		uint64_t k;
		if (!v || !colb_parse_u64(v, &k) || k == 0 || k > 64) {
			if (v)
				cli_err(cmd, "--threshold must be 1 to 64");
			return -1;
		}
		c->threshold = (unsigned)k;
		return 1;
	}
	if (cli_opt(cmd, argc, argv, i, "--at", &v)) {
		time_t t;
		if (!v || !cli_parse_time(v, &t)) {
			if (v)
				cli_err(cmd, "--at: '%s' is not an RFC 3339 UTC time or epoch seconds", v);
			return -1;
		}
		c->at = v;
		return 1;
	}
	if (cli_opt(cmd, argc, argv, i, "--state", &v)) {
		if (!v)
			return -1;
		c->state = v;
		return 1;
	}
	return 0;
}

bool cli_parse_time(const char *s, time_t *out)
{
	uint64_t n;
	if (colb_parse_u64(s, &n) && n < (1ull << 40)) {
		*out = (time_t)n;
		return true;
	}
	return colb_time_parse(s, out);
}

static int add_root_file(const char *cmd, colb_trust *t, const char *path, bool amd)
{
	uint8_t *der = NULL;
	size_t len = 0;
	char why[512];
	colb_err rc = colb_read_file(path, 1u << 20, &der, &len, why, sizeof why);
	if (rc) {
		cli_err(cmd, "%s", why);
		return cli_exit_for(rc);
	}
	rc = amd ? colb_trust_add_amd_ark(t, der, len) : colb_trust_add_intel_root(t, der, len);
	free(der);
	if (rc) {
		cli_err(cmd, "%s: %s", path, colb_strerror(rc));
		return cli_exit_for(rc);
	}
	return EXIT_OK;
}

static int add_key(const char *cmd, colb_trust *t, const char *path)
{
	char why[512];
	colb_err rc = colb_trust_add_pubkey_file(t, path, why, sizeof why);
	if (rc) {
		cli_err(cmd, "trust: %s", why);
		return rc == COLB_ERR_KEY ? EXIT_USAGE : cli_exit_for(rc);
	}
	return EXIT_OK;
}

int cli_trust_setup(const cli_common *c, const char *cmd, bool keys_required, cli_trust *out)
{
	memset(out, 0, sizeof *out);
	colb_conf_init(&out->conf);
	char why[512];
	int ex = EXIT_OK;
	const char *conf_path = getenv("COLBUNDLE_CONF");
	const char *env_trust = getenv("COLBUNDLE_TRUST");
	if (conf_path && *conf_path && colb_conf_load(conf_path, &out->conf, why, sizeof why) != COLB_OK) {
		cli_err(cmd, "%s", why);
		colb_conf_free(&out->conf);
		return EXIT_USAGE;
	}
	const colb_conf *conf = &out->conf;
	out->trust = colb_trust_new();
	out->opts = colb_opts_new();
	if (!out->trust || !out->opts) {
		cli_err(cmd, "out of memory");
		ex = EXIT_IOERR;
		goto done;
	}
	if (c->ntrust) {
		for (size_t i = 0; i < c->ntrust && !ex; i++)
			ex = add_key(cmd, out->trust, c->trust[i]);
	} else if (env_trust && *env_trust) {
		char *copy = strdup(env_trust), *save = NULL;
		for (char *p = copy ? strtok_r(copy, ":", &save) : NULL; p && !ex; p = strtok_r(NULL, ":", &save))
			ex = add_key(cmd, out->trust, p);
		free(copy);
	} else if (conf->ntrust) {
		for (size_t i = 0; i < conf->ntrust && !ex; i++)
			ex = add_key(cmd, out->trust, conf->trust[i]);
	} else if (keys_required) {
		cli_err(cmd, "no trusted publisher key: give --trust PUB, set COLBUNDLE_TRUST, "
			     "or name a configuration file in COLBUNDLE_CONF");
		ex = EXIT_USAGE;
	}
	if (ex)
		goto done;
	unsigned k = c->threshold ? c->threshold : conf->threshold ? conf->threshold : 1;
	if (colb_trust_set_threshold(out->trust, k) != COLB_OK) {
		cli_err(cmd, "bad threshold %u", k);
		ex = EXIT_USAGE;
		goto done;
	}
	for (size_t i = 0; i < conf->nintel_root && !ex; i++)
		ex = add_root_file(cmd, out->trust, conf->intel_root[i], false);
	for (size_t i = 0; i < conf->namd_ark && !ex; i++)
		ex = add_root_file(cmd, out->trust, conf->amd_ark[i], true);
	for (size_t i = 0; i < c->nintel && !ex; i++)
		ex = add_root_file(cmd, out->trust, c->intel_root[i], false);
	for (size_t i = 0; i < c->namd && !ex; i++)
		ex = add_root_file(cmd, out->trust, c->amd_ark[i], true);
	if (ex)
		goto done;
	colb_opts_set_trust(out->opts, out->trust);
	if (c->at)
		cli_parse_time(c->at, &out->at);
	colb_opts_set_time(out->opts, out->at);
	out->allow_expired = c->allow_expired || conf->allow_expired == 1;
	colb_opts_set_allow_expired(out->opts, out->allow_expired);
	if (conf->freshness >= 0)
		colb_opts_set_freshness(out->opts, (colb_freshness)conf->freshness);
done:
	if (ex)
		cli_trust_free(out);
	return ex;
}

void cli_trust_free(cli_trust *t)
{
	colb_opts_free(t->opts);
	colb_trust_free(t->trust);
	colb_conf_free(&t->conf);
	t->opts = NULL;
	t->trust = NULL;
}

int cli_open_bundle(const cli_common *c, const char *cmd, const char *path, cli_bundle *out)
{
	memset(out, 0, sizeof *out);
	cli_trust ts;
	int ex = cli_trust_setup(c, cmd, true, &ts);
	if (ex)
		return ex;
	/* The bundle handle keeps the trust and options; the configuration is
	 * only needed here. */
	out->trust = ts.trust;
	out->opts = ts.opts;
	time_t at = ts.at;
	bool allow_expired = ts.allow_expired;
	const char *state = c->state ? c->state : ts.conf.state;
	if (state && colb_opts_set_state_file(out->opts, state) != COLB_OK) {
		ex = EXIT_IOERR;
		goto done;
	}
	if (!path)
		path = ts.conf.bundle;
	if (!path) {
		cli_err(cmd, "no bundle given (and no 'bundle' in the configuration file)");
		ex = EXIT_USAGE;
		goto done;
	}
	snprintf(out->pathbuf, sizeof out->pathbuf, "%s", path);
	out->path = out->pathbuf;
	out->b = colb_bundle_new(out->opts);
	if (!out->b) {
		ex = EXIT_IOERR;
		goto done;
	}
	colb_err rc = colb_bundle_open_file(out->b, path);
	out->err = rc;
	if (rc) {
		if (!c->json)
			cli_err(cmd, "%s: REFUSED: %s: %s", path, colb_strerror(rc), colb_bundle_error(out->b));
		ex = cli_exit_for(rc);
		goto done;
	}
	time_t now = at ? at : time(NULL);
	if (allow_expired && now >= colb_bundle_expires(out->b)) {
		char when[21];
		colb_time_format(colb_bundle_expires(out->b), when);
		fprintf(stderr, "colbundle %s: warning: %s expired at %s; accepted because expired "
				"bundles are allowed (--allow-expired or allow_expired = yes)\n",
			cmd, path, when);
	}
done:
	colb_conf_free(&ts.conf);
	return ex;
}

void cli_close_bundle(cli_bundle *cb)
{
	colb_bundle_free(cb->b);
	colb_opts_free(cb->opts);
	colb_trust_free(cb->trust);
	memset(cb, 0, sizeof *cb);
}

/* ---- passwords and keys ------------------------------------------------------ */

void cli_password_free(char *pw)
{
	sodium_free(pw);
}

static int read_tty(const char *cmd, const char *prompt, char *buf, size_t cap)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		cli_err(cmd, "no terminal to ask for a password: use --password-file F or "
			     "COLBUNDLE_PASSWORD_FILE");
		return EXIT_USAGE;
	}
	struct termios old, quiet;
	bool restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= (tcflag_t)~(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	if (write(fd, prompt, strlen(prompt)) < 0) {
		/* the prompt is a courtesy */
	}
	size_t n = 0;
	char ch;
	while (n + 1 < cap && read(fd, &ch, 1) == 1 && ch != '\n')
		buf[n++] = ch;
	buf[n] = 0;
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* as above */
	}
	close(fd);
	return EXIT_OK;
}

int cli_read_password(const char *cmd, const char *password_file, bool confirm, char **out)
{
	*out = NULL;
	if (sodium_init() < 0)
		return EXIT_IOERR;
	char *pw = sodium_malloc(PASSWORD_MAX);
	if (!pw)
		return EXIT_IOERR;
	if (!password_file) {
		const char *e = getenv("COLBUNDLE_PASSWORD_FILE");
		password_file = e && *e ? e : NULL;
	}
	if (password_file) {
		uint8_t *data = NULL;
		size_t len = 0;
		char why[512];
		colb_err rc = colb_read_file(password_file, PASSWORD_MAX - 1, &data, &len, why, sizeof why);
		if (rc) {
			cli_err(cmd, "password file: %s", why);
			sodium_free(pw);
			return cli_exit_for(rc);
		}
		size_t n = 0;
		while (n < len && data[n] != '\n' && data[n] != '\r')
			n++;
		memcpy(pw, data, n);
		pw[n] = 0;
		sodium_memzero(data, len);
		free(data);
	} else {
		int ex = read_tty(cmd, "Password: ", pw, PASSWORD_MAX);
		if (!ex && confirm) {
			char *again = sodium_malloc(PASSWORD_MAX);
			if (!again) {
				sodium_free(pw);
				return EXIT_IOERR;
			}
			ex = read_tty(cmd, "Password (again): ", again, PASSWORD_MAX);
			if (!ex && strcmp(pw, again) != 0) {
				cli_err(cmd, "the passwords differ");
				ex = EXIT_USAGE;
			}
			sodium_free(again);
		}
		if (ex) {
			sodium_free(pw);
			return ex;
		}
	}
	if (!pw[0]) {
		cli_err(cmd, "empty password (use --no-password for an unencrypted key)");
		sodium_free(pw);
		return EXIT_USAGE;
	}
	*out = pw;
	return EXIT_OK;
}

int cli_load_key(const char *cmd, const char *path, const char *password_file, colb_seckey **out)
{
	char why[512];
	/* An unencrypted key needs no password; an encrypted one is refused
	 * without running Argon2, and then we ask. */
	colb_err rc = colb_seckey_load(path, NULL, out, why, sizeof why);
	if (rc == COLB_ERR_PASSWORD) {
		char *pw = NULL;
		int ex = cli_read_password(cmd, password_file, false, &pw);
		if (ex)
			return ex;
		rc = colb_seckey_load(path, pw, out, why, sizeof why);
		cli_password_free(pw);
	}
	if (rc) {
		cli_err(cmd, "%s", why);
		return rc == COLB_ERR_PASSWORD || rc == COLB_ERR_KEY ? EXIT_REFUSED : cli_exit_for(rc);
	}
	return EXIT_OK;
}

void cli_print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	if (s) {
		puts(s);
		free(s);
	}
}
