/*
** act.h: elementwise activations, applied in place. The activation ops
** run them, and convolutions and sums apply a fused one to their output
** while it is in cache.
*/
#ifndef FCN_KERNELS_ACT_H
#define FCN_KERNELS_ACT_H

#include <stdint.h>

typedef enum act_kind {
    ACT_NONE, ACT_RELU, ACT_LEAKY, ACT_CLIP, ACT_SIGMOID, ACT_TANH,
    ACT_HSWISH, ACT_HSIGMOID, ACT_MUL
} act_kind;

typedef struct act_param {
    act_kind kind;
    float a, b;  /* leaky: a = alpha; clip: [a, b]; hsigmoid: a*x+b; mul: a */
} act_param;

void act_apply(const act_param *a, float *x, int64_t n);

#endif
