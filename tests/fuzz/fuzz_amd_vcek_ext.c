/*
 * fuzz_amd_vcek_ext.c — the VCEK/VLEK extension decoder on arbitrary
 * certificates (strict DER values, raw or wrapped hwid, duplicates), and the
 * TCB it derives for each product.
 */
#include <stddef.h>
#include <stdint.h>

#include "amd/amd_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	amd_ext e;
	char why[256];
	if (!amd_ext_decode_der(data, size, &e, why, sizeof why))
		return 0;
	for (int p = COLB_AMD_MILAN; p <= COLB_AMD_TURIN; p++) {
		colb_amd_tcb t;
		if (amd_ext_tcb(&e, (colb_amd_product)p, &t, why, sizeof why)) {
			colb_amd_tcb back;
			uint64_t v = colb_amd_tcb_encode((colb_amd_product)p, &t);
			if (colb_amd_tcb_decode((colb_amd_product)p, v, &back) != COLB_OK)
				__builtin_trap(); /* an encoded TCB always decodes */
		}
	}
	return 0;
}
