/*
** act.c: the activations.
*/
#include <math.h>

#include "kernels/act.h"

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
