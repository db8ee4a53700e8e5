/*
** ops.c: the kernels other than convolution. All take C x H x W float
** tensors and split channels over threads; none allocates.
*/
#include <math.h>
#include <string.h>

#include "internal.h"

void act_apply(const act_param *a, float *x, int64_t n)
{
    switch (a->kind) {
    case ACT_NONE:
        break;
    case ACT_RELU:
        for (int64_t i = 0; i < n; i++)
            x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case ACT_LEAKY:
        for (int64_t i = 0; i < n; i++)
            x[i] = x[i] >= 0.0f ? x[i] : x[i] * a->a;
        break;
    case ACT_CLIP:
        for (int64_t i = 0; i < n; i++)
            x[i] = x[i] < a->a ? a->a : x[i] > a->b ? a->b : x[i];
        break;
    case ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            x[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    case ACT_TANH:
        for (int64_t i = 0; i < n; i++)
            x[i] = tanhf(x[i]);
        break;
    case ACT_HSWISH:
        for (int64_t i = 0; i < n; i++) {
            float r = x[i] + 3.0f;
            r = r < 0.0f ? 0.0f : r > 6.0f ? 6.0f : r;
            x[i] = x[i] * r / 6.0f;
        }
        break;
    case ACT_HSIGMOID:
        for (int64_t i = 0; i < n; i++) {
            float r = a->a * x[i] + a->b;
            x[i] = r < 0.0f ? 0.0f : r > 1.0f ? 1.0f : r;
        }
        break;
    case ACT_MUL:
        for (int64_t i = 0; i < n; i++)
            x[i] *= a->a;
        break;
    }
}

/* Row r of channel c of in, at the columns of out's window. */
static inline const float *in_row(const view *in, const view *out, int c,
                                  int r)
{
    return in->p + (int64_t)c * in->ps +
           (int64_t)(out->y0 + r - in->y0) * in->rs + (out->x0 - in->x0);
}

static inline float *out_row(const view *out, int c, int r)
{
    return out->p + (int64_t)c * out->ps + (int64_t)r * out->rs;
}

void act_forward(const act_param *a, const view *in, const view *out,
                 int threads)
{
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int c = 0; c < out->c; c++)
        for (int r = 0; r < out->h; r++) {
            float *y = out_row(out, c, r);
            memcpy(y, in_row(in, out, c, r), sizeof(float) * out->w);
            act_apply(a, y, out->w);
        }
}

void bn_forward(const node *n, const view *in, const view *out, int threads)
{
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int c = 0; c < out->c; c++)
        for (int r = 0; r < out->h; r++) {
            const float *x = in_row(in, out, c, r);
            float *y = out_row(out, c, r);
            for (int i = 0; i < out->w; i++)
                y[i] = x[i] * n->bn_scale[c] + n->bn_shift[c];
        }
}

/* ONNX LRN: the sum runs over channels [c - (size-1)/2, c + size/2]. */
void lrn_forward(const node *n, const view *in, const view *out, int threads)
{
    const int C = out->c, lo = (n->lrn_size - 1) / 2, hi = n->lrn_size / 2;
    const float k = n->lrn_alpha / (float)n->lrn_size;
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int c = 0; c < C; c++) {
        int c0 = c - lo < 0 ? 0 : c - lo, c1 = c + hi >= C ? C - 1 : c + hi;
        for (int r = 0; r < out->h; r++) {
            float *y = out_row(out, c, r);
            const float *x = in_row(in, out, c, r);
            for (int i = 0; i < out->w; i++) {
                float sq = 0.0f;
                for (int j = c0; j <= c1; j++) {
                    float v = in_row(in, out, j, r)[i];
                    sq += v * v;
                }
                y[i] = x[i] * powf(n->lrn_bias + k * sq, -n->lrn_beta);
            }
        }
    }
}

void softmax_forward(const view *in, const view *out, int threads)
{
    const int C = out->c;
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int r = 0; r < out->h; r++)
        for (int i = 0; i < out->w; i++) {
            float mx = -INFINITY;
            for (int c = 0; c < C; c++) {
                float v = in_row(in, out, c, r)[i];
                mx = v > mx ? v : mx;
            }
            double sum = 0.0;
            for (int c = 0; c < C; c++) {
                float e = expf(in_row(in, out, c, r)[i] - mx);
                out_row(out, c, r)[i] = e;
                sum += e;
            }
            float inv = (float)(1.0 / sum);
            for (int c = 0; c < C; c++)
                out_row(out, c, r)[i] *= inv;
        }
}

void add_forward(const act_param *act, const view *in, int n_in,
                 const view *out, int threads)
{
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int c = 0; c < out->c; c++)
        for (int r = 0; r < out->h; r++) {
            float *y = out_row(out, c, r);
            memcpy(y, in_row(&in[0], out, c, r), sizeof(float) * out->w);
            for (int j = 1; j < n_in; j++) {
                const float *x = in_row(&in[j], out, c, r);
                for (int i = 0; i < out->w; i++)
                    y[i] += x[i];
            }
            if (act && act->kind != ACT_NONE)  /* fused, e.g. ResNet's ReLU */
                act_apply(act, y, out->w);
        }
}

void copy_window(const view *in, const view *out, int c0, int threads)
{
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int c = 0; c < in->c; c++)
        for (int r = 0; r < out->h; r++)
            memcpy(out_row(out, c0 + c, r), in_row(in, out, c, r),
                   sizeof(float) * out->w);
}

void pool_forward(const node *n, int max, const view *in, const view *out,
                  int threads)
{
    const int H = in->H, W = in->W;
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int c = 0; c < out->c; c++) {
        const float *x = in->p + (int64_t)c * in->ps;
        for (int oy = 0; oy < out->h; oy++) {
            int h0 = (out->y0 + oy) * n->sh - n->pt, h1 = h0 + n->kh;
            int hp = h1 < H + n->pb ? h1 : H + n->pb;  /* padded end */
            int ha = h0 < 0 ? 0 : h0, hb = h1 < H ? h1 : H;
            float *y = out_row(out, c, oy);
            /* max over whole windows inside the map: one pass per window
            ** element across the row (same comparisons, so the same
            ** result as the general loop below, NaN included) */
            int oxa = 0, oxb = 0;
            if (max && ha < hb) {
                const int sw = n->sw, kw = n->kw;
                while (oxa < out->w && (out->x0 + oxa) * sw - n->pl < 0)
                    oxa++;
                oxb = oxa;
                while (oxb < out->w && (out->x0 + oxb) * sw - n->pl + kw <= W)
                    oxb++;
                for (int ox = oxa; ox < oxb; ox++)
                    y[ox] = -INFINITY;
                for (int yy = ha; yy < hb; yy++) {
                    const float *row = x + (int64_t)(yy - in->y0) * in->rs -
                                       in->x0 + (int64_t)out->x0 * sw - n->pl;
                    for (int kx = 0; kx < kw; kx++)
                        for (int ox = oxa; ox < oxb; ox++) {
                            float v = row[ox * sw + kx];
                            y[ox] = v > y[ox] ? v : y[ox];
                        }
                }
            }
            for (int ox = 0; ox < out->w; ox++) {
                if (ox == oxa && oxb > oxa) {
                    ox = oxb - 1;
                    continue;
                }
                int w0 = (out->x0 + ox) * n->sw - n->pl, w1 = w0 + n->kw;
                int wp = w1 < W + n->pr ? w1 : W + n->pr;
                int wa = w0 < 0 ? 0 : w0, wb = w1 < W ? w1 : W;
                float r;
                if (max) {
                    r = -INFINITY;
                    for (int yy = ha; yy < hb; yy++) {
                        const float *row = x + (int64_t)(yy - in->y0) * in->rs - in->x0;
                        for (int xx = wa; xx < wb; xx++)
                            r = row[xx] > r ? row[xx] : r;
                    }
                } else {
                    float s = 0.0f;
                    for (int yy = ha; yy < hb; yy++) {
                        const float *row = x + (int64_t)(yy - in->y0) * in->rs - in->x0;
                        for (int xx = wa; xx < wb; xx++)
                            s += row[xx];
                    }
                    int cnt = n->count_include_pad ? (hp - h0) * (wp - w0)
                                                   : (hb - ha) * (wb - wa);
                    r = cnt > 0 ? s / (float)cnt : 0.0f;
                }
                y[ox] = r;
            }
        }
    }
}

void pad_forward(const node *n, const view *in, const view *out, int threads)
{
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int c = 0; c < out->c; c++)
        for (int r = 0; r < out->h; r++) {
            float *y = out_row(out, c, r);
            int iy = out->y0 + r - n->pt;
            for (int i = 0; i < out->w; i++) {
                int ix = out->x0 + i - n->pl;
                y[i] = iy >= 0 && iy < in->H && ix >= 0 && ix < in->W
                           ? in->p[(int64_t)c * in->ps +
                                   (int64_t)(iy - in->y0) * in->rs + ix - in->x0]
                           : n->pad_value;
            }
        }
}
