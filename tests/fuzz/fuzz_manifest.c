/*
 * fuzz_manifest.c — the strict manifest parser on arbitrary JSON text; a
 * manifest it accepts must survive emission and a second parse unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	colb_manifest m, again;
	char why[512];
	unsigned minor = size && data[0] == '1' ? 1 : 0; /* exercise the newer-minor rule */
	if (colb_manifest_parse(data, size, minor, 100000, &m, why, sizeof why) != COLB_OK)
		return 0;
	colb_buf out;
	colb_buf_init(&out, 0);
	if (colb_manifest_emit(&m, &out) != COLB_OK)
		abort();
	if (colb_manifest_parse(out.data, out.len, minor, 100000, &again, why, sizeof why) != COLB_OK)
		abort(); /* what the writer emits from a valid manifest must be valid */
	if (again.version != m.version || again.nfiles != m.nfiles ||
	    strcmp(again.bundle_id, m.bundle_id) != 0 || again.tee_mask != m.tee_mask)
		abort();
	for (size_t i = 0; i < m.nfiles; i++)
		if (strcmp(m.files[i].path, again.files[i].path) || m.files[i].size != again.files[i].size)
			abort();
	colb_manifest_clear(&again);
	colb_manifest_clear(&m);
	colb_buf_free(&out);
	return 0;
}
