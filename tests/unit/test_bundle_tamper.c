/*
 * test_bundle_tamper.c — no byte of a .colb is both unsigned and unchecked:
 * every single-byte change of a small singly-signed bundle is refused (all
 * 255 other values of every header and signature-block byte, every single
 * bit flip elsewhere), and so is a sample of 10,000 changes in a large one.
 */
#include "test_bundle_support.h"

/* Opens one changed copy; returns true when it was (wrongly) accepted. */
typedef struct tamper_ctx {
	colb_opts *o;
	colb_trust *t;
	colb_bundle *b;
} tamper_ctx;

static void ctx_init(tamper_ctx *c)
{
	const char *names[1] = {"pub1"};
	c->t = tb_trust(names, 1, 1);
	c->o = colb_opts_new();
	colb_opts_set_trust(c->o, c->t);
	colb_opts_set_time(c->o, TB_AT);
	c->b = colb_bundle_new(c->o);
}

static void ctx_free(tamper_ctx *c)
{
	colb_bundle_free(c->b);
	colb_opts_free(c->o);
	colb_trust_free(c->t);
}

/* Accepted means: opened, and every file's digest checks out. */
static bool accepted(tamper_ctx *c, const uint8_t *d, size_t len)
{
	if (colb_bundle_open_memory(c->b, d, len) != COLB_OK)
		return false;
	return colb_bundle_verify_files(c->b) == COLB_OK;
}

static void test_every_byte_change_of_a_small_bundle_is_refused(void **state)
{
	size_t len;
	uint8_t *d = tb_bundle(4, 3, "pub1", &len);
	tamper_ctx c;
	ctx_init(&c);
	assert_true(accepted(&c, d, len)); /* the untouched bundle is good */
	size_t sig_end = COLB_HEADER_LEN + colb_le32(d + 12) + colb_le32(d + 16);
	size_t tried = 0, accepted_n = 0, first = (size_t)-1;
	for (size_t pos = 0; pos < len; pos++) {
		uint8_t orig = d[pos];
		bool all_values = pos < COLB_HEADER_LEN || (pos >= sig_end - 74 && pos < sig_end);
		for (unsigned v = 0; v < 256; v++) {
			uint8_t changed;
			if (all_values) {
				if (v == orig)
					continue;
				changed = (uint8_t)v;
			} else {
				if (v >= 8)
					break;
				changed = (uint8_t)(orig ^ (1u << v));
			}
			d[pos] = changed;
			tried++;
			if (accepted(&c, d, len)) {
				accepted_n++;
				if (first == (size_t)-1)
					first = pos;
			}
			d[pos] = orig;
		}
	}
	print_message("# small bundle: %zu bytes, %zu changes tried, %zu accepted\n", len, tried,
		      accepted_n);
	if (accepted_n)
		fail_msg("%zu changed bundles were accepted (first at byte %zu)", accepted_n, first);
	ctx_free(&c);
	free(d);
}

/* A large bundle: files with varied, poorly compressible content. */
static uint8_t *large_bundle(size_t nfiles, size_t *len)
{
	colb_writer *w = colb_writer_new();
	colb_writer_set_version(w, 11);
	colb_writer_set_created(w, TB_CREATED);
	colb_writer_set_expires(w, TB_EXPIRES);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < nfiles; i++) {
		char path[160];
		size_t n = 8000 + (i * 131) % 8000;
		uint8_t *body = malloc(n);
		for (size_t j = 0; j < n; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			body[j] = "0123456789ABCDEF"[x & 15]; /* hex text, as in PEM/JSON */
		}
		snprintf(path, sizeof path, "intel/pckcerts/%032zX-%04zX.json", i, i % 7);
		assert_int_equal(colb_writer_add_file(w, path, body, n, NULL, NULL), COLB_OK);
		free(body);
	}
	colb_seckey *k = tb_seckey("pub1");
	colb_buf out;
	colb_buf_init(&out, 0);
	assert_int_equal(colb_writer_build(w, k, &out), COLB_OK);
	colb_seckey_free(k);
	colb_writer_free(w);
	return colb_buf_steal(&out, len);
}

static void test_sampled_byte_changes_of_a_large_bundle_are_refused(void **state)
{
	size_t len;
	uint8_t *d = large_bundle(40, &len);
	tamper_ctx c;
	ctx_init(&c);
	assert_true(accepted(&c, d, len));
	uint64_t x = 88172645463325252ull;
	size_t accepted_n = 0, first = 0;
	for (int i = 0; i < 10000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t pos = (size_t)(x % len);
		uint8_t orig = d[pos];
		d[pos] = (uint8_t)(orig ^ (1u + (uint8_t)((x >> 32) % 255)));
		if (accepted(&c, d, len) && !accepted_n++)
			first = pos;
		d[pos] = orig;
	}
	print_message("# large bundle: %zu bytes, 10000 sampled changes, %zu accepted\n", len, accepted_n);
	if (accepted_n)
		fail_msg("%zu changed bundles were accepted (first at byte %zu)", accepted_n, first);
	ctx_free(&c);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte_change_of_a_small_bundle_is_refused),
		cmocka_unit_test(test_sampled_byte_changes_of_a_large_bundle_are_refused),
	};
	return cmocka_run_group_tests_name("bundle_tamper", tests, NULL, NULL);
}
