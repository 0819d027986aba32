/*
 * fetch.h — the capture's HTTP engine: one libcurl multi handle driving many
 * requests at once, with connections reused, concurrency bounded per source
 * ("lane"), optional pacing per lane (AMD KDS throttles VCEK requests per
 * client address), retries with exponential backoff and jitter on 5xx,
 * timeouts, resets and truncated bodies, and HTTP 429 honouring Retry-After.
 *
 * Single-threaded: every callback runs on the thread that called
 * cap_fetch_run(), and may submit more requests.
 */
#ifndef COLB_CAPTURE_FETCH_H
#define COLB_CAPTURE_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

typedef struct cap_fetch cap_fetch;

typedef struct cap_fetch_cfg {
	unsigned max_attempts;   /* per request, all causes together (default 6) */
	unsigned backoff_ms;     /* first retry delay; doubles each time (default 500) */
	unsigned backoff_max_ms; /* cap of the delay (default 60000) */
	unsigned max_retry_after_s; /* a longer Retry-After fails the request (default 900) */
	unsigned timeout_s;      /* whole-transfer timeout (default 60) */
	size_t max_body;         /* bytes (default 16 MiB) */
} cap_fetch_cfg;

/* One HTTP answer as the engine hands it to the caller. */
typedef struct cap_reply {
	long status;             /* HTTP status, 0 when no answer came */
	const uint8_t *body;     /* NUL-terminated one past len */
	size_t len;
	const char *headers;     /* the final answer's header lines, CRLF stripped to LF */
	const char *request_id;  /* the Request-ID header, "" when absent */
	unsigned attempts;
	const char *error;       /* why the request failed, "" on a usable answer */
	bool final;              /* no retry left: this verdict ends the request */
	char *note;              /* the callback may say here why it wants a retry */
	size_t note_len;
} cap_reply;

/* What the caller makes of an answer. */
typedef enum cap_verdict {
	CAP_ACCEPT = 0,          /* done with it */
	CAP_RETRY = 1            /* the body is unusable (e.g. cut short): try again */
} cap_verdict;

/* Called with a request's answer: a 2xx/3xx/4xx (error ""), or the last
 * failure when retries ran out (status 0 or 5xx/429, error set). Returning
 * CAP_RETRY asks for another try (backoff as for a reset) unless the reply
 * is final; the request ends when the callback accepts or the reply is
 * final, so record results only then. */
typedef cap_verdict (*cap_done_fn)(cap_fetch *f, const cap_reply *r, void *arg);

/* Progress hook, called at most every interval while requests run. */
typedef void (*cap_tick_fn)(cap_fetch *f, void *arg);

cap_fetch *cap_fetch_new(const cap_fetch_cfg *cfg);
void cap_fetch_free(cap_fetch *f);

/* A lane: requests to one source. At most max_conns run at once; with
 * interval_ms > 0 two requests never start closer together than that.
 * extra_header ("Name: value", may be NULL) is sent with every request of
 * the lane and never logged (the PCS API key). Returns the lane id, < 0 on
 * failure. */
int cap_fetch_lane(cap_fetch *f, const char *name, unsigned max_conns, unsigned interval_ms,
		   const char *extra_header);

/* Called when a request is put back for another try: its arg, why, and
 * the delay before the next attempt. For logs. */
typedef void (*cap_retry_fn)(void *req_arg, const char *why, unsigned delay_ms, void *hook_arg);
void cap_fetch_on_retry(cap_fetch *f, cap_retry_fn fn, void *hook_arg);

/* Queues a GET. url is copied. */
colb_err cap_fetch_get(cap_fetch *f, int lane, const char *url, cap_done_fn done, void *arg);

/* Runs until every queued request (including those queued by callbacks)
 * has completed. */
colb_err cap_fetch_run(cap_fetch *f, cap_tick_fn tick, unsigned tick_ms, void *tick_arg);

/* Counters, for progress and the summary. */
typedef struct cap_fetch_stats {
	uint64_t queued, running, done, retries, rate_limited, bytes;
} cap_fetch_stats;
void cap_fetch_stats_get(const cap_fetch *f, cap_fetch_stats *out);

/* The value of header `name` (case-insensitive) in LF-separated header
 * lines, "" when absent. */
void cap_header_value(const char *headers, const char *name, char *out, size_t outlen);

/* Milliseconds on a monotonic clock. */
uint64_t cap_now_ms(void);

#endif
