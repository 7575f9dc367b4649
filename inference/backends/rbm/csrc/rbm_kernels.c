/*
 * Fused elementwise kernels of binary-RBM training on the CPU (float32, row-major,
 * contiguous arrays), loaded through ctypes by inference/backends/rbm/native.py: one pass per layer
 * (bias, logistic, scaling, Bernoulli draw, column sums), around GEMMs done elsewhere.
 * Random numbers and the logistic function: rbm_common.h.
 *
 * Threads: each takes a contiguous range of rows; column sums are accumulated per fixed
 * block of rows and combined in block order, so every result is the same whatever the
 * number of threads.
 */
#include "rbm_common.h"

#define PAR_MIN 16384     /* elements below which a call runs on one thread */

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

/* ---- the shared pass ----------------------------------------------------------------- */

/*
 * Rows are cut into fixed blocks of ROWS_PER_BLOCK; a thread takes a contiguous range of
 * blocks (contiguous memory: no cache line is written by two threads except at one
 * boundary). Column sums are accumulated per block and combined in block order after the
 * pass, so they do not depend on the number of threads either.
 */

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
                     float mu, float weight, int sum_samples, int nthreads) {
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
    (void)nt; /* unused without OpenMP */
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int tid, nth;
        team(&tid, &nth);
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
                colsum[j] = (mu == 0.0f ? 0.0f : mu * colsum[j]) + weight * total;
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
            colsum[j] = (mu == 0.0f ? 0.0f : mu * colsum[j]) + weight * total;
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
 *   colsum[j] <- mu * colsum[j] + weight * sum_r y[r, j]    (if colsum != NULL)
 *
 * with y = sample when sum_samples, else x after the update. `sample` may alias x.
 */
void pgm_logistic_bernoulli(float *x, const float *bias, int64_t rows, int64_t cols, float scale,
                            float *sample, uint64_t key, uint64_t stream,
                            float *colsum, float mu, float weight, int sum_samples, int nthreads) {
    run_pass(MODE_LOGISTIC, x, x, 0, bias, rows, cols, scale, sample, key, stream, colsum, mu, weight, sum_samples,
             nthreads);
}

/*
 * Bernoulli draw from given probabilities with the same uniforms as
 * pgm_logistic_bernoulli (same key, stream and shape give the same samples):
 *
 *   sample[r, j] <- 1{u[r, j] < p[r, j]};  colsum[j] <- mu * colsum[j] + weight * sum_r sample[r, j]
 */
void pgm_bernoulli(const float *p, float *sample, int64_t rows, int64_t cols, uint64_t key, uint64_t stream,
                   float *colsum, float mu, float weight, int nthreads) {
    run_pass(MODE_BERNOULLI, 0, p, 0, 0, rows, cols, 1.0f, sample, key, stream, colsum, mu, weight, 1, nthreads);
}

/* colsum[j] <- mu * colsum[j] + weight * sum_r a[r, j] */
void pgm_column_sum(const float *a, int64_t rows, int64_t cols, float *colsum, float mu, float weight,
                    int nthreads) {
    run_pass(MODE_SUM, 0, a, 0, 0, rows, cols, 1.0f, 0, 0, 0, colsum, mu, weight, 0, nthreads);
}

/* out[r] <- data[index[r]] (rows of `cols` floats); colsum[j] <- mu * colsum[j] + weight * sum_r out[r, j].
 * Returns 0, or r + 1 when index[r] is outside [0, n_data) (then nothing is written). */
int64_t pgm_gather_rows(const float *data, int64_t n_data, const int64_t *index, int64_t rows, int64_t cols,
                        float *out, float *colsum, float mu, float weight, int nthreads) {
    for (int64_t r = 0; r < rows; r++)
        if (index[r] < 0 || index[r] >= n_data) return r + 1;
    run_pass(MODE_GATHER, out, data, index, 0, rows, cols, 1.0f, 0, 0, 0, colsum, mu, weight, 0, nthreads);
    return 0;
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
