/*
** op.h: what an op family provides, and the node it works on.
**
** Each family lives in one file of src/ops/ and defines a `const op_def`
** per op it implements; src/ops/ops.def lists them all, and the enum, the
** names and the table are generated from that list (ops.h). The loader
** (src/core/) only calls through the table, so adding an op touches its
** file, one line of ops.def and its test (docs/architecture.md).
**
** Phases, as the model goes through them:
**   parse      attributes and weights of the file's layer into the node's
**              param (validated as far as no input shape is needed);
**   infer      output shape from the input shapes (the trained size at
**              load; every size at session create);
**   to_fcn     the load-time conversion into a fully convolutional
**              network (Dense -> conv, global pooling -> window, ...);
**   fuse       absorb the single reader of this node's output (a
**              BatchNorm, an activation) into this node;
**   prepare    load-time work on the weights (packing, transforms);
**   plan       per output window: the kernel choice and workspace;
**   forward    compute a window, on every thread of the team (ith, nth).
** A NULL entry means the op has nothing to do in that phase (a NULL parse:
** the op takes no attributes; a NULL window: it maps pixels one to one).
*/
#ifndef FCN_OPS_OP_H
#define FCN_OPS_OP_H

#include <stddef.h>
#include <stdint.h>

#include "fcn.h"
#include "kernels/act.h"
#include "kernels/view.h"
#include "ops/ops.h"
#include "util/mem.h"
#include "util/par.h"

#define OP_MAX_INPUTS 64

/* ---- a layer of model.bin, as the reader (src/core/reader.c) gives it ---- */

typedef struct layer_attr {
    const char *key;
    char type;        /* 'i', 'f' or 's' */
    uint32_t n;       /* number of values ('i', 'f') */
    const int64_t *iv;
    const float *fv;
    const char *sv;
    int used;         /* set when an op's parse consumed it */
} layer_attr;

typedef struct layer_attrs {
    uint32_t n;
    layer_attr *a;
} layer_attrs;

typedef struct layer_weight {
    const char *name;
    int ndim;
    int64_t dims[8];
    int64_t count;
    const float *data;  /* inside the file, 64-byte aligned */
    int used;
} layer_weight;

typedef struct layer {
    const char *op, *name, *output;
    uint32_t n_in;
    const char **inputs;
    layer_attrs attrs;
    uint32_t n_w;
    layer_weight *w;
} layer;

/* ---- the node ---- */

typedef struct node {
    op_id op;           /* what the node is now; param is op's struct */
    const char *name;   /* the layer's name in the file */
    const char *label;  /* how messages, the summary and the layer stats
                           name it: the op's name, or what it became
                           ("Dense as conv") */
    int n_in;
    int in[OP_MAX_INPUTS]; /* tensor ids; tensor 0 is the graph input */
    int out;                /* tensor id */
    int alias;              /* removed: the output is input 0 (Dropout, a
                               Flatten once converted, a folded BatchNorm) */
    void *param;            /* the op family's parameters */
} node;

/* ---- contexts of the phases ---- */

/* parse: the layer being read; the first error wins. */
typedef struct op_parse {
    const layer *L;
    arena *ar;          /* the model's: params and strings live there */
    fcn_status st;
} op_parse;

/* to_fcn: the shapes at the trained size of the graph as read (the
** classifier), the conversion options, and the Flatten (if any) whose
** output reached this node's input 0 through elementwise ops. */
typedef struct op_convert {
    const shape *in;        /* input shapes, as trained */
    shape out;              /* output shape, as trained */
    const node *flatten;    /* or NULL */
    shape flat_in;          /* the flattened map's shape (flatten != NULL) */
    const fcn_options *opt;
    arena *ar;
} op_convert;

/* prepare: load-time options. */
typedef struct op_prepare {
    const fcn_options *opt;
    int release;   /* weights still in the file mapping may have their
                      pages dropped once copied (mem_release_pages) */
    int *blas;     /* or NULL: set to 1 by an op whose forward calls BLAS
                      (it has opened it: blas_load) */
} op_prepare;

/* A window of an op's output and what its kernel needs for it: written by
** plan, read by forward. The bytes are the op's own struct. */
#define OP_PLAN_BYTES 96
typedef struct op_plan {
    size_t ws_floats;    /* workspace, for the threads it was planned for */
    double work;         /* estimated cost, for the choice of tiling */
    _Alignas(8) unsigned char data[OP_PLAN_BYTES];
} op_plan;

/* forward: the views of one window. */
typedef struct op_run {
    const view *in;       /* n_in views; each covers what out's window reads */
    const view *out;      /* the window to compute (rows contiguous) */
    const op_plan *plan;  /* from plan, for out's size; NULL if no plan */
    float *ws;            /* plan->ws_floats floats */
} op_run;

/* Flags. */
#define OPF_ELEMENTWISE 1u /* per element: may stand between a Flatten and
                              its Dense, and is looked through there */
#define OPF_FLAT_READER 2u /* may read features flattened from a map */
#define OPF_FLATTEN     4u /* reshapes a map into features */

typedef struct op_def {
    unsigned flags;
    int min_in, max_in;     /* inputs (max_in 0: up to OP_MAX_INPUTS) */
    size_t param_size;      /* bytes of the param struct */
    fcn_status (*parse)(op_parse *c, node *n);
    /* 0 with a reason in msg when the inputs do not fit */
    int (*infer)(const node *n, const shape *const *in, shape *out,
                 char *msg, size_t msz);
    /* along axis 0 (rows) or 1 (columns): output o reads inputs [o*s - p,
    ** o*s - p + (k-1)*d + 1) */
    void (*window)(const node *n, int axis, int *k, int *s, int *d, int *p);
    /* the a-trous rewrite (fcn_options.stride_divisor, core/pass_atrous.c)
    ** along one axis: the input map is `dense` times denser than the
    ** network's, and the stride loses a factor f (f divides it): dilation
    ** and padding multiply by dense, the stride is divided by f. NULL: an
    ** op whose window (if any) cannot be rewritten */
    void (*densify)(node *n, int axis, int dense, int f);
    fcn_status (*to_fcn)(const op_convert *c, node *n);
    /* absorb `next`, this node's output's only reader: *done = 1 if so */
    fcn_status (*fuse)(node *n, const node *next, int *done);
    /* what fuse reads of `next`: an activation, or y = x * scale + shift
    ** per channel (c channels) */
    const act_param *(*as_act)(const node *n);
    int (*as_affine)(const node *n, const float **scale, const float **shift);
    fcn_status (*prepare)(node *n, const op_prepare *c);
    size_t (*weight_bytes)(const node *n);   /* held for run */
    /* the plan of an out_h x out_w window of the node's whole output map
    ** `map` (a kernel choice that depends on the map, never on the window,
    ** keeps results independent of the tiling) */
    void (*plan)(const node *n, shape map, int out_h, int out_w,
                 int threads, op_plan *p);
    /* outputs are computed in blocks of b x b on the grid of the whole
    ** map `map` (block (i, j): rows [b*i, b*i + b), columns [b*j, ...)),
    ** each block from all the inputs its b x b outputs read, whatever part
    ** of it a window keeps: b (Winograd: 4), or NULL: 1 */
    int (*block)(const node *n, shape map);
    void (*forward)(const node *n, const op_run *r, par *p);
    void (*describe)(const node *n, char *buf, size_t size);
    /* per-layer figures for fcn_session_layers: kernel, strides, groups,
    ** GEMM shape, FLOPs for the given input */
    void (*stats)(const node *n, shape in, fcn_layer_stats *st);
    void (*release)(node *n);                /* free what the param owns */
} op_def;

/* ---- helpers for parse ---- */

/* n ints into v (defaults kept when absent); a single value is repeated
** (one kernel size for both axes). */
void attr_ints(op_parse *c, const char *key, int n, int *v, int required);
float attr_float(op_parse *c, const char *key, float def);
const char *attr_str(op_parse *c, const char *key, const char *def);
const layer_attr *attr_find(const layer *L, const char *key);
const layer_weight *attr_weight(op_parse *c, const char *name, int required);
/* The window attributes (kernel, stride, pad; dilation for convs; a pool's
** stride defaults to its kernel) into w, checked: every size >= 1, padding
** >= 0 (a conv's absent kernel stays 0 until its weight gives it; a given
** one must be >= 1). Pools also get attr_window_check. */
void attr_window(op_parse *c, win2d *w, int is_conv);
/* The limits of a window whose kernel is known (docs/model-format.md,
** "Limits and validation"): the dilated kernel (k-1)*d+1 at most
** MEM_MAX_DIM per axis, each side's padding smaller than it. */
void attr_window_check(op_parse *c, const win2d *w);
/* A 0/1 attribute (def when absent); any other value is refused. */
int attr_flag(op_parse *c, const char *key, int def);
/* Fails on any attribute or weight no parse consumed. */
void attr_done(op_parse *c);
/* A failure message for the layer: "layer '<name>' (<op>): <fmt ...>". */
fcn_status op_fail(const op_parse *c, fcn_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int weight_dims_are(const layer_weight *w, int nd, const int64_t *d);
/* A float copy of n values (src NULL: uninitialised), 64-byte aligned. */
float *floats_copy(const float *src, int64_t n);

/* infer for ops whose output has their input's shape. */
int op_infer_same(const node *n, const shape *const *in, shape *out,
                  char *msg, size_t msz);

/* Node n's window along an axis (its op's window; an op without one maps
** pixels one to one: k = s = d = 1, p = 0). */
void op_window(const node *n, int axis, int *k, int *s, int *d, int *p);

/* The window of a window op along one axis, from its win2d. */
void win2d_axis(const win2d *w, int axis, int *k, int *s, int *d, int *p);
/* densify on a win2d (op_def.densify): along one axis, dilation (of a
** kernel longer than 1) and both paddings times dense, stride / f. */
void win2d_densify(win2d *w, int axis, int dense, int f);

#endif
