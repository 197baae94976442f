// x·Wᵀ against panel-packed W (see CKernels.h): AVX2/FMA 6×16 tiles, portable loops elsewhere.
#include "kernels_internal.h"

/// The reduction length per pass of the forward product: k split evenly into blocks of at
/// most 384, so that one panel's block (≤ 24 KiB) stays in L1 while every activation block
/// passes over it.
static long reduction_block(long k) {
    long blocks = (k + 383) / 384;
    return (k + blocks - 1) / blocks;
}

// MARK: Forward tiles: C[6, 16] (+)= A[6, kc]·B[kc, 16]

/// One 6×16 tile over kc reduction steps; a: packed activation block (6 floats per step),
/// b: panel block (16 floats per step). init: start from bias16 (or zero) instead of c.
typedef void (*forward_tile)(long kc, const float *a, const float *b, float *c, long ldc, int init,
                             const float *bias16, const float *prefetch, long prefetchLines);

static void forward_tile_portable(long kc, const float *a, const float *b, float *c, long ldc, int init,
                                  const float *bias16, const float *prefetch, long prefetchLines) {
    (void)prefetch; (void)prefetchLines;
    float acc[R][P];
    for (long i = 0; i < R; i++)
        for (long j = 0; j < P; j++) acc[i][j] = init ? (bias16 ? bias16[j] : 0) : c[i * ldc + j];
    for (long s = 0; s < kc; s++)
        for (long i = 0; i < R; i++) {
            float ai = a[s * R + i];
            for (long j = 0; j < P; j++) acc[i][j] += ai * b[s * P + j];
        }
    for (long i = 0; i < R; i++)
        for (long j = 0; j < P; j++) c[i * ldc + j] = acc[i][j];
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void forward_tile_avx2(long kc, const float *a, const float *b, float *c, long ldc, int init,
                              const float *bias16, const float *prefetch, long prefetchLines) {
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (init) {
        __m256 b0 = bias16 ? _mm256_loadu_ps(bias16) : _mm256_setzero_ps();
        __m256 b1 = bias16 ? _mm256_loadu_ps(bias16 + 8) : _mm256_setzero_ps();
        c00 = c10 = c20 = c30 = c40 = c50 = b0;
        c01 = c11 = c21 = c31 = c41 = c51 = b1;
    } else {
        c00 = _mm256_loadu_ps(c), c01 = _mm256_loadu_ps(c + 8);
        c10 = _mm256_loadu_ps(c + ldc), c11 = _mm256_loadu_ps(c + ldc + 8);
        c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
        c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
        c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
        c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
    }
    for (long line = 0; line < prefetchLines; line++) _mm_prefetch((const char *)(prefetch + line * P), _MM_HINT_T0);
#pragma clang loop unroll_count(4)
    for (long s = 0; s < kc; s++) {
        __m256 b0 = _mm256_load_ps(b + s * P), b1 = _mm256_load_ps(b + s * P + 8);
        const float *as = a + s * R;
        __m256 x = _mm256_broadcast_ss(as);
        c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(as + 1);
        c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(as + 2);
        c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(as + 3);
        c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(as + 4);
        c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(as + 5);
        c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    _mm256_storeu_ps(c, c00); _mm256_storeu_ps(c + 8, c01);
    _mm256_storeu_ps(c + ldc, c10); _mm256_storeu_ps(c + ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20); _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30); _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40); _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50); _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}
#endif

/// Activation rows per block of the forward product: as many as keep one block's packed
/// activations (rows × width floats) within 384 KiB of L2, balanced over the blocks, a multiple of 6.
static long forward_rows_per_block(long m, long width) {
    long most = (384 * 1024 / (long)sizeof(float)) / (width > 0 ? width : 1) / R * R;
    if (most < R) most = R;
    long blocks = (m + most - 1) / most, rows = (m + blocks - 1) / blocks;
    return (rows + R - 1) / R * R;
}

/// Panels of W per chunk of the forward product: at most 2 MiB of W, re-read from L3 by every
/// block of activation rows.
static long forward_panels_per_chunk(long width) {
    long panels = 2 * 1024 * 1024 / ((width > 0 ? width : 1) * P * (long)sizeof(float));
    return panels < 1 ? 1 : panels;
}

/// Rows [i0, i1) of y for panel p of W (rows r0 ..< r1 of W in y's columns), reduction columns
/// [c0, c1); `next` is the panel whose first block to prefetch under this one's last.
static void forward_panel(forward_tile tile, long i0, long i1, long k, long c0, long c1, const float *x,
                          const float *packed, long p, const float *next, long r0, long r1,
                          const float *bias, float *y, long ldy) {
    const float *panel = packed + (size_t)p * k * P;
    long width = c1 - c0, kb = reduction_block(width), blocks = (i1 - i0 + R - 1) / R;
    long j0 = r0 > p * P ? r0 - p * P : 0, j1 = min_l(P, r1 - p * P);
    long full = j0 == 0 && j1 == P;
    float *out = y + (p * P - r0);          // column of the panel's row 0 (may lie before y)
    float bias16[P];
    memset(bias16, 0, sizeof bias16);
    if (bias)
        for (long j = j0; j < j1; j++) bias16[j] = bias[p * P + j - r0];
    if (width <= 0) {
        for (long i = i0; i < i1; i++)
            for (long j = j0; j < j1; j++) out[(size_t)i * ldy + j] = bias16[j];
        return;
    }
    for (long kk = c0; kk < c1; kk += kb) {
        long kc = min_l(kb, c1 - kk), first = kk == c0;
        // The next block of W's lines are fetched a few at a time under this block's tiles.
        const float *fetchFrom = kk + kc < c1 ? panel + (kk + kc) * P : (next ? next + c0 * P : NULL);
        long nextLines = fetchFrom ? min_l(kb, kk + kc < c1 ? c1 - kk - kc : width) : 0;
        long perTile = (nextLines + blocks - 1) / blocks, fetched = 0;
        for (long i = i0; i < i1; i += R) {
            const float *a = x + (size_t)i * width + (kk - c0) * R, *b = panel + kk * P;
            long lines = min_l(perTile, nextLines - fetched);
            const float *fetch = fetchFrom ? fetchFrom + fetched * P : NULL;
            fetched += lines;
            float *c = out + (size_t)i * ldy;
            long rows = min_l(R, i1 - i);
            if (rows == R && full) {
                tile(kc, a, b, c, ldy, first, bias ? bias16 : NULL, fetch, lines);
            } else {
                float t[R * P];
                memset(t, 0, sizeof t);
                if (!first)
                    for (long u = 0; u < rows; u++)
                        for (long j = j0; j < j1; j++) t[u * P + j] = c[(size_t)u * ldy + j];
                tile(kc, a, b, t, P, first, bias ? bias16 : NULL, fetch, lines);
                for (long u = 0; u < rows; u++)
                    for (long j = j0; j < j1; j++) c[(size_t)u * ldy + j] = t[u * P + j];
            }
        }
    }
}

void ck_gemm_packed(long m, long k, long c0, long c1, const float *x, const float *packed, long r0, long r1,
                    const float *bias, float *y, long ldy, int portable) {
    if (m <= 0 || r1 <= r0) return;
    forward_tile tile = forward_tile_portable;
#if defined(__x86_64__)
    if (!portable && ck_vector_kernels()) tile = forward_tile_avx2;
#endif
    long width = c1 - c0, rowsPerBlock = forward_rows_per_block(m, width), chunk = forward_panels_per_chunk(width);
    long q0 = r0 / P, q1 = panels(r1);
    // Loops: chunks of W (L3) → blocks of activation rows (L2) → panels → reduction blocks (one
    // panel block in L1) → 6-row tiles. With ≤ 1 block of rows this streams W exactly once.
    for (long pc = q0; pc < q1; pc += chunk) {
        long pe = min_l(q1, pc + chunk);
        for (long i0 = 0; i0 < m; i0 += rowsPerBlock) {
            long i1 = min_l(m, i0 + rowsPerBlock);
            for (long p = pc; p < pe; p++) {
                const float *next = p + 1 < pe ? packed + (size_t)(p + 1) * k * P : NULL;
                forward_panel(tile, i0, i1, k, c0, c1, x, packed, p, next, r0, r1, bias, y, ldy);
            }
        }
    }
}
