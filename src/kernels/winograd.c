/*
** winograd.c: F(4x4, 3x3).
**
** The output window is cut into 4x4 blocks; each block needs a 6x6 input
** patch d. Y = A^T [ (G g G^T) (.) (B^T d B) ] A, where (.) is elementwise.
** For a batch of T blocks: transform every input patch (36 values per block
** and channel), multiply, for each of the 36 positions, the cout x cin
** transformed weights by the cin x T transformed patches (36 GEMMs), and
** transform back. 4x fewer multiplications than direct 3x3 convolution;
** the transforms cost a few adds per value. The weights are transformed
** once, at load, in double precision.
**
** The blocks lie on the grid of the whole output map (block (i, j): rows
** 4i .. 4i+3, columns 4j .. 4j+3), whatever the window: a window computes
** every block it meets, from the block's whole 6x6 patch (pixels outside
** the map are zero, as in the padding), and keeps the outputs inside the
** window. An output's value depends on its place in its block and on the
** whole patch, so this is what makes a window's outputs the bits the same
** outputs get in any other window (the plan gives every window the patches
** of its blocks: plan_window.c).
*/
#include <string.h>

#include "kernels/blas.h"
#include "kernels/gemm.h"
#include "kernels/winograd.h"
#include "util/mem.h"

/* bytes of transformed data per batch: 2 MiB measured faster than 8 (VGG-16
** 224: 245 -> 215 ms on 1 thread, 147 -> 133 ms on 2; 1024: 5.7 -> 5.3 s
** and 3.5 -> 2.9 s): a batch's data stays nearer the core */
#define WS_TARGET (2u << 20)

int wino_applies(const kconv *k)
{
    const win2d *w = &k->win;
    return w->kh == 3 && w->kw == 3 && w->sh == 1 && w->sw == 1 &&
           w->dh == 1 && w->dw == 1 && k->groups == 1;
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

float *wino_transform(const kconv *k, int pack, int *packed)
{
    const int M = k->cout, C = k->cin;
    float *u = mem_aligned(sizeof(float) * 36 * (size_t)M * C);
    *packed = 0;
    if (!u)
        return NULL;
    for (int m = 0; m < M; m++)
        for (int c = 0; c < C; c++) {
            const float *kk = k->weight + ((int64_t)m * C + c) * 9;
            double g[9], t[18], v[36];
            for (int i = 0; i < 9; i++)
                g[i] = kk[i];
            for (int col = 0; col < 3; col++)  /* t = G g (6x3) */
                wt_1d(g + col, 3, t + col, 3);
            for (int row = 0; row < 6; row++)  /* v = t G^T (6x6) */
                wt_1d(t + 3 * row, 1, v + 6 * row, 1);
            for (int x = 0; x < 36; x++)
                u[((int64_t)x * M + m) * C + c] = (float)v[x];
        }
    if (!pack || !gemm_available())
        return u;
    /* each position's M x C matrix packed for gemm_panels */
    const int64_t per = gemm_packed_floats(M, C);
    float *p = mem_aligned(sizeof(float) * 36 * (size_t)per);
    if (p)
        for (int x = 0; x < 36; x++)
            gemm_pack(M, C, u + (int64_t)x * M * C, p + x * per, 0);
    mem_free(u);
    *packed = p != NULL;
    return p;
}

/* Blocks per batch: transformed input and output of a batch fill about
** WS_TARGET bytes, 32 to 512 blocks. Depends on the shape only. */
static int batch_blocks(const kconv *k)
{
    int64_t t = WS_TARGET / (36 * 4 * (int64_t)(k->cin + k->cout));
    t = t / 16 * 16;
    return (int)(t < 32 ? 32 : t > 512 ? 512 : t);
}

void wino_plan_make(const kconv *k, int out_h, int out_w, wino_plan *p)
{
    /* room for batch_blocks(k) blocks, or for all the blocks a window of
    ** this size meets (at any place on the grid) if fewer */
    const int64_t nb = (int64_t)((out_h + 6) / 4) * ((out_w + 6) / 4);
    const int64_t tmax = batch_blocks(k);
    p->T = (int)(nb < tmax ? nb : tmax);
    p->shared = (nb + tmax - 1) / tmax < 4;
}

/* The blocks window `out` meets, on the map's grid. */
typedef struct wino_grid {
    int gy, gx;     /* the first block's first output row and column */
    int nbx, nb;    /* blocks per row, in all */
    int batches;    /* equal batches of tb <= p->T blocks (the last may be
                       short) */
    int tb;
} wino_grid;

static wino_grid grid_of(const view *out, const wino_plan *p)
{
    wino_grid g;
    g.gy = out->y0 / 4 * 4;
    g.gx = out->x0 / 4 * 4;
    g.nbx = (out->x0 + out->w + 3) / 4 - out->x0 / 4;
    g.nb = ((out->y0 + out->h + 3) / 4 - out->y0 / 4) * g.nbx;
    g.batches = (g.nb + p->T - 1) / p->T;
    g.tb = (g.nb + g.batches - 1) / g.batches;
    return g;
}

/* Columns of a batch's transformed input: T, or whole panels of 16. */
static int tpad(const kconv *k, int T)
{
    return k->wino_packed ? (T + GEMM_NR - 1) / GEMM_NR * GEMM_NR : T;
}

size_t wino_ws(const kconv *k, const wino_plan *p, int threads)
{
    size_t one = 36 * (size_t)tpad(k, p->T) * k->cin +
                 36 * (size_t)p->T * k->cout;
    return one * (p->shared ? 1 : threads);
}

/* Block b's 4x4 outputs y[(4r + q) * ys] (bias added) into one channel's
** plane of out's window, clipped to it, with the activation. */
static void put_block(const kconv *k, const view *out, const wino_grid *g,
                      float *plane, int b, const float *y, int ys)
{
    /* the block's place in the window (it may begin above or left of it) */
    const int oy = g->gy + 4 * (b / g->nbx) - out->y0,
              ox = g->gx + 4 * (b % g->nbx) - out->x0;
    const int r0 = oy < 0 ? -oy : 0, q0 = ox < 0 ? -ox : 0;
    const int rows = out->h - oy < 4 ? out->h - oy : 4;
    const int cols = out->w - ox < 4 ? out->w - ox : 4;
    for (int r = r0; r < rows; r++) {
        float *dst = plane + (int64_t)(oy + r) * out->rs + ox;
        for (int q = q0; q < cols; q++)
            dst[q] = y[(4 * r + q) * ys];
        if (k->act.kind != ACT_NONE && cols > q0)
            act_apply(&k->act, dst + q0, cols - q0);
    }
}

/* The transforms work on 16 blocks at a time (winograd_tf.h, built for
** each ISA variant of gemm.h and here for CPUs with none); the loops that
** load and store them are vector code too (AVX-512 and AVX2 clones,
** chosen from the CPU: they only move values) and write whole rows of 16
** blocks. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define TF16 __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TF16
#endif

#define WTF_NAME(x) x##_generic
#include "kernels/winograd_tf.h"

static wtf_input_fn *tf_input(void)
{
    const gemm_isa *isa = gemm_isa_get();
    return isa ? isa->wino_input : wtf_input_generic;
}

static wtf_output_fn *tf_output(void)
{
    const gemm_isa *isa = gemm_isa_get();
    return isa ? isa->wino_output : wtf_output_generic;
}

/* The 6x6 input patches of 16 blocks [b, b+nb) of channel plane, into d
** (zeros for blocks past nb). Pixels outside the stored window are zero:
** the window holds every pixel of the map its blocks' patches meet, so
** they are outside the map. */
TF16 static void load_patches(const kconv *k, const view *in,
                              const wino_grid *g, const float *plane, int b0,
                              int nb, float d[36][GEMM_NR])
{
    const int ylo = in->y0, yhi = in->y0 + in->h, xlo = in->x0,
              xhi = in->x0 + in->w;
    for (int i = 0; i < GEMM_NR; i++) {
        if (i >= nb) {
            for (int x = 0; x < 36; x++)
                d[x][i] = 0.0f;
            continue;
        }
        int b = b0 + i, by = b / g->nbx, bx = b % g->nbx;
        int iy0 = g->gy + 4 * by - k->win.pt, ix0 = g->gx + 4 * bx - k->win.pl;
        const float *base = plane + (int64_t)(iy0 - ylo) * in->rs - xlo;
        if (iy0 >= ylo && iy0 + 6 <= yhi && ix0 >= xlo && ix0 + 6 <= xhi) {
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
}

/* Transform the patches of blocks [b0, b0+T) for channels [c0, c1) into v:
** per position, C x p->T row-major, or (packed) C x T in panels of 16
** blocks (blocks past T zero to the panel's end). */
TF16 static void input_tf(const kconv *k, const view *in, const wino_grid *g,
                          const wino_plan *p, int b0, int T, int c0, int c1,
                          float *v)
{
    const int C = k->cin;
    const int64_t xs = (int64_t)C * tpad(k, p->T);
    wtf_input_fn *tf = tf_input();
    for (int c = c0; c < c1; c++) {
        const float *plane = in->p + (int64_t)c * in->ps;
        for (int t0 = 0; t0 < T; t0 += GEMM_NR) {
            const int nb = T - t0 < GEMM_NR ? T - t0 : GEMM_NR;
            float d[36][GEMM_NR], o[36][GEMM_NR];
            load_patches(k, in, g, plane, b0 + t0, nb, d);
            tf(d, o);
            float *dst = k->wino_packed
                ? v + (int64_t)(t0 / GEMM_NR) * C * GEMM_NR +
                      (int64_t)c * GEMM_NR
                : v + (int64_t)c * p->T + t0;
            const int w = k->wino_packed ? GEMM_NR : nb;
            for (int x = 0; x < 36; x++)
                for (int i = 0; i < w; i++)
                    dst[x * xs + i] = o[x][i];
        }
    }
}

/* Transform mm (36 x cout x p->T; blocks [b0, b0+T)) back for channels
** [m0, m1) into out's window, with bias and activation. */
TF16 static void output_tf(const kconv *k, const view *out,
                           const wino_grid *g, const wino_plan *p, int b0,
                           int T, int m0, int m1, const float *mm)
{
    const int M = k->cout;
    wtf_output_fn *tf = tf_output();
    for (int co = m0; co < m1; co++) {
        float *plane = out->p + (int64_t)co * out->ps;
        const float bias = k->bias ? k->bias[co] : 0.0f;
        for (int t0 = 0; t0 < T; t0 += GEMM_NR) {
            const int nb = T - t0 < GEMM_NR ? T - t0 : GEMM_NR;
            float m[36][GEMM_NR], y[16][GEMM_NR];
            for (int x = 0; x < 36; x++) {
                const float *src = mm + ((int64_t)x * M + co) * p->T + t0;
                for (int i = 0; i < GEMM_NR; i++)
                    m[x][i] = i < nb ? src[i] : 0.0f;
            }
            tf(m, bias, y);
            for (int i = 0; i < nb; i++)
                put_block(k, out, g, plane, b0 + t0 + i, &y[0][i], GEMM_NR);
        }
    }
}

/* The products of position x for a batch: mm (M x p->T) = U_x V_x; the
** packed path computes only the T columns in use. */
static void position_gemm(const kconv *k, int x, int pT, int T,
                          const float *v, float *mm)
{
    const int M = k->cout, C = k->cin;
    if (k->wino_packed) {
        const int64_t per = gemm_packed_floats(M, C);
        gemm_panels(k->wino + x * per, gemm_packed_rows(M), 0, M, T, C,
                    v + (int64_t)x * C * tpad(k, pT),
                    mm + (int64_t)x * M * pT, pT);
        return;
    }
    blas_sgemm(M, pT, C, k->wino + (int64_t)x * M * C, C,
               v + (int64_t)x * C * pT, pT, mm + (int64_t)x * M * pT, pT);
}

/* Zero the columns [T, p->T) of a short batch's transformed input (row-major
** layout; the packed layout gets its zeros from input_tf) for channels
** [c0, c1). */
static void zero_tail(const kconv *k, const wino_plan *p, int T, int c0,
                      int c1, float *v)
{
    const int C = k->cin;
    for (int x = 0; x < 36; x++)
        for (int c = c0; c < c1; c++)
            for (int t = T; t < p->T; t++)
                v[((int64_t)x * C + c) * p->T + t] = 0.0f;
}

/* Every thread on each batch in turn: the input transform split by
** channel, the 36 products handed out one by one, the output transform
** split by channel. */
static void shared_batches(const kconv *k, const wino_plan *p,
                           const wino_grid *g, const view *in,
                           const view *out, float *ws, size_t vin, par *pr)
{
    float *v = ws, *mm = ws + vin;
    for (int bi = 0; bi < g->batches; bi++) {
        int b0 = bi * g->tb, T = g->nb - b0 < g->tb ? g->nb - b0 : g->tb;
        int64_t c0, c1;
        par_range(pr, k->cin, &c0, &c1);
        for (int c = (int)c0; c < c1; c++) {
            input_tf(k, in, g, p, b0, T, c, c + 1, v);
            if (T < p->T && !k->wino_packed)
                zero_tail(k, p, T, c, c + 1, v);
        }
        par_barrier(pr);
        for (int x = par_first(pr, 36); x >= 0; x = par_next(pr, 36))
            position_gemm(k, x, p->T, T, v, mm);
        par_barrier(pr);
        par_range(pr, k->cout, &c0, &c1);
        for (int co = (int)c0; co < c1; co++)
            output_tf(k, out, g, p, b0, T, co, co + 1, mm);
        par_barrier(pr);
    }
}

void wino_forward(const kconv *k, const wino_plan *p, const view *in,
                  const view *out, float *ws, par *pr)
{
    const size_t vin = 36 * (size_t)tpad(k, p->T) * k->cin;
    const size_t one = vin + 36 * (size_t)p->T * k->cout;
    const wino_grid g = grid_of(out, p);
    if (p->shared) {
        shared_batches(k, p, &g, in, out, ws, vin, pr);
        return;
    }
    float *v = ws + (size_t)pr->ith * one, *mm = v + vin;
    for (int bi = par_first(pr, g.batches); bi >= 0;
         bi = par_next(pr, g.batches)) {
        int b0 = bi * g.tb, T = g.nb - b0 < g.tb ? g.nb - b0 : g.tb;
        /* a short last batch keeps the full batch's strides (T) */
        input_tf(k, in, &g, p, b0, T, 0, k->cin, v);
        if (T < p->T && !k->wino_packed)
            zero_tail(k, p, T, 0, k->cin, v);
        for (int x = 0; x < 36; x++)
            position_gemm(k, x, p->T, T, v, mm);
        output_tf(k, out, &g, p, b0, T, 0, k->cout, mm);
    }
}
