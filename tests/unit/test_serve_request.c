/*
 * test_serve_request.c — the HTTP server's request-target parser: what each
 * path and parameter becomes, and the 4xx each kind of bad input gets.
 */
#include <stdio.h>
#include <string.h>

#include "support.h"

#include "serve/request.h"

static bool parse(const char *t, serve_req *r)
{
	return serve_parse_target(t, strlen(t), r);
}

#define HWID128 "411b82aab8f4b70a2035876196dc0440c4713e38fdc835e67af2a71f7d28b5ac" \
		"7d5ba6b4788ab1344ff3e3121fec20bb20cba801d5c63b4870fa6691ff08ee1c"

static void test_tcb_parameters_become_fmspc_and_update(void **state)
{
	serve_req r;
	assert_true(parse("/sgx/certification/v4/tcb?fmspc=00906ed50000&update=early", &r));
	assert_int_equal(r.route, SR_TCB);
	assert_int_equal(r.tee, 0);
	const uint8_t fm[6] = { 0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00 };
	assert_memory_equal(r.fmspc, fm, 6);
	assert_int_equal(r.update, SU_EARLY);
	assert_true(parse("/tdx/certification/v4/tcb?tcbEvaluationDataNumber=17&fmspc=00906ED50000", &r));
	assert_int_equal(r.tee, 1);
	assert_int_equal(r.update, SU_NUMBER);
	assert_int_equal(r.eval, 17);
}

static void test_tcb_refuses_both_update_and_number_with_400(void **state)
{
	serve_req r;
	assert_false(parse("/sgx/certification/v4/tcb?fmspc=00906ED50000&update=standard&tcbEvaluationDataNumber=3", &r));
	assert_int_equal(r.status, 400);
	assert_string_equal(r.error_code, "InvalidRequestSyntax");
	assert_int_equal(r.route, SR_TCB); /* counted under its route */
}

static void test_numbers_out_of_range_are_400(void **state)
{
	const char *bad[] = {
		"/sgx/certification/v4/tcb?fmspc=00906ED50000&tcbEvaluationDataNumber=4294967296",
		"/sgx/certification/v4/tcb?fmspc=00906ED50000&tcbEvaluationDataNumber=0",
		"/sgx/certification/v4/tcb?fmspc=00906ED50000&tcbEvaluationDataNumber=",
		"/sgx/certification/v4/tcb?fmspc=00906ED50000&tcbEvaluationDataNumber=1e3",
		"/vcek/v1/Milan/" HWID128 "?blSPL=256&teeSPL=0&snpSPL=0&ucodeSPL=0",
		"/vcek/v1/Milan/" HWID128 "?blSPL=-1&teeSPL=0&snpSPL=0&ucodeSPL=0",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		serve_req r;
		if (parse(bad[i], &r) || r.status != 400)
			fail_msg("expected 400 for %s, got %s %d", bad[i], parse(bad[i], &r) ? "accepted" : "status",
				 r.status);
	}
}

static void test_pce_values_are_little_endian_hex(void **state)
{
	serve_req r;
	assert_true(parse("/sgx/certification/v4/pckcert?qeid=00112233445566778899aabbccddeeff"
			  "&cpusvn=0c0c020201800e000000000000000000&pcesvn=0d00&pceid=0100", &r));
	assert_int_equal(r.route, SR_PCKCERT);
	assert_true(r.has_qe_id);
	assert_int_equal(r.pcesvn, 13);
	assert_int_equal(r.pce_id, 1);
	assert_int_equal(r.cpusvn[0], 0x0c);
	assert_int_equal(r.cpusvn[5], 0x80);
}

static void test_spl_order_and_padding_do_not_matter(void **state)
{
	serve_req a, b;
	assert_true(parse("/vcek/v1/Milan/" HWID128 "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115", &a));
	assert_true(parse("/vcek/v1/Milan/" HWID128 "?ucodeSPL=115&snpSPL=08&teeSPL=00&blSPL=03", &b));
	assert_int_equal(a.route, SR_AMD_CERT);
	assert_int_equal(a.bl, b.bl);
	assert_int_equal(a.tee_spl, b.tee_spl);
	assert_int_equal(a.snp, b.snp);
	assert_int_equal(a.ucode, b.ucode);
	assert_memory_equal(a.hwid, b.hwid, 64);
}

static void test_turin_takes_an_8_byte_hwid_and_needs_fmc(void **state)
{
	serve_req r;
	assert_true(parse("/vcek/v1/Turin/0011223344556677?fmcSPL=1&blSPL=2&teeSPL=0&snpSPL=3&ucodeSPL=4", &r));
	assert_int_equal(r.product, SA_TURIN);
	assert_int_equal(r.hwid_len, 8);
	const uint8_t zero[56] = { 0 };
	assert_memory_equal(r.hwid + 8, zero, 56);
	assert_int_equal(r.fmc, 1);
	assert_false(parse("/vcek/v1/Turin/0011223344556677?blSPL=2&teeSPL=0&snpSPL=3&ucodeSPL=4", &r));
	assert_int_equal(r.status, 400);
	assert_false(parse("/vcek/v1/Milan/" HWID128 "?fmcSPL=1&blSPL=2&teeSPL=0&snpSPL=3&ucodeSPL=4", &r));
	assert_int_equal(r.status, 400);
	assert_false(parse("/vcek/v1/Turin/" HWID128 "?fmcSPL=1&blSPL=2&teeSPL=0&snpSPL=3&ucodeSPL=4", &r));
	assert_int_equal(r.status, 400);
}

static void test_crl_uri_names_the_distribution_points(void **state)
{
	serve_req r;
	assert_true(parse("/sgx/certification/v4/crl?uri=https%3A%2F%2Fcertificates.trustedservices.intel.com"
			  "%2FIntelSGXRootCA.der", &r));
	assert_int_equal(r.ca, -1);
	assert_true(parse("/sgx/certification/v4/crl?uri=https%3A%2F%2Fapi.trustedservices.intel.com%2Fsgx"
			  "%2Fcertification%2Fv4%2Fpckcrl%3Fca%3Dprocessor%26encoding%3Dder", &r));
	assert_int_equal(r.ca, 0);
	assert_false(parse("/sgx/certification/v4/crl?uri=https%3A%2F%2Fexample.org%2Fa.crl", &r));
	assert_int_equal(r.status, 404);
}

static void test_hostile_targets_get_4xx_with_a_header_safe_message(void **state)
{
	char big[SERVE_MAX_TARGET + 64];
	memset(big, 'a', sizeof big - 1);
	big[0] = '/';
	big[sizeof big - 1] = 0;
	const struct {
		const char *t;
		int status;
	} cases[] = {
		{ big, 414 },
		{ "/sgx/certification/v4/tcb?fmspc=%0d%0aX:1", 400 },
		{ "/sgx/certification/v4/tcb?fmspc=%00", 400 },
		{ "/sgx/certification/v4/tcb?fmspc=%4", 400 },
		{ "/sgx/certification/v4/%74cb?fmspc=00906ED50000", 404 },
		{ "/sgx/certification/v4/../v4/tcb", 404 },
		{ "sgx/certification/v4/tcb", 400 },
		{ "/sgx/certification/v4/tcb?fmspc=00906ED50000#x", 400 },
		{ "/index.html", 404 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		serve_req r;
		bool okp = parse(cases[i].t, &r);
		if (okp || r.status != cases[i].status)
			fail_msg("case %zu: expected %d, got %s %d", i, cases[i].status, okp ? "accepted" : "status",
				 r.status);
		for (const char *p = r.error_msg; *p; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
	}
}

static void test_thim_takes_a_chip_or_none(void **state)
{
	serve_req r;
	assert_true(parse("/metadata/THIM/amd/certification", &r));
	assert_int_equal(r.route, SR_THIM_AMD);
	assert_false(r.has_chip);
	assert_true(parse("/metadata/THIM/amd/certification?product=Milan&hwid=" HWID128 "&tcbm=7308000000000003", &r));
	assert_true(r.has_chip && r.has_tcbm);
	assert_true(r.tcbm == 0x7308000000000003ull);
	assert_true(parse("/metadata/THIM/sgx/certification/v4/qe/identity", &r));
	assert_int_equal(r.route, SR_IDENTITY);
	assert_true(r.thim_prefix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcb_parameters_become_fmspc_and_update),
		cmocka_unit_test(test_tcb_refuses_both_update_and_number_with_400),
		cmocka_unit_test(test_numbers_out_of_range_are_400),
		cmocka_unit_test(test_pce_values_are_little_endian_hex),
		cmocka_unit_test(test_spl_order_and_padding_do_not_matter),
		cmocka_unit_test(test_turin_takes_an_8_byte_hwid_and_needs_fmc),
		cmocka_unit_test(test_crl_uri_names_the_distribution_points),
		cmocka_unit_test(test_hostile_targets_get_4xx_with_a_header_safe_message),
		cmocka_unit_test(test_thim_takes_a_chip_or_none),
	};
	return cmocka_run_group_tests_name("serve_request", tests, NULL, NULL);
}
