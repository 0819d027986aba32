/*
 * fuzz_site.c — the parsers of the site layer that read bytes from outside:
 * the key-rotation section of an envelope (length checks, then the walk
 * that checks signatures) and a store's site.json.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/rotation.h"
#include "site/site.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static colb_trust *anchor;
	if (!anchor) {
		/* a fixed key, so that the walk reaches signature checks */
		static const uint8_t pk[32] = {
			0x3d, 0x40, 0x17, 0xc3, 0xe8, 0x43, 0x89, 0x5a, 0x92, 0xb7, 0x0a, 0xa7, 0x4d, 0x1b, 0x7e, 0xbc,
			0x9c, 0x98, 0x2c, 0xcf, 0x2e, 0xc4, 0x96, 0x8c, 0xc0, 0xcd, 0x55, 0xf1, 0x2a, 0xf4, 0x66, 0x0c};
		anchor = colb_trust_new();
		if (!anchor || colb_trust_add_raw_key(anchor, pk) != COLB_OK)
			abort();
	}
	char why[512];
	colb_rot_stmt st[COLB_ROT_MAX_CHAIN];
	size_t n;
	(void)colb_rot_section_decode(data, size, st, COLB_ROT_MAX_CHAIN, &n, why, sizeof why);
	colb_trust *out = NULL;
	uint64_t v;
	if (colb_keyset_walk(anchor, 0, data, size, &out, &v, why, sizeof why) == COLB_OK) {
		if (!out || v == 0)
			abort();
	}
	colb_trust_free(out);
	colb_rot_stmt one;
	(void)colb_rot_decode(data, size, &one, why, sizeof why);
	colb_site_info si;
	if (colb_site_parse((const char *)data, size, &si, why, sizeof why) == COLB_OK) {
		if (si.nkeys == 0 || si.threshold == 0 || si.threshold > si.nkeys)
			abort();
		colb_site_info_free(&si);
	}
	return 0;
}
