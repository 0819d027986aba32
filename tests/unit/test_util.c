/*
 * test_util.c — the shared helpers: bounded buffers refuse to grow past
 * their cap, hex/base64/percent round-trip and reject bad input, RFC 3339
 * times parse the vendors' forms and nothing else.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static void test_buf_refuses_growth_past_its_cap(void **state)
{
	colb_buf b;
	colb_buf_init(&b, 10);
	assert_int_equal(colb_buf_append(&b, "0123456789", 10), COLB_OK);
	assert_int_equal(colb_buf_append(&b, "x", 1), COLB_ERR_LIMIT);
	assert_int_equal(b.len, 10);
	assert_int_equal(b.data[10], 0);
	colb_buf_free(&b);
}

static void test_hex_round_trips_and_rejects_bad_digits(void **state)
{
	uint8_t in[3] = {0x00, 0xab, 0xff}, out[3];
	char hex[7];
	colb_hex_encode(in, 3, hex, true);
	assert_string_equal(hex, "00ABFF");
	assert_true(colb_hex_decode("00abFF", 6, out, 3));
	assert_memory_equal(in, out, 3);
	assert_false(colb_hex_decode("00abFG", 6, out, 3));
	assert_false(colb_hex_decode("00ab", 4, out, 3));
}

static void test_base64_rejects_whitespace_and_garbage(void **state)
{
	size_t n;
	uint8_t *d = colb_b64_decode("aGVsbG8=", 8, &n);
	assert_non_null(d);
	assert_int_equal(n, 5);
	assert_memory_equal(d, "hello", 5);
	free(d);
	assert_null(colb_b64_decode("aGVs bG8=", 9, &n));
	assert_null(colb_b64_decode("aGVsbG8", 7, &n));
}

static void test_percent_decoding_of_pcs_chain_headers(void **state)
{
	size_t n;
	char *s = colb_percent_decode("-----BEGIN%20CERT%0A", 20, &n);
	assert_non_null(s);
	assert_string_equal(s, "-----BEGIN CERT\n");
	free(s);
	assert_null(colb_percent_decode("abc%2", 5, &n));
	assert_null(colb_percent_decode("abc%zz", 6, &n));
	char *e = colb_percent_encode("a b/\n", 5);
	assert_string_equal(e, "a%20b%2F%0A");
	free(e);
}

static void test_time_parses_vendor_forms_only(void **state)
{
	time_t t;
	char out[21];
	assert_true(colb_time_parse("2025-05-27T19:31:07Z", &t));
	colb_time_format(t, out);
	assert_string_equal(out, "2025-05-27T19:31:07Z");
	assert_true(colb_time_parse("2025-05-27T19:31:07.123Z", &t));
	assert_true(colb_time_parse("2025-05-27T19:31:07+00:00", &t));
	assert_false(colb_time_parse("2025-05-27T19:31:07+01:00", &t));
	assert_false(colb_time_parse("2025-13-27T19:31:07Z", &t));
	assert_false(colb_time_parse("yesterday", &t));
}

static void test_u64_parse_refuses_overflow_and_signs(void **state)
{
	uint64_t v;
	assert_true(colb_parse_u64("18446744073709551615", &v));
	assert_true(v == UINT64_MAX);
	assert_false(colb_parse_u64("18446744073709551616", &v));
	assert_false(colb_parse_u64("-1", &v));
	assert_false(colb_parse_u64("", &v));
	assert_false(colb_parse_u64("12a", &v));
}

static void test_every_error_has_a_description(void **state)
{
	for (int e = 0; e < 100; e++) {
		const char *s = colb_strerror((colb_err)e);
		assert_non_null(s);
	}
	assert_string_equal(colb_strerror(COLB_ERR_ROLLBACK), "rollback refused");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_refuses_growth_past_its_cap),
		cmocka_unit_test(test_hex_round_trips_and_rejects_bad_digits),
		cmocka_unit_test(test_base64_rejects_whitespace_and_garbage),
		cmocka_unit_test(test_percent_decoding_of_pcs_chain_headers),
		cmocka_unit_test(test_time_parses_vendor_forms_only),
		cmocka_unit_test(test_u64_parse_refuses_overflow_and_signs),
		cmocka_unit_test(test_every_error_has_a_description),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
