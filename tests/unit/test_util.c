/*
 * test_util.c — the shared helpers: bounded buffers refuse to grow past
 * their cap, hex/base64/percent round-trip and reject bad input, RFC 3339
 * times parse the vendors' forms and nothing else, and the strict JSON
 * scanner takes RFC 8259 and nothing more.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include "util/jscan.h"
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

/* Whether the scanner takes text as one JSON value. */
static bool is_json(const char *text)
{
	colb_jscan s;
	colb_jscan_init(&s, text, strlen(text));
	bool ok = colb_jscan_skip(&s, NULL, NULL) && colb_jscan_done(&s);
	if (!ok)
		assert_non_null(s.err);
	return ok;
}

static void test_jscan_takes_rfc8259_and_nothing_more(void **state)
{
	static const char *const good[] = {
		"{}", " [ ] ", "0", "-0", "1.5e-3", "1E+2", "true", "null", "\"\"",
		"{\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9\\ud83d\\ude00\\/\\\\\\\"\"}",
		"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\r\n\t{\"a\" : 1}\n",
	};
	static const char *const bad[] = {
		"", " ", "{", "{\"a\"}", "{\"a\":1,}", "[1,]", "[,1]", "{,}", "01", "1.", ".5", "1e",
		"+1", "-", "tru", "nul", "'a'", "\"a", "\"\\x\"", "\"\\u12\"", "\"\\u0000\"",
		"\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\tb\"", "\"\xc0\xaf\"",
		"\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\x80\"", "\"\xe2\x82\"", "{} {}", "[] x",
		"{\"a\" 1}", "{1:2}", "NaN", "Infinity",
	};
	for (size_t i = 0; i < COLB_ARRAY_LEN(good); i++)
		if (!is_json(good[i]))
			fail_msg("refused good JSON: %s", good[i]);
	for (size_t i = 0; i < COLB_ARRAY_LEN(bad); i++)
		if (is_json(bad[i]))
			fail_msg("took bad JSON: %s", bad[i]);
	/* nesting: to the cap and no further */
	char deep[2 * (COLB_JSCAN_MAX_DEPTH + 1) + 1];
	for (int n = COLB_JSCAN_MAX_DEPTH; n <= COLB_JSCAN_MAX_DEPTH + 1; n++) {
		memset(deep, '[', (size_t)n);
		memset(deep + n, ']', (size_t)n);
		deep[2 * n] = 0;
		assert_int_equal(is_json(deep), n <= COLB_JSCAN_MAX_DEPTH);
	}
}

static void test_jscan_decodes_strings_and_reports_their_length(void **state)
{
	const char *text = "{\"k\\u00e9y\":\"a\\nb\\u20ac\",\"n\":18446744073709551615,\"m\":18446744073709551616}";
	colb_jscan s;
	colb_jscan_init(&s, text, strlen(text));
	char key[8], val[4];
	size_t kl, vl;
	bool first = true, is_uint;
	uint64_t v;
	assert_true(colb_jscan_expect(&s, '{', "object"));
	assert_int_equal(colb_jscan_key(&s, &first, key, sizeof key, &kl), 1);
	assert_string_equal(key, "k\xc3\xa9y");
	assert_int_equal(kl, 4);
	/* "a\nb€" is 6 bytes: cut to 3 with the NUL, the whole length told */
	assert_true(colb_jscan_string(&s, val, sizeof val, &vl));
	assert_int_equal(vl, 6);
	assert_string_equal(val, "a\nb");
	assert_int_equal(colb_jscan_key(&s, &first, key, sizeof key, &kl), 1);
	assert_true(colb_jscan_number(&s, &is_uint, &v));
	assert_true(is_uint);
	assert_true(v == UINT64_MAX);
	assert_int_equal(colb_jscan_key(&s, &first, key, sizeof key, &kl), 1);
	assert_true(colb_jscan_number(&s, &is_uint, &v)); /* valid JSON, past 64 bits */
	assert_false(is_uint);
	assert_int_equal(colb_jscan_key(&s, &first, key, sizeof key, &kl), 0);
	assert_true(colb_jscan_done(&s));
	/* the offset of an error is where the scanner stopped */
	colb_jscan_init(&s, "[1, x]", 6);
	assert_false(colb_jscan_skip(&s, NULL, NULL));
	assert_int_equal(colb_jscan_offset(&s), 4);
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
		cmocka_unit_test(test_jscan_takes_rfc8259_and_nothing_more),
		cmocka_unit_test(test_jscan_decodes_strings_and_reports_their_length),
		cmocka_unit_test(test_every_error_has_a_description),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
