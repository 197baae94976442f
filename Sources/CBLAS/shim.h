#ifndef CIRCUITSWEEP_CBLAS_SHIM_H
#define CIRCUITSWEEP_CBLAS_SHIM_H
#include <cblas.h>
#endif
