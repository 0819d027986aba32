/*
 * fetch.c — the capture's HTTP engine (see fetch.h).
 *
 * One curl multi handle: its connection cache is shared by every transfer,
 * so connections to a host are reused across requests. Concurrency is
 * bounded per lane by starting at most max_conns transfers of the lane;
 * pacing and Retry-After hold a whole lane back, because the services
 * throttle per client address, not per request.
 */
#include "capture/fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#define MAX_LANES 8
#define MAX_HEADERS (256u * 1024u)

typedef struct req {
	struct req *next;
	int lane;
	char *url;
	cap_done_fn done;
	void *arg;
	unsigned attempts;
	uint64_t not_before;
	CURL *easy;
	struct curl_slist *hdr_list;
	colb_buf body;
	colb_buf hdrs;
	char curl_err[CURL_ERROR_SIZE];
	char why[512];
	char note[256];       /* the caller's reason for CAP_RETRY */
	long status;
} req;

typedef struct lane {
	char name[32];
	unsigned max_conns;
	unsigned interval_ms;
	char *extra_header;   /* secret: wiped at free, never logged */
	unsigned active;
	uint64_t last_start;  /* 0: never started */
	uint64_t pause_until; /* Retry-After */
	req *head, *tail;     /* new requests, in order */
	req *delayed;         /* retries waiting for their not_before */
} lane;

struct cap_fetch {
	cap_fetch_cfg cfg;
	CURLM *multi;
	lane lanes[MAX_LANES];
	int nlanes;
	cap_fetch_stats st;
	uint64_t rng;
	cap_retry_fn on_retry;
	void *on_retry_arg;
};

void cap_fetch_on_retry(cap_fetch *f, cap_retry_fn fn, void *hook_arg)
{
	f->on_retry = fn;
	f->on_retry_arg = hook_arg;
}

uint64_t cap_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t next_rand(cap_fetch *f)
{
	/* xorshift64*: jitter only needs to spread retries, not to be secret */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545F4914F6CDD1DULL;
}

cap_fetch *cap_fetch_new(const cap_fetch_cfg *cfg)
{
	static bool curl_ready;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		curl_ready = true;
	}
	cap_fetch *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	if (cfg)
		f->cfg = *cfg;
	if (!f->cfg.max_attempts)
		f->cfg.max_attempts = 6;
	if (!f->cfg.backoff_ms)
		f->cfg.backoff_ms = 500;
	if (!f->cfg.backoff_max_ms)
		f->cfg.backoff_max_ms = 60000;
	if (!f->cfg.max_retry_after_s)
		f->cfg.max_retry_after_s = 900;
	if (!f->cfg.timeout_s)
		f->cfg.timeout_s = 60;
	if (!f->cfg.max_body)
		f->cfg.max_body = 16u << 20;
	f->rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)f ^ cap_now_ms();
	if (!f->rng)
		f->rng = 1;
	f->multi = curl_multi_init();
	if (!f->multi) {
		free(f);
		return NULL;
	}
	return f;
}

static void req_free(req *r)
{
	if (!r)
		return;
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdr_list); /* may hold the API key: freed, see lane wipe */
	colb_buf_free(&r->body);
	colb_buf_free(&r->hdrs);
	free(r->url);
	free(r);
}

void cap_fetch_free(cap_fetch *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->nlanes; i++) {
		lane *l = &f->lanes[i];
		for (req *r = l->head, *n; r; r = n) {
			n = r->next;
			req_free(r);
		}
		for (req *r = l->delayed, *n; r; r = n) {
			n = r->next;
			req_free(r);
		}
		if (l->extra_header) {
			explicit_bzero(l->extra_header, strlen(l->extra_header));
			free(l->extra_header);
		}
	}
	curl_multi_cleanup(f->multi);
	free(f);
}

int cap_fetch_lane(cap_fetch *f, const char *name, unsigned max_conns, unsigned interval_ms,
		   const char *extra_header)
{
	if (!f || f->nlanes >= MAX_LANES || !max_conns)
		return -1;
	lane *l = &f->lanes[f->nlanes];
	memset(l, 0, sizeof *l);
	snprintf(l->name, sizeof l->name, "%s", name);
	l->max_conns = max_conns;
	l->interval_ms = interval_ms;
	if (extra_header && !(l->extra_header = strdup(extra_header)))
		return -1;
	long total = 0;
	for (int i = 0; i <= f->nlanes; i++)
		total += f->lanes[i].max_conns;
	curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, total + 4);
	return f->nlanes++;
}

colb_err cap_fetch_get(cap_fetch *f, int lane_id, const char *url, cap_done_fn done, void *arg)
{
	if (!f || lane_id < 0 || lane_id >= f->nlanes || !url || !done)
		return COLB_ERR_INVALID_ARG;
	req *r = calloc(1, sizeof *r);
	if (!r || !(r->url = strdup(url))) {
		free(r);
		return COLB_ERR_NOMEM;
	}
	r->lane = lane_id;
	r->done = done;
	r->arg = arg;
	colb_buf_init(&r->body, f->cfg.max_body);
	colb_buf_init(&r->hdrs, MAX_HEADERS);
	lane *l = &f->lanes[lane_id];
	if (l->tail)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	f->st.queued++;
	return COLB_OK;
}

void cap_fetch_stats_get(const cap_fetch *f, cap_fetch_stats *out)
{
	*out = f->st;
}

/* ---- one transfer ------------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	req *r = arg;
	return colb_buf_append(&r->body, p, size * n) == COLB_OK ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	req *r = arg;
	size_t len = size * n;
	if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
		colb_buf_reset(&r->hdrs); /* a new answer (after 1xx): keep only the last */
		return len;
	}
	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (!len)
		return size * n;
	if (colb_buf_append(&r->hdrs, p, len) != COLB_OK || colb_buf_append(&r->hdrs, "\n", 1) != COLB_OK)
		return 0;
	return size * n;
}

static bool start(cap_fetch *f, req *r)
{
	lane *l = &f->lanes[r->lane];
	colb_buf_reset(&r->body);
	colb_buf_reset(&r->hdrs);
	r->curl_err[0] = 0;
	r->status = 0;
	r->easy = curl_easy_init();
	if (!r->easy)
		return false;
	if (!r->hdr_list && l->extra_header)
		r->hdr_list = curl_slist_append(NULL, l->extra_header);
	CURL *e = r->easy;
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_err);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)f->cfg.timeout_s);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 20L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "colbundle-capture/" "0");
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->cfg.max_body);
	if (r->hdr_list)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdr_list);
	if (curl_multi_add_handle(f->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		r->easy = NULL;
		return false;
	}
	r->attempts++;
	l->active++;
	l->last_start = cap_now_ms();
	f->st.running++;
	return true;
}

/* Picks the next request of a lane that may start now, or NULL. */
static req *take_ready(lane *l, uint64_t now)
{
	if (l->active >= l->max_conns || now < l->pause_until)
		return NULL;
	if (l->interval_ms && l->last_start && now < l->last_start + l->interval_ms)
		return NULL;
	req **best = NULL;
	for (req **pp = &l->delayed; *pp; pp = &(*pp)->next)
		if ((*pp)->not_before <= now && (!best || (*pp)->not_before < (*best)->not_before))
			best = pp;
	if (best) {
		req *r = *best;
		*best = r->next;
		r->next = NULL;
		return r;
	}
	req *r = l->head;
	if (r) {
		l->head = r->next;
		if (!l->head)
			l->tail = NULL;
		r->next = NULL;
	}
	return r;
}

/* The earliest time something may start, for the poll timeout. */
static uint64_t next_wake(const cap_fetch *f, uint64_t now)
{
	uint64_t wake = now + 1000;
	for (int i = 0; i < f->nlanes; i++) {
		const lane *l = &f->lanes[i];
		if (!l->head && !l->delayed)
			continue;
		uint64_t t = l->pause_until;
		if (l->interval_ms && l->last_start && l->last_start + l->interval_ms > t)
			t = l->last_start + l->interval_ms;
		if (!l->head) {
			uint64_t d = UINT64_MAX;
			for (const req *r = l->delayed; r; r = r->next)
				if (r->not_before < d)
					d = r->not_before;
			if (d > t)
				t = d;
		}
		if (t < wake)
			wake = t;
	}
	return wake;
}

/* Seconds from a Retry-After value (delta-seconds or an HTTP date), -1 if absent. */
static long retry_after(const char *headers)
{
	for (const char *p = headers; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		if (n > 12 && !strncasecmp(p, "Retry-After:", 12)) {
			char v[128];
			const char *s = p + 12;
			while (*s == ' ')
				s++;
			snprintf(v, sizeof v, "%.*s", (int)(n - (size_t)(s - p)), s);
			uint64_t secs;
			if (colb_parse_u64(v, &secs))
				return secs > 86400 ? 86400 : (long)secs;
			time_t at = curl_getdate(v, NULL);
			if (at > 0) {
				time_t now = time(NULL);
				return at > now ? (long)(at - now) : 0;
			}
			return -1;
		}
		p = eol ? eol + 1 : NULL;
	}
	return -1;
}

void cap_header_value(const char *headers, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	out[0] = 0;
	for (const char *p = headers; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		if (n > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
			const char *s = p + nl + 1;
			while (*s == ' ')
				s++;
			snprintf(out, outlen, "%.*s", (int)(n - (size_t)(s - p)), s);
			return;
		}
		p = eol ? eol + 1 : NULL;
	}
}

static bool transient_curl_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_BAD_CONTENT_ENCODING:
		return true;
	default:
		return false;
	}
}

/* Queues r again after a delay, or gives up and reports. */
static void retry_later(cap_fetch *f, req *r, uint64_t delay_ms)
{
	lane *l = &f->lanes[r->lane];
	r->not_before = cap_now_ms() + delay_ms;
	r->next = l->delayed;
	l->delayed = r;
	f->st.retries++;
	if (f->on_retry)
		f->on_retry(r->arg, r->why, (unsigned)delay_ms, f->on_retry_arg);
}

static uint64_t backoff(cap_fetch *f, unsigned attempts)
{
	uint64_t d = f->cfg.backoff_ms;
	for (unsigned i = 1; i < attempts && d < f->cfg.backoff_max_ms; i++)
		d *= 2;
	if (d > f->cfg.backoff_max_ms)
		d = f->cfg.backoff_max_ms;
	/* "Equal jitter": between half and all of the delay, so that clients
	 * that failed together do not retry together. */
	return d / 2 + next_rand(f) % (d / 2 + 1);
}

/* Hands an answer to the caller. final: no retry is left, so the verdict
 * ends the request whatever it is. Returns the verdict. */
static cap_verdict deliver(cap_fetch *f, req *r, bool final)
{
	cap_reply rep;
	char rid[128];
	cap_header_value((const char *)r->hdrs.data, "Request-ID", rid, sizeof rid);
	rep.status = r->status;
	rep.body = r->body.data ? r->body.data : (const uint8_t *)"";
	rep.len = r->body.len;
	rep.headers = r->hdrs.data ? (const char *)r->hdrs.data : "";
	rep.request_id = rid;
	rep.attempts = r->attempts;
	rep.error = r->why;
	rep.final = final;
	r->note[0] = 0;
	rep.note = r->note;
	rep.note_len = sizeof r->note;
	cap_verdict v = r->done(f, &rep, r->arg);
	if (final || v == CAP_ACCEPT) {
		f->st.done++;
		f->st.queued--;
		f->st.bytes += r->body.len;
		req_free(r);
		return CAP_ACCEPT;
	}
	return v;
}

static void finish(cap_fetch *f, req *r)
{
	(void)deliver(f, r, true);
}

static void completed(cap_fetch *f, req *r, CURLcode rc)
{
	lane *l = &f->lanes[r->lane];
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	curl_multi_remove_handle(f->multi, r->easy);
	curl_easy_cleanup(r->easy);
	r->easy = NULL;
	l->active--;
	f->st.running--;
	bool can_retry = r->attempts < f->cfg.max_attempts;
	r->why[0] = 0;

	if (rc != CURLE_OK) {
		if (rc == CURLE_WRITE_ERROR || rc == CURLE_FILESIZE_EXCEEDED)
			snprintf(r->why, sizeof r->why, "the answer is over the %zu-byte limit",
				 f->cfg.max_body);
		else
			snprintf(r->why, sizeof r->why, "%s (%s)", r->curl_err[0] ? r->curl_err : "",
				 curl_easy_strerror(rc));
		r->status = 0;
		if (transient_curl_error(rc) && can_retry) {
			retry_later(f, r, backoff(f, r->attempts));
			return;
		}
		finish(f, r);
		return;
	}
	if (r->status == 429) {
		long ra = retry_after((const char *)r->hdrs.data);
		f->st.rate_limited++;
		snprintf(r->why, sizeof r->why, "HTTP 429 (rate limited%s)", ra > (long)f->cfg.max_retry_after_s ?
			 ", Retry-After too long" : "");
		if (ra > (long)f->cfg.max_retry_after_s || !can_retry) {
			finish(f, r);
			return;
		}
		uint64_t wait = ra >= 0 ? (uint64_t)ra * 1000u : backoff(f, r->attempts);
		/* The throttle is per client: hold the whole lane back. */
		uint64_t until = cap_now_ms() + wait;
		if (until > l->pause_until)
			l->pause_until = until;
		retry_later(f, r, wait);
		return;
	}
	if (r->status >= 500 || r->status == 408) {
		snprintf(r->why, sizeof r->why, "HTTP %ld", r->status);
		if (can_retry) {
			retry_later(f, r, backoff(f, r->attempts));
			return;
		}
		finish(f, r);
		return;
	}
	/* A definitive answer: the caller judges it, and may ask for another
	 * try when the body is unusable (cut short, unparsable). */
	if (deliver(f, r, !can_retry) == CAP_RETRY) {
		snprintf(r->why, sizeof r->why, "unusable answer: %s", r->note[0] ? r->note : "refused");
		retry_later(f, r, backoff(f, r->attempts));
	}
}

colb_err cap_fetch_run(cap_fetch *f, cap_tick_fn tick, unsigned tick_ms, void *tick_arg)
{
	uint64_t last_tick = cap_now_ms();
	for (;;) {
		uint64_t now = cap_now_ms();
		for (int i = 0; i < f->nlanes; i++) {
			req *r;
			while ((r = take_ready(&f->lanes[i], now))) {
				if (!start(f, r)) {
					snprintf(r->why, sizeof r->why, "could not start a transfer");
					r->status = 0;
					finish(f, r);
				}
			}
		}
		if (!f->st.queued)
			break;
		int still;
		if (curl_multi_perform(f->multi, &still) != CURLM_OK)
			return COLB_ERR_INTERNAL;
		CURLMsg *m;
		int left;
		bool progressed = false;
		while ((m = curl_multi_info_read(f->multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			req *r = NULL;
			CURLcode rc = m->data.result;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			completed(f, r, rc);
			progressed = true;
		}
		now = cap_now_ms();
		if (tick && now - last_tick >= tick_ms) {
			tick(f, tick_arg);
			last_tick = now;
		}
		if (progressed)
			continue; /* start what the completions made ready before waiting */
		uint64_t wake = next_wake(f, now);
		if (tick && last_tick + tick_ms < wake)
			wake = last_tick + tick_ms;
		long timeout = wake > now ? (long)(wake - now) : 0;
		if (timeout > 1000)
			timeout = 1000;
		if (curl_multi_poll(f->multi, NULL, 0, (int)timeout, NULL) != CURLM_OK)
			return COLB_ERR_INTERNAL;
	}
	if (tick)
		tick(f, tick_arg);
	return COLB_OK;
}
