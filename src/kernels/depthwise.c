/*
** depthwise.c: the direct loop for depthwise convolutions (one input
** channel per output channel), split by channel.
*/
#include "kernels/conv.h"

int dw_applies(const kconv *k)
{
    return k->groups > 1 && k->groups == k->cin && k->cout == k->cin;
}

void dw_forward(const kconv *k, const view *in, const view *out, par *pr)
{
    const win2d *w = &k->win;
    const int OH = out->h, OW = out->w;
    int64_t c0, c1;
    par_range(pr, k->cout, &c0, &c1);
    for (int c = (int)c0; c < c1; c++) {
        const float *x = in->p + (int64_t)c * in->ps;
        const float *kk = k->weight + (int64_t)c * w->kh * w->kw;
        float *y = out->p + (int64_t)c * out->ps;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float s = 0.0f;
                for (int ky = 0; ky < w->kh; ky++) {
                    int iy = (out->y0 + oy) * w->sh - w->pt + ky * w->dh;
                    if (iy < 0 || iy >= in->H)
                        continue;
                    const float *row = x + (int64_t)(iy - in->y0) * in->rs -
                                       in->x0;
                    for (int kx = 0; kx < w->kw; kx++) {
                        int ix = (out->x0 + ox) * w->sw - w->pl + kx * w->dw;
                        if (ix >= 0 && ix < in->W)
                            s += row[ix] * kk[ky * w->kw + kx];
                    }
                }
                y[(int64_t)oy * out->rs + ox] = s;
            }
        cg_epilogue(k, out->p, out->ps, c, 1, 0, OH * OW);
    }
}
