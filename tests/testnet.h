/*
** testnet.h: padded VGG-like test models given as a list of layers, built
** as model.bin through the op harness (tests/ops/harness.h), with random
** weights: tests/test_exact.c and tests/test_stream.c.
*/
#ifndef TESTNET_H
#define TESTNET_H

#include "ops/harness.h"

typedef enum { L_CONV, L_MAX, L_AVG, L_FLAT_DENSE, L_GAP_DENSE, L_DENSE } lkind;

typedef struct lspec {
    lkind kind;
    int cout, k, s, pad, groups, relu;  /* conv (pools: k, s, pad) */
    int cip;                            /* avg pool: count_include_pad */
} lspec;

typedef struct net {
    const char *name;
    int C, h, w;        /* trained input */
    int n;
    lspec L[12];
    /* filled by net_build: per layer, input shape and weights */
    shape in[12];
    float *wt[12], *bias[12];
} net;

/* Trained at 20x20: 3x3 pad 1 convs (Winograd), a 2x2 pool, a stride-2
** conv, a depthwise conv, an average pool without the padding in its
** count; Flatten -> Dense -> Dense (300 inputs: two K slices). Weights
** not yet made (net_weights). */
net net_vgg_flat(void);
/* (in + pa + pb - k) / s + 1 */
int net_out_size(int in, int k, int s, int pa, int pb);
/* Shapes at the trained size, random weights (about unit gain). */
void net_weights(net *m);
void net_free(net *m);
/* The model, loaded with Winograd as wino. */
fcn_model *net_load(const net *m, fcn_winograd wino);

#endif
