// Shared by the kernel sources: the layout's constants and small helpers (not public API).
#ifndef CIRCUITSWEEP_KERNELS_INTERNAL_H
#define CIRCUITSWEEP_KERNELS_INTERNAL_H
#include "CKernels.h"
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define P CK_PANEL
#define R CK_ROWS

static inline long min_l(long a, long b) { return a < b ? a : b; }
/// Panels of a matrix with n rows.
static inline long panels(long n) { return (n + P - 1) / P; }
#endif
