/*
** convgemm.c: convolution as im2col + GEMM over blocks of output columns.
**
** The output (Cout x N, N = out_h*out_w) is cut into blocks of `block`
** columns. For each block, im2col writes a K x block matrix into a
** workspace (never the whole image), the GEMM multiplies the Cout x K
** weights by it, and bias and activation are applied to the block while it
** is in cache. 1x1 stride-1 unpadded convs on the OpenBLAS path skip
** im2col: the input already is K x N.
**
** Two schedules, chosen from the shape alone (so results do not depend on
** the thread count):
**   blocks  many blocks: each thread takes whole blocks (im2col + GEMM).
**   shared  few blocks (small maps, e.g. a dense head): blocks run one
**           after another; threads split the im2col by channel, then the
**           GEMM into blocks of output channels.
*/
#include "kernels/blas.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"

#define BLOCK_BYTES (512 * 1024) /* im2col block budget: half of a 1 MiB L2 */
#define BLOCK_MIN 64
#define BLOCK_MAX 4096
#define PANEL_BLOCK 256  /* about this many output columns per block on the
                            packed path */
#define MBLOCK 48        /* output channels per GEMM block (shared); a
                            multiple of GEMM_MR */
#define SHARED_MAX_FLOATS (2 << 20) /* larger im2col blocks: shared */

static int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

void cg_plan_make(const kconv *k, int out_h, int out_w, int threads,
                  cg_plan *p)
{
    const win2d *w = &k->win;
    *p = (cg_plan){0};
    p->N = (int64_t)out_h * out_w;
    p->K = (int64_t)(k->cin / k->groups) * w->kh * w->kw;
    p->panels = k->packed != NULL || k->packed_bf16 != NULL;
    p->bf16 = k->packed_bf16 != NULL;
    p->direct = !p->panels && w->kh == 1 && w->kw == 1 && w->sh == 1 &&
                w->sw == 1 && !w->pt && !w->pl && !w->pb && !w->pr;
    int64_t t;
    if (p->panels) {
        /* gemm_panels streams the block's K rows in slices (L2), so the
        ** block is sized for reuse of the weights: equal blocks of about
        ** PANEL_BLOCK columns, in whole panels */
        int64_t n = (p->N + PANEL_BLOCK - 1) / PANEL_BLOCK;
        t = round_up((p->N + n - 1) / n, GEMM_NR);
    } else {
        t = BLOCK_BYTES / (p->K * (int64_t)sizeof(float));
        t = t / 16 * 16;
        if (t < BLOCK_MIN)
            t = BLOCK_MIN;
        if (t > BLOCK_MAX)
            t = BLOCK_MAX;
    }
    if (t > p->N)
        t = p->N;
    p->block = (int)t;
    p->n_blocks = (int)((p->N + t - 1) / t);
    /* shared also where a block's im2col is huge (huge K, e.g. a dense
    ** head on a large image): one workspace, not one per thread */
    p->shared = p->n_blocks < 4 ||
                (p->panels && p->K * round_up(p->block, GEMM_NR) >
                                  SHARED_MAX_FLOATS);
    p->ws_floats = (size_t)p->K * round_up(p->block, GEMM_NR) *
                   (p->shared ? 1 : threads);
    /* shared: on the packed path a block of rows walks the whole block of
    ** columns, so row blocks are as large as load balance allows (4 per
    ** thread); results do not depend on them */
    p->mblock = MBLOCK;
    if (p->panels) {
        const int M = k->cout / k->groups;
        p->mblock = (int)round_up((M + 4 * threads - 1) / (4 * threads),
                                  GEMM_MR);
        if (p->mblock < MBLOCK)
            p->mblock = MBLOCK;
    }
}

void cg_epilogue(const kconv *k, float *out, int64_t ldc, int m0, int mn,
                 int64_t n0, int nt)
{
    for (int m = m0; m < m0 + mn; m++) {
        float *o = out + (int64_t)m * ldc + n0;
        const float b = k->bias ? k->bias[m] : 0.0f;
        for (int j = 0; j < nt; j++)
            o[j] += b;
        if (k->act.kind != ACT_NONE)
            act_apply(&k->act, o, nt);
    }
}

/* What one convolution window's GEMMs share. */
typedef struct cg_run {
    const kconv *k;
    const cg_plan *p;
    const view *in;
    float *out;            /* the output window's first row */
    int M, cg, Mp;         /* per group: output channels, input channels,
                              packed rows */
    int64_t ldc, apg;      /* between output channels; packed floats per
                              group */
    int oy0, ox0, ow;      /* the output window */
    int direct;            /* the input rows are the K x N matrix */
    const float *in_rows;  /* the input rows of the window (direct) */
} cg_run;

/* Block t of the window, all groups, on one thread (the `blocks`
** schedule). */
static void one_block(const cg_run *r, int t, float *col)
{
    const kconv *k = r->k;
    const cg_plan *p = r->p;
    const int64_t K = p->K, n0 = (int64_t)t * p->block;
    const int nt = (int)(p->N - n0 < p->block ? p->N - n0 : p->block);
    for (int g = 0; g < k->groups; g++) {
        float *c = r->out + (int64_t)g * r->M * r->ldc + n0;
        if (p->bf16) {
            im2col_panels(r->in, g * r->cg, r->cg, &k->win, r->oy0, r->ox0,
                          r->ow, n0, nt, K * GEMM_NR, col);
            gemm_bf16_convert(col, (int)K, (nt + GEMM_NR - 1) / GEMM_NR);
            gemm_bf16_panels(k->packed_bf16 + g * r->apg, r->Mp, 0, r->M, nt,
                             (int)K, (const uint16_t *)col, c, r->ldc);
            continue;
        }
        if (p->panels) {
            im2col_panels(r->in, g * r->cg, r->cg, &k->win, r->oy0, r->ox0,
                          r->ow, n0, nt, K * GEMM_NR, col);
            gemm_panels(k->packed + g * r->apg, r->Mp, 0, r->M, nt, (int)K,
                        col, c, r->ldc);
            continue;
        }
        const float *b = col;
        int ldb = nt;
        if (r->direct) {
            b = r->in_rows + (int64_t)g * r->cg * r->in->ps + n0;
            ldb = (int)r->in->ps;
        } else {
            im2col_rows(r->in, g * r->cg, r->cg, &k->win, r->oy0, r->ox0,
                        r->ow, n0, nt, col);
        }
        blas_sgemm(r->M, nt, (int)K, k->weight + (int64_t)g * r->M * K,
                   (int)K, b, ldb, c, (int)r->ldc);
    }
    cg_epilogue(k, r->out, r->ldc, 0, k->cout, n0, nt);
}

/* Rows [m0, m0+mn) of group g's GEMM for block columns [n0, n0+nt), B
** at b (panels, or ldb-strided rows). */
static void gemm_rows(const cg_run *r, int g, int m0, int mn, int64_t n0,
                      int nt, const float *b, int ldb)
{
    const kconv *k = r->k;
    const int K = (int)r->p->K;
    float *c = r->out + ((int64_t)g * r->M + m0) * r->ldc + n0;
    /* one output pixel (a dense head at its trained size): GEMV streams
    ** the weights once, where GEMM first copies them into its panels
    ** (2.2-4.4x slower on VGG's fc6) */
    if (r->p->bf16 && nt == 1)
        gemv_bf16_panels(k->packed_bf16 + g * r->apg, r->Mp, m0, mn, K, b,
                         GEMM_NR, c, r->ldc);
    else if (r->p->bf16)
        gemm_bf16_panels(k->packed_bf16 + g * r->apg, r->Mp, m0, mn, nt, K,
                         (const uint16_t *)b, c, r->ldc);
    else if (r->p->panels && nt == 1)
        gemv_panels(k->packed + g * r->apg, r->Mp, m0, mn, K, b, GEMM_NR, c,
                    r->ldc);
    else if (r->p->panels)
        gemm_panels(k->packed + g * r->apg, r->Mp, m0, mn, nt, K, b, c,
                    r->ldc);
    else if (nt == 1)
        blas_sgemv(mn, K, k->weight + ((int64_t)g * r->M + m0) * K, K, b,
                   ldb, c, (int)r->ldc);
    else
        blas_sgemm(mn, nt, K, k->weight + ((int64_t)g * r->M + m0) * K, K,
                   b, ldb, c, (int)r->ldc);
    cg_epilogue(k, r->out, r->ldc, g * r->M + m0, mn, n0, nt);
}

/* The `shared` schedule: one block at a time, all threads on it. */
static void shared_blocks(const cg_run *r, float *ws, par *pr)
{
    const kconv *k = r->k;
    const cg_plan *p = r->p;
    const int64_t K = p->K, per_c = (int64_t)k->win.kh * k->win.kw;
    const int mblk = p->mblock, mblocks = (r->M + mblk - 1) / mblk;
    for (int t = 0; t < p->n_blocks; t++) {
        const int64_t n0 = (int64_t)t * p->block;
        const int nt = (int)(p->N - n0 < p->block ? p->N - n0 : p->block);
        for (int g = 0; g < k->groups; g++) {
            const float *b = r->in_rows + (int64_t)g * r->cg * r->in->ps + n0;
            int ldb = (int)r->in->ps;
            if (p->panels || !r->direct) {
                int64_t c0, c1;
                par_range(pr, r->cg, &c0, &c1);
                for (int64_t c = c0; c < c1; c++) {
                    if (p->panels)
                        im2col_panels(r->in, g * r->cg + (int)c, 1, &k->win,
                                      r->oy0, r->ox0, r->ow, n0, nt,
                                      K * GEMM_NR, ws + c * per_c * GEMM_NR);
                    else
                        im2col_rows(r->in, g * r->cg + (int)c, 1, &k->win,
                                    r->oy0, r->ox0, r->ow, n0, nt,
                                    ws + c * per_c * nt);
                }
                b = ws;
                ldb = nt;
                par_barrier(pr);
                if (p->bf16 && nt > 1) { /* the GEMV rounds x itself */
                    int64_t j0, j1;
                    par_range(pr, (nt + GEMM_NR - 1) / GEMM_NR, &j0, &j1);
                    gemm_bf16_convert(ws + j0 * K * GEMM_NR, (int)K,
                                      (int)(j1 - j0));
                    par_barrier(pr);
                }
            }
            for (int mb = par_first(pr, mblocks); mb >= 0;
                 mb = par_next(pr, mblocks)) {
                int m0 = mb * mblk, mn = r->M - m0 < mblk ? r->M - m0 : mblk;
                gemm_rows(r, g, m0, mn, n0, nt, b, ldb);
            }
            par_barrier(pr);
        }
    }
}

void cg_forward(const kconv *k, const cg_plan *p, const view *in,
                const view *outv, float *ws, par *pr)
{
    const int G = k->groups, M = k->cout / G;
    cg_run r = {k, p, in, outv->p, M, k->cin / G, gemm_packed_rows(M),
                outv->ps, 0, outv->y0, outv->x0, outv->w, 0, NULL};
    r.apg = p->bf16 ? gemm_bf16_packed_elems(M, (int)p->K)
                    : (int64_t)r.Mp * p->K;
    r.direct = p->direct && in->x0 == r.ox0 && in->w == r.ow &&
               in->rs == r.ow && in->y0 <= r.oy0 &&
               in->y0 + in->h >= r.oy0 + outv->h;
    r.in_rows = in->p + (int64_t)(r.oy0 - in->y0) * in->rs;
    if (p->shared) {
        shared_blocks(&r, ws, pr);
        return;
    }
    float *col = ws + (size_t)pr->ith * p->K * p->block;
    for (int t = par_first(pr, p->n_blocks); t >= 0;
         t = par_next(pr, p->n_blocks))
        one_block(&r, t, col);
}
