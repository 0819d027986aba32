/*
 * intel_fleet.h — a fleet's Intel platforms (PCK Cert ID Retrieval Tool CSV)
 * and their TCB status under a bundle's baseline, for fleet-status and diff.
 */
#ifndef COLB_CLI_INTEL_FLEET_H
#define COLB_CLI_INTEL_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "colbundle.h"

typedef struct fleet_platform {
	char qe_id[33];           /* as in the CSV */
	uint8_t qe[16];
	uint16_t pce_id;
	uint8_t cpusvn[16];
	uint16_t pcesvn;
	/* the verdict */
	char status[48];          /* TCB status, or "error: ..." */
	char tcbm[37];
	char fmspc[13];
	uint32_t eval;
	colb_err err;
} fleet_platform;

typedef struct fleet {
	fleet_platform *p;
	size_t n;
} fleet;

/* Reads a PCK Cert ID CSV (EncPPID,PCE_ID,CPUSVN,PCE_ISVSVN,QE_ID[,...]).
 * Prints the reason and returns an exit code on failure. */
int fleet_load(const char *cmd, const char *csv, fleet *f);
void fleet_free(fleet *f);
/* Each platform's status under b's baseline (eval 0). */
void fleet_evaluate(colb_bundle *b, fleet *f);

#endif
