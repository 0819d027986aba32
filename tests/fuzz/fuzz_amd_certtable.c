/*
 * fuzz_amd_certtable.c — the SNP extended-report certificate table parser:
 * every entry it accepts must lie inside the blob, past the table.
 */
#include <stddef.h>
#include <stdint.h>

#include "colbundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	colb_amd_certtable_entry e[8];
	size_t n = 0;
	if (colb_amd_certtable_parse(data, size, e, 8, &n) != COLB_OK)
		return 0;
	size_t table_end = (n + 1) * 24;
	for (size_t i = 0; i < n; i++) {
		if (e[i].der < data + table_end || e[i].der + e[i].len > data + size || e[i].len == 0)
			__builtin_trap();
		volatile uint8_t last = e[i].der[e[i].len - 1]; /* touch the bounds under ASan */
		(void)last;
	}
	return 0;
}
