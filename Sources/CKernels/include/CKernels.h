#ifndef CIRCUITSWEEP_CKERNELS_H
#define CIRCUITSWEEP_CKERNELS_H
#include <stddef.h>

/// Matrix products against a weight matrix W [n, k] that is packed once, ahead of time, into
/// panels of CK_PANEL rows: panel p holds rows p·16 ..< p·16+16 as k groups of 16 floats
/// (`packed[p·k·16 + c·16 + j] = W[p·16 + j, c]`), the last panel zero-padded. The products then
/// stream W straight from memory in the order the AVX2/FMA micro-kernels read it, instead of
/// repacking it on every call as a general GEMM must. Without AVX2 and FMA, portable loops compute
/// the same products.
#define CK_PANEL 16
/// Rows of the activation block the forward micro-kernel holds in registers.
#define CK_ROWS 6

/// Whether the AVX2/FMA kernels run on this CPU.
int ck_vector_kernels(void);

/// Floats of the packed form of an [n, k] matrix.
size_t ck_packed_count(long n, long k);
/// Packs rows [p0·16, p1·16) ∩ [0, n) of the row-major W [n, k] (row stride ldw) into panels p0 ..< p1.
void ck_pack_panels(const float *w, long ldw, long n, long k, long p0, long p1, float *packed);
/// Copies row r of a packed [n, k] matrix into out[0 ..< k].
void ck_packed_row(const float *packed, long k, long r, float *out);

/// Floats of the packed form of activations x [m, k] for `ck_gemm_packed`.
size_t ck_activations_count(long m, long k);
/// Packs x [m, k] (row stride ldx) as ceil(m/6) blocks of k groups of 6 rows, zero-padded.
void ck_pack_activations(const float *x, long ldx, long m, long k, float *out);
/// y[i, r − r0] = Σ_{c0 ≤ c < c1} x[i, c − c0]·W[r, c] (+ bias[r − r0]) for rows r0 ≤ r < r1 of W,
/// a packed [n ≥ r1, k] matrix. `x` comes from `ck_pack_activations` with c1 − c0 columns; bias
/// may be NULL. portable ≠ 0 uses the portable loops even where the vector kernels run (tests).
void ck_gemm_packed(long m, long k, long c0, long c1, const float *x, const float *packed, long r0, long r1,
                    const float *bias, float *y, long ldy, int portable);

/// Floats of the packed form of gradients for rows r0 ..< r1 of W (`ck_pack_gradients`).
size_t ck_gradients_count(long m, long r0, long r1);
/// Packs dy [m, r1 − r0] (row stride lddy; column t belongs to row r0 + t of W) as ceil(m/16)
/// blocks of 16-row groups aligned to W's panels, zero outside [r0, r1).
void ck_pack_gradients(const float *dy, long lddy, long m, long r0, long r1, float *out);
/// dx[i, c − c0] (+)= Σ_{r0 ≤ r < r1} dy[i, r − r0]·W[r, c] for columns c0 ≤ c < c1 of W, a packed
/// [n, k] matrix. `dy` comes from `ck_pack_gradients`; accumulate = 0 overwrites dx; portable as
/// for `ck_gemm_packed`.
void ck_gemm_packed_transposed(long m, long k, const float *dy, const float *packed, long r0, long r1,
                               long c0, long c1, float *dx, long lddx, int accumulate, int portable);
#endif
