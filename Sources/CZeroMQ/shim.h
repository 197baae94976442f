#ifndef CIRCUITSWEEP_CZEROMQ_SHIM_H
#define CIRCUITSWEEP_CZEROMQ_SHIM_H
#include <zmq.h>
#include <errno.h>

/// errno as seen by libzmq (Swift cannot read the errno macro reliably).
static inline int czmq_errno(void) { return zmq_errno(); }
#endif
