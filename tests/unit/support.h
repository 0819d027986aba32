/*
 * support.h — what every cmocka test file includes: cmocka itself, paths to
 * the real data and the build directory, and small file helpers.
 */
#ifndef COLB_TEST_SUPPORT_H
#define COLB_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "colbundle.h"

/* tests/data/real (or $COLB_REAL), the repository top ($COLB_TOP) and the
 * build directory ($B), as absolute paths. */
const char *t_real_dir(void);
const char *t_top_dir(void);
const char *t_build_dir(void);
/* A fresh scratch directory, removed at exit. */
const char *t_scratch(void);
/* Reads a whole file or fails the test. Caller frees. */
uint8_t *t_read(const char *path, size_t *len);
/* Joins two path parts into a static rotating buffer. */
const char *t_path(const char *a, const char *b);
/* Runs a shell command; returns its exit status. */
int t_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
