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

void pool_forward(const node *n, int max, shape is, shape os, const float *in,
                  float *out, int threads)
{
    const int H = is.h, W = is.w;
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int c = 0; c < os.c; c++) {
        const float *x = in + (int64_t)c * H * W;
        float *y = out + (int64_t)c * os.h * os.w;
        for (int oy = 0; oy < os.h; oy++) {
            int h0 = oy * n->sh - n->pt, h1 = h0 + n->kh;
            int hp = h1 < H + n->pb ? h1 : H + n->pb;  /* padded end */
            int ha = h0 < 0 ? 0 : h0, hb = h1 < H ? h1 : H;
            for (int ox = 0; ox < os.w; ox++) {
                int w0 = ox * n->sw - n->pl, w1 = w0 + n->kw;
                int wp = w1 < W + n->pr ? w1 : W + n->pr;
                int wa = w0 < 0 ? 0 : w0, wb = w1 < W ? w1 : W;
                float r;
                if (max) {
                    r = -INFINITY;
                    for (int yy = ha; yy < hb; yy++)
                        for (int xx = wa; xx < wb; xx++)
                            r = x[(int64_t)yy * W + xx] > r
                                    ? x[(int64_t)yy * W + xx] : r;
                } else {
                    float s = 0.0f;
                    for (int yy = ha; yy < hb; yy++)
                        for (int xx = wa; xx < wb; xx++)
                            s += x[(int64_t)yy * W + xx];
                    int cnt = n->count_include_pad ? (hp - h0) * (wp - w0)
                                                   : (hb - ha) * (wb - wa);
                    r = cnt > 0 ? s / (float)cnt : 0.0f;
                }
                y[(int64_t)oy * os.w + ox] = r;
            }
        }
    }
}

void bn_forward(const node *n, shape s, const float *in, float *out,
                int threads)
{
    const int64_t hw = (int64_t)s.h * s.w;
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int c = 0; c < s.c; c++)
        for (int64_t i = 0; i < hw; i++)
            out[c * hw + i] = in[c * hw + i] * n->bn_scale[c] + n->bn_shift[c];
}

/* ONNX LRN: the sum runs over channels [c - (size-1)/2, c + size/2]. */
void lrn_forward(const node *n, shape s, const float *in, float *out,
                 int threads)
{
    const int64_t hw = (int64_t)s.h * s.w;
    const int lo = (n->lrn_size - 1) / 2, hi = n->lrn_size / 2;
    const float k = n->lrn_alpha / (float)n->lrn_size;
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int c = 0; c < s.c; c++) {
        int c0 = c - lo < 0 ? 0 : c - lo, c1 = c + hi >= s.c ? s.c - 1 : c + hi;
        for (int64_t i = 0; i < hw; i++) {
            float sq = 0.0f;
            for (int j = c0; j <= c1; j++) {
                float v = in[j * hw + i];
                sq += v * v;
            }
            out[c * hw + i] = in[c * hw + i] *
                              powf(n->lrn_bias + k * sq, -n->lrn_beta);
        }
    }
}

void pad_forward(const node *n, shape is, shape os, const float *in,
                 float *out, int threads)
{
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int c = 0; c < os.c; c++) {
        float *y = out + (int64_t)c * os.h * os.w;
        for (int64_t i = 0; i < (int64_t)os.h * os.w; i++)
            y[i] = n->pad_value;
        for (int r = 0; r < is.h; r++)
            memcpy(y + (int64_t)(r + n->pt) * os.w + n->pl,
                   in + ((int64_t)c * is.h + r) * is.w,
                   sizeof(float) * is.w);
    }
}

void softmax_forward(shape s, const float *in, float *out, int threads)
{
    const int64_t hw = (int64_t)s.h * s.w;
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < hw; i++) {
        float mx = -INFINITY;
        for (int c = 0; c < s.c; c++)
            mx = in[c * hw + i] > mx ? in[c * hw + i] : mx;
        double sum = 0.0;
        for (int c = 0; c < s.c; c++) {
            float e = expf(in[c * hw + i] - mx);
            out[c * hw + i] = e;
            sum += e;
        }
        float inv = (float)(1.0 / sum);
        for (int c = 0; c < s.c; c++)
            out[c * hw + i] *= inv;
    }
}

void add_forward(const float *const *in, int n_in, int64_t count, float *out,
                 int threads)
{
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < count; i++) {
        float s = in[0][i];
        for (int j = 1; j < n_in; j++)
            s += in[j][i];
        out[i] = s;
    }
}
