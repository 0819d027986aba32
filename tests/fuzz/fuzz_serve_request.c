/*
 * fuzz_serve_request.c — the HTTP server's request-target parser
 * (src/serve/request.c) on arbitrary bytes. The server is a tool layer, not
 * part of the library the fuzzers link, so its parser is compiled in here.
 * Checks, beyond memory safety: a refusal carries a 4xx status and a
 * message fit for a header line; an accepted target names a route.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/request.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	serve_req r;
	/* no NUL terminator on purpose: the parser takes a length */
	char *t = malloc(size ? size : 1);
	if (!t)
		return 0;
	memcpy(t, data, size);
	bool ok = serve_parse_target(t, size, &r);
	if (ok) {
		if (r.route == SR_NONE || r.route >= SR__COUNT)
			abort();
		if (r.route == SR_AMD_CERT && !r.vlek && r.hwid_len != 8 && r.hwid_len != 64)
			abort();
	} else {
		if (r.status != 400 && r.status != 404 && r.status != 414)
			abort();
		if (!r.error_code || r.route >= SR__COUNT)
			abort();
		for (const char *p = r.error_msg; *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				abort();
	}
	free(t);
	return 0;
}
