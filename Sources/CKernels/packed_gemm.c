// Products against panel-packed weights (see CKernels.h). AVX2/FMA micro-kernels, chosen at
// run time, and portable loops for other CPUs.
#include "CKernels.h"
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define P CK_PANEL
#define R CK_ROWS
/// Panels of W per reduction pass of the transposed product (256 rows of W): each pass reads W
/// as 16 sequential streams (4 to 64 measured within 5 % of each other on Zen 3).
#define TRANSPOSED_BLOCK 16
/// Gradient tiles (16 rows of dy each) per row block of the transposed product.
#define TRANSPOSED_TILES 8

static long min_l(long a, long b) { return a < b ? a : b; }
static long panels(long n) { return (n + P - 1) / P; }

/// The reduction length per pass of the forward product: k split evenly into blocks of at
/// most 384, so that one panel's block (≤ 24 KiB) stays in L1 while every activation block
/// passes over it.
static long reduction_block(long k) {
    long blocks = (k + 383) / 384;
    return (k + blocks - 1) / blocks;
}

int ck_vector_kernels(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return known;
#else
    return 0;
#endif
}

// MARK: Packing

size_t ck_packed_count(long n, long k) { return (size_t)panels(n) * P * (size_t)k; }

void ck_pack_panels(const float *w, long ldw, long n, long k, long p0, long p1, float *packed) {
    for (long p = p0; p < p1; p++) {
        float *panel = packed + (size_t)p * k * P;
        for (long j = 0; j < P; j++) {
            long row = p * P + j;
            if (row < n) {
                const float *src = w + (size_t)row * ldw;
                for (long c = 0; c < k; c++) panel[c * P + j] = src[c];
            } else {
                for (long c = 0; c < k; c++) panel[c * P + j] = 0;
            }
        }
    }
}

void ck_packed_row(const float *packed, long k, long r, float *out) {
    const float *panel = packed + (size_t)(r / P) * k * P + r % P;
    for (long c = 0; c < k; c++) out[c] = panel[c * P];
}

size_t ck_activations_count(long m, long k) { return (size_t)((m + R - 1) / R) * R * (size_t)k; }

void ck_pack_activations(const float *x, long ldx, long m, long k, float *out) {
    for (long i0 = 0; i0 < m; i0 += R) {
        float *block = out + (size_t)i0 * k;
        const float *rows[R];
        long present = min_l(R, m - i0);
        for (long i = 0; i < R; i++) rows[i] = i < present ? x + (size_t)(i0 + i) * ldx : NULL;
        // Written in order, read from 6 row streams.
        for (long c = 0; c < k; c++)
            for (long i = 0; i < R; i++) block[c * R + i] = rows[i] ? rows[i][c] : 0;
    }
}

size_t ck_gradients_count(long m, long r0, long r1) {
    long q0 = r0 / P, q1 = panels(r1);
    return (size_t)((m + 15) / 16) * 16 * (size_t)(q1 - q0) * P;
}

void ck_pack_gradients(const float *dy, long lddy, long m, long r0, long r1, float *out) {
    long first = r0 / P * P, np = panels(r1) * P - first;
    for (long i0 = 0; i0 < m; i0 += 16) {
        float *block = out + (size_t)i0 * np;
        const float *rows[16];
        for (long i = 0; i < 16; i++) rows[i] = i0 + i < m ? dy + (size_t)(i0 + i) * lddy : NULL;
        // Written in order, read from 16 row streams; zero outside [r0, r1).
        long lead = r0 - first, tail = first + np - r1;
        memset(block, 0, (size_t)lead * 16 * sizeof(float));
        for (long r = r0; r < r1; r++) {
            float *to = block + (r - first) * 16;
            for (long i = 0; i < 16; i++) to[i] = rows[i] ? rows[i][r - r0] : 0;
        }
        memset(block + (r1 - first) * 16, 0, (size_t)tail * 16 * sizeof(float));
    }
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

// MARK: Transposed tiles: T[rows ≤ 6, 16] = Σ_r W[r, c + i]·dy[m0 + t, r]

/// One tile over `count` panels starting at `w` (W's column c, panel stride `panelStride`) and
/// `g` (the gradient block's matching rows, 16 floats per row of W). Accumulates into t[6][16].
typedef void (*transposed_tile)(long rows, long count, const float *w, long panelStride, const float *g, float *t);

static void transposed_tile_portable(long rows, long count, const float *w, long panelStride, const float *g, float *t) {
    for (long q = 0; q < count; q++) {
        const float *wp = w + q * panelStride, *gp = g + q * P * 16;
        for (long j = 0; j < P; j++)
            for (long i = 0; i < rows; i++) {
                float wi = wp[i * P + j];
                for (long s = 0; s < 16; s++) t[i * 16 + s] += wi * gp[j * 16 + s];
            }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"), always_inline))
static inline void transposed_tile_rows(const long rows, long count, const float *w, long panelStride, const float *g, float *t) {
    __m256 acc[R][2];
    for (long i = 0; i < rows; i++) { acc[i][0] = _mm256_loadu_ps(t + i * 16); acc[i][1] = _mm256_loadu_ps(t + i * 16 + 8); }
    for (long q = 0; q < count; q++) {
        const float *wp = w + q * panelStride, *gp = g + q * P * 16;
#pragma clang loop unroll_count(4)
        for (long j = 0; j < P; j++) {
            __m256 g0 = _mm256_loadu_ps(gp + j * 16), g1 = _mm256_loadu_ps(gp + j * 16 + 8);
            for (long i = 0; i < rows; i++) {
                __m256 x = _mm256_broadcast_ss(wp + i * P + j);
                acc[i][0] = _mm256_fmadd_ps(x, g0, acc[i][0]);
                acc[i][1] = _mm256_fmadd_ps(x, g1, acc[i][1]);
            }
        }
    }
    for (long i = 0; i < rows; i++) { _mm256_storeu_ps(t + i * 16, acc[i][0]); _mm256_storeu_ps(t + i * 16 + 8, acc[i][1]); }
}

__attribute__((target("avx2,fma")))
static void transposed_tile_avx2(long rows, long count, const float *w, long panelStride, const float *g, float *t) {
    switch (rows) {
    case 6: transposed_tile_rows(6, count, w, panelStride, g, t); break;
    case 5: transposed_tile_rows(5, count, w, panelStride, g, t); break;
    case 4: transposed_tile_rows(4, count, w, panelStride, g, t); break;
    case 3: transposed_tile_rows(3, count, w, panelStride, g, t); break;
    case 2: transposed_tile_rows(2, count, w, panelStride, g, t); break;
    default: transposed_tile_rows(1, count, w, panelStride, g, t); break;
    }
}
#endif

/// Writes tile t[rows][16] (rows ≤ 6 columns of dx, 16 rows of dx) transposed into dx: the first
/// `width` rows, `rows` columns each; adds when accumulate ≠ 0.
typedef void (*tile_store)(const float *t, long rows, long width, float *dx, long lddx, int accumulate);

static void store_tile_portable(const float *t, long rows, long width, float *dx, long lddx, int accumulate) {
    for (long s = 0; s < width; s++) {
        float *out = dx + (size_t)s * lddx;
        if (accumulate) for (long i = 0; i < rows; i++) out[i] += t[i * 16 + s];
        else for (long i = 0; i < rows; i++) out[i] = t[i * 16 + s];
    }
}

#if defined(__x86_64__)
/// An 8×8 transpose in registers, then masked 6-lane (at most) stores per row of dx.
__attribute__((target("avx2,fma")))
static void store_tile_avx2(const float *t, long rows, long width, float *dx, long lddx, int accumulate) {
    __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)rows), lanes);
    for (long half = 0; half < 2 && half * 8 < width; half++) {
        __m256 r[8];
        for (long i = 0; i < 8; i++) r[i] = i < rows ? _mm256_loadu_ps(t + i * 16 + half * 8) : _mm256_setzero_ps();
        __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
        __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
        __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
        __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
        __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        __m256 columns[8] = {
            _mm256_permute2f128_ps(u0, u4, 0x20), _mm256_permute2f128_ps(u1, u5, 0x20),
            _mm256_permute2f128_ps(u2, u6, 0x20), _mm256_permute2f128_ps(u3, u7, 0x20),
            _mm256_permute2f128_ps(u0, u4, 0x31), _mm256_permute2f128_ps(u1, u5, 0x31),
            _mm256_permute2f128_ps(u2, u6, 0x31), _mm256_permute2f128_ps(u3, u7, 0x31),
        };
        for (long s = 0; s < 8 && half * 8 + s < width; s++) {
            float *out = dx + (size_t)(half * 8 + s) * lddx;
            __m256 v = columns[s];
            if (accumulate) v = _mm256_add_ps(v, _mm256_maskload_ps(out, mask));
            _mm256_maskstore_ps(out, mask, v);
        }
    }
}
#endif

void ck_gemm_packed_transposed(long m, long k, const float *dy, const float *packed, long r0, long r1,
                               long c0, long c1, float *dx, long lddx, int accumulate, int portable) {
    if (m <= 0 || c1 <= c0) return;
    transposed_tile tile = transposed_tile_portable;
    tile_store store = store_tile_portable;
#if defined(__x86_64__)
    if (!portable && ck_vector_kernels()) tile = transposed_tile_avx2, store = store_tile_avx2;
#endif
    long groups = (c1 - c0 + R - 1) / R, tiles = (m + 15) / 16;
    long first = r0 / P, np = r1 > r0 ? panels(r1) - first : 0, panelStride = k * P;
    // Loops: reduction passes (W from memory once) → blocks of 8 gradient tiles (their rows of
    // dy, ≤ 128 KiB, in L2) → column groups (their W lines in L1) → tiles. With more than one
    // pass, the 6×16 tiles of dxᵀ wait in `sums` (tile (g, b) at (g·tiles + b)·96) between passes.
    float *sums = NULL;
    if (np > TRANSPOSED_BLOCK) {
        sums = calloc((size_t)groups * tiles * R * 16, sizeof(float));
        if (!sums) {
            // No memory for the scratch: one pass per tile over the whole reduction.
            for (long c = c0; c < c1; c += R)
                for (long b = 0; b < tiles; b++) {
                    float t[R * 16] = {0};
                    tile(min_l(R, c1 - c), np, packed + (size_t)first * panelStride + c * P, panelStride,
                         dy + (size_t)b * 16 * np * P, t);
                    store(t, min_l(R, c1 - c), min_l(16, m - b * 16), dx + (size_t)b * 16 * lddx + (c - c0), lddx, accumulate);
                }
            return;
        }
    }
    for (long q0 = 0; q0 < np || q0 == 0; q0 += TRANSPOSED_BLOCK) {
        long count = min_l(TRANSPOSED_BLOCK, np - q0), last = q0 + TRANSPOSED_BLOCK >= np;
        for (long b0 = 0; b0 < tiles; b0 += TRANSPOSED_TILES) {
            long b1 = min_l(tiles, b0 + TRANSPOSED_TILES);
            for (long g = 0; g < groups; g++) {
                long c = c0 + g * R, rows = min_l(R, c1 - c);
                for (long b = b0; b < b1; b++) {
                    float local[R * 16] = {0};
                    float *t = sums ? sums + (g * tiles + b) * R * 16 : local;
                    if (count > 0)
                        tile(rows, count, packed + (size_t)(first + q0) * panelStride + c * P, panelStride,
                             dy + (size_t)b * 16 * np * P + (size_t)q0 * P * 16, t);
                    if (last)
                        store(t, rows, min_l(16, m - b * 16), dx + (size_t)b * 16 * lddx + (c - c0), lddx, accumulate);
                }
            }
        }
        if (np == 0) break;
    }
    free(sums);
}
