/*
** winograd.c: 3x3 stride-1 convolutions as Winograd F(4x4, 3x3) (Lavin &
** Gray, "Fast Algorithms for Convolutional Neural Networks"), with the
** products in the transformed domain run through SGEMM.
**
** The output window is cut into 4x4 blocks; each block needs a 6x6 input
** patch d. Y = A^T [ (G g G^T) (.) (B^T d B) ] A, where (.) is elementwise.
** For a batch of T blocks: transform every input patch (36 values per block
** and channel), multiply, for each of the 36 positions, the cout x cin
** transformed weights by the cin x T transformed patches (36 SGEMMs), and
** transform back. 2.25x fewer multiplications than direct 3x3 convolution
** for F(2x2), 4x for F(4x4); the transforms cost a few adds per value.
** The weights are transformed once, at load, in double precision.
*/
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "internal.h"

/* bytes of transformed data per batch: 2 MiB measured faster than 8 (VGG-16
** 224: 245 -> 215 ms on 1 thread, 147 -> 133 ms on 2; 1024: 5.7 -> 5.3 s
** and 3.5 -> 2.9 s): a batch's data stays nearer the core */
#define WS_TARGET (2u << 20)

int winograd_applies(const node *n)
{
    return n->op == OP_CONV && n->kh == 3 && n->kw == 3 && n->sh == 1 &&
           n->sw == 1 && n->dh == 1 && n->dw == 1 && n->groups == 1;
}

/* G g: 3 -> 6 */
static void wt_1d(const double *g, int s, double *o, int os)
{
    o[0 * os] = g[0] / 4;
    o[1 * os] = -(g[0] + g[s] + g[2 * s]) / 6;
    o[2 * os] = -(g[0] - g[s] + g[2 * s]) / 6;
    o[3 * os] = g[0] / 24 + g[s] / 12 + g[2 * s] / 6;
    o[4 * os] = g[0] / 24 - g[s] / 12 + g[2 * s] / 6;
    o[5 * os] = g[2 * s];
}

int winograd_prepare(node *n, int pack)
{
    const int M = n->cout, C = n->cin;
    n->wino = fcn_aligned_alloc(sizeof(float) * 36 * (size_t)M * C);
    if (!n->wino)
        return 0;
    n->wino_packed = 0;
    for (int m = 0; m < M; m++)
        for (int c = 0; c < C; c++) {
            const float *k = n->weight + ((int64_t)m * C + c) * 9;
            double g[9], t[18], u[36];
            for (int i = 0; i < 9; i++)
                g[i] = k[i];
            for (int col = 0; col < 3; col++)  /* t = G g (6x3) */
                wt_1d(g + col, 3, t + col, 3);
            for (int row = 0; row < 6; row++)  /* u = t G^T (6x6) */
                wt_1d(t + 3 * row, 1, u + 6 * row, 1);
            for (int x = 0; x < 36; x++)
                n->wino[((int64_t)x * M + m) * C + c] = (float)u[x];
        }
    if (pack && gemm_available()) {
        /* each position's M x C matrix packed for gemm_panels */
        const int64_t per = gemm_packed_floats(M, C);
        float *p = fcn_aligned_alloc(sizeof(float) * 36 * (size_t)per);
        if (!p)
            return 0;
        for (int x = 0; x < 36; x++)
            gemm_pack(M, C, n->wino + (int64_t)x * M * C, p + x * per, 0);
        fcn_free(n->wino);
        n->wino = p;
        n->wino_packed = 1;
    }
    return 1;
}

/* Blocks per batch: transformed input and output of a batch fill about
** WS_TARGET bytes, 32 to 256 blocks. Depends on the shape only. */
static int batch_blocks(const node *n)
{
    int64_t t = WS_TARGET / (36 * 4 * (int64_t)(n->cin + n->cout));
    t = t / 16 * 16;
    return (int)(t < 32 ? 32 : t > 512 ? 512 : t);
}

typedef struct wplan {
    int nbx, nb, T, batches, shared;
} wplan;

static wplan plan(const node *n, int out_h, int out_w)
{
    wplan p;
    p.nbx = (out_w + 3) / 4;
    p.nb = ((out_h + 3) / 4) * p.nbx;
    /* equal batches of at most batch_blocks(n) */
    int tmax = batch_blocks(n);
    p.batches = (p.nb + tmax - 1) / tmax;
    p.T = (p.nb + p.batches - 1) / p.batches;
    p.shared = p.batches < 4;
    return p;
}

/* Columns of a batch's transformed input: T, or whole panels of 16. */
static int tpad(const node *n, int T)
{
    return n->wino_packed ? (T + GEMM_NR - 1) / GEMM_NR * GEMM_NR : T;
}

size_t winograd_ws(const node *n, int out_h, int out_w, int threads)
{
    wplan p = plan(n, out_h, out_w);
    size_t one = 36 * (size_t)tpad(n, p.T) * n->cin +
                 36 * (size_t)p.T * n->cout;
    return one * (p.shared ? 1 : threads);
}

/* Block (by, bx)'s 4x4 outputs y[(4r + q) * ys] (bias added) into one
** channel's plane of out's window, clipped to it, with the activation. */
static void put_block(const node *n, const view *out, float *plane, int by,
                      int bx, const float *y, int ys)
{
    int oy = 4 * by, ox = 4 * bx;
    int rows = out->h - oy < 4 ? out->h - oy : 4;
    int cols = out->w - ox < 4 ? out->w - ox : 4;
    for (int r = 0; r < rows; r++) {
        float *dst = plane + (int64_t)(oy + r) * out->rs + ox;
        for (int q = 0; q < cols; q++)
            dst[q] = y[(4 * r + q) * ys];
        if (n->act.kind != ACT_NONE)
            act_apply(&n->act, dst, cols);
    }
}

/* The transforms work on 16 blocks at a time, as loops over the 16 that
** the compiler turns into vector code (an AVX2 clone where the CPU has it),
** and write whole rows of 16 blocks. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define TF16 __attribute__((target_clones("avx2", "default")))
#else
#define TF16
#endif

/* Transform the patches of blocks [b0, b0+T) for channels [c0, c1) into v:
** per position, C x p->T row-major, or (packed) C x T in panels of 16
** blocks (blocks past T zero to the panel's end). Pixels outside the
** stored window are zero: they are padding, or feed only outputs beyond
** the window. */
TF16 static void input_tf(const node *n, const view *in, const view *out,
                          const wplan *p, int b0, int T, int c0, int c1,
                          float *v)
{
    const int C = n->cin;
    const int64_t xs = (int64_t)C * tpad(n, p->T);
    const int ylo = in->y0, yhi = in->y0 + in->h, xlo = in->x0,
              xhi = in->x0 + in->w;
    for (int c = c0; c < c1; c++) {
        const float *plane = in->p + (int64_t)c * in->ps;
        for (int t0 = 0; t0 < T; t0 += GEMM_NR) {
            const int nb = T - t0 < GEMM_NR ? T - t0 : GEMM_NR;
            float d[36][GEMM_NR], e[36][GEMM_NR], o[36][GEMM_NR];
            for (int i = 0; i < GEMM_NR; i++) {
                if (i >= nb) {
                    for (int x = 0; x < 36; x++)
                        d[x][i] = 0.0f;
                    continue;
                }
                int b = b0 + t0 + i, by = b / p->nbx, bx = b % p->nbx;
                int iy0 = out->y0 + 4 * by - n->pt,
                    ix0 = out->x0 + 4 * bx - n->pl;
                const float *base = plane + (int64_t)(iy0 - ylo) * in->rs - xlo;
                if (iy0 >= ylo && iy0 + 6 <= yhi && ix0 >= xlo &&
                    ix0 + 6 <= xhi) {
                    for (int r = 0; r < 6; r++)
                        for (int q = 0; q < 6; q++)
                            d[6 * r + q][i] = base[r * in->rs + ix0 + q];
                } else {
                    for (int r = 0; r < 6; r++) {
                        int iy = iy0 + r, inside = iy >= ylo && iy < yhi;
                        for (int q = 0; q < 6; q++) {
                            int ix = ix0 + q;
                            d[6 * r + q][i] = inside && ix >= xlo && ix < xhi
                                                  ? base[r * in->rs + ix]
                                                  : 0.0f;
                        }
                    }
                }
            }
            for (int q = 0; q < 6; q++)  /* columns: e = B^T d */
                for (int i = 0; i < GEMM_NR; i++) {
                    float d0 = d[q][i], d1 = d[6 + q][i], d2 = d[12 + q][i],
                          d3 = d[18 + q][i], d4 = d[24 + q][i],
                          d5 = d[30 + q][i];
                    e[q][i] = 4 * d0 - 5 * d2 + d4;
                    e[6 + q][i] = -4 * d1 - 4 * d2 + d3 + d4;
                    e[12 + q][i] = 4 * d1 - 4 * d2 - d3 + d4;
                    e[18 + q][i] = -2 * d1 - d2 + 2 * d3 + d4;
                    e[24 + q][i] = 2 * d1 - d2 - 2 * d3 + d4;
                    e[30 + q][i] = 4 * d1 - 5 * d3 + d5;
                }
            for (int r = 0; r < 6; r++)  /* rows: (B^T d) B */
                for (int i = 0; i < GEMM_NR; i++) {
                    const int k = 6 * r;
                    float d0 = e[k][i], d1 = e[k + 1][i], d2 = e[k + 2][i],
                          d3 = e[k + 3][i], d4 = e[k + 4][i],
                          d5 = e[k + 5][i];
                    o[k][i] = 4 * d0 - 5 * d2 + d4;
                    o[k + 1][i] = -4 * d1 - 4 * d2 + d3 + d4;
                    o[k + 2][i] = 4 * d1 - 4 * d2 - d3 + d4;
                    o[k + 3][i] = -2 * d1 - d2 + 2 * d3 + d4;
                    o[k + 4][i] = 2 * d1 - d2 - 2 * d3 + d4;
                    o[k + 5][i] = 4 * d1 - 5 * d3 + d5;
                }
            float *dst = n->wino_packed
                ? v + (int64_t)(t0 / GEMM_NR) * C * GEMM_NR +
                      (int64_t)c * GEMM_NR
                : v + (int64_t)c * p->T + t0;
            const int w = n->wino_packed ? GEMM_NR : nb;
            for (int x = 0; x < 36; x++)
                for (int i = 0; i < w; i++)
                    dst[x * xs + i] = o[x][i];
        }
    }
}

/* Transform mm (36 x cout x p->T; blocks [b0, b0+T)) back for channels
** [m0, m1) into out's window, with bias and activation. */
TF16 static void output_tf(const node *n, const view *out, const wplan *p,
                           int b0, int T, int m0, int m1, const float *mm)
{
    const int M = n->cout;
    for (int co = m0; co < m1; co++) {
        float *plane = out->p + (int64_t)co * out->ps;
        const float bias = n->bias ? n->bias[co] : 0.0f;
        for (int t0 = 0; t0 < T; t0 += GEMM_NR) {
            const int nb = T - t0 < GEMM_NR ? T - t0 : GEMM_NR;
            float m[36][GEMM_NR], e[24][GEMM_NR], y[16][GEMM_NR];
            for (int x = 0; x < 36; x++) {
                const float *src = mm + ((int64_t)x * M + co) * p->T + t0;
                for (int i = 0; i < GEMM_NR; i++)
                    m[x][i] = i < nb ? src[i] : 0.0f;
            }
            for (int q = 0; q < 6; q++)  /* columns: e = A^T m (4x6) */
                for (int i = 0; i < GEMM_NR; i++) {
                    float a0 = m[q][i], a1 = m[6 + q][i], a2 = m[12 + q][i],
                          a3 = m[18 + q][i], a4 = m[24 + q][i],
                          a5 = m[30 + q][i];
                    e[q][i] = a0 + a1 + a2 + a3 + a4;
                    e[6 + q][i] = a1 - a2 + 2 * a3 - 2 * a4;
                    e[12 + q][i] = a1 + a2 + 4 * a3 + 4 * a4;
                    e[18 + q][i] = a1 - a2 + 8 * a3 - 8 * a4 + a5;
                }
            for (int r = 0; r < 4; r++)  /* rows: (A^T m) A (4x4) */
                for (int i = 0; i < GEMM_NR; i++) {
                    const int k = 6 * r;
                    float a0 = e[k][i], a1 = e[k + 1][i], a2 = e[k + 2][i],
                          a3 = e[k + 3][i], a4 = e[k + 4][i],
                          a5 = e[k + 5][i];
                    y[4 * r][i] = a0 + a1 + a2 + a3 + a4 + bias;
                    y[4 * r + 1][i] = a1 - a2 + 2 * a3 - 2 * a4 + bias;
                    y[4 * r + 2][i] = a1 + a2 + 4 * a3 + 4 * a4 + bias;
                    y[4 * r + 3][i] = a1 - a2 + 8 * a3 - 8 * a4 + a5 + bias;
                }
            for (int i = 0; i < nb; i++) {
                int b = b0 + t0 + i;
                put_block(n, out, plane, b / p->nbx, b % p->nbx, &y[0][i],
                          GEMM_NR);
            }
        }
    }
}

/* The products of position x for a batch: mm (M x p->T) = U_x V_x; the
** packed path computes only the T columns in use. */
static void gemm(const node *n, int x, int pT, int T, const float *v,
                 float *mm)
{
    const int M = n->cout, C = n->cin;
    if (n->wino_packed) {
        const int64_t per = gemm_packed_floats(M, C);
        gemm_panels(n->wino + x * per, gemm_packed_rows(M), 0, M, T, C,
                    v + (int64_t)x * C * tpad(n, pT),
                    mm + (int64_t)x * M * pT, pT);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, pT, C, 1.0f,
                n->wino + (int64_t)x * M * C, C, v + (int64_t)x * C * pT, pT,
                0.0f, mm + (int64_t)x * M * pT, pT);
}

/* Zero the columns [T, p->T) of a short batch's transformed input (row-major
** layout; the packed layout gets its zeros from input_tf) for channels
** [c0, c1). */
static void zero_tail(const node *n, const wplan *p, int T, int c0, int c1,
                      float *v)
{
    const int C = n->cin;
    for (int x = 0; x < 36; x++)
        for (int c = c0; c < c1; c++)
            for (int t = T; t < p->T; t++)
                v[((int64_t)x * C + c) * p->T + t] = 0.0f;
}

void winograd_forward(const node *n, const view *in, const view *out,
                      float *ws, int threads)
{
    const wplan p = plan(n, out->h, out->w);
    const size_t vin = 36 * (size_t)tpad(n, p.T) * n->cin;
    const size_t one = vin + 36 * (size_t)p.T * n->cout;
    if (!p.shared) {
        #pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
        for (int bi = 0; bi < p.batches; bi++) {
            int b0 = bi * p.T, T = p.nb - b0 < p.T ? p.nb - b0 : p.T;
            float *v = ws + (size_t)omp_get_thread_num() * one, *mm = v + vin;
            /* a short last batch keeps the full batch's strides (T) */
            input_tf(n, in, out, &p, b0, T, 0, n->cin, v);
            if (T < p.T && !n->wino_packed)
                zero_tail(n, &p, T, 0, n->cin, v);
            for (int x = 0; x < 36; x++)
                gemm(n, x, p.T, T, v, mm);
            output_tf(n, out, &p, b0, T, 0, n->cout, mm);
        }
        return;
    }
    float *v = ws, *mm = ws + vin;
    #pragma omp parallel num_threads(threads)
    for (int bi = 0; bi < p.batches; bi++) {
        int b0 = bi * p.T, T = p.nb - b0 < p.T ? p.nb - b0 : p.T;
        #pragma omp for schedule(static)
        for (int c = 0; c < n->cin; c++) {
            input_tf(n, in, out, &p, b0, T, c, c + 1, v);
            if (T < p.T && !n->wino_packed)
                zero_tail(n, &p, T, c, c + 1, v);
        }
        #pragma omp for schedule(dynamic, 1)
        for (int x = 0; x < 36; x++)
            gemm(n, x, p.T, T, v, mm);
        #pragma omp for schedule(static)
        for (int co = 0; co < n->cout; co++)
            output_tf(n, out, &p, b0, T, co, co + 1, mm);
    }
}
