/*
 * answers.c — checks that a service's answer is whole: not validation (the
 * Intel and AMD layers do that before packing), but the test that catches an
 * answer cut short or mangled in transit, which is then fetched again.
 */
#include "capture/capture_priv.h"

#include <string.h>
#include <strings.h>

#include <jansson.h>

/* A complete DER SEQUENCE, nothing after it. */
bool cap_der_complete(const uint8_t *d, size_t len)
{
	if (len < 2 || d[0] != 0x30)
		return false;
	size_t n, hdr;
	if (d[1] < 0x80) {
		n = d[1];
		hdr = 2;
	} else {
		size_t k = d[1] & 0x7f;
		if (k == 0 || k > 4 || len < 2 + k)
			return false;
		n = 0;
		for (size_t i = 0; i < k; i++)
			n = n << 8 | d[2 + i];
		hdr = 2 + k;
	}
	return hdr + n == len;
}

size_t cap_count_str(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The signed inner object's evaluation number (tcbInfo / enclaveIdentity). */
long cap_body_eval(const uint8_t *body, size_t len, const char *inner, const char *fmspc)
{
	json_t *j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *o = json_object_get(j, inner);
	json_t *n = json_object_get(o, "tcbEvaluationDataNumber");
	long ev = -1;
	if (json_is_object(o) && json_is_string(json_object_get(j, "signature")) && json_is_integer(n) &&
	    json_integer_value(n) >= 0 && json_integer_value(n) < 1000000)
		ev = (long)json_integer_value(n);
	if (ev >= 0 && fmspc) {
		const char *f = json_string_value(json_object_get(o, "fmspc"));
		if (!f || strcasecmp(f, fmspc))
			ev = -2;
	}
	json_decref(j);
	return ev;
}

