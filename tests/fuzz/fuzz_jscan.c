/*
 * fuzz_jscan.c — the strict JSON scanner against jansson on arbitrary
 * bytes. Both follow RFC 8259, so they must agree on what is JSON, with the
 * limits each documents as the only differences: jansson refuses integers
 * and reals it cannot hold (the scanner only checks the grammar), the
 * scanner refuses nesting deeper than COLB_JSCAN_MAX_DEPTH, and jansson
 * (2.14) lets a raw NUL byte pass right after a number or a literal, as in
 * "[4\0]", which RFC 8259 does not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/jscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t max_depth(const uint8_t *d, size_t n)
{
	size_t depth = 0, most = 0;
	bool in_str = false;
	for (size_t i = 0; i < n; i++) {
		if (in_str) {
			if (d[i] == '\\')
				i++;
			else if (d[i] == '"')
				in_str = false;
		} else if (d[i] == '"') {
			in_str = true;
		} else if (d[i] == '[' || d[i] == '{') {
			if (++depth > most)
				most = depth;
		} else if ((d[i] == ']' || d[i] == '}') && depth) {
			depth--;
		}
	}
	return most;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	colb_jscan s;
	colb_jscan_init(&s, data, size);
	bool ours = colb_jscan_skip(&s, NULL, NULL) && colb_jscan_done(&s);
	if (!ours && !s.err)
		abort(); /* every refusal says why */
	json_error_t jerr;
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
	bool theirs = j != NULL;
	json_decref(j);
	if (ours == theirs)
		return 0;
	if (ours && (strstr(jerr.text, "too big") || strstr(jerr.text, "overflow")))
		return 0; /* a number past jansson's types */
	if (theirs && max_depth(data, size) > COLB_JSCAN_MAX_DEPTH)
		return 0;
	if (theirs && memchr(data, 0, size))
		return 0;
	abort();
}
