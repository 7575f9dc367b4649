/*
 * One whole CD-k or PCD-k step of a binary RBM on the CPU, in a single OpenMP region:
 * batch gather, GEMMs (through the BLAS sgemm that torch carries, one thread per call),
 * logistic layers with Philox draws, gradients into the optimizer's momentum buffers and,
 * optionally, the SGD update. Same estimate, same draws (keys, streams, rows) and same
 * column-sum order as the per-pass kernels of rbm_kernels.c; only the GEMMs' summation
 * order differs.
 *
 * Work split. Thread t owns a contiguous range V_t of visible units (cut in steps of 16):
 * the rows W[V_t, :] and uW[V_t, :] (contiguous memory, so they stay in that core's cache
 * from step to step and no cache line of W is shared), the columns V2[:, V_t] of the
 * visible states and b, ub over V_t. Then
 *
 *   visible layer   v[:, V_t] = sigma(h W[V_t, :]^T + b)        N-split: no reduction
 *   hidden layer    h = sigma(sum_t v[:, V_t] W[V_t, :] + c)     K-split: one partial
 *                                                                 product per thread,
 *                                                                 summed in thread order
 *   weight gradient uW[V_t, :] = mu uW[V_t, :] + V2[:, V_t]^T H2
 *
 * and the hidden layers' rows are shared by fixed blocks of 16. A CD-1 step has four
 * barriers, a PCD-1 step two. Because the hidden pre-activations are summed over thread
 * ranges, results depend on the number of threads at the level of float32 rounding
 * (the per-pass kernels' results do not); on one machine with one thread count a run is
 * reproducible.
 */
#include "rbm_common.h"

/* Fortran BLAS sgemm (column-major, 32-bit integers) and MKL's per-thread thread count. */
typedef void (*pgm_sgemm_fn)(const char *, const char *, const int *, const int *, const int *, const float *,
                             const float *, const int *, const float *, const int *, const float *, float *,
                             const int *);
typedef int (*pgm_threads_local_fn)(int);

typedef struct {
    int64_t n_vis, n_hid, n_neg, n_pos; /* V, H, chains C, data rows B (CD: C = B) */
    int64_t n_data;                     /* rows of data (the range of index) */
    int32_t k, sample_visible, persistent, update, nthreads;
    float *W, *b, *c;                   /* V x H, V, H */
    float *uW, *ub, *uc;                /* gradient targets: u <- mu u + gradient */
    float mu_W, mu_b, mu_c;
    float lr_W, lr_b, lr_c;             /* with update: u <- u + wd theta, theta <- theta - lr u */
    float wd_W, wd_b, wd_c;
    const float *data;                  /* the batch is rows index[r] of data, or its first B rows */
    const int64_t *index;
    float *V2, *H2;                     /* (C + B) x V and (C + B) x H: [model; data] */
    float *hs;                          /* CD: B x H hidden samples */
    float *hchain;                      /* PCD: C x H hidden chain states */
    float *partial;                     /* (nthreads - 1) x (C + B) x H partial products */
    float *block_sums;                  /* 2 x ceil(max(C, B) / 16) x H */
    float *err;                         /* NULL or V: sum_r (v0[r, j] - p(v1 = 1 | h0)[r, j])^2 */
    uint64_t key;
    pgm_sgemm_fn sgemm;
    pgm_threads_local_fn threads_local; /* NULL when the BLAS has none */
    /* several steps in one call: index holds n_steps x B rows, err n_steps x V */
    int64_t n_steps;                    /* 1 for a single step */
    const uint64_t *keys;               /* NULL, or n_steps keys (replacing key) */
    const float *lrs;                   /* NULL, or n_steps x 3: lr_W, lr_b, lr_c of each step */
    const uint8_t *track;               /* NULL (every step fills err when given), or which do */
} pgm_rbm_step_args;

/* Row-major C[M, N] = alpha op(A) op(B) + beta C, with op(X) = X^T when tX (X stored
 * transposed); as column-major, C^T = op(B)^T op(A)^T. */
static inline void gemm(const pgm_rbm_step_args *a, int ta, int tb, int64_t m, int64_t n, int64_t k, const float *A,
                        int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    int M = (int)m, N = (int)n, K = (int)k, la = (int)lda, lb = (int)ldb, lc = (int)ldc;
    float one = 1.0f;
    a->sgemm(tb ? "T" : "N", ta ? "T" : "N", &N, &M, &K, &one, B, &lb, A, &la, &beta, C, &lc);
}

/* [lo, hi) of thread t of T over n items cut into units of `unit` */
static inline void share(int64_t n, int64_t unit, int t, int T, int64_t *lo, int64_t *hi) {
    int64_t units = (n + unit - 1) / unit;
    *lo = units * t / T * unit;
    *hi = units * (t + 1) / T * unit;
    if (*lo > n) *lo = n;
    if (*hi > n) *hi = n;
}

/*
 * Visible layer on columns [j0, j1) of the rows x V array x holding pre-activations:
 * p = sigma(x + b); x <- p, or x <- 1{u < p} with `sample`; err[j] = sum_r (ref[r, j] -
 * p[r, j])^2 when err; colsum[j] <- mu colsum[j] + weight sum_r x[r, j] in the block
 * order of rbm_kernels.c. With bias NULL, x is left as it is and only summed. `scratch`
 * holds 2 (j1 - j0) + CHUNK floats.
 */
static void visible_columns(float *x, const float *bias, int64_t rows, int64_t ld, int64_t j0, int64_t j1,
                            int sample, uint64_t key, uint64_t stream, const float *ref, float *err, float *colsum,
                            float mu, float weight, float *scratch) {
    int64_t w = j1 - j0, jb = j0 / CHUNK * CHUNK; /* the first chunk meeting [j0, j1) starts at jb */
    float *part = scratch, *total = scratch + (j1 - jb); /* part[j - jb], total[j - j0] */
    if (colsum) memset(total, 0, (size_t)w * sizeof(float));
    if (err) memset(err + j0, 0, (size_t)w * sizeof(float));
    for (int64_t r0 = 0; r0 < rows; r0 += ROWS_PER_BLOCK) {
        int64_t r1 = r0 + ROWS_PER_BLOCK < rows ? r0 + ROWS_PER_BLOCK : rows;
        if (colsum) memset(part, 0, (size_t)(j1 - jb) * sizeof(float));
        for (int64_t r = r0; r < r1; r++) {
            float *xr = x + r * ld;
            if (!bias) {
                if (colsum)
                    for (int64_t j = j0; j < j1; j++) part[j - jb] += xr[j];
                continue;
            }
            for (int64_t jc = jb; jc < j1; jc += CHUNK) {
                int64_t lo = j0 > jc ? j0 - jc : 0, hi = j1 - jc < CHUNK ? j1 - jc : CHUNK;
                layer_chunk(xr + jc, bias + jc, lo, hi, 1.0f, sample ? 0 : xr + jc, sample ? xr + jc : 0,
                            colsum ? part + (jc - jb) : 0, 1, ref ? ref + r * ld + jc : 0, err ? err + jc : 0, r, jc, key,
                            stream);
            }
        }
        if (colsum)
            for (int64_t i = 0; i < w; i++) total[i] += part[j0 - jb + i];
    }
    if (colsum)
        for (int64_t i = 0; i < w; i++)
            colsum[j0 + i] = (mu == 0.0f ? 0.0f : mu * colsum[j0 + i]) + weight * total[i];
}

/* A run of rows of a hidden layer: x (rows x H) holds thread 0's partial product, the
 * other threads' are at row src_row of each partial buffer. */
typedef struct {
    float *x;
    int64_t rows, src_row;
    float scale;
    float *sample; /* NULL: no draw */
    uint64_t stream;
    float *sums;   /* NULL, or blocks x H per-block column sums of scale * p */
} segment;

/*
 * Hidden layer on blocks [g0, g1) of the segments' rows (numbered through the segments):
 * x = sum of the partial products in thread order, p = sigma(x + c), x <- scale p,
 * sample <- 1{u < p}, per-block sums of x.
 */
static void hidden_blocks(const pgm_rbm_step_args *a, const segment *seg, int nseg, int64_t g0, int64_t g1,
                          int parts, int64_t part_rows) {
    const int64_t H = a->n_hid;
    int64_t first = 0;
    for (int s = 0; s < nseg; s++) {
        int64_t blocks = (seg[s].rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK;
        for (int64_t g = g0 > first ? g0 : first; g < g1 && g < first + blocks; g++) {
            int64_t blk = g - first, r0 = blk * ROWS_PER_BLOCK;
            int64_t r1 = r0 + ROWS_PER_BLOCK < seg[s].rows ? r0 + ROWS_PER_BLOCK : seg[s].rows;
            float *part = seg[s].sums ? seg[s].sums + blk * H : 0;
            if (part) memset(part, 0, (size_t)H * sizeof(float));
            for (int64_t r = r0; r < r1; r++) {
                float *xr = seg[s].x + r * H, *sr = seg[s].sample ? seg[s].sample + r * H : 0;
                for (int q = 0; q < parts; q++) {
                    const float *pr = a->partial + ((int64_t)q * part_rows + seg[s].src_row + r) * H;
                    for (int64_t j = 0; j < H; j++) xr[j] += pr[j];
                }
                for (int64_t jc = 0; jc < H; jc += CHUNK)
                    layer_chunk(xr + jc, a->c + jc, 0, H - jc < CHUNK ? H - jc : CHUNK, seg[s].scale, xr + jc,
                                sr ? sr + jc : 0, part ? part + jc : 0, 0, 0, 0, r, jc, a->key, seg[s].stream);
            }
        }
        first += blocks;
    }
}

static void hidden_layer(const pgm_rbm_step_args *a, const segment *seg, int nseg, int t, int T, int64_t part_rows) {
    int64_t blocks = 0;
    for (int s = 0; s < nseg; s++) blocks += (seg[s].rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK;
    hidden_blocks(a, seg, nseg, blocks * t / T, blocks * (t + 1) / T, T - 1, part_rows);
}

/* This thread's partial hidden pre-activation for rows [row0, row0 + m) of V2:
 * V2[rows, V_t] W[V_t, :], into H2 (thread 0) or its partial buffer. */
static void hidden_partial(const pgm_rbm_step_args *a, int t, int64_t v0, int64_t v1, int64_t row0, int64_t m,
                           int64_t part_rows) {
    const int64_t V = a->n_vis, H = a->n_hid;
    float *out = t == 0 ? a->H2 + row0 * H : a->partial + ((int64_t)(t - 1) * part_rows + row0) * H;
    gemm(a, 0, 0, m, H, v1 - v0, a->V2 + row0 * V + v0, V, a->W + v0 * H, H, 0.0f, out, H);
}

/* uc <- mu_c uc + (total of s0's blocks), then + (total of s1's blocks), on columns
 * [j0, j1); then the update of c. */
static void finish_hidden_bias(const pgm_rbm_step_args *a, int64_t j0, int64_t j1, const float *s0, int64_t blocks0,
                               const float *s1, int64_t blocks1) {
    const int64_t H = a->n_hid;
    for (int64_t j = j0; j < j1; j++) {
        float t0 = 0.0f, t1 = 0.0f;
        for (int64_t g = 0; g < blocks0; g++) t0 += s0[g * H + j];
        for (int64_t g = 0; g < blocks1; g++) t1 += s1[g * H + j];
        float u = (a->mu_c == 0.0f ? 0.0f : a->mu_c * a->uc[j]) + t0;
        u = u + t1;
        if (a->update) {
            if (a->wd_c != 0.0f) u = u + a->wd_c * a->c[j];
            a->c[j] = a->c[j] - a->lr_c * u;
        }
        a->uc[j] = u;
    }
}

static void update_rows(float *theta, float *u, int64_t n, float lr, float wd) {
    if (wd != 0.0f)
        for (int64_t i = 0; i < n; i++) u[i] = u[i] + wd * theta[i];
    for (int64_t i = 0; i < n; i++) theta[i] = theta[i] - lr * u[i];
}

/*
 * The step. CD-k (persistent = 0; C = B): v0 -> h0 -> v1 -> ... -> v_k with streams 0
 * for h0, 2s + 1 for v_{s+1}, 2s + 2 for h_{s+1}. PCD-k: k sweeps of the C chains
 * (hchain, V2's first C rows), streams 2s + 1 and 2s + 2. Gradients, with row weights
 * s = [+1/C ...; -1/B ...]:
 *
 *   uW <- mu_W uW + V2^T diag(s) P,  uc <- mu_c uc + sum_r s_r P[r, :],
 *   ub <- mu_b ub + V2^T s,          P = [p(h | v_model); p(h | v_data)].
 *
 * With update, then u <- u + wd theta and theta <- theta - lr u for each parameter.
 * Returns 0, or r + 1 when index[r] is outside [0, n_data) (then nothing is touched).
 */
/* One step on thread t of nth, which owns visible units [v0, v1) and hidden biases [c0, c1). */
static void step(const pgm_rbm_step_args *a, int t, int nth, int64_t v0, int64_t v1, int64_t c0, int64_t c1,
                 float *scratch) {
    const int64_t V = a->n_vis, H = a->n_hid, C = a->n_neg, B = a->n_pos, k = a->k, nv = v1 - v0;
    const int64_t rows = C + B;
    const int persistent = a->persistent;
    float *vneg = a->V2, *vpos = a->V2 + C * V, *pneg = a->H2, *ppos = a->H2 + C * H;
    const int64_t blocks_neg = (C + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK;
    const int64_t blocks_pos = (B + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK;
    const int64_t blocks_max = blocks_neg > blocks_pos ? blocks_neg : blocks_pos;
    float *sums0 = a->block_sums, *sums1 = a->block_sums + blocks_max * H;

    /* the batch's columns V_t, ub <- mu_b ub - sum_r v0[r] / B */
    for (int64_t r = 0; r < B; r++) {
        const float *src = a->data + (a->index ? a->index[r] : r) * V + v0;
        if (src != vpos + r * V + v0) memcpy(vpos + r * V + v0, src, (size_t)nv * sizeof(float));
    }
    visible_columns(vpos, 0, B, V, v0, v1, 0, 0, 0, 0, 0, a->ub, a->mu_b, -1.0f / (float)B, scratch);

    if (!persistent) { /* h0 ~ p(h | v0); ppos <- -p(h | v0) / B */
        hidden_partial(a, t, v0, v1, C, B, rows);
        #pragma omp barrier
        segment pos = {ppos, B, C, -1.0f / (float)B, a->hs, 0, sums0};
        hidden_layer(a, &pos, 1, t, nth, rows);
    }
    for (int64_t s = 0; s < k; s++) {
        const int last = s == k - 1;
        const float *h = persistent ? a->hchain : a->hs;
        if (!persistent || s > 0) {
            #pragma omp barrier
        }
        /* v_{s+1}[:, V_t] from h; ub <- ub + sum_r v / C on the last sweep */
        gemm(a, 0, 1, C, nv, H, h, H, a->W + v0 * H, H, 0.0f, vneg + v0, V);
        int track = !persistent && s == 0 && a->err != 0;
        visible_columns(vneg, a->b, C, V, v0, v1, persistent || a->sample_visible, a->key, (uint64_t)(2 * s + 1),
                        track ? vpos : 0, track ? a->err : 0, last ? a->ub : 0, 1.0f, 1.0f / (float)C, scratch);
        /* p(h | v_{s+1}), and with PCD's last sweep p(h | data) in the same GEMM */
        int both = persistent && last;
        hidden_partial(a, t, v0, v1, 0, both ? rows : C, rows);
        #pragma omp barrier
        float *hsample = persistent ? a->hchain : (last ? 0 : a->hs);
        segment neg = {pneg, C, 0, last ? 1.0f / (float)C : 1.0f, hsample, (uint64_t)(2 * s + 2),
                       last ? (persistent ? sums0 : sums1) : 0};
        segment segs[2] = {neg, {ppos, B, C, -1.0f / (float)B, 0, 0, sums1}};
        hidden_layer(a, segs, both ? 2 : 1, t, nth, rows);
    }
    #pragma omp barrier
    /* gradients of the rows V_t, and the update */
    gemm(a, 1, 0, nv, H, rows, a->V2 + v0, V, a->H2, H, a->mu_W, a->uW + v0 * H, H);
    if (a->update) {
        update_rows(a->W + v0 * H, a->uW + v0 * H, nv * H, a->lr_W, a->wd_W);
        update_rows(a->b + v0, a->ub + v0, nv, a->lr_b, a->wd_b);
    }
    if (persistent) finish_hidden_bias(a, c0, c1, sums0, blocks_neg, sums1, blocks_pos);
    else finish_hidden_bias(a, c0, c1, sums0, blocks_pos, sums1, blocks_neg);
}

/*
 * The step, or n_steps of them (step i with rows index[i B ...], keys[i], the learning
 * rates lrs[i] and, where track[i], err + i V). CD-k (persistent = 0; C = B): v0 -> h0 ->
 * v1 -> ... -> v_k with streams 0 for h0, 2s + 1 for v_{s+1}, 2s + 2 for h_{s+1}. PCD-k:
 * k sweeps of the C chains (hchain, V2's first C rows), streams 2s + 1 and 2s + 2.
 * Gradients, with row weights s = [+1/C ...; -1/B ...]:
 *
 *   uW <- mu_W uW + V2^T diag(s) P,  uc <- mu_c uc + sum_r s_r P[r, :],
 *   ub <- mu_b ub + V2^T s,          P = [p(h | v_model); p(h | v_data)].
 *
 * With update, then u <- u + wd theta and theta <- theta - lr u for each parameter.
 * Returns 0, or r + 1 when index[r] is outside [0, n_data) (then nothing is touched).
 */
int64_t pgm_rbm_step(const pgm_rbm_step_args *a) {
    const int64_t V = a->n_vis, H = a->n_hid, B = a->n_pos;
    const int64_t n_steps = a->n_steps < 1 ? 1 : a->n_steps;
    if (a->index)
        for (int64_t r = 0; r < n_steps * B; r++)
            if (a->index[r] < 0 || a->index[r] >= a->n_data) return r + 1;
    int64_t chunks = (V + 15) / 16;
    int T = a->nthreads < 1 ? 1 : a->nthreads;
    if (T > chunks) T = (int)chunks;
    #pragma omp parallel num_threads(T) if (T > 1)
    {
        int t, nth;
        team(&t, &nth);
        int saved = a->threads_local ? a->threads_local(1) : 0;
        int64_t v0, v1, c0, c1;
        share(V, 16, t, nth, &v0, &v1);
        share(H, 16, t, nth, &c0, &c1);
        float *scratch = (float *)malloc((size_t)(2 * (v1 - v0) + CHUNK) * sizeof(float));
        for (int64_t i = 0; i < n_steps; i++) {
            pgm_rbm_step_args st = *a;
            if (a->index) st.index = a->index + i * B;
            if (a->keys) st.key = a->keys[i];
            if (a->lrs) st.lr_W = a->lrs[3 * i], st.lr_b = a->lrs[3 * i + 1], st.lr_c = a->lrs[3 * i + 2];
            st.err = a->err && (!a->track || a->track[i]) ? a->err + i * V : 0;
            if (i > 0) { /* the previous step's readers of H2 and the block sums are done */
                #pragma omp barrier
            }
            step(&st, t, nth, v0, v1, c0, c1, scratch);
        }
        free(scratch);
        if (a->threads_local) a->threads_local(saved);
    }
    return 0;
}

/* Row-major C[m, n] = op(A) op(B) + beta C through `sgemm` (the loader's self-test). */
void pgm_gemm(pgm_sgemm_fn sgemm, int ta, int tb, int64_t m, int64_t n, int64_t k, const float *A, int64_t lda,
              const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    pgm_rbm_step_args a;
    memset(&a, 0, sizeof(a));
    a.sgemm = sgemm;
    gemm(&a, ta, tb, m, n, k, A, lda, B, ldb, beta, C, ldc);
}
