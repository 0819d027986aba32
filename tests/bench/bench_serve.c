/*
 * bench_serve.c — `colbundle serve` under load (`make bench`).
 *
 *   bench_serve                 runs tests/bench/serve-wrk.sh: wrk at 64
 *                               connections against `tcb` and `pckcert`,
 *                               beside the baseline below
 *   bench_serve --static FILE PORT_FILE [THREADS]
 *                               the baseline: the least a libmicrohttpd
 *                               server can do per request (one file's bytes
 *                               from memory), with the daemon configuration
 *                               of `colbundle serve` (internal epoll thread
 *                               pool, the same connection options)
 */
#include <signal.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "util/util.h"

#if MHD_VERSION < 0x00097002
typedef int mhd_ret;
#else
typedef enum MHD_Result mhd_ret;
#endif

static uint8_t *g_body;
static size_t g_len;

static mhd_ret on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			  const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	static int seen;
	if (*req_cls == NULL) {
		*req_cls = &seen;
		return MHD_YES;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(g_len, g_body, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	mhd_ret ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static int run_bench(const char *self)
{
	const char *top = getenv("COLB_TOP");
	char script[4096], me[4096];
	snprintf(script, sizeof script, "%s/tests/bench/serve-wrk.sh", top && *top ? top : ".");
	if (!realpath(self, me))
		snprintf(me, sizeof me, "%s", self);
	setenv("BENCH_SERVE_STATIC", me, 1);
	execl("/bin/sh", "sh", script, (char *)NULL);
	fprintf(stderr, "bench_serve: cannot run %s\n", script);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--static") != 0)
		return run_bench(argv[0]);
	argc--;
	argv++;
	if (argc < 3) {
		fprintf(stderr, "usage: bench_serve --static FILE PORT_FILE [THREADS]\n");
		return 2;
	}
	char why[256];
	if (colb_read_file(argv[1], 64u << 20, &g_body, &g_len, why, sizeof why) != COLB_OK) {
		fprintf(stderr, "bench_serve: %s\n", why);
		return 1;
	}
	unsigned threads = argc > 3 ? (unsigned)atoi(argv[3]) : 2;
	/* the daemon's threads inherit the mask: the signals come to sigwait */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0,
						NULL, NULL, on_request, NULL, MHD_OPTION_THREAD_POOL_SIZE, threads,
						MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
						MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "bench_serve: cannot listen\n");
		return 1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	char port[16];
	int n = snprintf(port, sizeof port, "%u\n", di ? di->port : 0);
	if (colb_write_file_atomic(argv[2], port, (size_t)n, 0644, why, sizeof why) != COLB_OK) {
		fprintf(stderr, "bench_serve: %s\n", why);
		return 1;
	}
	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	free(g_body);
	return 0;
}
