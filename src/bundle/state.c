/*
 * state.c — the anti-rollback state file:
 *   {"version":"<decimal uint64>","digest":"<64 lower-case hex>"}
 * version is a string for the same reason as in the manifest: JSON numbers
 * above 2^53 are not exact in every reader.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bundle/state.h"
#include "util/util.h"

colb_err colb_state_parse(const char *text, size_t len, uint64_t *version, char digest[65],
			  char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return colb_seterr(why, whylen, COLB_ERR_STATE, "state: not valid JSON (%s)", jerr.text);
	colb_err rc = COLB_OK;
	const char *v = json_string_value(json_object_get(root, "version"));
	const char *d = json_string_value(json_object_get(root, "digest"));
	if (!json_is_object(root) || json_object_size(root) != 2 || !v || !d) {
		rc = colb_seterr(why, whylen, COLB_ERR_STATE,
				 "state: needs exactly the string keys 'version' and 'digest'");
	} else if (!*v || (v[0] == '0' && v[1]) || !colb_parse_u64(v, version)) {
		rc = colb_seterr(why, whylen, COLB_ERR_STATE, "state: 'version' is not a decimal number");
	} else if (strlen(d) != 64 || !colb_is_hex(d, 64)) {
		rc = colb_seterr(why, whylen, COLB_ERR_STATE, "state: 'digest' is not 64 hex digits");
	} else {
		for (int i = 0; i < 64; i++)
			digest[i] = (char)(d[i] >= 'A' && d[i] <= 'F' ? d[i] - 'A' + 'a' : d[i]);
		digest[64] = 0;
	}
	json_decref(root);
	return rc;
}

colb_err colb_state_read(const char *path, uint64_t *version, char digest[65], char *why,
			 size_t whylen)
{
	uint8_t *data = NULL;
	size_t len = 0;
	char e[256];
	if (colb_read_file(path, COLB_STATE_MAX, &data, &len, e, sizeof e) != COLB_OK)
		return colb_seterr(why, whylen, COLB_ERR_STATE, "state file %s", e);
	char inner[256];
	colb_err rc = colb_state_parse((const char *)data, len, version, digest, inner, sizeof inner);
	if (rc)
		colb_seterr(why, whylen, rc, "%s: %s", path, inner);
	free(data);
	return rc;
}

colb_err colb_state_write(const char *path, uint64_t version, const char *digest_hex, char *why,
			  size_t whylen)
{
	if (!path || !digest_hex || strlen(digest_hex) != 64 || !colb_is_hex(digest_hex, 64))
		return colb_seterr(why, whylen, COLB_ERR_INVALID_ARG, "state: bad digest");
	char text[160];
	int n = snprintf(text, sizeof text, "{\"version\":\"%llu\",\"digest\":\"%s\"}\n",
			 (unsigned long long)version, digest_hex);
	return colb_write_file_atomic(path, text, (size_t)n, 0644, why, whylen);
}
