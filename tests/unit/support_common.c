/*
 * support_common.c — the helpers declared in support.h.
 */
#include "support.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char top[PATH_MAX], real[PATH_MAX], build[PATH_MAX], scratch[PATH_MAX];

const char *t_top_dir(void)
{
	if (!top[0]) {
		const char *e = getenv("COLB_TOP");
		if (e)
			snprintf(top, sizeof top, "%s", e);
		else if (!getcwd(top, sizeof top))
			snprintf(top, sizeof top, ".");
	}
	return top;
}

const char *t_real_dir(void)
{
	if (!real[0]) {
		const char *e = getenv("COLB_REAL");
		if (e)
			snprintf(real, sizeof real, "%s", e);
		else
			snprintf(real, sizeof real, "%s/tests/data/real", t_top_dir());
	}
	return real;
}

const char *t_build_dir(void)
{
	if (!build[0]) {
		const char *e = getenv("B");
		snprintf(build, sizeof build, "%s/%s", t_top_dir(), e ? e : "build");
	}
	return build;
}

static void rm_scratch(void)
{
	char cmd[PATH_MAX + 16];
	if (scratch[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", scratch);
	}
}

const char *t_scratch(void)
{
	if (!scratch[0]) {
		snprintf(scratch, sizeof scratch, "/tmp/colbunit.XXXXXX");
		if (!mkdtemp(scratch))
			fail_msg("mkdtemp failed");
		atexit(rm_scratch);
	}
	return scratch;
}

uint8_t *t_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *d = malloc((size_t)n + 1);
	assert_non_null(d);
	if (fread(d, 1, (size_t)n, f) != (size_t)n)
		fail_msg("short read on %s", path);
	fclose(f);
	d[n] = 0;
	if (len)
		*len = (size_t)n;
	return d;
}

const char *t_path(const char *a, const char *b)
{
	static char bufs[8][PATH_MAX];
	static int i;
	char *p = bufs[i++ & 7];
	snprintf(p, PATH_MAX, "%s/%s", a, b);
	return p;
}

int t_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}
