/*
 * fuzz_intel_sgxext.c — the PCK certificate SGX extension decoder
 * (OID 1.2.840.113741.1.13.1) on arbitrary DER, and PCK selection over the
 * TCBs it yields.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "intel/intel_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	intel_sgxext e;
	char why[256];
	if (intel_sgxext_decode(data, size, &e, why, sizeof why) != COLB_OK)
		return 0;
	if (e.sgx_type < 0 || e.sgx_type > 2)
		__builtin_trap();
	/* The decoded TCB is always selectable for itself. */
	intel_level l;
	memset(&l, 0, sizeof l);
	l.tcb = e.tcb;
	size_t level;
	if (intel_select_pck(&e.tcb, &l, 1, &e.tcb, 1, &level) != 0 || level != 0)
		__builtin_trap();
	return 0;
}
