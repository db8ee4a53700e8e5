/*
** harness.h: what the op tests share. Ops are built as the loader builds
** them (a layer record through the op's parse), run through the library's
** parallel region with 1 and 3 threads, and compared with naive references
** written in the tests (plain loops, double accumulators, no BLAS).
** Buffers are pre-filled with NaN (an element a kernel never writes fails)
** and followed by canary floats (a write past the end fails).
*/
#ifndef FCN_TEST_HARNESS_H
#define FCN_TEST_HARNESS_H

#include <stdint.h>

#include "check.h"
#include "core/model.h"

/* ---- PRNG: xorshift64, fixed seed ---- */
uint64_t rnd(void);
int irand(int lo, int hi);                /* inclusive */
float frand(float lo, float hi);
void fill(float *x, int64_t n, float lo, float hi);

/* ---- buffers ---- */
float *buf_new(int64_t n);                /* n NaNs, then canaries */
int canary_ok(const float *p, int64_t n);
void buf_free(float *p);

/* ---- activations: names, a double reference, random parameters ---- */
const char *act_name(act_kind k);
double act_ref(const act_param *a, double x);
double act_lipschitz(const act_param *a);
act_param act_random(act_kind k);
/* The op of model.bin for an activation kind. */
op_id act_op(act_kind k);

/* Output size of a window, by enumerating window starts (floor mode:
** every window that fits; ceil mode, as PyTorch: every start o*s <= span
** + s - 1, but one starting inside the right padding). */
int window_ref(int in, int k, int s, int d, int pa, int pb, int ceil);

/* ---- layer records, as the reader would give them ---- */
typedef struct tlayer {
    layer L;
    layer_attr a[16];
    int64_t iv[16][4];
    float fv[16];
    layer_weight w[4];
} tlayer;

void tl_init(tlayer *t, const char *op);
void tl_ints(tlayer *t, const char *key, int n, const int *v);
void tl_float(tlayer *t, const char *key, float v);
void tl_str(tlayer *t, const char *key, const char *v);
void tl_weight(tlayer *t, const char *name, int ndim, const int64_t *dims,
               const float *data);

/* A node from t (the loader's node_parse; params in ar), with n_in
** inputs; FCN_OK or the parse's status. */
fcn_status t_node(const tlayer *t, int n_in, node *n, arena *ar);
/* The node of an activation with parameters a (through its parse). */
void t_act_node(act_param a, node *n, arena *ar);
/* Run n's forward on `threads` threads: out's window from in. */
void t_forward(const node *n, const view *in, const view *out,
               const op_plan *plan, float *ws, int threads);
/* The reference of output element (c, y, x), and its tolerance. */
typedef double t_ref_fn(void *ctx, int c, int y, int x, double *tol);
/* Run n on whole maps (n_in inputs of shapes is) into an os output with 1
** and 3 threads; every element within tolerance of ref (NaN fails), no
** write past the output, the two runs bit-identical. */
void t_check_full(const node *n, float *const *ins, const shape *is,
                  int n_in, shape os, t_ref_fn *ref, void *ctx,
                  const char *desc);
/* Infer n's output shape from its inputs' (1 when they fit). */
int t_infer(const node *n, const shape *in, int n_in, shape *out);

/* ---- models in memory, for the ops that only exist at load ---- */
typedef struct tmodel tmodel;
tmodel *tm_new(int c, int h, int w);
/* A layer: op, name, inputs (comma-separated tensor names), output, the
** attributes and weights of t (its op ignored). */
void tm_layer(tmodel *m, const char *op, const char *name,
              const char *inputs, const char *output, const tlayer *t);
/* The model.bin bytes; *size gets their count. Frees m. */
unsigned char *tm_finish(tmodel *m, size_t *size);
/* tm_finish, then fcn_model_load_memory; NULL (with a failed check) if
** the load fails. */
fcn_model *tm_load(tmodel *m, const fcn_options *opt);

/* Run m on a C x H x W float input (1 thread, then 3, checked equal);
** returns the score map (malloc'd) and its shape. */
float *t_run_model(const fcn_model *m, const float *in, int H, int W,
                   int *classes, int *out_h, int *out_w);

#endif
