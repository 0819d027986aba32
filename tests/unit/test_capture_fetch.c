/*
 * test_capture_fetch.c — the capture's HTTP engine against colb-mock:
 * retries, Retry-After, resets, truncated bodies, 404s, concurrency bounds,
 * pacing, the API key header and body limits.
 */
#include "support.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "capture/fetch.h"

static pid_t mock_pid;
static unsigned mock_port;
static char base[64];

static int mock_start(void **state)
{
	(void)state;
	const char *dir = t_scratch();
	char root[512], portf[512], mock[512];
	snprintf(root, sizeof root, "%s/root", dir);
	snprintf(portf, sizeof portf, "%s/port", dir);
	snprintf(mock, sizeof mock, "%s/colb-mock", t_build_dir());
	if (t_sh("mkdir -p '%s/amd/Milan' && cp '%s/amd/milan/cert_chain.pem' '%s/amd/Milan/'", root,
		 t_real_dir(), root) != 0)
		return -1;
	unlink(portf);
	mock_pid = fork();
	if (mock_pid == 0) {
		execl(mock, mock, "--root", root, "--port-file", portf, "--lifetime", "120", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(portf, "r");
		if (f) {
			int ok = fscanf(f, "%u", &mock_port) == 1;
			fclose(f);
			if (ok) {
				snprintf(base, sizeof base, "http://127.0.0.1:%u", mock_port);
				return 0;
			}
		}
		usleep(20000);
	}
	return -1;
}

static int mock_stop(void **state)
{
	(void)state;
	if (mock_pid > 0) {
		kill(mock_pid, SIGTERM);
		waitpid(mock_pid, NULL, 0);
	}
	return 0;
}

static size_t sink(char *p, size_t s, size_t n, void *a)
{
	(void)p, (void)a;
	return s * n;
}

/* Calls a control endpoint of the mock; fails the test if it refuses. */
static void mock_ctl(const char *path_and_query)
{
	char url[512];
	snprintf(url, sizeof url, "%s%s", base, path_and_query);
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	long code = 0;
	assert_int_equal(curl_easy_perform(e), CURLE_OK);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	assert_int_equal(code, 200);
}

static int reset_faults(void **state)
{
	(void)state;
	mock_ctl("/_mock/clear");
	return 0;
}

typedef struct got {
	long status;
	unsigned attempts;
	size_t len;
	char error[256];
	char headers[4096];
	int calls;
	int retry_first; /* answer CAP_RETRY this many times */
} got;

static cap_verdict on_done(cap_fetch *f, const cap_reply *r, void *arg)
{
	(void)f;
	got *g = arg;
	g->calls++;
	if (g->retry_first > 0 && !r->final) {
		g->retry_first--;
		return CAP_RETRY;
	}
	g->status = r->status;
	g->attempts = r->attempts;
	g->len = r->len;
	snprintf(g->error, sizeof g->error, "%s", r->error);
	snprintf(g->headers, sizeof g->headers, "%s", r->headers);
	return CAP_ACCEPT;
}

static cap_fetch *engine(unsigned attempts)
{
	cap_fetch_cfg cfg = { .max_attempts = attempts, .backoff_ms = 20, .backoff_max_ms = 100,
			      .timeout_s = 10 };
	cap_fetch *f = cap_fetch_new(&cfg);
	assert_non_null(f);
	return f;
}

static got fetch_one(unsigned attempts, const char *path, uint64_t *elapsed_ms)
{
	got g = { 0 };
	char url[512];
	snprintf(url, sizeof url, "%s%s", base, path);
	cap_fetch *f = engine(attempts);
	int lane = cap_fetch_lane(f, "test", 4, 0, NULL);
	assert_true(lane >= 0);
	assert_int_equal(cap_fetch_get(f, lane, url, on_done, &g), COLB_OK);
	uint64_t t0 = cap_now_ms();
	assert_int_equal(cap_fetch_run(f, NULL, 0, NULL), COLB_OK);
	if (elapsed_ms)
		*elapsed_ms = cap_now_ms() - t0;
	cap_fetch_free(f);
	return g;
}

static size_t chain_len(void)
{
	size_t n;
	free(t_read(t_path(t_real_dir(), "amd/milan/cert_chain.pem"), &n));
	return n;
}

static void test_fetch_serves_body_and_headers(void **state)
{
	(void)state;
	got g = fetch_one(3, "/vcek/v1/Milan/cert_chain", NULL);
	assert_int_equal(g.status, 200);
	assert_int_equal(g.attempts, 1);
	assert_int_equal(g.len, chain_len());
	assert_non_null(strstr(g.headers, "Request-ID: "));
}

static void test_fetch_retries_500_then_succeeds(void **state)
{
	(void)state;
	mock_ctl("/_mock/fault?spec=500:cert_chain:2");
	got g = fetch_one(5, "/vcek/v1/Milan/cert_chain", NULL);
	assert_int_equal(g.status, 200);
	assert_int_equal(g.attempts, 3);
	assert_int_equal(g.len, chain_len());
}

static void test_fetch_gives_up_after_max_attempts(void **state)
{
	(void)state;
	mock_ctl("/_mock/fault?spec=503:cert_chain");
	got g = fetch_one(3, "/vcek/v1/Milan/cert_chain", NULL);
	assert_int_equal(g.status, 503);
	assert_int_equal(g.attempts, 3);
	assert_string_equal(g.error, "HTTP 503");
	assert_int_equal(g.calls, 1);
}

static void test_fetch_honours_retry_after(void **state)
{
	(void)state;
	mock_ctl("/_mock/fault?spec=429:cert_chain:1:1");
	uint64_t ms;
	got g = fetch_one(5, "/vcek/v1/Milan/cert_chain", &ms);
	assert_int_equal(g.status, 200);
	assert_int_equal(g.attempts, 2);
	/* the engine's own backoff is 20 ms; only Retry-After explains a second */
	if (ms < 1000)
		fail_msg("expected the retry after >= 1000 ms (Retry-After: 1), got %llu ms",
			 (unsigned long long)ms);
}

static void test_fetch_retries_reset_connection(void **state)
{
	(void)state;
	mock_ctl("/_mock/fault?spec=reset:cert_chain:2");
	got g = fetch_one(5, "/vcek/v1/Milan/cert_chain", NULL);
	assert_int_equal(g.status, 200);
	assert_int_equal(g.attempts, 3);
	assert_int_equal(g.len, chain_len());
}

static void test_fetch_refuses_and_retries_truncated_body(void **state)
{
	(void)state;
	mock_ctl("/_mock/fault?spec=truncate:cert_chain:1");
	got g = fetch_one(5, "/vcek/v1/Milan/cert_chain", NULL);
	assert_int_equal(g.status, 200);
	assert_int_equal(g.attempts, 2);
	assert_int_equal(g.len, chain_len());
	assert_int_equal(g.calls, 1); /* the cut answer never reached the caller */
}

static void test_fetch_reports_404_without_retrying(void **state)
{
	(void)state;
	got g = fetch_one(5, "/vcek/v1/Genoa/cert_chain", NULL);
	assert_int_equal(g.status, 404);
	assert_int_equal(g.attempts, 1);
	assert_string_equal(g.error, "");
}

static void test_fetch_retries_when_caller_rejects_body(void **state)
{
	(void)state;
	got g = { .retry_first = 2 };
	char url[512];
	snprintf(url, sizeof url, "%s/vcek/v1/Milan/cert_chain", base);
	cap_fetch *f = engine(5);
	int lane = cap_fetch_lane(f, "test", 1, 0, NULL);
	assert_int_equal(cap_fetch_get(f, lane, url, on_done, &g), COLB_OK);
	assert_int_equal(cap_fetch_run(f, NULL, 0, NULL), COLB_OK);
	cap_fetch_free(f);
	assert_int_equal(g.calls, 3);
	assert_int_equal(g.attempts, 3);
	assert_int_equal(g.status, 200);
}

/* n requests on one lane, each delayed by the mock; returns the wall time. */
static uint64_t run_many(unsigned n, unsigned conns, unsigned interval_ms, const char *header)
{
	got *g = calloc(n, sizeof *g);
	char url[512];
	snprintf(url, sizeof url, "%s/vcek/v1/Milan/cert_chain", base);
	cap_fetch *f = engine(3);
	int lane = cap_fetch_lane(f, "test", conns, interval_ms, header);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(cap_fetch_get(f, lane, url, on_done, &g[i]), COLB_OK);
	uint64_t t0 = cap_now_ms();
	assert_int_equal(cap_fetch_run(f, NULL, 0, NULL), COLB_OK);
	uint64_t ms = cap_now_ms() - t0;
	cap_fetch_stats st;
	cap_fetch_stats_get(f, &st);
	assert_int_equal(st.done, n);
	cap_fetch_free(f);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(g[i].status, 200);
	free(g);
	return ms;
}

static void test_fetch_bounds_concurrency_per_lane(void **state)
{
	(void)state;
	mock_ctl("/_mock/fault?spec=delay:cert_chain::100");
	uint64_t serial = run_many(8, 2, 0, NULL);   /* 4 rounds of 100 ms */
	uint64_t wide = run_many(8, 8, 0, NULL);     /* 1 round */
	if (serial < 400)
		fail_msg("2 connections for 8 x 100 ms requests: expected >= 400 ms, got %llu",
			 (unsigned long long)serial);
	if (wide >= 350)
		fail_msg("8 connections for 8 x 100 ms requests: expected < 350 ms, got %llu",
			 (unsigned long long)wide);
}

static void test_fetch_paces_lane(void **state)
{
	(void)state;
	uint64_t ms = run_many(4, 4, 150, NULL);
	if (ms < 450)
		fail_msg("4 requests paced 150 ms apart: expected >= 450 ms, got %llu",
			 (unsigned long long)ms);
}

static unsigned long stat_with_key(void)
{
	char url[256];
	snprintf(url, sizeof url, "%s/_mock/stats", base);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "curl -s '%s'", url);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char buf[256] = { 0 };
	size_t n = fread(buf, 1, sizeof buf - 1, p);
	pclose(p);
	buf[n] = 0;
	const char *k = strstr(buf, "\"with_key\":");
	assert_non_null(k);
	return strtoul(k + 11, NULL, 10);
}

static void test_fetch_sends_lane_header(void **state)
{
	(void)state;
	unsigned long before = stat_with_key();
	run_many(3, 2, 0, "Ocp-Apim-Subscription-Key: 0123456789abcdef");
	assert_int_equal(stat_with_key() - before, 3);
	run_many(2, 2, 0, NULL);
	assert_int_equal(stat_with_key() - before, 3);
}

static void test_fetch_refuses_oversized_body(void **state)
{
	(void)state;
	got g = { 0 };
	char url[512];
	snprintf(url, sizeof url, "%s/vcek/v1/Milan/cert_chain", base);
	cap_fetch_cfg cfg = { .max_attempts = 3, .backoff_ms = 10, .max_body = 100 };
	cap_fetch *f = cap_fetch_new(&cfg);
	int lane = cap_fetch_lane(f, "test", 1, 0, NULL);
	assert_int_equal(cap_fetch_get(f, lane, url, on_done, &g), COLB_OK);
	assert_int_equal(cap_fetch_run(f, NULL, 0, NULL), COLB_OK);
	cap_fetch_free(f);
	assert_int_equal(g.attempts, 1);
	assert_non_null(strstr(g.error, "limit"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_fetch_serves_body_and_headers, reset_faults),
		cmocka_unit_test_setup(test_fetch_retries_500_then_succeeds, reset_faults),
		cmocka_unit_test_setup(test_fetch_gives_up_after_max_attempts, reset_faults),
		cmocka_unit_test_setup(test_fetch_honours_retry_after, reset_faults),
		cmocka_unit_test_setup(test_fetch_retries_reset_connection, reset_faults),
		cmocka_unit_test_setup(test_fetch_refuses_and_retries_truncated_body, reset_faults),
		cmocka_unit_test_setup(test_fetch_reports_404_without_retrying, reset_faults),
		cmocka_unit_test_setup(test_fetch_retries_when_caller_rejects_body, reset_faults),
		cmocka_unit_test_setup(test_fetch_bounds_concurrency_per_lane, reset_faults),
		cmocka_unit_test_setup(test_fetch_paces_lane, reset_faults),
		cmocka_unit_test_setup(test_fetch_sends_lane_header, reset_faults),
		cmocka_unit_test_setup(test_fetch_refuses_oversized_body, reset_faults),
	};
	return cmocka_run_group_tests(tests, mock_start, mock_stop);
}
