/*
 * get_amd.h — the AMD half of `colbundle get` (src/cli/get_amd.c): runs with
 * argv[0] = the item word.
 */
#ifndef COLB_CLI_GET_AMD_H
#define COLB_CLI_GET_AMD_H

int cli_get_amd(const char *bundle, int argc, char **argv);

#define CLI_GET_AMD_USAGE \
	"AMD items:\n" \
	"  amd vcek --product P --chip-id HEX --tcb HEX   the VCEK of a chip at exactly that TCB\n" \
	"  amd vcek --report FILE [--product P]           the VCEK (or VLEK) that signed an SNP\n" \
	"        report, found from the report's CHIP_ID and REPORTED_TCB; the report's\n" \
	"        signature is checked against it (refused if it does not verify)\n" \
	"  amd vlek --product P --csp NAME [--tcb HEX]    a provider's VLEK (default: highest TCB)\n" \
	"  amd tcbs --product P --chip-id HEX             the TCBs the bundle has VCEKs for\n" \
	"  amd chain --product P [--vlek]                 ASK (or ASVK) then ARK, PEM (KDS cert_chain)\n" \
	"  amd crl --product P [--format der|pem]         the product's CRL (default DER, as KDS)\n" \
	"  amd trustee --out-dir DIR                      every VCEK as trustee's offline store\n" \
	"  --format der|pem|thim|certtable  for vcek/vlek: DER (as KDS, default), PEM, Azure\n" \
	"                      THIM's JSON, or the SNP extended-report certificate table\n" \
	"  --cache-seconds N   THIM's cacheControl (default 86400)\n" \
	"  P is Milan, Genoa or Turin; --chip-id is 128 hex digits (Turin: 16 or 128);\n" \
	"  --tcb is the TCB as 16 hex digits, most significant byte first (THIM's tcbm).\n" \
	"  --out FILE          write to FILE instead of stdout\n"

#endif
