/*
** testnet.c: the test models of testnet.h.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testnet.h"

net net_vgg_flat(void)
{
    net flat = {"VGG-like, Flatten head", 3, 20, 20, 8,
                {{L_CONV, 8, 3, 1, 1, 1, 1, 0},
                 {L_CONV, 8, 3, 1, 1, 1, 1, 0},
                 {L_MAX, 0, 2, 2, 0, 1, 0, 0},
                 {L_CONV, 12, 3, 2, 1, 1, 1, 0},
                 {L_CONV, 12, 3, 1, 1, 12, 1, 0},
                 {L_AVG, 0, 3, 1, 1, 1, 0, 0},
                 {L_FLAT_DENSE, 16, 0, 0, 0, 1, 1, 0},
                 {L_DENSE, 5, 0, 0, 0, 1, 0, 0}},
                {{0}}, {0}, {0}};
    return flat;
}

int net_out_size(int in, int k, int s, int pa, int pb)
{
    return (in + pa + pb - k) / s + 1;
}

/* Shapes at the trained size, random weights (about unit gain). */
void net_weights(net *m)
{
    shape s = {m->C, m->h, m->w};
    for (int i = 0; i < m->n; i++) {
        lspec *l = &m->L[i];
        m->in[i] = s;
        int64_t nw = 0, nb = 0;
        if (l->kind == L_CONV) {
            nw = (int64_t)l->cout * (s.c / l->groups) * l->k * l->k;
            nb = l->cout;
            s = (shape){l->cout,
                        net_out_size(s.h, l->k, l->s, l->pad, l->pad),
                        net_out_size(s.w, l->k, l->s, l->pad, l->pad)};
        } else if (l->kind == L_MAX || l->kind == L_AVG) {
            s = (shape){s.c, net_out_size(s.h, l->k, l->s, l->pad, l->pad),
                        net_out_size(s.w, l->k, l->s, l->pad, l->pad)};
        } else {
            const int64_t K = l->kind == L_FLAT_DENSE ? (int64_t)s.c * s.h * s.w
                                                     : s.c;
            nw = l->cout * K;
            nb = l->cout;
            s = (shape){l->cout, 1, 1};
        }
        if (nw) {
            const float a = sqrtf(3.0f / (float)(nw / nb));
            m->wt[i] = malloc(sizeof(float) * nw);
            m->bias[i] = malloc(sizeof(float) * nb);
            if (!m->wt[i] || !m->bias[i])
                exit(2);
            fill(m->wt[i], nw, -a, a);
            fill(m->bias[i], nb, -0.2f, 0.2f);
        }
    }
}

void net_free(net *m)
{
    for (int i = 0; i < m->n; i++) {
        free(m->wt[i]);
        free(m->bias[i]);
    }
}

static void add_relu(tmodel *tm, int i, char *cur)
{
    tlayer t;
    char name[16], out[16];
    snprintf(name, sizeof name, "relu%d", i);
    snprintf(out, sizeof out, "r%d", i);
    tl_init(&t, "Relu");
    tm_layer(tm, "Relu", name, cur, out, &t);
    strcpy(cur, out);
}

fcn_model *net_load(const net *m, fcn_winograd wino)
{
    tmodel *tm = tm_new(m->C, m->h, m->w);
    char cur[16] = "input";
    for (int i = 0; i < m->n; i++) {
        const lspec *l = &m->L[i];
        const shape s = m->in[i];
        tlayer t;
        char name[16], out[16];
        snprintf(name, sizeof name, "l%d", i);
        snprintf(out, sizeof out, i == m->n - 1 && !l->relu ? "out" : "t%d", i);
        const int k2[2] = {l->k, l->k}, s2[2] = {l->s, l->s},
                  p4[4] = {l->pad, l->pad, l->pad, l->pad};
        if (l->kind == L_CONV) {
            int64_t wd[4] = {l->cout, s.c / l->groups, l->k, l->k},
                    bd[1] = {l->cout};
            tl_init(&t, "Conv");
            tl_ints(&t, "stride", 2, s2);
            tl_ints(&t, "pad", 4, p4);
            tl_ints(&t, "groups", 1, &l->groups);
            tl_weight(&t, "weight", 4, wd, m->wt[i]);
            tl_weight(&t, "bias", 1, bd, m->bias[i]);
            tm_layer(tm, "Conv", name, cur, out, &t);
        } else if (l->kind == L_MAX || l->kind == L_AVG) {
            const char *op = l->kind == L_MAX ? "MaxPool" : "AvgPool";
            tl_init(&t, op);
            tl_ints(&t, "kernel", 2, k2);
            tl_ints(&t, "stride", 2, s2);
            tl_ints(&t, "pad", 4, p4);
            if (l->kind == L_AVG)
                tl_ints(&t, "count_include_pad", 1, &l->cip);
            tm_layer(tm, op, name, cur, out, &t);
        } else {
            const int flat = l->kind == L_FLAT_DENSE;
            const int64_t K = flat ? (int64_t)s.c * s.h * s.w : s.c;
            char mid[16];
            snprintf(mid, sizeof mid, "f%d", i);
            if (flat || l->kind == L_GAP_DENSE) {
                tl_init(&t, flat ? "Flatten" : "GlobalAvgPool");
                if (flat)
                    tl_str(&t, "order", "chw");
                tm_layer(tm, flat ? "Flatten" : "GlobalAvgPool", mid, cur, mid,
                         &t);
                strcpy(cur, mid);
            }
            int64_t wd[2] = {l->cout, K}, bd[1] = {l->cout};
            tl_init(&t, "Dense");
            tl_weight(&t, "weight", 2, wd, m->wt[i]);
            tl_weight(&t, "bias", 1, bd, m->bias[i]);
            tm_layer(tm, "Dense", name, cur, out, &t);
        }
        strcpy(cur, out);
        if (l->relu)
            add_relu(tm, i, cur);
    }
    const fcn_options opt = {.winograd = wino};
    return tm_load(tm, &opt);
}

