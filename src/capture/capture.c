/*
 * capture.c — the capture orchestration (see capture.h).
 *
 * Every request the fleet needs is an `item`. Items whose file name is known
 * before the answer (PCK certs, CRLs, VCEKs, chains) are done when their file
 * is in the work directory. Items filed under a number found in the answer
 * (TCB info and identities asked for as `update=standard|early`) are
 * remembered in W/journal, one "KEY<TAB>PATH" line appended after the file is
 * in place, so a resumed capture knows what it already has.
 *
 * Files are written under W/.tmp and renamed into place. There is no fsync
 * per file: a killed process loses nothing already renamed, and after a
 * power loss a damaged file fails the sanity check on resume and is fetched
 * again. The bundle itself is written by the bundle core, which does sync.
 */
#include "capture/capture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "capture/capture_priv.h"
#include "capture/fetch.h"
#include "util/util.h"

#define MAX_KEY_FILE 4096
#define MAX_WORK_FILE (64u << 20)
#define CAP_WRITERS 2
#define CAP_WQUEUE_MAX 256

typedef enum item_kind {
	K_PCKCERTS, K_PCKCRL, K_ROOTCRL, K_EVALNUMS, K_FMSPCS, K_IDENTITY, K_TCB,
	K_AMD_CHAIN, K_AMD_CRL, K_VCEK, K_COUNT
} item_kind;

static const char *const kind_names[K_COUNT] = {
	"pckcerts", "pckcrl", "rootcacrl", "evalnums", "fmspcs", "identity", "tcbinfo",
	"amd-chain", "amd-crl", "vcek"
};

typedef enum item_state { ST_PENDING, ST_DONE, ST_ABSENT, ST_FAILED } item_state;

typedef struct capture capture;

typedef struct item {
	capture *c;
	item_kind kind;
	item_state state;
	int lane;
	bool optional;        /* a 404 means "not offered", not a failure */
	bool want_headers;    /* the .hdr file is part of the item */
	char label[200];      /* what the item is, for people */
	char rel[320];        /* path under W; empty until known for journaled items */
	char key[128];        /* journal key; empty when rel is known up front */
	char url[2048];
	char tee[4];          /* sgx | tdx */
	char fmspc[13];
	char set[12];         /* standard | early | N */
	char why[600];
} item;

struct capture {
	const cap_config *cfg;
	cap_result *res;
	cap_fleet fl;
	char work[4096];
	char tmpdir[4200];
	cap_fetch *f;
	int lane_intel, lane_kds, lane_root;
	char intel_base[1024];
	char kds_base[1024];
	char root_crl_url[1024];
	item **items;
	size_t nitems, capitems;
	char **jkeys, **jvals; /* the journal */
	size_t nj;
	int jfd;
	char (*tcb_fmspcs)[13]; /* FMSPCs whose TCB items exist */
	size_t ntcb_fmspcs;
	unsigned long total[K_COUNT], finished[K_COUNT];
	uint64_t t_start, t_last_log;
	bool tty;
	atomic_size_t tmp_seq;
	bool oom;
	/* The writers: answers go to disk off the network thread, because
	 * creating files can cost milliseconds each on a busy file system. */
	pthread_t writer[CAP_WRITERS];
	size_t nwriters;
	pthread_mutex_t wlock;
	pthread_cond_t wcond;    /* a job was queued, or stop */
	pthread_cond_t wspace;   /* the queue has room */
	struct wjob *whead, *wtail;
	size_t wqueued;
	bool wstop;
	char write_error[600];   /* the first failed write, under wlock */
};

/* ---- output ------------------------------------------------------------------- */

static void out_event(capture *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line for people (stderr), unless quiet or JSON. */
static void out_event(capture *c, const char *fmt, ...)
{
	cap_output o = c->cfg->output;
	if (o == CAP_OUT_QUIET || o == CAP_OUT_JSON)
		return;
	if (c->tty)
		fputs("\r\033[K", stderr);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void json_line(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		free(s);
	}
	json_decref(j);
}

static void progress(cap_fetch *f, void *arg)
{
	capture *c = arg;
	cap_fetch_stats st;
	cap_fetch_stats_get(f, &st);
	uint64_t now = cap_now_ms();
	double secs = (double)(now - c->t_start) / 1000.0;
	unsigned long done = 0, total = 0;
	for (int k = 0; k < K_COUNT; k++)
		done += c->finished[k], total += c->total[k];
	double rate = secs > 0 ? (double)st.done / secs : 0;
	double eta = rate > 0 && total > done ? (double)(total - done) / rate : 0;
	cap_output o = c->cfg->output;
	if (o == CAP_OUT_QUIET)
		return;
	if (o == CAP_OUT_JSON) {
		if (now - c->t_last_log < 1000 && done != total)
			return;
		c->t_last_log = now;
		json_t *kinds = json_object();
		for (int k = 0; k < K_COUNT; k++)
			if (c->total[k])
				json_object_set_new(kinds, kind_names[k],
						    json_pack("{s:I,s:I}", "done", (json_int_t)c->finished[k],
							      "total", (json_int_t)c->total[k]));
		json_line(json_pack("{s:s,s:o,s:f,s:I,s:I}", "event", "progress", "kinds", kinds, "rate",
				    rate, "retries", (json_int_t)st.retries, "eta_seconds", (json_int_t)eta));
		return;
	}
	char line[1024];
	size_t n = 0;
	if (c->tty) {
		char bar[21];
		size_t fill = total ? (size_t)(20 * done / total) : 0;
		for (size_t i = 0; i < 20; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[20] = 0;
		n += (size_t)snprintf(line, sizeof line, "[%s] %3u%%  ", bar, total ? (unsigned)(100 * done / total) : 0);
	}
	for (int k = 0; k < K_COUNT && n < sizeof line - 64; k++)
		if (c->total[k])
			n += (size_t)snprintf(line + n, sizeof line - n, "%s %lu/%lu  ", kind_names[k],
					      c->finished[k], c->total[k]);
	snprintf(line + n, sizeof line - n, "| %.1f req/s | ETA %um%02us | retries %llu", rate,
		 (unsigned)eta / 60, (unsigned)eta % 60, (unsigned long long)st.retries);
	if (c->tty) {
		fprintf(stderr, "\r\033[K%s", line);
		fflush(stderr);
	} else if (now - c->t_last_log >= 5000 || done == total) {
		c->t_last_log = now;
		fprintf(stderr, "capture: %s\n", line);
	}
}

/* ---- the work directory ------------------------------------------------------ */

static void wpath(const capture *c, const char *rel, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", c->work, rel);
}

/* Writes W/rel through W/.tmp + rename. */
static colb_err put_file(capture *c, const char *rel, const void *data, size_t len)
{
	char path[4600], tmp[4600];
	wpath(c, rel, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s/%zu", c->tmpdir, atomic_fetch_add(&c->tmp_seq, 1));
	char dir[4600];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		if (colb_mkdirs(dir, 0755))
			return COLB_ERR_IO;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return COLB_ERR_IO;
	const uint8_t *p = data;
	size_t left = len;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(tmp);
			return COLB_ERR_IO;
		}
		p += w;
		left -= (size_t)w;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return COLB_ERR_IO;
	}
	return COLB_OK;
}

static uint8_t *get_file(const capture *c, const char *rel, size_t *len)
{
	char path[4600];
	uint8_t *d = NULL;
	wpath(c, rel, path, sizeof path);
	if (colb_read_file(path, MAX_WORK_FILE, &d, len, NULL, 0) != COLB_OK)
		return NULL;
	return d;
}

static const char *journal_get(const capture *c, const char *key)
{
	/* Later lines win: a re-fetched item is appended again. */
	for (size_t i = c->nj; i-- > 0;)
		if (!strcmp(c->jkeys[i], key))
			return c->jvals[i];
	return NULL;
}

static colb_err journal_remember(capture *c, const char *key, const char *val)
{
	char **k = realloc(c->jkeys, (c->nj + 1) * sizeof *k);
	if (!k)
		return COLB_ERR_NOMEM;
	c->jkeys = k;
	char **v = realloc(c->jvals, (c->nj + 1) * sizeof *v);
	if (!v)
		return COLB_ERR_NOMEM;
	c->jvals = v;
	c->jkeys[c->nj] = strdup(key);
	c->jvals[c->nj] = strdup(val);
	if (!c->jkeys[c->nj] || !c->jvals[c->nj])
		return COLB_ERR_NOMEM;
	c->nj++;
	return COLB_OK;
}

/* The journal line on disk (any thread: one O_APPEND write per line). */
static colb_err journal_append(capture *c, const char *key, const char *val)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "%s\t%s\n", key, val);
	if (n <= 0 || (size_t)n >= sizeof line || write(c->jfd, line, (size_t)n) != n)
		return COLB_ERR_IO;
	return COLB_OK;
}

static colb_err journal_add(capture *c, const char *key, const char *val)
{
	colb_err rc = journal_append(c, key, val);
	return rc ? rc : journal_remember(c, key, val);
}

/* ---- the writers --------------------------------------------------------------- */

typedef struct wjob {
	struct wjob *next;
	char rel[320];
	char key[128];       /* journal line after the file is in place */
	uint8_t *body;
	size_t len;
	char *hdr;           /* NULL: no .hdr file */
} wjob;

static void wjob_free(wjob *j)
{
	free(j->body);
	free(j->hdr);
	free(j);
}

static void write_failed(capture *c, const char *fmt, const char *a)
{
	pthread_mutex_lock(&c->wlock);
	if (!c->write_error[0])
		snprintf(c->write_error, sizeof c->write_error, fmt, a);
	pthread_mutex_unlock(&c->wlock);
}

static void *writer_main(void *arg)
{
	capture *c = arg;
	for (;;) {
		pthread_mutex_lock(&c->wlock);
		while (!c->whead && !c->wstop)
			pthread_cond_wait(&c->wcond, &c->wlock);
		wjob *j = c->whead;
		if (j) {
			c->whead = j->next;
			if (!c->whead)
				c->wtail = NULL;
			c->wqueued--;
			pthread_cond_signal(&c->wspace);
		}
		pthread_mutex_unlock(&c->wlock);
		if (!j)
			return NULL;
		char hrel[400];
		snprintf(hrel, sizeof hrel, "%s.hdr", j->rel);
		/* The .hdr first: a body on disk means its item is complete. */
		if ((j->hdr && put_file(c, hrel, j->hdr, strlen(j->hdr))) || put_file(c, j->rel, j->body, j->len))
			write_failed(c, "cannot write %.400s", j->rel);
		else if (j->key[0] && journal_append(c, j->key, j->rel))
			write_failed(c, "cannot append to the journal for %.400s", j->rel);
		wjob_free(j);
	}
}

static colb_err writers_start(capture *c)
{
	pthread_mutex_init(&c->wlock, NULL);
	pthread_cond_init(&c->wcond, NULL);
	pthread_cond_init(&c->wspace, NULL);
	for (; c->nwriters < CAP_WRITERS; c->nwriters++)
		if (pthread_create(&c->writer[c->nwriters], NULL, writer_main, c) != 0)
			return c->nwriters ? COLB_OK : COLB_ERR_INTERNAL;
	return COLB_OK;
}

static void writers_stop(capture *c)
{
	if (!c->nwriters)
		return;
	pthread_mutex_lock(&c->wlock);
	c->wstop = true;
	pthread_cond_broadcast(&c->wcond);
	pthread_mutex_unlock(&c->wlock);
	for (size_t i = 0; i < c->nwriters; i++)
		pthread_join(c->writer[i], NULL);
	c->nwriters = 0;
}

/* Queues an answer for the writers (copied); waits while the queue is full. */
static colb_err write_later(capture *c, const char *rel, const char *key, const uint8_t *body, size_t len,
			    const char *hdr)
{
	wjob *j = calloc(1, sizeof *j);
	if (!j || !(j->body = malloc(len ? len : 1)) || (hdr && !(j->hdr = strdup(hdr)))) {
		if (j)
			wjob_free(j);
		return COLB_ERR_NOMEM;
	}
	memcpy(j->body, body, len);
	j->len = len;
	snprintf(j->rel, sizeof j->rel, "%s", rel);
	snprintf(j->key, sizeof j->key, "%s", key);
	pthread_mutex_lock(&c->wlock);
	while (c->wqueued >= CAP_WQUEUE_MAX)
		pthread_cond_wait(&c->wspace, &c->wlock);
	if (c->wtail)
		c->wtail->next = j;
	else
		c->whead = j;
	c->wtail = j;
	c->wqueued++;
	pthread_cond_signal(&c->wcond);
	pthread_mutex_unlock(&c->wlock);
	return COLB_OK;
}

static colb_err journal_load(capture *c)
{
	char path[4600];
	wpath(c, "journal", path, sizeof path);
	uint8_t *d;
	size_t len;
	if (colb_read_file(path, MAX_WORK_FILE, &d, &len, NULL, 0) == COLB_OK) {
		char *save = NULL;
		for (char *line = strtok_r((char *)d, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *tab = strchr(line, '\t');
			if (!tab)
				continue; /* a line cut by a kill: its item is fetched again */
			*tab = 0;
			if (journal_remember(c, line, tab + 1)) {
				free(d);
				return COLB_ERR_NOMEM;
			}
		}
		free(d);
	}
	c->jfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
	return c->jfd < 0 ? COLB_ERR_IO : COLB_OK;
}

/* Removes what a killed capture left half-written. */
static void clean_tmp(const capture *c)
{
	DIR *d = opendir(c->tmpdir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[4600];
		snprintf(p, sizeof p, "%s/%s", c->tmpdir, e->d_name);
		unlink(p);
	}
	closedir(d);
}

/* ---- sanity checks of answers --------------------------------------------------
 * Not validation (the Intel and AMD layers do that before packing): these
 * catch answers cut short or mangled in transit, which are fetched again. */

static bool has_header(const char *headers, const char *name)
{
	char v[8];
	cap_header_value(headers, name, v, sizeof v);
	return v[0] != 0;
}

/* The issuer-chain header an Intel answer must carry, or NULL. */
static const char *chain_header(item_kind k)
{
	switch (k) {
	case K_PCKCERTS:
		return "SGX-PCK-Certificate-Issuer-Chain";
	case K_PCKCRL:
		return "SGX-PCK-CRL-Issuer-Chain";
	case K_TCB:
		return "TCB-Info-Issuer-Chain";
	case K_IDENTITY:
		return "SGX-Enclave-Identity-Issuer-Chain";
	case K_EVALNUMS:
		return "TCB-Evaluation-Data-Numbers-Issuer-Chain";
	default:
		return NULL;
	}
}

/* Says why an answer is unusable, or returns true. */
static bool sane(const item *it, const uint8_t *body, size_t len, const char *headers, char *why,
		 size_t whylen)
{
	json_t *j;
	bool ok = true;
	const char *ch = chain_header(it->kind);
	/* v3 services and Azure name the TCB info chain SGX-TCB-Info-Issuer-Chain. */
	if (ch && !has_header(headers, ch) && !(it->kind == K_TCB && has_header(headers, "SGX-TCB-Info-Issuer-Chain"))) {
		snprintf(why, whylen, "no %s header", ch);
		return false;
	}
	switch (it->kind) {
	case K_PCKCERTS: {
		char fm[64];
		cap_header_value(headers, "SGX-FMSPC", fm, sizeof fm);
		j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
		ok = json_is_array(j) && json_array_size(j) > 0;
		json_decref(j);
		if (!ok)
			snprintf(why, whylen, "not a JSON array of PCK certificates");
		else if (strlen(fm) != 12 || !colb_is_hex(fm, 12))
			snprintf(why, whylen, "no SGX-FMSPC header"), ok = false;
		return ok;
	}
	case K_PCKCRL:
	case K_ROOTCRL:
	case K_AMD_CRL:
	case K_VCEK:
		if (!cap_der_complete(body, len))
			snprintf(why, whylen, "not one complete DER object (%zu bytes)", len), ok = false;
		return ok;
	case K_EVALNUMS:
		j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
		ok = json_is_object(json_object_get(j, "tcbEvaluationDataNumbers")) &&
		     json_is_string(json_object_get(j, "signature"));
		json_decref(j);
		if (!ok)
			snprintf(why, whylen, "not a signed tcbEvaluationDataNumbers object");
		return ok;
	case K_FMSPCS:
		j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
		ok = json_is_array(j);
		json_decref(j);
		if (!ok)
			snprintf(why, whylen, "not a JSON array of FMSPCs");
		return ok;
	case K_IDENTITY:
		if (cap_body_eval(body, len, "enclaveIdentity", NULL) < 0)
			snprintf(why, whylen, "not a signed enclaveIdentity object"), ok = false;
		return ok;
	case K_TCB: {
		long ev = cap_body_eval(body, len, "tcbInfo", it->fmspc);
		if (ev == -2)
			snprintf(why, whylen, "the TCB info is for another FMSPC"), ok = false;
		else if (ev < 0)
			snprintf(why, whylen, "not a signed tcbInfo object"), ok = false;
		return ok;
	}
	case K_AMD_CHAIN:
		if (cap_count_str((const char *)body, "-----BEGIN CERTIFICATE-----") != 2 ||
		    cap_count_str((const char *)body, "-----END CERTIFICATE-----") != 2)
			snprintf(why, whylen, "not a PEM chain of two certificates"), ok = false;
		return ok;
	default:
		return true;
	}
}

/* ---- items ------------------------------------------------------------------------ */

static cap_verdict on_answer(cap_fetch *f, const cap_reply *r, void *arg);
static void item_arrived(capture *c, item *it, const uint8_t *body, size_t len, const char *headers);

static item *item_new(capture *c, item_kind kind, int lane)
{
	if (c->nitems == c->capitems) {
		size_t n = c->capitems ? c->capitems * 2 : 256;
		item **a = realloc(c->items, n * sizeof *a);
		if (!a) {
			c->oom = true;
			return NULL;
		}
		c->items = a;
		c->capitems = n;
	}
	item *it = calloc(1, sizeof *it);
	if (!it) {
		c->oom = true;
		return NULL;
	}
	it->c = c;
	it->kind = kind;
	it->lane = lane;
	c->items[c->nitems++] = it;
	c->total[kind]++;
	return it;
}

static void item_finish(capture *c, item *it, item_state st)
{
	it->state = st;
	c->finished[it->kind]++;
	if (st == ST_FAILED) {
		c->res->failed++;
		if (!c->res->why[0])
			snprintf(c->res->why, sizeof c->res->why, "%s: %s", it->label, it->why);
		if (c->cfg->output == CAP_OUT_JSON)
			json_line(json_pack("{s:s,s:s,s:s,s:s}", "event", "failed", "kind", kind_names[it->kind],
					    "item", it->label, "why", it->why));
		else {
			/* Failures are shown even with --quiet. */
			if (c->tty)
				fputs("\r\033[K", stderr);
			fprintf(stderr, "capture: FAILED %s: %s\n", it->label, it->why);
		}
	} else if (st == ST_ABSENT) {
		c->res->absent++;
	}
}

/* The file of a finished item, when it is already in the work directory
 * (an earlier, interrupted run). Fills body/headers for follow-ups. */
static bool item_on_disk(capture *c, item *it)
{
	char template[sizeof it->rel];
	memcpy(template, it->rel, sizeof template);
	if (it->key[0]) {
		const char *v = journal_get(c, it->key);
		if (!v)
			return false;
		if (!strcmp(v, "-")) {
			item_finish(c, it, ST_ABSENT);
			c->res->resumed++;
			return true;
		}
		snprintf(it->rel, sizeof it->rel, "%s", v);
	}
	size_t len, hlen = 0;
	uint8_t *body = get_file(c, it->rel, &len);
	if (!body) {
		memcpy(it->rel, template, sizeof it->rel);
		return false;
	}
	char hrel[400];
	snprintf(hrel, sizeof hrel, "%s.hdr", it->rel);
	uint8_t *hdr = it->want_headers ? get_file(c, hrel, &hlen) : NULL;
	char why[256];
	bool ok = (!it->want_headers || hdr) && sane(it, body, len, hdr ? (char *)hdr : "", why, sizeof why);
	if (ok) {
		item_arrived(c, it, body, len, hdr ? (char *)hdr : "");
		item_finish(c, it, ST_DONE);
		c->res->resumed++;
	} else {
		memcpy(it->rel, template, sizeof it->rel); /* fetched again, filed afresh */
	}
	free(body);
	free(hdr);
	return ok;
}

static void item_start(capture *c, item *it)
{
	if (c->oom || item_on_disk(c, it))
		return;
	if (cap_fetch_get(c->f, it->lane, it->url, on_answer, it) != COLB_OK) {
		snprintf(it->why, sizeof it->why, "could not queue the request");
		item_finish(c, it, ST_FAILED);
	}
}

static void tcb_items_for(capture *c, const char *fmspc);

static void on_retry(void *req_arg, const char *why, unsigned delay_ms, void *hook_arg)
{
	item *it = req_arg;
	capture *c = hook_arg;
	if (c->cfg->output == CAP_OUT_JSON)
		json_line(json_pack("{s:s,s:s,s:s,s:i}", "event", "retry", "item", it->label, "why", why,
				    "delay_ms", (int)delay_ms));
	else if (!c->tty)
		out_event(c, "capture: retrying %s in %u ms: %s", it->label, delay_ms, why);
}

/* Follow-ups an item's content calls for: the FMSPC of a platform, the FMSPC list. */
static void item_arrived(capture *c, item *it, const uint8_t *body, size_t len, const char *headers)
{
	if (it->kind == K_PCKCERTS) {
		char fm[64];
		cap_header_value(headers, "SGX-FMSPC", fm, sizeof fm);
		tcb_items_for(c, fm);
	} else if (it->kind == K_FMSPCS) {
		json_t *j = json_loadb((const char *)body, len, 0, NULL);
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v) {
			const char *fm = json_string_value(json_object_get(v, "fmspc"));
			if (fm && strlen(fm) == 12 && colb_is_hex(fm, 12))
				tcb_items_for(c, fm);
		}
		json_decref(j);
	}
}

static void error_detail(const cap_reply *r, char *out, size_t outlen)
{
	char code[128], msg[256];
	cap_header_value(r->headers, "Error-Code", code, sizeof code);
	cap_header_value(r->headers, "Error-Message", msg, sizeof msg);
	size_t n = 0;
	if (code[0] || msg[0])
		n = (size_t)snprintf(out, outlen, " (%s%s%s)", code, code[0] && msg[0] ? ": " : "", msg);
	if (r->request_id[0] && n < outlen)
		snprintf(out + n, outlen - n, " [Request-ID %s]", r->request_id);
	else if (!n && outlen)
		out[0] = 0;
}

static cap_verdict on_answer(cap_fetch *f, const cap_reply *r, void *arg)
{
	(void)f;
	item *it = arg;
	capture *c = it->c;
	char detail[512];
	error_detail(r, detail, sizeof detail);
	if (r->error[0]) {
		snprintf(it->why, sizeof it->why, "%s after %u attempts%s", r->error, r->attempts, detail);
		item_finish(c, it, ST_FAILED);
		return CAP_ACCEPT;
	}
	if (r->status == 404 || r->status == 410) {
		if (it->optional) {
			if (it->key[0] && journal_add(c, it->key, "-")) {
				snprintf(it->why, sizeof it->why, "cannot write the journal in %.300s", c->work);
				item_finish(c, it, ST_FAILED);
				return CAP_ACCEPT;
			}
			item_finish(c, it, ST_ABSENT);
			return CAP_ACCEPT;
		}
		snprintf(it->why, sizeof it->why, "the service has none (HTTP %ld)%s", r->status, detail);
		item_finish(c, it, ST_FAILED);
		return CAP_ACCEPT;
	}
	if (r->status == 401 || r->status == 403) {
		snprintf(it->why, sizeof it->why, "HTTP %ld: the service wants an API key (--api-key-file FILE "
			 "or COLBUNDLE_PCS_API_KEY_FILE)%s", r->status, detail);
		item_finish(c, it, ST_FAILED);
		return CAP_ACCEPT;
	}
	if (r->status != 200) {
		snprintf(it->why, sizeof it->why, "HTTP %ld%s", r->status, detail);
		item_finish(c, it, ST_FAILED);
		return CAP_ACCEPT;
	}

	const uint8_t *body = r->body;
	size_t len = r->len;
	uint8_t *decoded = NULL;
	if (it->kind == K_ROOTCRL && !cap_der_complete(body, len) && len % 2 == 0 && len > 2 &&
	    colb_is_hex((const char *)body, len)) {
		/* A PCCS answers /rootcacrl as hex text. */
		decoded = malloc(len / 2);
		if (decoded && colb_hex_decode((const char *)body, len, decoded, len / 2)) {
			body = decoded;
			len /= 2;
		}
	}
	char why[256];
	if (!sane(it, body, len, r->headers, why, sizeof why)) {
		free(decoded);
		if (!r->final) {
			snprintf(r->note, r->note_len, "%s", why);
			return CAP_RETRY;
		}
		snprintf(it->why, sizeof it->why, "unusable answer after %u attempts: %s%s", r->attempts, why,
			 detail);
		item_finish(c, it, ST_FAILED);
		return CAP_ACCEPT;
	}
	if (it->kind == K_TCB || it->kind == K_IDENTITY) {
		/* Filed under the number the answer carries. */
		long ev = cap_body_eval(body, len, it->kind == K_TCB ? "tcbInfo" : "enclaveIdentity", NULL);
		uint64_t want;
		if (colb_parse_u64(it->set, &want) && (uint64_t)ev != want) {
			snprintf(it->why, sizeof it->why,
				 "asked for evaluation number %s, the answer carries %ld", it->set, ev);
			free(decoded);
			item_finish(c, it, ST_FAILED);
			return CAP_ACCEPT;
		}
		char *slash = strrchr(it->rel, '/');
		if (slash)
			snprintf(slash + 1, sizeof it->rel - (size_t)(slash + 1 - it->rel), "%ld.json", ev);
	}
	colb_err rc = write_later(c, it->rel, it->key, body, len, it->want_headers ? r->headers : NULL);
	if (!rc && it->key[0])
		rc = journal_remember(c, it->key, it->rel);
	if (rc) {
		snprintf(it->why, sizeof it->why, "out of memory for %.300s", it->rel);
		free(decoded);
		item_finish(c, it, ST_FAILED);
		return CAP_ACCEPT;
	}
	item_arrived(c, it, body, len, r->headers);
	free(decoded);
	c->res->fetched++;
	item_finish(c, it, ST_DONE);
	return CAP_ACCEPT;
}

/* ---- what to fetch ------------------------------------------------------------------ */

static void url_intel(const capture *c, item *it, const char *tee, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void url_intel(const capture *c, item *it, const char *tee, const char *fmt, ...)
{
	int n = snprintf(it->url, sizeof it->url, "%s/%s/certification/v4/", c->intel_base, tee);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it->url + n, sizeof it->url - (size_t)n, fmt, ap);
	va_end(ap);
}

/* "update=standard" or "tcbEvaluationDataNumber=N" */
static void set_query(const char *set, char *out, size_t outlen)
{
	uint64_t n;
	if (colb_parse_u64(set, &n))
		snprintf(out, outlen, "tcbEvaluationDataNumber=%s", set);
	else
		snprintf(out, outlen, "update=%s", set);
}

static void tcb_items_for(capture *c, const char *fmspc_in)
{
	char fmspc[13];
	snprintf(fmspc, sizeof fmspc, "%s", fmspc_in);
	for (char *p = fmspc; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	for (size_t i = 0; i < c->ntcb_fmspcs; i++)
		if (!strcmp(c->tcb_fmspcs[i], fmspc))
			return;
	char(*n)[13] = realloc(c->tcb_fmspcs, (c->ntcb_fmspcs + 1) * sizeof *n);
	if (!n) {
		c->oom = true;
		return;
	}
	c->tcb_fmspcs = n;
	memcpy(c->tcb_fmspcs[c->ntcb_fmspcs++], fmspc, 13);
	static const char *const tees[] = { "sgx", "tdx" };
	for (size_t s = 0; s < c->fl.nsets; s++) {
		for (size_t t = 0; t < 2; t++) {
			item *it = item_new(c, K_TCB, c->lane_intel);
			if (!it)
				return;
			const char *set = c->fl.sets[s];
			char q[64];
			set_query(set, q, sizeof q);
			snprintf(it->tee, sizeof it->tee, "%s", tees[t]);
			snprintf(it->fmspc, sizeof it->fmspc, "%s", fmspc);
			snprintf(it->set, sizeof it->set, "%s", set);
			snprintf(it->label, sizeof it->label, "%s TCB info of FMSPC %s (%s)", tees[t], fmspc, set);
			snprintf(it->key, sizeof it->key, "tcb %s %s %s", tees[t], fmspc, set);
			snprintf(it->rel, sizeof it->rel, "intel/%s/tcb/%s/N.json", tees[t], fmspc);
			url_intel(c, it, tees[t], "tcb?fmspc=%s&%s", fmspc, q);
			it->want_headers = true;
			/* Only TDX-capable FMSPCs have TDX TCB info. */
			it->optional = t == 1;
			item_start(c, it);
		}
	}
}

static void intel_items(capture *c)
{
	item *it;
	const cap_fleet *fl = &c->fl;
	for (size_t i = 0; i < fl->nplats && !c->oom; i++) {
		const cap_platform *p = &fl->plats[i];
		if (!(it = item_new(c, K_PCKCERTS, c->lane_intel)))
			return;
		snprintf(it->label, sizeof it->label, "PCK certificates of platform QE ID %s PCE ID %s", p->qeid,
			 p->pceid);
		snprintf(it->rel, sizeof it->rel, "intel/sgx/pckcerts/%s-%s.json", p->qeid, p->pceid);
		url_intel(c, it, "sgx", "pckcerts?encrypted_ppid=%s&pceid=%s", p->encppid, p->pceid);
		it->want_headers = true;
	}
	static const char *const cas[] = { "processor", "platform" };
	for (size_t i = 0; i < 2; i++) {
		if (!(it = item_new(c, K_PCKCRL, c->lane_intel)))
			return;
		snprintf(it->label, sizeof it->label, "PCK %s CA CRL", cas[i]);
		snprintf(it->rel, sizeof it->rel, "intel/sgx/pckcrl/%s.der", cas[i]);
		url_intel(c, it, "sgx", "pckcrl?ca=%s&encoding=der", cas[i]);
		it->want_headers = true;
	}
	if (!(it = item_new(c, K_ROOTCRL, c->lane_root)))
		return;
	snprintf(it->label, sizeof it->label, "Intel SGX Root CA CRL");
	snprintf(it->rel, sizeof it->rel, "intel/rootcacrl.der");
	snprintf(it->url, sizeof it->url, "%s", c->root_crl_url);
	static const char *const tees[] = { "sgx", "tdx" };
	for (size_t t = 0; t < 2; t++) {
		if (!(it = item_new(c, K_EVALNUMS, c->lane_intel)))
			return;
		snprintf(it->label, sizeof it->label, "%s TCB evaluation data numbers", tees[t]);
		snprintf(it->rel, sizeof it->rel, "intel/%s/tcbevaluationdatanumbers.json", tees[t]);
		url_intel(c, it, tees[t], "tcbevaluationdatanumbers");
		it->want_headers = true;
		it->optional = t == 1;
	}
	static const struct { const char *tee, *name, *path; } ids[] = {
		{ "sgx", "qe", "qe/identity" }, { "sgx", "qve", "qve/identity" },
		{ "sgx", "qae", "qae/identity" }, { "tdx", "td_qe", "qe/identity" },
	};
	for (size_t s = 0; s < fl->nsets; s++) {
		for (size_t k = 0; k < COLB_ARRAY_LEN(ids); k++) {
			if (!(it = item_new(c, K_IDENTITY, c->lane_intel)))
				return;
			char q[64];
			set_query(fl->sets[s], q, sizeof q);
			snprintf(it->tee, sizeof it->tee, "%s", ids[k].tee);
			snprintf(it->set, sizeof it->set, "%s", fl->sets[s]);
			snprintf(it->label, sizeof it->label, "%s %s identity (%s)", ids[k].tee, ids[k].name,
				 fl->sets[s]);
			snprintf(it->key, sizeof it->key, "identity %s %s %s", ids[k].tee, ids[k].name, fl->sets[s]);
			snprintf(it->rel, sizeof it->rel, "intel/%s/identity/%s/N.json", ids[k].tee, ids[k].name);
			url_intel(c, it, ids[k].tee, "%s?%s", ids[k].path, q);
			it->want_headers = true;
			/* QAE identities and TDX are not offered by every service. */
			it->optional = strcmp(ids[k].name, "qe") && strcmp(ids[k].name, "qve");
		}
	}
	if (fl->all_fmspcs) {
		if (!(it = item_new(c, K_FMSPCS, c->lane_intel)))
			return;
		snprintf(it->label, sizeof it->label, "the FMSPC list");
		snprintf(it->rel, sizeof it->rel, "intel/sgx/fmspcs.json");
		url_intel(c, it, "sgx", "fmspcs");
	}
	/* Start them all; TCB items follow as FMSPCs become known. */
	size_t n = c->nitems;
	for (size_t i = 0; i < n && !c->oom; i++)
		item_start(c, c->items[i]);
	for (size_t i = 0; i < fl->nfmspcs && !c->oom; i++)
		tcb_items_for(c, fl->fmspcs[i]);
}

static void amd_items(capture *c)
{
	const cap_fleet *fl = &c->fl;
	size_t first = c->nitems;
	item *it;
	for (size_t i = 0; i < fl->nproducts; i++) {
		const char *p = fl->products[i];
		for (int vlek = 0; vlek < 2; vlek++) {
			if (!(it = item_new(c, K_AMD_CHAIN, c->lane_kds)))
				return;
			snprintf(it->label, sizeof it->label, "%s %s chain", p, vlek ? "VLEK (ASVK, ARK)" : "VCEK (ASK, ARK)");
			snprintf(it->rel, sizeof it->rel, "amd/%s/%s.pem", p, vlek ? "vlek_cert_chain" : "cert_chain");
			snprintf(it->url, sizeof it->url, "%s/%s/v1/%s/cert_chain", c->kds_base, vlek ? "vlek" : "vcek", p);
			it->optional = vlek;
		}
		if (!(it = item_new(c, K_AMD_CRL, c->lane_kds)))
			return;
		snprintf(it->label, sizeof it->label, "%s CRL", p);
		snprintf(it->rel, sizeof it->rel, "amd/%s/crl.der", p);
		snprintf(it->url, sizeof it->url, "%s/vcek/v1/%s/crl", c->kds_base, p);
	}
	for (size_t i = 0; i < fl->nchips; i++) {
		const cap_chip *ch = &fl->chips[i];
		colb_amd_product prod = colb_amd_product_from_name(ch->product);
		uint64_t tcbm;
		colb_amd_tcb t;
		if (colb_amd_tcbm_parse(ch->tcbm, &tcbm) || colb_amd_tcb_decode(prod, tcbm, &t))
			continue; /* checked when the fleet was read */
		if (!(it = item_new(c, K_VCEK, c->lane_kds)))
			return;
		snprintf(it->label, sizeof it->label, "%s VCEK of chip %.16s... at TCB %s", ch->product, ch->hwid,
			 ch->tcbm);
		snprintf(it->rel, sizeof it->rel, "amd/%s/vcek/%s/%s.der", ch->product, ch->hwid, ch->tcbm);
		int n = snprintf(it->url, sizeof it->url, "%s/vcek/v1/%s/%s?", c->kds_base, ch->product, ch->hwid);
		if (prod == COLB_AMD_TURIN)
			n += snprintf(it->url + n, sizeof it->url - (size_t)n, "fmcSPL=%u&", t.fmc);
		snprintf(it->url + n, sizeof it->url - (size_t)n, "blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", t.bl,
			 t.tee, t.snp, t.ucode);
	}
	size_t n = c->nitems;
	for (size_t i = first; i < n && !c->oom; i++)
		item_start(c, c->items[i]);
}

/* ---- --reuse: immutable items from an older bundle ----------------------------- */

static colb_err reuse_items(capture *c, const char *path)
{
	colb_opts *o = colb_opts_new();
	colb_bundle *b = NULL;
	colb_err rc = COLB_ERR_NOMEM;
	if (!o)
		goto out;
	if (c->cfg->reuse_trust)
		colb_opts_set_trust(o, c->cfg->reuse_trust);
	if (c->cfg->at)
		colb_opts_set_time(o, c->cfg->at);
	/* An old bundle may have expired; its items are validated again anyway. */
	colb_opts_set_allow_expired(o, 1);
	if (!(b = colb_bundle_new(o)))
		goto out;
	if ((rc = colb_bundle_open_file(b, path))) {
		snprintf(c->res->why, sizeof c->res->why, "--reuse %s: %s", path, colb_bundle_error(b));
		goto out;
	}
	for (size_t i = 0; i < c->fl.nplats; i++) {
		const cap_platform *p = &c->fl.plats[i];
		char rel[300], hrel[320], path2[4600];
		snprintf(rel, sizeof rel, "intel/sgx/pckcerts/%s-%s.json", p->qeid, p->pceid);
		wpath(c, rel, path2, sizeof path2);
		if (access(path2, F_OK) == 0)
			continue;
		uint8_t qe[16];
		uint8_t pce[2];
		colb_intel_item ii;
		if (!colb_hex_decode(p->qeid, 32, qe, 16) || !colb_hex_decode(p->pceid, 4, pce, 2) ||
		    colb_intel_pckcerts(b, qe, (uint16_t)(pce[0] << 8 | pce[1]), &ii) != COLB_OK)
			continue;
		char *chain = colb_percent_encode(ii.issuer_chain, ii.issuer_chain_len);
		colb_buf h;
		colb_buf_init(&h, 0);
		if (!chain || colb_buf_printf(&h, "SGX-PCK-Certificate-Issuer-Chain: %s\nSGX-FMSPC: %s\n"
					      "SGX-PCK-Certificate-CA-Type: %s\n", chain,
					      ii.fmspc ? ii.fmspc : "", ii.ca_type ? ii.ca_type : "")) {
			free(chain);
			colb_buf_free(&h);
			rc = COLB_ERR_NOMEM;
			goto out;
		}
		free(chain);
		snprintf(hrel, sizeof hrel, "%s.hdr", rel);
		rc = put_file(c, hrel, h.data, h.len);
		colb_buf_free(&h);
		if (rc || (rc = put_file(c, rel, ii.data, ii.len))) {
			snprintf(c->res->why, sizeof c->res->why, "cannot write %.250s/%.300s", c->work, rel);
			goto out;
		}
		c->res->reused++;
	}
	for (size_t i = 0; i < c->fl.nchips; i++) {
		const cap_chip *ch = &c->fl.chips[i];
		char rel[300], path2[4600];
		snprintf(rel, sizeof rel, "amd/%s/vcek/%s/%s.der", ch->product, ch->hwid, ch->tcbm);
		wpath(c, rel, path2, sizeof path2);
		if (access(path2, F_OK) == 0)
			continue;
		colb_amd_product prod = colb_amd_product_from_name(ch->product);
		uint8_t chip[COLB_AMD_CHIP_ID_BYTES];
		uint64_t tcbm;
		colb_amd_cert cert;
		if (colb_amd_chip_id_parse(prod, ch->hwid, chip) || colb_amd_tcbm_parse(ch->tcbm, &tcbm) ||
		    colb_amd_vcek(b, prod, chip, tcbm, &cert) != COLB_OK)
			continue;
		if ((rc = put_file(c, rel, cert.der, cert.der_len))) {
			snprintf(c->res->why, sizeof c->res->why, "cannot write %.250s/%.300s", c->work, rel);
			goto out;
		}
		c->res->reused++;
	}
	rc = COLB_OK;
out:
	colb_bundle_free(b);
	colb_opts_free(o);
	return rc;
}

/* ---- after the fetch: tcb-sets.json, the PCK ID CSV, packing -------------------- */

/* The evaluation number a journaled item was filed under, or -1. */
static long journal_eval(const capture *c, const char *key)
{
	const char *v = journal_get(c, key);
	const char *slash = v ? strrchr(v, '/') : NULL;
	return slash ? strtol(slash + 1, NULL, 10) : -1;
}

static colb_err write_tcb_sets(capture *c)
{
	json_t *root = json_object();
	static const struct { const char *tee, *qe; } tees[] = { { "sgx", "qe" }, { "tdx", "td_qe" } };
	static const char *const sets[] = { "standard", "early" };
	for (size_t t = 0; t < 2; t++) {
		json_t *o = json_object(), *ex = json_object();
		long global[2] = { -1, -1 };
		for (size_t s = 0; s < 2; s++) {
			char key[128];
			snprintf(key, sizeof key, "identity %s %s %s", tees[t].tee, tees[t].qe, sets[s]);
			global[s] = journal_eval(c, key);
			if (global[s] >= 0)
				json_object_set_new(o, sets[s], json_integer(global[s]));
		}
		for (size_t i = 0; i < c->ntcb_fmspcs; i++) {
			json_t *per = json_object();
			for (size_t s = 0; s < 2; s++) {
				char key[128];
				snprintf(key, sizeof key, "tcb %s %s %s", tees[t].tee, c->tcb_fmspcs[i], sets[s]);
				long n = journal_eval(c, key);
				if (n >= 0 && n != global[s])
					json_object_set_new(per, sets[s], json_integer(n));
			}
			if (json_object_size(per))
				json_object_set_new(ex, c->tcb_fmspcs[i], per);
			else
				json_decref(per);
		}
		if (json_object_size(ex))
			json_object_set_new(o, "fmspc", ex);
		else
			json_decref(ex);
		if (json_object_size(o))
			json_object_set_new(root, tees[t].tee, o);
		else
			json_decref(o);
	}
	char *s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	if (!s)
		return COLB_ERR_NOMEM;
	colb_err rc = put_file(c, "intel/tcb-sets.json", s, strlen(s));
	free(s);
	return rc;
}

/* Every platform as a PCK Cert ID CSV, so the bundle knows their encrypted PPIDs. */
static colb_err write_pckid_csv(capture *c)
{
	colb_buf b;
	colb_buf_init(&b, 0);
	colb_err rc = COLB_OK;
	for (size_t i = 0; i < c->fl.nplats && !rc; i++) {
		const cap_platform *p = &c->fl.plats[i];
		rc = colb_buf_printf(&b, "%s,%s,%s,%s,%s\n", p->encppid, p->pceid, p->cpusvn, p->pcesvn, p->qeid);
	}
	if (!rc)
		rc = put_file(c, "intel-pckid.csv", b.data ? (const char *)b.data : "", b.len);
	colb_buf_free(&b);
	return rc;
}

static colb_err pack(capture *c)
{
	const cap_config *cfg = c->cfg;
	colb_err rc = COLB_ERR_NOMEM;
	colb_writer *w = colb_writer_new();
	colb_intel_input *in = NULL;
	colb_amd_input *am = NULL;
	char dir[4600];
	if (!w)
		goto out;
	if (cfg->created)
		colb_writer_set_created(w, cfg->created);
	if (cfg->version)
		colb_writer_set_version(w, cfg->version);
	if (cfg->expires)
		colb_writer_set_expires(w, cfg->expires);
	if (cfg->publisher && (rc = colb_writer_set_publisher(w, cfg->publisher))) {
		snprintf(c->res->why, sizeof c->res->why, "--publisher: %s", colb_writer_error(w));
		goto out;
	}
	if (c->fl.nplats || c->fl.nfmspcs || c->fl.all_fmspcs) {
		if (!(in = colb_intel_input_new(cfg->trust, cfg->at)))
			goto out;
		if (cfg->baseline && (rc = colb_intel_input_set_baseline(in, cfg->baseline))) {
			snprintf(c->res->why, sizeof c->res->why, "--baseline: %s", colb_intel_input_error(in));
			goto out;
		}
		if (cfg->min_eval)
			colb_intel_input_set_min_eval(in, cfg->min_eval);
		wpath(c, "intel", dir, sizeof dir);
		if ((rc = colb_intel_input_add_dir(in, dir)) == COLB_OK && c->fl.nplats) {
			wpath(c, "intel-pckid.csv", dir, sizeof dir);
			rc = colb_intel_input_add_pckid_csv(in, dir);
		}
		if (!rc)
			rc = colb_intel_input_write(in, w);
		if (rc) {
			snprintf(c->res->why, sizeof c->res->why, "Intel collateral refused: %s",
				 colb_intel_input_error(in));
			goto out;
		}
	}
	if (c->fl.nproducts) {
		if (!(am = colb_amd_input_new(cfg->trust, cfg->at)))
			goto out;
		wpath(c, "amd", dir, sizeof dir);
		rc = colb_amd_input_add_dir(am, dir);
		if (!rc)
			rc = colb_amd_input_write(am, w);
		if (rc) {
			snprintf(c->res->why, sizeof c->res->why, "AMD collateral refused: %s",
				 colb_amd_input_error(am));
			goto out;
		}
	}
	/* The writer signs, then renames into place: no partial bundle ever exists. */
	if ((rc = colb_writer_finish(w, cfg->key, cfg->out)))
		snprintf(c->res->why, sizeof c->res->why, "%s: %s", cfg->out, colb_writer_error(w));
out:
	if (rc && !c->res->why[0])
		snprintf(c->res->why, sizeof c->res->why, "%s", colb_strerror(rc));
	colb_intel_input_free(in);
	colb_amd_input_free(am);
	colb_writer_free(w);
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* ---- setup ---------------------------------------------------------------------- */

static void base_url(char *out, size_t outlen, const char *url)
{
	snprintf(out, outlen, "%s", url);
	size_t n = strlen(out);
	while (n && out[n - 1] == '/')
		out[--n] = 0;
}

/* The PCS API key header, from a file: never from the command line. */
static colb_err api_key_header(const cap_config *cfg, char **out, char *err, size_t errlen)
{
	*out = NULL;
	const char *path = cfg->api_key_file ? cfg->api_key_file : getenv("COLBUNDLE_PCS_API_KEY_FILE");
	if (!path || !*path)
		return COLB_OK;
	uint8_t *d;
	size_t len;
	colb_err rc = colb_read_file(path, MAX_KEY_FILE, &d, &len, err, errlen);
	if (rc)
		return rc;
	size_t n = strcspn((char *)d, "\r\n");
	while (n && ((char *)d)[n - 1] == ' ')
		n--;
	bool ok = n > 0;
	for (size_t i = 0; i < n; i++)
		ok &= d[i] > 0x20 && d[i] < 0x7f;
	if (ok) {
		size_t hl = n + 40;
		*out = malloc(hl);
		if (*out)
			snprintf(*out, hl, "Ocp-Apim-Subscription-Key: %.*s", (int)n, (char *)d);
	}
	sodium_memzero(d, len);
	free(d);
	if (!ok)
		return colb_seterr(err, errlen, COLB_ERR_CONFIG,
				   "%s: the API key file must hold the key on its first line", path);
	return *out ? COLB_OK : COLB_ERR_NOMEM;
}

static void summary(capture *c)
{
	cap_result *r = c->res;
	const cap_config *cfg = c->cfg;
	if (c->tty && cfg->output != CAP_OUT_QUIET && cfg->output != CAP_OUT_JSON)
		fputs("\r\033[K", stderr);
	if (cfg->output == CAP_OUT_JSON) {
		json_t *kinds = json_object();
		for (int k = 0; k < K_COUNT; k++)
			if (c->total[k])
				json_object_set_new(kinds, kind_names[k], json_integer((json_int_t)c->total[k]));
		json_t *failed = json_array();
		for (size_t i = 0; i < c->nitems; i++)
			if (c->items[i]->state == ST_FAILED)
				json_array_append_new(failed, json_pack("{s:s,s:s,s:s}", "kind",
									kind_names[c->items[i]->kind], "item",
									c->items[i]->label, "why", c->items[i]->why));
		json_line(json_pack("{s:s,s:b,s:s?,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:o,s:s?}", "event",
				    "summary", "ok", !r->why[0], "out", r->why[0] ? NULL : cfg->out, "items", kinds,
				    "fetched", (json_int_t)r->fetched, "resumed", (json_int_t)r->resumed, "reused",
				    (json_int_t)r->reused, "absent", (json_int_t)r->absent, "failed",
				    (json_int_t)r->failed, "requests", (json_int_t)r->requests, "retries",
				    (json_int_t)r->retries, "seconds", r->total_seconds, "failures", failed,
				    "why", r->why[0] ? r->why : NULL));
		return;
	}
	if ((cfg->output == CAP_OUT_QUIET && !r->why[0]) || !c->nitems)
		return; /* nothing was attempted: the caller prints why */
	fprintf(stderr,
		"capture: %lu fetched, %lu resumed from %s, %lu reused from the old bundle, %lu not offered, "
		"%lu failed; %lu requests, %lu retries; fetch %.1f s, total %.1f s\n",
		r->fetched, r->resumed, c->work, r->reused, r->absent, r->failed, r->requests, r->retries,
		r->fetch_seconds, r->total_seconds);
	if (r->failed)
		for (size_t i = 0; i < c->nitems; i++)
			if (c->items[i]->state == ST_FAILED)
				fprintf(stderr, "capture:   failed: %s: %s\n", c->items[i]->label, c->items[i]->why);
}

colb_err cap_run(const cap_config *cfg, cap_result *res)
{
	memset(res, 0, sizeof *res);
	capture cs;
	capture *c = &cs;
	memset(c, 0, sizeof *c);
	c->cfg = cfg;
	c->res = res;
	c->jfd = -1;
	c->t_start = cap_now_ms();
	c->tty = cfg->output == CAP_OUT_AUTO && isatty(STDERR_FILENO);
	char *key_header = NULL;
	colb_err rc = cap_fleet_load(cfg, &c->fl, res->why, sizeof res->why);
	if (rc)
		goto out;
	if (!c->fl.nplats && !c->fl.nfmspcs && !c->fl.all_fmspcs && !c->fl.nproducts) {
		rc = colb_seterr(res->why, sizeof res->why, COLB_ERR_INVALID_ARG,
				 "the fleet names nothing to capture");
		goto out;
	}
	if (cfg->work)
		snprintf(c->work, sizeof c->work, "%s", cfg->work);
	else
		snprintf(c->work, sizeof c->work, "%s.work", cfg->out);
	snprintf(c->tmpdir, sizeof c->tmpdir, "%.4000s/.tmp", c->work);
	if (colb_mkdirs(c->tmpdir, 0755)) {
		rc = colb_seterr(res->why, sizeof res->why, COLB_ERR_IO, "cannot create the work directory %s",
				 c->work);
		goto out;
	}
	clean_tmp(c);
	if ((rc = journal_load(c))) {
		snprintf(res->why, sizeof res->why, "cannot open %.300s/journal", c->work);
		goto out;
	}
	if ((rc = api_key_header(cfg, &key_header, res->why, sizeof res->why)))
		goto out;

	/* Sources. A PCCS or THIM stands in for the PCS when given. */
	const char *intel = cfg->pccs ? cfg->pccs : cfg->thim ? cfg->thim : cfg->pcs ? cfg->pcs : CAP_DEFAULT_PCS;
	base_url(c->intel_base, sizeof c->intel_base, intel);
	base_url(c->kds_base, sizeof c->kds_base, cfg->kds ? cfg->kds : CAP_DEFAULT_KDS);
	if (cfg->root_crl)
		snprintf(c->root_crl_url, sizeof c->root_crl_url, "%s", cfg->root_crl);
	else if (cfg->pccs)
		snprintf(c->root_crl_url, sizeof c->root_crl_url, "%s/sgx/certification/v4/rootcacrl", c->intel_base);
	else
		snprintf(c->root_crl_url, sizeof c->root_crl_url, "%s", CAP_DEFAULT_ROOT_CRL);

	cap_fetch_cfg fc = { .max_attempts = cfg->retries, .backoff_ms = cfg->backoff_ms,
			     .timeout_s = cfg->timeout_s };
	if (!(c->f = cap_fetch_new(&fc))) {
		rc = colb_seterr(res->why, sizeof res->why, COLB_ERR_INTERNAL, "cannot start libcurl");
		goto out;
	}
	cap_fetch_on_retry(c->f, on_retry, c);
	unsigned conns = cfg->connections ? cfg->connections : 8;
	unsigned kds_interval = cfg->kds_interval_ms < 0 ? 10000u : (unsigned)cfg->kds_interval_ms;
	/* The key goes to the PCS only: never to a PCCS, THIM or AMD. */
	c->lane_intel = cap_fetch_lane(c->f, "intel", conns, 0,
				       cfg->pccs || cfg->thim ? NULL : key_header);
	c->lane_kds = cap_fetch_lane(c->f, "kds", conns, kds_interval, NULL);
	c->lane_root = cap_fetch_lane(c->f, "rootcrl", 1, 0, NULL);
	if (c->lane_intel < 0 || c->lane_kds < 0 || c->lane_root < 0) {
		rc = colb_seterr(res->why, sizeof res->why, COLB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (cfg->reuse && (rc = reuse_items(c, cfg->reuse)))
		goto out;
	if ((rc = writers_start(c))) {
		snprintf(res->why, sizeof res->why, "cannot start the writer threads");
		goto out;
	}

	if (c->fl.nplats || c->fl.nfmspcs || c->fl.all_fmspcs)
		intel_items(c);
	amd_items(c);
	if (c->oom) {
		rc = colb_seterr(res->why, sizeof res->why, COLB_ERR_NOMEM, "out of memory");
		goto out;
	}
	uint64_t t_fetch = cap_now_ms();
	rc = cap_fetch_run(c->f, progress, c->tty ? 200 : 1000, c);
	writers_stop(c); /* everything fetched is on disk past this point */
	res->fetch_seconds = (double)(cap_now_ms() - t_fetch) / 1000.0;
	if (!rc && c->write_error[0]) {
		rc = colb_seterr(res->why, sizeof res->why, COLB_ERR_IO, "in %.300s: %s", c->work, c->write_error);
		goto out;
	}
	cap_fetch_stats st;
	cap_fetch_stats_get(c->f, &st);
	res->retries = st.retries;
	res->requests = st.done + st.retries;
	if (rc) {
		snprintf(res->why, sizeof res->why, "the HTTP engine failed (%s)", colb_strerror(rc));
		goto out;
	}
	if (c->oom) {
		rc = colb_seterr(res->why, sizeof res->why, COLB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (res->failed) {
		rc = COLB_ERR_IO;
		char first[sizeof res->why];
		snprintf(first, sizeof first, "%s", res->why);
		snprintf(res->why, sizeof res->why, "%lu item%s could not be fetched; first: %.500s (answers so far "
			 "are kept in %.300s: run the same command again to resume)", res->failed,
			 res->failed == 1 ? "" : "s", first, c->work);
		goto out;
	}
	if (c->fl.nplats || c->fl.nfmspcs || c->fl.all_fmspcs) {
		if ((rc = write_tcb_sets(c)) || (c->fl.nplats && (rc = write_pckid_csv(c)))) {
			snprintf(res->why, sizeof res->why, "cannot write in %.300s", c->work);
			goto out;
		}
	}
	if ((rc = pack(c))) {
		size_t n = strlen(res->why);
		snprintf(res->why + n, sizeof res->why - n, " (the answers stay in %.300s; remove it to fetch "
			 "everything again)", c->work);
		goto out;
	}
	if (!cfg->keep_work && !cfg->work) {
		/* Our own work directory has served its purpose. */
		if (nftw(c->work, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
			out_event(c, "capture: could not remove %s", c->work);
	}
out:
	writers_stop(c);
	res->total_seconds = (double)(cap_now_ms() - c->t_start) / 1000.0;
	summary(c);
	if (key_header) {
		sodium_memzero(key_header, strlen(key_header));
		free(key_header);
	}
	cap_fetch_free(c->f);
	if (c->jfd >= 0)
		close(c->jfd);
	for (size_t i = 0; i < c->nitems; i++)
		free(c->items[i]);
	free(c->items);
	for (size_t i = 0; i < c->nj; i++) {
		free(c->jkeys[i]);
		free(c->jvals[i]);
	}
	free(c->jkeys);
	free(c->jvals);
	free(c->tcb_fmspcs);
	cap_fleet_free(&c->fl);
	return rc;
}
