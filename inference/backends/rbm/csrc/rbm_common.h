/*
 * Shared pieces of the native RBM kernels (rbm_kernels.c, rbm_step.c): Philox4x32-10
 * uniforms and the logistic function, float32.
 *
 * Random numbers: Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers:
 * as easy as 1, 2, 3", SC 2011), a counter-based generator, so every element's uniform is
 * a pure function of (key, stream, row, column): results do not depend on the number of
 * threads or on the instruction set. Element (r, j) of a draw uses word (j % 64) / 16 of
 * the Philox block with counter (16 * (j / 64) + j % 16, r, stream_lo, stream_hi) and key
 * (key_lo, key_hi); its uniform is u = ((w >> 9) + 1/2) / 2^23, exact in float32 and
 * strictly inside (0, 1), so P(1{u < p} = 1) is p rounded to the nearest multiple of
 * 2^-23 (an error of at most 2^-24, like float32 torch.rand's resolution): exactly 0 for
 * p < 2^-24 and exactly 1 for p > 1 - 2^-24.
 *
 * The logistic function is computed without libm (a range-reduced polynomial exp; with
 * AVX-512 the division is a reciprocal estimate refined by one Newton step), relative
 * error at most about 2.1e-7. Builds for different instruction sets can differ in the
 * last bit of a probability, so a draw 1{u < p} with u within an ulp of p can differ
 * between machines.
 */
#ifndef PGM_RBM_COMMON_H
#define PGM_RBM_COMMON_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define LANES 16          /* Philox blocks generated together */
#define CHUNK (4 * LANES) /* elements covered by one group of blocks */

/* ---- Philox4x32-10 ------------------------------------------------------------------ */

static inline void philox_round(uint32_t *x0, uint32_t *x1, uint32_t *x2, uint32_t *x3, uint32_t a, uint32_t b) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * *x0;
    uint64_t p1 = (uint64_t)PHILOX_M1 * *x2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ *x1 ^ a;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ *x3 ^ b;
    *x1 = (uint32_t)p1;
    *x3 = (uint32_t)p0;
    *x0 = n0;
    *x2 = n2;
}


/* LANES blocks with counters (c0 + l, row, s0, s1), l = 0..LANES-1; out[k][l] = word k. */
#if defined(__AVX512F__)
static inline void mulhilo16(__m512i x, __m512i m, __m512i *hi, __m512i *lo) {
    __m512i even = _mm512_mul_epu32(x, m);
    __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), m);
    *lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

/* The same blocks as four vectors: out[k] holds word k of the 16 blocks. */
static inline void philox_vec(__m512i out[4], uint32_t c0, uint32_t row, uint32_t s0, uint32_t s1, uint32_t k0,
                              uint32_t k1) {
    __m512i x0 = _mm512_add_epi32(_mm512_set1_epi32((int)c0),
                                  _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __m512i x1 = _mm512_set1_epi32((int)row), x2 = _mm512_set1_epi32((int)s0), x3 = _mm512_set1_epi32((int)s1);
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M0), m1 = _mm512_set1_epi64(PHILOX_M1);
    uint32_t a = k0, b = k1;
    for (int r = 0; r < 10; r++) {
        __m512i h0, l0, h1, l1;
        mulhilo16(x0, m0, &h0, &l0);
        mulhilo16(x2, m1, &h1, &l1);
        x0 = _mm512_xor_si512(_mm512_xor_si512(h1, x1), _mm512_set1_epi32((int)a));
        x2 = _mm512_xor_si512(_mm512_xor_si512(h0, x3), _mm512_set1_epi32((int)b));
        x1 = l1;
        x3 = l0;
        a += PHILOX_W0;
        b += PHILOX_W1;
    }
    out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3;
}

static inline void philox_lanes(uint32_t out[4][LANES], uint32_t c0, uint32_t row, uint32_t s0, uint32_t s1,
                                uint32_t k0, uint32_t k1) {
    __m512i w[4];
    philox_vec(w, c0, row, s0, s1, k0, k1);
    for (int k = 0; k < 4; k++) _mm512_storeu_si512((void *)out[k], w[k]);
}
#else
static inline void philox_lanes(uint32_t out[4][LANES], uint32_t c0, uint32_t row, uint32_t s0, uint32_t s1,
                                uint32_t k0, uint32_t k1) {
    for (int l = 0; l < LANES; l++) {
        uint32_t x0 = c0 + (uint32_t)l, x1 = row, x2 = s0, x3 = s1;
        for (int r = 0; r < 10; r++)
            philox_round(&x0, &x1, &x2, &x3, k0 + (uint32_t)r * PHILOX_W0, k1 + (uint32_t)r * PHILOX_W1);
        out[0][l] = x0; out[1][l] = x1; out[2][l] = x2; out[3][l] = x3;
    }
}
#endif

/* Uniforms of elements j0 .. j0 + CHUNK - 1 (j0 a multiple of CHUNK) of row `row`. */
static inline void uniforms(float u[CHUNK], int64_t row, int64_t j0, uint64_t key, uint64_t stream) {
    uint32_t w[4][LANES];
    philox_lanes(w, (uint32_t)(j0 / 4), (uint32_t)row, (uint32_t)stream, (uint32_t)(stream >> 32),
                 (uint32_t)key, (uint32_t)(key >> 32));
    const uint32_t *flat = &w[0][0];
    for (int i = 0; i < CHUNK; i++)
        u[i] = ((float)(flat[i] >> 9) + 0.5f) * 1.1920928955078125e-07f; /* 2^-23 */
}

/* ---- the logistic function ----------------------------------------------------------- */

/* sigma(z) = 1 / (1 + exp(-z)) with z clamped to [-87, 87] (sigma is 1 - 6e-39 or 2e-38
 * there; NaN stays NaN); exp(t) = 2^n exp(r), t = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-6 Taylor-like
 * minimax polynomial (Cephes expf coefficients). */
static inline float logistic(float z) {
    z = z < -87.0f ? -87.0f : (z > 87.0f ? 87.0f : z);
    float t = -z;
    float n = (t * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
    float r = t - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float q = 1.9875691500e-4f;
    q = q * r + 1.3981999507e-3f;
    q = q * r + 8.3334519073e-3f;
    q = q * r + 4.1665795894e-2f;
    q = q * r + 1.6666665459e-1f;
    q = q * r + 5.0000001201e-1f;
    float e = q * r * r + r + 1.0f;
    union { int32_t i; float f; } scale;
    scale.i = ((int32_t)n + 127) << 23;
    return 1.0f / (1.0f + e * scale.f);
}

#if defined(__AVX512F__)
/* The same function on 16 lanes; the division is a 14-bit reciprocal estimate refined by
 * one Newton step (relative error about 2^-28 before rounding). */
static inline __m512 logistic16(__m512 x) {
    __m512 z = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(87.0f));
    __m512 t = _mm512_sub_ps(_mm512_setzero_ps(), z);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(t, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), t);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 q = _mm512_set1_ps(1.9875691500e-4f);
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.3981999507e-3f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(8.3334519073e-3f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(4.1665795894e-2f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.6666665459e-1f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 e = _mm512_fmadd_ps(q, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512 d = _mm512_add_ps(_mm512_scalef_ps(e, n), _mm512_set1_ps(1.0f));
    __m512 y = _mm512_rcp14_ps(d);
    y = _mm512_mul_ps(y, _mm512_fnmadd_ps(d, y, _mm512_set1_ps(2.0f)));
    return _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x); /* NaN stays NaN */
}
#endif

/* p[i] = sigma(a[i] + b[i]), i < n <= CHUNK */
static inline void logistic_chunk(float *p, const float *a, const float *b, int64_t n) {
#if defined(__AVX512F__)
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        __m512 z = _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        _mm512_mask_storeu_ps(p + i, m, logistic16(z));
    }
#else
    for (int64_t i = 0; i < n; i++) p[i] = logistic(a[i] + b[i]);
#endif
}

/*
 * One chunk of a logistic layer: elements [lo, hi) of the CHUNK columns starting at jc
 * (a multiple of CHUNK) of row r, with x, bias, ref, xout, sout, sum and err all
 * pointing at column jc:
 *
 *   p = sigma(x + bias);  err += (ref - p)^2 (err);  xout <- scale p (xout);
 *   sout <- 1{u[r, j] < p} (sout, uniforms of (key, stream));
 *   sum += sout when sum_samples, else scale p (sum).
 *
 * Same arithmetic, element for element, as logistic_chunk and uniforms.
 */
static inline void layer_chunk(const float *x, const float *bias, int64_t lo, int64_t hi, float scale, float *xout,
                               float *sout, float *sum, int sum_samples, const float *ref, float *err, int64_t r,
                               int64_t jc, uint64_t key, uint64_t stream) {
#if defined(__AVX512F__)
    __m512i w[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    if (sout)
        philox_vec(w, (uint32_t)(jc / 4), (uint32_t)r, (uint32_t)stream, (uint32_t)(stream >> 32), (uint32_t)key,
                   (uint32_t)(key >> 32));
    const __m512 vscale = _mm512_set1_ps(scale), half = _mm512_set1_ps(0.5f), ulp = _mm512_set1_ps(1.1920928955078125e-07f);
    for (int k = 0; k < 4; k++) {
        int64_t i = 16 * k, a = lo > i ? lo - i : 0, b = hi < i + 16 ? hi - i : 16;
        if (b <= a) continue;
        __mmask16 m = (__mmask16)(((1u << b) - 1u) & ~((1u << a) - 1u));
        __m512 p = logistic16(_mm512_add_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, bias + i)));
        if (err) {
            __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, ref + i), p);
            _mm512_mask_storeu_ps(err + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, err + i), _mm512_mul_ps(d, d)));
        }
        __m512 y = _mm512_mul_ps(vscale, p);
        if (xout) _mm512_mask_storeu_ps(xout + i, m, y);
        if (sout) {
            __m512 u = _mm512_mul_ps(_mm512_add_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(w[k], 9)), half), ulp);
            __m512 s = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(u, p, _CMP_LT_OQ), _mm512_set1_ps(1.0f));
            _mm512_mask_storeu_ps(sout + i, m, s);
            if (sum_samples) y = s;
        }
        if (sum) _mm512_mask_storeu_ps(sum + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, sum + i), y));
    }
#else
    float p[CHUNK], u[CHUNK];
    logistic_chunk(p + lo, x + lo, bias + lo, hi - lo);
    if (sout) uniforms(u, r, jc, key, stream);
    for (int64_t i = lo; i < hi; i++) {
        if (err) err[i] += (ref[i] - p[i]) * (ref[i] - p[i]);
        float y = scale * p[i];
        if (xout) xout[i] = y;
        if (sout) {
            float s = u[i] < p[i] ? 1.0f : 0.0f;
            sout[i] = s;
            if (sum_samples) y = s;
        }
        if (sum) sum[i] += y;
    }
#endif
}

/* This thread's number and the team size (0 and 1 outside OpenMP). */
static inline void team(int *t, int *nth) {
#ifdef _OPENMP
    *t = omp_get_thread_num();
    *nth = omp_get_num_threads();
#else
    *t = 0;
    *nth = 1;
#endif
}

/* Rows per block of the column sums: partial sums are kept per block and combined in
 * block order, so they do not depend on how rows are shared among threads. */
#define ROWS_PER_BLOCK 16

#endif
