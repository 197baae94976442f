// dy·W against panel-packed W (see CKernels.h): AVX2/FMA 6×16 tiles of dxᵀ, portable loops elsewhere.
#include "kernels_internal.h"

/// Panels of W per reduction pass of the transposed product (256 rows of W): each pass reads W
/// as 16 sequential streams (4 to 64 measured within 5 % of each other on Zen 3).
#define TRANSPOSED_BLOCK 16
/// Gradient tiles (16 rows of dy each) per row block of the transposed product.
#define TRANSPOSED_TILES 8

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
    // dy, ≤ 128 KiB, in L2) → column groups (their W lines in L1) → tiles. Passes cover
    // TRANSPOSED_BLOCK panels each (few streams of W); between passes the 6×16 tiles of dxᵀ wait
    // in `sums` (tile (g, b) at (g·tiles + b)·96). Without memory for it: one pass over them all.
    long pass = min_l(np, TRANSPOSED_BLOCK);
    float *sums = NULL;
    if (pass < np) {
        sums = calloc((size_t)groups * tiles * R * 16, sizeof(float));
        if (!sums) pass = np;
    }
    for (long q0 = 0;; q0 += pass) {
        long count = min_l(pass, np - q0), last = q0 + pass >= np;
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
        if (last) break;
    }
    free(sums);
}
