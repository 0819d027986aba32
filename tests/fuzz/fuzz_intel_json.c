/*
 * fuzz_intel_json.c — Intel's signed JSON (TCB info, enclave identities,
 * evaluation-number lists) and pckcerts answers: the exact-bytes scanner and
 * the strict parsers on arbitrary input. The first byte picks the parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "intel/intel_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t which = data[0] % 4;
	data++;
	size--;
	char why[256];
	if (which == 3) {
		intel_pck_entry *e = NULL;
		size_t n = 0;
		if (intel_parse_pckcerts(data, size, &e, &n, why, sizeof why) == COLB_OK) {
			for (size_t i = 0; i < n; i++)
				if (strlen(e[i].tcbm) != 36)
					__builtin_trap();
			intel_pck_entries_free(e, n);
		}
		return 0;
	}
	static const char *const wrapper[] = {"tcbInfo", "enclaveIdentity", "tcbEvaluationDataNumbers"};
	const uint8_t *inner;
	size_t ilen;
	uint8_t sig[64];
	const uint8_t *body = data, *end = data + size;
	if (intel_split_signed(data, size, wrapper[which], &inner, &ilen, sig, why, sizeof why) == COLB_OK) {
		/* The inner object lies inside the body and is one JSON object. */
		if (inner < body || inner + ilen > end || inner[0] != '{' || inner[ilen - 1] != '}')
			__builtin_trap();
	} else {
		/* Parse the raw input as an inner object too. */
		inner = data;
		ilen = size;
	}
	if (which == 0) {
		intel_tcbinfo t;
		if (intel_parse_tcbinfo(inner, ilen, &t, why, sizeof why) == COLB_OK) {
			if (t.nlevels == 0 || t.nlevels > INTEL_MAX_LEVELS)
				__builtin_trap();
			intel_tcbinfo_free(&t);
		}
	} else if (which == 1) {
		intel_identity id;
		(void)intel_parse_identity(inner, ilen, &id, why, sizeof why);
	} else {
		intel_evalnums en;
		if (intel_parse_evalnums(inner, ilen, &en, why, sizeof why) == COLB_OK && en.n > INTEL_MAX_EVALS)
			__builtin_trap();
	}
	return 0;
}
