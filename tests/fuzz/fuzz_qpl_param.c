/*
 * fuzz_qpl_param.c — the `_with_params` custom parameter that a quote
 * provider library consumer (Open Enclave, THIM clients) passes through
 * sgx_ql_get_quote_verification_collateral_with_params: arbitrary bytes of
 * any length up to the ABI's 16-bit size, base64 or plain text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "colbundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > UINT16_MAX)
		return 0;
	/* An exact-size copy, so that a read past the given length is caught. */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	uint32_t eval = 0xdeadbeef;
	colb_err rc = colb_intel_parse_custom_param(copy, size, &eval);
	if (rc == COLB_OK && eval == 0xdeadbeef)
		abort(); /* success must say which number (0: none) */
	free(copy);
	return 0;
}
