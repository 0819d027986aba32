/*
 * fuzz_manifest.c — the strict manifest parser on arbitrary JSON text. A
 * manifest it accepts must be JSON without duplicate keys by jansson's
 * judgement too, and must survive emission and a second parse unchanged;
 * the emission of that second parse is the same text again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bundle/bundle_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	colb_manifest m, again;
	char why[512];
	unsigned minor = size && data[0] == '1' ? 1 : 0; /* exercise the newer-minor rule */
	if (colb_manifest_parse(data, size, minor, 100000, &m, why, sizeof why) != COLB_OK)
		return 0;
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		abort(); /* accepted what is not JSON, or has a key twice */
	json_decref(j);
	colb_buf out, out2;
	colb_buf_init(&out, 0);
	colb_buf_init(&out2, 0);
	if (colb_manifest_emit(&m, &out) != COLB_OK)
		abort();
	if (colb_manifest_parse(out.data, out.len, minor, 100000, &again, why, sizeof why) != COLB_OK)
		abort(); /* what the writer emits from a valid manifest must be valid */
	if (again.version != m.version || again.nfiles != m.nfiles ||
	    strcmp(again.bundle_id, m.bundle_id) != 0 || again.tee_mask != m.tee_mask)
		abort();
	for (size_t i = 0; i < m.nfiles; i++)
		if (strcmp(m.files[i].path, again.files[i].path) || m.files[i].size != again.files[i].size ||
		    strcmp(m.files[i].kind, again.files[i].kind) ||
		    strcmp(m.files[i].meta_json, again.files[i].meta_json) ||
		    m.files[i].meta.has != again.files[i].meta.has)
			abort();
	if (colb_manifest_emit(&again, &out2) != COLB_OK || out2.len != out.len ||
	    memcmp(out.data, out2.data, out.len) != 0)
		abort(); /* emission is deterministic */
	colb_manifest_clear(&again);
	colb_manifest_clear(&m);
	colb_buf_free(&out);
	colb_buf_free(&out2);
	return 0;
}
