/*
 * capture_priv.h — the pieces of src/capture shared between its files: the
 * fleet as capture sees it (what to fetch), parsed from the fleet file, the
 * PCK Cert ID CSVs, platform_list.json files and the command-line forms.
 */
#ifndef COLB_CAPTURE_PRIV_H
#define COLB_CAPTURE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/capture.h"

typedef struct cap_platform {
	char encppid[769];   /* 768 hex, lower case */
	char pceid[5];       /* 4 hex, upper case (file names) */
	char cpusvn[33];
	char pcesvn[5];
	char qeid[33];       /* 32 hex, upper case (file names) */
} cap_platform;

typedef struct cap_chip {
	char product[8];     /* Milan, Genoa, Turin */
	char hwid[129];      /* lower case; 16 hex on Turin */
	char tcbm[17];       /* lower case, most significant byte first */
} cap_chip;

#define CAP_MAX_SETS 16

typedef struct cap_fleet {
	cap_platform *plats;
	size_t nplats;
	char (*fmspcs)[13];  /* upper case, deduplicated */
	size_t nfmspcs;
	bool all_fmspcs;
	char sets[CAP_MAX_SETS][12]; /* "standard", "early" or a decimal number */
	size_t nsets;
	cap_chip *chips;
	size_t nchips;
	char products[4][8]; /* the AMD products whose chains and CRLs are needed */
	size_t nproducts;
} cap_fleet;

/* Reads every fleet input of cfg (fleet file and flag forms). On failure
 * writes "what and where" into err. */
colb_err cap_fleet_load(const cap_config *cfg, cap_fleet *fl, char *err, size_t errlen);
void cap_fleet_free(cap_fleet *fl);

/* Adds one FMSPC (12 hex, any case) unless already there. */
colb_err cap_fleet_add_fmspc(cap_fleet *fl, const char *fmspc);

/* answers.c: is an answer whole? */
/* One complete DER SEQUENCE and nothing after it. */
bool cap_der_complete(const uint8_t *d, size_t len);
/* Occurrences of needle in the NUL-terminated s. */
size_t cap_count_str(const char *s, const char *needle);
/* The tcbEvaluationDataNumber of a signed {"<inner>":{...},"signature":...}
 * body: -1 when it is not one, -2 when fmspc is given and the body's differs. */
long cap_body_eval(const uint8_t *body, size_t len, const char *inner, const char *fmspc);

#endif
