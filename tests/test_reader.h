/*
** test_reader.h: what the parts of test_reader share: the limits of
** docs/model-format.md ("Limits and validation") as the tests compute them,
** the generated window chains and the counts of cases. test_reader.c runs
** them (main), test_reader_limits.c has the window and attribute cases,
** test_reader_bombs.c the padding, channel, score-map and pool bombs.
*/
#ifndef FCN_TEST_READER_H
#define FCN_TEST_READER_H

#include <stdint.h>

#include "fcn.h"
#include "ops/harness.h"

#define LIM_DIM ((int64_t)1 << 20)
#define LIM_GEOM ((int64_t)1 << 30)
#define LIM_TENSOR ((int64_t)1 << 34)
#define LIM_KERNEL 4096
#define LIM_PAD_OP 4096
/* a map's pixels beyond 4x its input's: the growth padding may cause */
#define LIM_GROWTH(h, w) (4 * (i128)(h) * (w) + ((int64_t)1 << 20))

typedef __int128 i128;

typedef struct win_case {  /* one window layer of a generated chain */
    int conv;              /* a Conv (1 -> 1 channel) or a MaxPool */
    int64_t k[2], s[2], d[2], p[4];  /* p: top, left, bottom, right */
    int give_kernel;       /* Conv: the kernel attribute too (the weight's) */
    int give_stride;       /* MaxPool: 0 = absent, the kernel */
} win_case;

typedef struct expect {
    fcn_status st;
    int layer;             /* the layer a refusal names */
    int64_t stride[2], offset[2], rf[2];
    int64_t out_h, out_w, max_floats;  /* at the trained size */
    int geometry;          /* refused for the geometry (accumulated) */
} expect;

extern int cases_geom, cases_attr, cases_pad;
extern int outcomes[FCN_ERR_ARG + 1];  /* geometry cases, by expected status */
extern int refused_geometry;           /* of them, for the accumulated
                                          stride, offset or rf */
extern float ones[1 << 16];  /* weights: every one used here fits */

/* test_reader_limits.c */
const char *st_name(fcn_status s);
win_case benign(int conv);
/* What the rules say of a chain on a 1 x H x W input (128-bit). */
expect chain_ref(const win_case *L, int n, int64_t H, int64_t W);
/* Load the chain and compare with chain_ref. */
void chain_check(const win_case *L, int n, int H, int W);
void single_layers(void);
void chains(void);
void disagreements(void);

/* test_reader_bombs.c */
void pad_bombs(void);
void score_budget(void);
void pool_bombs(void);

#endif
