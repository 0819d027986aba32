/*
 * fuzz_amd_report.c — the SNP report parser and signature check on arbitrary
 * bytes (the first 1184 bytes are the report; the rest, if any, is tried as
 * the signing certificate).
 */
#include <stddef.h>
#include <stdint.h>

#include "colbundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	colb_amd_report r;
	size_t rlen = size < COLB_AMD_REPORT_SIZE ? size : COLB_AMD_REPORT_SIZE;
	if (colb_amd_report_parse(data, rlen, &r) == COLB_OK && size > COLB_AMD_REPORT_SIZE) {
		(void)colb_amd_report_verify(data, rlen, data + COLB_AMD_REPORT_SIZE, size - COLB_AMD_REPORT_SIZE);
		char hex[129];
		(void)colb_amd_hwid_hex(r.product ? r.product : COLB_AMD_MILAN, r.chip_id, hex);
	}
	return 0;
}
