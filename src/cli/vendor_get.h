/*
 * vendor_get.h — the vendors' halves of `colbundle get` and the Intel fleet
 * commands: each runs with argv[0] = the item word.
 */
#ifndef COLB_CLI_VENDOR_GET_H
#define COLB_CLI_VENDOR_GET_H

int cli_get_intel(const char *bundle, int argc, char **argv);

#define CLI_GET_INTEL_USAGE \
	"Intel items:\n" \
	"  intel tcbinfo --tee sgx|tdx --fmspc HEX [--eval N]\n" \
	"  intel identity --kind qe|qve|qae|td_qe [--eval N]\n" \
	"  intel evalnums --tee sgx|tdx\n" \
	"  intel pckcrl --ca processor|platform [--encoding pem|der]  (default pem, as PCS)\n" \
	"  intel rootcacrl                                 (DER)\n" \
	"  intel pckcerts --qe-id HEX --pce-id HEX          (the raw pckcerts answer)\n" \
	"  intel pckcert --qe-id HEX --pce-id HEX --cpusvn HEX --pcesvn N [--eval N]\n" \
	"        the PCK cert chosen for that raw TCB, then its issuer chain (PEM);\n" \
	"        SGX-TCBm, SGX-FMSPC, CA type and TCB status on stderr\n" \
	"  --issuer-chain      print the item's issuer chain (PEM) instead of the item\n" \
	"  --baseline B        serve as if the site baseline were standard, early or N\n" \
	"  --out FILE          write to FILE instead of stdout\n" \
	"  --eval 0 or no --eval: the baseline's evaluation number.\n"

#endif
