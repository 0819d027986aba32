/*
 * test_bundle_threads.c — one open bundle shared by many threads: failed
 * lookups on one thread never show up in (or tear) another thread's error
 * message, and the open's own message stays readable from any thread.
 */
#include "test_bundle_support.h"

#include <pthread.h>

#define ROUNDS 20000

struct worker {
	colb_bundle *b;
	const char *missing;    /* the path this thread asks for */
	int wrong;              /* messages that were not about its own path */
};

static void *lookups(void *arg)
{
	struct worker *w = arg;
	char want[256];
	snprintf(want, sizeof want, "'%s': no such file in the bundle", w->missing);
	for (int i = 0; i < ROUNDS; i++) {
		const uint8_t *d;
		size_t n;
		if (colb_bundle_read(w->b, w->missing, &d, &n) != COLB_ERR_NOT_FOUND ||
		    strcmp(colb_bundle_error(w->b), want) != 0)
			w->wrong++;
	}
	return NULL;
}

static void test_concurrent_failed_lookups_keep_their_own_messages(void **state)
{
	size_t len;
	uint8_t *data = tb_bundle(3, 1, "thr", &len);
	const char *names[1] = {"thr"};
	colb_trust *t = tb_trust(names, 1, 1);
	colb_bundle *b = NULL;
	assert_int_equal(tb_open_with(data, len, t, NULL, &b), COLB_OK);

	struct worker w[4] = {
		{b, "intel/none/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json", 0},
		{b, "amd/none/b.der", 0},
		{b, "intel/none/cccccccccccccccccccccccccccccc.json", 0},
		{b, "d", 0},
	};
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, lookups, &w[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		if (w[i].wrong)
			fail_msg("thread %d saw %d messages that were not about its own lookup", i, w[i].wrong);
	}
	/* This thread failed nothing: it still sees no lookup message. */
	assert_string_equal(colb_bundle_error(b), "");
	colb_bundle_free(b);
	colb_trust_free(t);
	free(data);
}

struct peek {
	colb_bundle *b;
	char seen[512];
};

static void *peek_error(void *arg)
{
	struct peek *p = arg;
	snprintf(p->seen, sizeof p->seen, "%s", colb_bundle_error(p->b));
	return NULL;
}

static void test_open_failure_message_is_readable_from_another_thread(void **state)
{
	size_t len;
	uint8_t *data = tb_bundle(3, 1, "thr2", &len);
	const char *names[1] = {"thr"}; /* not the signer */
	colb_trust *t = tb_trust(names, 1, 1);
	struct peek p = {0};
	assert_int_equal(tb_open_with(data, len, t, NULL, &p.b), COLB_ERR_UNTRUSTED_KEY);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, peek_error, &p), 0);
	pthread_join(th, NULL);
	assert_string_equal(p.seen, colb_bundle_error(p.b));
	assert_true(strlen(p.seen) > 0);
	colb_bundle_free(p.b);
	colb_trust_free(t);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_failed_lookups_keep_their_own_messages),
		cmocka_unit_test(test_open_failure_message_is_readable_from_another_thread),
	};
	return cmocka_run_group_tests_name("bundle_threads", tests, NULL, NULL);
}
