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

/// `zmq_pollitem_t.events` bits (macros in zmq.h, imported as Int32 in Swift already,
/// wrapped here so the type is exactly `short`).
static inline short czmq_POLLIN(void) { return ZMQ_POLLIN; }
static inline short czmq_POLLOUT(void) { return ZMQ_POLLOUT; }

/// Size of a Z85 text for a 32-byte CURVE key, excluding the terminating NUL.
static inline int czmq_curve_key_z85_length(void) { return 40; }

#endif
