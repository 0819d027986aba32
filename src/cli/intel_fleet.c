/*
 * intel_fleet.c — a fleet's Intel platforms and their TCB status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/intel_fleet.h"
#include "util/util.h"

void fleet_free(fleet *f)
{
	free(f->p);
	f->p = NULL;
	f->n = 0;
}

int fleet_load(const char *cmd, const char *csv, fleet *f)
{
	uint8_t *data;
	size_t len;
	char why[256];
	memset(f, 0, sizeof *f);
	colb_err rc = colb_read_file(csv, 256u << 20, &data, &len, why, sizeof why);
	if (rc) {
		cli_err(cmd, "--fleet: %s", why);
		return cli_exit_for(rc);
	}
	size_t cap = 0, lineno = 0;
	int ex = EXIT_OK;
	for (char *line = (char *)data, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		size_t l = strlen(line);
		if (l && line[l - 1] == '\r')
			line[--l] = 0;
		if (!l)
			continue;
		char *fld[5];
		int nf = 0;
		for (char *p = line; p && nf < 5; nf++) {
			fld[nf] = p;
			p = strchr(p, ',');
			if (p)
				*p++ = 0;
		}
		if (f->n == cap) {
			cap = cap ? cap * 2 : 256;
			fleet_platform *p = realloc(f->p, cap * sizeof *p);
			if (!p) {
				ex = EXIT_IOERR;
				break;
			}
			f->p = p;
		}
		fleet_platform *p = &f->p[f->n];
		memset(p, 0, sizeof *p);
		uint8_t pce[2], svn[2];
		if (nf < 5 || strlen(fld[1]) != 4 || !colb_hex_decode(fld[1], 4, pce, 2) || strlen(fld[2]) != 32 ||
		    !colb_hex_decode(fld[2], 32, p->cpusvn, 16) || strlen(fld[3]) != 4 ||
		    !colb_hex_decode(fld[3], 4, svn, 2) || strlen(fld[4]) != 32 || !colb_hex_decode(fld[4], 32, p->qe, 16)) {
			cli_err(cmd, "%s:%zu: not EncPPID,PCE_ID,CPUSVN,PCE_ISVSVN,QE_ID", csv, lineno);
			ex = EXIT_USAGE;
			break;
		}
		/* PCE ID and PCE SVN are little-endian hex in the tool's CSV. */
		p->pce_id = (uint16_t)(pce[0] | pce[1] << 8);
		p->pcesvn = (uint16_t)(svn[0] | svn[1] << 8);
		colb_hex_encode(p->qe, 16, p->qe_id, true);
		f->n++;
	}
	free(data);
	if (ex)
		fleet_free(f);
	return ex;
}

void fleet_evaluate(colb_bundle *b, fleet *f)
{
	for (size_t i = 0; i < f->n; i++) {
		fleet_platform *p = &f->p[i];
		colb_intel_pck pck;
		p->err = colb_intel_pck_select(b, p->qe, p->pce_id, p->cpusvn, p->pcesvn, 0, &pck);
		if (p->err) {
			snprintf(p->status, sizeof p->status, "%s",
				 p->err == COLB_ERR_NOT_FOUND ? "NoPCKCert"
				 : p->err == COLB_ERR_REVOKED ? "PCKRevoked"
							      : colb_strerror(p->err));
			continue;
		}
		snprintf(p->status, sizeof p->status, "%s", pck.tcb_status);
		snprintf(p->tcbm, sizeof p->tcbm, "%s", pck.tcbm);
		snprintf(p->fmspc, sizeof p->fmspc, "%s", pck.fmspc);
		p->eval = pck.eval;
	}
}
