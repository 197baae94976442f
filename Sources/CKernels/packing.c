// Run-time kernel choice and the packed layouts (see CKernels.h).
#include "kernels_internal.h"

int ck_vector_kernels(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    // Computed once; threads racing on the first call store the same value (atomically).
    static int known = -1;
    int value = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (value < 0) {
        __builtin_cpu_init();
        value = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        __atomic_store_n(&known, value, __ATOMIC_RELAXED);
    }
    return value;
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
