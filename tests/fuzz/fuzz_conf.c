/*
 * fuzz_conf.c — the colbundle.conf parser on arbitrary text.
 */
#include <stdint.h>
#include <stdlib.h>

#include "bundle/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	colb_conf c;
	char why[256];
	colb_conf_init(&c);
	colb_err rc = colb_conf_parse((const char *)data, size, "fuzz.conf", "/etc/colbundle", &c, why,
				      sizeof why);
	if (rc != COLB_OK && rc != COLB_ERR_CONFIG && rc != COLB_ERR_NOMEM)
		abort();
	colb_conf_free(&c);
	return 0;
}
