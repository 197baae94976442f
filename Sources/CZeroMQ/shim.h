#ifndef CIRCUITSWEEP_CZEROMQ_SHIM_H
#define CIRCUITSWEEP_CZEROMQ_SHIM_H
#include <zmq.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

/// errno as seen by libzmq (Swift cannot read the errno macro reliably).
static inline int czmq_errno(void) { return zmq_errno(); }

/// errno values the ZeroMQ wrapper branches on (some are libzmq's own, defined in zmq.h
/// only when the platform lacks them).
static inline int czmq_EINTR(void) { return EINTR; }
static inline int czmq_EAGAIN(void) { return EAGAIN; }
static inline int czmq_EINVAL(void) { return EINVAL; }
static inline int czmq_ENOTSOCK(void) { return ENOTSOCK; }
static inline int czmq_EHOSTUNREACH(void) { return EHOSTUNREACH; }
static inline int czmq_ETERM(void) { return ETERM; }
static inline int czmq_EADDRINUSE(void) { return EADDRINUSE; }

/// `ZMQ_ZAP_ENFORCE_DOMAIN` (93) is declared only under ZMQ_BUILD_DRAFT_API in zmq.h 4.3,
/// but libzmq 4.3 accepts it at runtime: with it set, a CURVE server refuses clients when no
/// ZAP handler is bound instead of admitting everyone.
static inline int czmq_ZAP_ENFORCE_DOMAIN(void) { return 93; }

#endif
