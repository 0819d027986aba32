/* intel.c — the intel half of the generator (being written). */
#include "pkigen.h"
int pki_intel_generate(const pki_ctx *ctx, unsigned n) { (void)ctx; return n ? -1 : 0; }
