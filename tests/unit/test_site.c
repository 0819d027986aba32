/*
 * test_site.c — the site store through the library: installs, the readers'
 * fast path, concurrent readers during installs, a damaged payload cache,
 * and rotation statements' length checks.
 */
#include "support.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/rotation.h"

#define T_CREATED ((time_t)1767225600) /* 2026-01-01 */
#define T_AT (T_CREATED + 86400)

static const char *key_path(const char *name)
{
	static char p[2][512];
	static int next;
	char *out = p[next++ & 1];
	snprintf(out, 512, "%s/%s", t_scratch(), name);
	char pub[600];
	snprintf(pub, sizeof pub, "%s.pub", out);
	if (access(pub, F_OK) != 0) {
		char err[256];
		assert_int_equal(colb_keygen(out, NULL, err, sizeof err), COLB_OK);
	}
	return out;
}

static colb_seckey *seckey(const char *name)
{
	char path[600], err[256];
	snprintf(path, sizeof path, "%s.key", key_path(name));
	colb_seckey *k = NULL;
	assert_int_equal(colb_seckey_load(path, NULL, &k, err, sizeof err), COLB_OK);
	return k;
}

static colb_trust *trust_of(const char *name)
{
	char path[600], err[256];
	snprintf(path, sizeof path, "%s.pub", key_path(name));
	colb_trust *t = colb_trust_new();
	assert_int_equal(colb_trust_add_pubkey_file(t, path, err, sizeof err), COLB_OK);
	return t;
}

/* A bundle of version v whose two files both say v: a reader that ever
 * sees them disagree, or disagree with the manifest's version, saw a mix. */
static const char *make_bundle(uint64_t v)
{
	static char path[4][600];
	static int next;
	char *out = path[next++ & 3];
	snprintf(out, 600, "%s/b%llu.colb", t_scratch(), (unsigned long long)v);
	char text[64];
	int n = snprintf(text, sizeof text, "version %llu\n", (unsigned long long)v);
	colb_writer *w = colb_writer_new();
	colb_writer_set_version(w, v);
	colb_writer_set_created(w, T_CREATED);
	colb_writer_set_expires(w, T_CREATED + 90 * 86400);
	assert_int_equal(colb_writer_add_file(w, "other/a", (const uint8_t *)text, (size_t)n, NULL, NULL), COLB_OK);
	/* a larger second file, so that a torn read would show */
	size_t big = 200000 + (size_t)(v % 7) * 1000;
	uint8_t *b = malloc(big);
	for (size_t i = 0; i < big; i++)
		b[i] = (uint8_t)(v + i);
	memcpy(b, text, (size_t)n);
	assert_int_equal(colb_writer_add_file(w, "other/b", b, big, NULL, NULL), COLB_OK);
	free(b);
	colb_seckey *k = seckey("site1");
	assert_int_equal(colb_writer_finish(w, k, out), COLB_OK);
	colb_seckey_free(k);
	colb_writer_free(w);
	return out;
}

static colb_opts *opts_for(const colb_trust *t)
{
	colb_opts *o = colb_opts_new();
	colb_opts_set_trust(o, t);
	colb_opts_set_time(o, T_AT);
	return o;
}

static void install_ok(const char *store, const char *bundle, const colb_opts *o)
{
	char err[768];
	colb_install_result r;
	colb_err rc = colb_store_install(store, bundle, o, COLB_INSTALL_WAIT, &r, err, sizeof err);
	if (rc)
		fail_msg("install %s: %s: %s", bundle, colb_strerror(rc), err);
}

/* Checks that an open bundle's two files agree with its version. */
static int consistent(colb_bundle *b)
{
	const uint8_t *a, *bb;
	size_t al, bl;
	char want[64];
	int n = snprintf(want, sizeof want, "version %llu\n", (unsigned long long)colb_bundle_version(b));
	if (colb_bundle_read(b, "other/a", &a, &al) || colb_bundle_read(b, "other/b", &bb, &bl))
		return 0;
	return al == (size_t)n && !memcmp(a, want, (size_t)n) && bl > (size_t)n && !memcmp(bb, want, (size_t)n) &&
	       bb[bl - 1] == (uint8_t)(colb_bundle_version(b) + bl - 1);
}

static void test_open_store_serves_the_installed_bundle(void **state)
{
	(void)state;
	char store[600];
	snprintf(store, sizeof store, "%s/store-open", t_scratch());
	colb_trust *t = trust_of("site1");
	colb_opts *o = opts_for(t);
	char gen[COLB_STORE_GEN_MAX];
	assert_int_equal(colb_store_generation(store, gen, sizeof gen), COLB_ERR_STORE);
	install_ok(store, make_bundle(5), o);
	assert_int_equal(colb_store_generation(store, gen, sizeof gen), COLB_OK);
	char first[COLB_STORE_GEN_MAX];
	strcpy(first, gen);
	assert_true(!strncmp(gen, "5-", 2));

	/* a reader with the site's keys, and one with none (the store's keyset) */
	colb_opts *none = colb_opts_new();
	colb_opts_set_time(none, T_AT);
	colb_opts *both[2] = {o, none};
	for (int i = 0; i < 2; i++) {
		colb_bundle *b = colb_bundle_new(both[i]);
		colb_err rc = colb_bundle_open_store(b, store);
		if (rc)
			fail_msg("open_store: %s: %s", colb_strerror(rc), colb_bundle_error(b));
		assert_int_equal(colb_bundle_version(b), 5);
		assert_int_equal(colb_bundle_keyset_version(b), 1);
		assert_true(consistent(b));
		colb_bundle_free(b);
	}
	install_ok(store, make_bundle(6), o);
	assert_int_equal(colb_store_generation(store, gen, sizeof gen), COLB_OK);
	assert_string_not_equal(gen, first);
	assert_int_equal(colb_store_generation(store, gen, 3), COLB_ERR_LIMIT);
	colb_opts_free(none);
	colb_opts_free(o);
	colb_trust_free(t);
}

static void test_install_refuses_rollback_and_changes_nothing(void **state)
{
	(void)state;
	char store[600], err[768];
	snprintf(store, sizeof store, "%s/store-rollback", t_scratch());
	colb_trust *t = trust_of("site1");
	colb_opts *o = opts_for(t);
	install_ok(store, make_bundle(20), o);
	install_ok(store, make_bundle(21), o);
	char before[COLB_STORE_GEN_MAX], after[COLB_STORE_GEN_MAX];
	assert_int_equal(colb_store_generation(store, before, sizeof before), COLB_OK);
	colb_install_result r;
	colb_err rc = colb_store_install(store, make_bundle(20), o, 0, &r, err, sizeof err);
	assert_int_equal(rc, COLB_ERR_ROLLBACK);
	assert_non_null(strstr(err, "lower than the installed 21"));
	assert_int_equal(colb_store_generation(store, after, sizeof after), COLB_OK);
	assert_string_equal(before, after);
	colb_opts_free(o);
	colb_trust_free(t);
}

static void test_damaged_cache_is_refused_file_by_file(void **state)
{
	(void)state;
	char store[600], path[700];
	snprintf(store, sizeof store, "%s/store-damaged", t_scratch());
	colb_trust *t = trust_of("site1");
	colb_opts *o = opts_for(t);
	install_ok(store, make_bundle(30), o);
	snprintf(path, sizeof path, "%s/current/files.bin", store);
	chmod(path, 0644);
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, -100, SEEK_END); /* inside other/b, the last file */
	int c = fgetc(f);
	fseek(f, -100, SEEK_END);
	fputc(c ^ 1, f);
	fclose(f);
	colb_bundle *b = colb_bundle_new(o);
	assert_int_equal(colb_bundle_open_store(b, store), COLB_OK);
	const uint8_t *d;
	size_t n;
	assert_int_equal(colb_bundle_read(b, "other/a", &d, &n), COLB_OK);
	assert_int_equal(colb_bundle_read(b, "other/b", &d, &n), COLB_ERR_DIGEST_MISMATCH);
	assert_non_null(strstr(colb_bundle_error(b), "other/b"));
	colb_bundle_free(b);

	/* a cache of the wrong size is refused at open */
	assert_int_equal(truncate(path, 10), 0);
	b = colb_bundle_new(o);
	assert_int_equal(colb_bundle_open_store(b, store), COLB_ERR_SIZE_MISMATCH);
	assert_int_equal(colb_bundle_file_count(b), 0);
	colb_bundle_free(b);
	colb_opts_free(o);
	colb_trust_free(t);
}

static void test_open_store_refuses_a_bundle_its_state_does_not_name(void **state)
{
	(void)state;
	char store[600], cmd[2000];
	snprintf(store, sizeof store, "%s/store-swapped", t_scratch());
	colb_trust *t = trust_of("site1");
	colb_opts *o = opts_for(t);
	/* 40 and 47 have payload caches of the same size */
	install_ok(store, make_bundle(40), o);
	install_ok(store, make_bundle(47), o);
	/* someone copies the previous generation's bundle over the current one */
	snprintf(cmd, sizeof cmd, "cd '%s' && chmod u+w current/bundle.colb && cp previous/bundle.colb current/bundle.colb",
		 store);
	assert_int_equal(t_sh("%s", cmd), 0);
	colb_bundle *b = colb_bundle_new(o);
	assert_int_equal(colb_bundle_open_store(b, store), COLB_ERR_STORE);
	assert_non_null(strstr(colb_bundle_error(b), "not the one its state records"));
	assert_int_equal(colb_bundle_file_count(b), 0);
	colb_bundle_free(b);
	colb_opts_free(o);
	colb_trust_free(t);
}

/* ---- concurrent readers ----------------------------------------------------- */

typedef struct race {
	const char *store;
	const colb_opts *o;
	atomic_bool stop;
	atomic_int opens, bad, versions_seen, switches;
	char bad_msg[512];
} race;

static void *reader(void *arg)
{
	race *r = arg;
	uint64_t last = 0;
	char gen[COLB_STORE_GEN_MAX] = "", now[COLB_STORE_GEN_MAX];
	while (!atomic_load(&r->stop)) {
		if (colb_store_generation(r->store, now, sizeof now) == COLB_OK && strcmp(now, gen) != 0) {
			strcpy(gen, now);
			atomic_fetch_add(&r->switches, 1);
		}
		colb_bundle *b = colb_bundle_new(r->o);
		colb_err rc = colb_bundle_open_store(b, r->store);
		if (rc || !consistent(b) || colb_bundle_version(b) < last) {
			if (atomic_fetch_add(&r->bad, 1) == 0)
				snprintf(r->bad_msg, sizeof r->bad_msg, "rc %d (%s), version %llu after %llu",
					 rc, colb_bundle_error(b), (unsigned long long)colb_bundle_version(b),
					 (unsigned long long)last);
		} else {
			if (colb_bundle_version(b) != last)
				atomic_fetch_add(&r->versions_seen, 1);
			last = colb_bundle_version(b);
		}
		atomic_fetch_add(&r->opens, 1);
		colb_bundle_free(b);
	}
	return NULL;
}

static void test_readers_never_see_a_torn_or_mixed_bundle(void **state)
{
	(void)state;
	enum { INSTALLS = 25 };
	char store[600];
	snprintf(store, sizeof store, "%s/store-race", t_scratch());
	colb_trust *t = trust_of("site1");
	colb_opts *o = opts_for(t);
	const char *bundles[INSTALLS];
	static char paths[INSTALLS][600];
	for (int i = 0; i < INSTALLS; i++) {
		snprintf(paths[i], sizeof paths[i], "%s", make_bundle(100 + (uint64_t)i));
		bundles[i] = paths[i];
	}
	install_ok(store, bundles[0], o);
	race r = {.store = store, .o = o};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, reader, &r);
	for (int i = 1; i < INSTALLS; i++) {
		install_ok(store, bundles[i], o);
		/* let the readers open at least twice between installs, so that
		 * installs and reads interleave even on a loaded machine */
		int seen = atomic_load(&r.opens);
		for (int w = 0; w < 2000 && atomic_load(&r.opens) < seen + 2; w++)
			usleep(1000);
	}
	atomic_store(&r.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	print_message("# %d opens by 2 readers during %d installs, %d version changes seen\n",
		      atomic_load(&r.opens), INSTALLS - 1, atomic_load(&r.versions_seen));
	if (atomic_load(&r.bad))
		fail_msg("%d bad reads; the first: %s", atomic_load(&r.bad), r.bad_msg);
	assert_true(atomic_load(&r.opens) >= 2 * (INSTALLS - 1));
	assert_true(atomic_load(&r.versions_seen) > INSTALLS / 2);
	colb_opts_free(o);
	colb_trust_free(t);
}

/* ---- rotation statements --------------------------------------------------------- */

static void test_rotation_statements_are_length_checked(void **state)
{
	(void)state;
	colb_trust *next = trust_of("site2");
	colb_seckey *old = seckey("site1");
	const colb_seckey *olds[1] = {old};
	uint8_t *st = NULL;
	size_t len = 0;
	char err[256];
	assert_int_equal(colb_rotation_create(next, 2, olds, 1, &st, &len, err, sizeof err), COLB_OK);
	uint64_t v;
	size_t nk, ns;
	assert_int_equal(colb_rotation_describe(st, len, &v, NULL, &nk, &ns, err, sizeof err), COLB_OK);
	assert_int_equal(v, 2);
	assert_int_equal(nk, 1);
	assert_int_equal(ns, 1);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(colb_rotation_describe(st, cut, NULL, NULL, NULL, NULL, err, sizeof err),
				 COLB_ERR_ROTATION);
	/* keyset 1 is the publisher's first: no statement creates it */
	uint8_t *bad = NULL;
	size_t badlen = 0;
	assert_int_equal(colb_rotation_create(next, 1, olds, 1, &bad, &badlen, err, sizeof err),
			 COLB_ERR_INVALID_ARG);
	assert_null(bad);
	/* a statement walked from the old key moves to keyset 2; from a stranger it is refused */
	uint8_t section[4096];
	section[0] = 1;
	section[1] = 0;
	section[2] = (uint8_t)len;
	section[3] = (uint8_t)(len >> 8);
	section[4] = section[5] = 0;
	memcpy(section + 6, st, len);
	colb_trust *anchor = trust_of("site1"), *stranger = trust_of("site3"), *out = NULL;
	uint64_t ov;
	assert_int_equal(colb_keyset_walk(anchor, 0, section, 6 + len, &out, &ov, err, sizeof err), COLB_OK);
	assert_int_equal(ov, 2);
	colb_trust_free(out);
	assert_int_equal(colb_keyset_walk(stranger, 1, section, 6 + len, &out, &ov, err, sizeof err),
			 COLB_ERR_ROTATION);
	assert_non_null(strstr(err, "not signed by keyset 1"));
	/* a changed key byte breaks the old key's signature */
	section[6 + COLB_ROT_FIXED_LEN] ^= 1;
	assert_int_equal(colb_keyset_walk(anchor, 0, section, 6 + len, &out, &ov, err, sizeof err),
			 COLB_ERR_ROTATION);
	colb_trust_free(anchor);
	colb_trust_free(stranger);
	colb_trust_free(next);
	colb_seckey_free(old);
	free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_store_serves_the_installed_bundle),
		cmocka_unit_test(test_install_refuses_rollback_and_changes_nothing),
		cmocka_unit_test(test_damaged_cache_is_refused_file_by_file),
		cmocka_unit_test(test_open_store_refuses_a_bundle_its_state_does_not_name),
		cmocka_unit_test(test_readers_never_see_a_torn_or_mixed_bundle),
		cmocka_unit_test(test_rotation_statements_are_length_checked),
	};
	return cmocka_run_group_tests_name("site", tests, NULL, NULL);
}
