/*
 * Fused elementwise kernels of binary-RBM training on the CPU (float32, row-major,
 * contiguous arrays), loaded through ctypes by inference/native.py.
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
 * between machines; on one machine results are reproducible and do not depend on the
 * number of threads.
 *
 * Threads: each takes a contiguous range of rows; column sums are accumulated per fixed
 * block of rows and combined in block order, so every result is the same whatever the
 * number of threads.
 */
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
#define PAR_MIN 16384     /* elements below which a call runs on one thread */

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

/* One Philox4x32-10 block (the reference definition; used by the tests). */
void pgm_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t x0 = ctr[0], x1 = ctr[1], x2 = ctr[2], x3 = ctr[3], a = key[0], b = key[1];
    for (int r = 0; r < 10; r++) {
        philox_round(&x0, &x1, &x2, &x3, a, b);
        a += PHILOX_W0;
        b += PHILOX_W1;
    }
    out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3;
}

/* LANES blocks with counters (c0 + l, row, s0, s1), l = 0..LANES-1; out[k][l] = word k. */
#if defined(__AVX512F__)
static inline void mulhilo16(__m512i x, __m512i m, __m512i *hi, __m512i *lo) {
    __m512i even = _mm512_mul_epu32(x, m);
    __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), m);
    *lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

static inline void philox_lanes(uint32_t out[4][LANES], uint32_t c0, uint32_t row, uint32_t s0, uint32_t s1,
                                uint32_t k0, uint32_t k1) {
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
    _mm512_storeu_si512((void *)out[0], x0);
    _mm512_storeu_si512((void *)out[1], x1);
    _mm512_storeu_si512((void *)out[2], x2);
    _mm512_storeu_si512((void *)out[3], x3);
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

/* ---- the shared pass ----------------------------------------------------------------- */

/*
 * Rows are cut into fixed blocks of ROWS_PER_BLOCK; a thread takes a contiguous range of
 * blocks (contiguous memory: no cache line is written by two threads except at one
 * boundary). Column sums are accumulated per block and combined in block order after the
 * pass, so they do not depend on the number of threads either.
 */
#define ROWS_PER_BLOCK 16

enum { MODE_LOGISTIC, MODE_BERNOULLI, MODE_SUM, MODE_GATHER };

static inline void pass_rows(int mode, float *x, const float *in, const int64_t *index, const float *bias,
                             int64_t r0, int64_t r1, int64_t cols, float scale, float *sample, uint64_t key,
                             uint64_t stream, float *partial, int sum_samples) {
    float p[CHUNK], u[CHUNK];
    if (partial) memset(partial, 0, (size_t)cols * sizeof(float));
    for (int64_t r = r0; r < r1; r++) {
        const float *ir = in + (index ? index[r] : r) * cols;
        float *xr = x ? x + r * cols : 0;
        if (mode == MODE_GATHER) memcpy(xr, ir, (size_t)cols * sizeof(float));
        float *sr = sample ? sample + r * cols : 0;
        for (int64_t j0 = 0; j0 < cols; j0 += CHUNK) {
            int64_t n = cols - j0 < CHUNK ? cols - j0 : CHUNK;
            const float *y = ir + j0;
            if (mode == MODE_LOGISTIC) {
                logistic_chunk(p, ir + j0, bias + j0, n);
                if (sr != xr)
                    for (int64_t i = 0; i < n; i++) xr[j0 + i] = scale * p[i];
                y = xr + j0;
            } else if (mode == MODE_BERNOULLI) {
                for (int64_t i = 0; i < n; i++) p[i] = ir[j0 + i];
            } else if (mode == MODE_GATHER) {
                if (!partial) break;
                y = xr + j0;
            }
            if (sr) {
                uniforms(u, r, j0, key, stream);
                for (int64_t i = 0; i < n; i++) sr[j0 + i] = u[i] < p[i] ? 1.0f : 0.0f;
                if (sum_samples) y = sr + j0;
            }
            if (partial)
                for (int64_t i = 0; i < n; i++) partial[j0 + i] += y[i];
        }
    }
}

static void run_pass(int mode, float *x, const float *in, const int64_t *index, const float *bias, int64_t rows,
                     int64_t cols, float scale, float *sample, uint64_t key, uint64_t stream, float *colsum,
                     float beta, float weight, int sum_samples, int nthreads) {
    int64_t blocks = (rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK;
    float stack[8 * 1024];
    float *partials = 0;
    int sum_after = 0; /* no memory for the partial sums: sum the written rows afterwards */
    if (colsum) {
        size_t need = (size_t)blocks * (size_t)cols;
        partials = need <= sizeof(stack) / sizeof(float) ? stack : (float *)malloc(need * sizeof(float));
        sum_after = partials == 0;
    }
    int nt = (nthreads < 1 || rows * cols < PAR_MIN) ? 1 : (nthreads < blocks ? nthreads : (int)blocks);
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int tid = 0, nth = 1;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        nth = omp_get_num_threads();
#endif
        int64_t b0 = blocks * tid / nth, b1 = blocks * (tid + 1) / nth;
        for (int64_t b = b0; b < b1; b++) {
            int64_t r0 = b * ROWS_PER_BLOCK, r1 = r0 + ROWS_PER_BLOCK < rows ? r0 + ROWS_PER_BLOCK : rows;
            pass_rows(mode, x, in, index, bias, r0, r1, cols, scale, sample, key, stream,
                      partials ? partials + b * cols : 0, sum_samples);
        }
        if (partials) {
            #pragma omp barrier
            int64_t j0 = cols * tid / nth, j1 = cols * (tid + 1) / nth;
            for (int64_t j = j0; j < j1; j++) {
                float total = 0.0f;
                for (int64_t b = 0; b < blocks; b++) total += partials[b * cols + j];
                colsum[j] = (beta == 0.0f ? 0.0f : beta * colsum[j]) + weight * total;
            }
        }
    }
    if (partials && partials != stack) free(partials);
    if (sum_after) { /* the same sums in the same order, serially */
        const float *y = mode == MODE_SUM ? in : ((sample && (sum_samples || mode == MODE_BERNOULLI)) ? sample : x);
        for (int64_t j = 0; j < cols; j++) {
            float total = 0.0f;
            for (int64_t b = 0; b < blocks; b++) {
                float part = 0.0f;
                int64_t r1 = (b + 1) * ROWS_PER_BLOCK < rows ? (b + 1) * ROWS_PER_BLOCK : rows;
                for (int64_t r = b * ROWS_PER_BLOCK; r < r1; r++) part += y[r * cols + j];
                total += part;
            }
            colsum[j] = (beta == 0.0f ? 0.0f : beta * colsum[j]) + weight * total;
        }
    }
}

/* ---- kernels ---------------------------------------------------------------------------- */

/*
 * Logistic layer with optional Bernoulli draw and column sums, on a rows x cols array:
 *
 *   p[r, j]   = sigma(x[r, j] + bias[j])
 *   x[r, j]  <- scale * p[r, j]                               (unless x aliases sample)
 *   sample   <- 1{u[r, j] < p[r, j]}                          (if sample != NULL)
 *   colsum[j] <- beta * colsum[j] + weight * sum_r y[r, j]    (if colsum != NULL)
 *
 * with y = sample when sum_samples, else x after the update. `sample` may alias x.
 */
void pgm_logistic_bernoulli(float *x, const float *bias, int64_t rows, int64_t cols, float scale,
                            float *sample, uint64_t key, uint64_t stream,
                            float *colsum, float beta, float weight, int sum_samples, int nthreads) {
    run_pass(MODE_LOGISTIC, x, x, 0, bias, rows, cols, scale, sample, key, stream, colsum, beta, weight, sum_samples,
             nthreads);
}

/*
 * Bernoulli draw from given probabilities with the same uniforms as
 * pgm_logistic_bernoulli (same key, stream and shape give the same samples):
 *
 *   sample[r, j] <- 1{u[r, j] < p[r, j]};  colsum[j] <- beta * colsum[j] + weight * sum_r sample[r, j]
 */
void pgm_bernoulli(const float *p, float *sample, int64_t rows, int64_t cols, uint64_t key, uint64_t stream,
                   float *colsum, float beta, float weight, int nthreads) {
    run_pass(MODE_BERNOULLI, 0, p, 0, 0, rows, cols, 1.0f, sample, key, stream, colsum, beta, weight, 1, nthreads);
}

/* colsum[j] <- beta * colsum[j] + weight * sum_r a[r, j] */
void pgm_column_sum(const float *a, int64_t rows, int64_t cols, float *colsum, float beta, float weight,
                    int nthreads) {
    run_pass(MODE_SUM, 0, a, 0, 0, rows, cols, 1.0f, 0, 0, 0, colsum, beta, weight, 0, nthreads);
}

/* out[r] <- data[index[r]] (rows of `cols` floats); colsum[j] <- beta * colsum[j] + weight * sum_r out[r, j] */
void pgm_gather_rows(const float *data, const int64_t *index, int64_t rows, int64_t cols, float *out,
                     float *colsum, float beta, float weight, int nthreads) {
    run_pass(MODE_GATHER, out, data, index, 0, rows, cols, 1.0f, 0, 0, 0, colsum, beta, weight, 0, nthreads);
}

/* The uniforms themselves, u[r, j] as above (for tests and diagnostics). */
void pgm_uniform(float *out, int64_t rows, int64_t cols, uint64_t key, uint64_t stream) {
    float u[CHUNK];
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j0 = 0; j0 < cols; j0 += CHUNK) {
            int64_t n = cols - j0 < CHUNK ? cols - j0 : CHUNK;
            uniforms(u, r, j0, key, stream);
            memcpy(out + r * cols + j0, u, (size_t)n * sizeof(float));
        }
}
