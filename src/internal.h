/*
** internal.h: structures shared by the library's modules. Not installed.
**
** Glossary: tensors are C x H x W float32 (batch 1), written c, h, w.
** Convolution as GEMM: M = output channels (per group), K = input channels
** (per group) x kh x kw, N = output pixels.
*/
#ifndef FCN_INTERNAL_H
#define FCN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fcn.h"

#define FCN_MAX_INPUTS 64
#define FCN_MAX_DIM (1 << 20)          /* any one tensor dimension */
#define FCN_MAX_ELEMS ((int64_t)1 << 40) /* any one tensor, in floats */

/* ---- util.c: errors, checked allocation, bump arena ---- */

/* Format the thread-local error message and return st. */
fcn_status fcn_error(fcn_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void *fcn_malloc(size_t n);            /* NULL on failure or n == 0 -> 1 byte */
void *fcn_calloc(size_t n, size_t size);
void *fcn_aligned_alloc(size_t n);     /* 64-byte aligned; free with fcn_free */
/* Drop the whole pages inside [p, p+n) of a private read-only file mapping
** from this process (a later read faults them back in from the file). */
void fcn_release_pages(const void *p, size_t n);
void fcn_free(void *p);
/* a * b into *out; returns 0 on overflow (or negative operands). */
int fcn_mul64(int64_t a, int64_t b, int64_t *out);

typedef struct arena_block arena_block;
typedef struct arena {
    arena_block *head;
} arena;
void *arena_alloc(arena *a, size_t n);  /* zeroed, 16-aligned; NULL on OOM */
char *arena_strdup(arena *a, const char *s, size_t n);
void arena_free(arena *a);

/* ---- reader.c: model.bin, checked, into raw records ---- */

typedef struct rd_attr {
    const char *key;
    char type;        /* 'i', 'f' or 's' */
    uint32_t n;       /* number of values ('i', 'f') */
    const int64_t *iv;
    const float *fv;
    const char *sv;
    int used;         /* set when the graph builder consumed it */
} rd_attr;

typedef struct rd_attrs {
    uint32_t n;
    rd_attr *a;
} rd_attrs;

typedef struct rd_weight {
    const char *name;
    int ndim;
    int64_t dims[8];
    int64_t count;
    const float *data;  /* inside the file buffer, 64-byte aligned */
    int used;
} rd_weight;

typedef struct rd_layer {
    const char *op, *name, *output;
    uint32_t n_in;
    const char **inputs;
    rd_attrs attrs;
    uint32_t n_w;
    rd_weight *w;
} rd_layer;

typedef struct rd_model {
    arena ar;            /* every record above lives here */
    const unsigned char *buf;  /* the file, 64-byte aligned; not owned */
    size_t size;
    rd_attrs meta;
    uint32_t n_labels;
    const char **labels;
    uint32_t n_layers;
    rd_layer *layers;
} rd_model;

/* Parse and check a model.bin held in buf (64-byte aligned, size bytes),
** which must outlive the weights' use. rd_model_free frees the records. */
fcn_status rd_model_parse(const unsigned char *buf, size_t size,
                          rd_model *out);
void rd_model_free(rd_model *m);

/* ---- graph.c: typed graph, conversion to an FCN ---- */

typedef enum op_kind {
    OP_CONV, OP_DENSE, OP_FLATTEN, OP_MAXPOOL, OP_AVGPOOL, OP_GAP, OP_GMP,
    OP_ACT, OP_BN, OP_LRN, OP_ADD, OP_CONCAT, OP_PAD, OP_IDENTITY, OP_SOFTMAX
} op_kind;

typedef enum act_kind {
    ACT_NONE, ACT_RELU, ACT_LEAKY, ACT_CLIP, ACT_SIGMOID, ACT_TANH,
    ACT_HSWISH, ACT_HSIGMOID, ACT_MUL
} act_kind;

typedef struct act_param {
    act_kind kind;
    float a, b;  /* leaky: a = alpha; clip: [a, b]; hsigmoid: a*x+b; mul: a */
} act_param;

typedef struct node {
    op_kind op;
    const char *name;    /* as in the file (arena-owned) */
    const char *opname;  /* as in the file */
    int n_in;
    int in[FCN_MAX_INPUTS]; /* tensor ids; tensor 0 is the graph input */
    int out;                /* tensor id */
    /* conv (also pools: kernel, stride, pad) */
    int kh, kw, sh, sw, dh, dw;
    int pt, pl, pb, pr;     /* padding: top, left, bottom, right */
    int groups, cin, cout;
    int flip;               /* conv: kernels trained as true convolution */
    float *weight;          /* conv: cout x (cin/groups) x kh x kw; in the
                               model file (read-only) or in weight_buf */
    float *weight_buf;      /* owned copy, when the weights had to change */
    float *wino;            /* conv: Winograd F(4x4,3x3) weights, 36 x cout
                               x cin; owned; NULL: im2col path */
    int wino_packed;        /* wino holds each position packed for gemm.c */
    float *packed;          /* conv: the weights packed for gemm.c (per
                               group); owned; NULL: OpenBLAS path */
    int wino_auto;          /* chosen by FCN_WINOGRAD_AUTO: used only on
                               windows where it measured faster */
    float *bias;            /* conv: cout, owned, may be NULL */
    act_param act;          /* conv: fused activation; OP_ACT: the op */
    /* pools */
    int ceil_mode, count_include_pad;
    /* dense (before conversion): weight n x k */
    int dense_n, dense_k;
    const float *dense_w, *dense_b;
    /* flatten */
    int hwc;
    /* batch norm: per-channel y = x*bn_scale + bn_shift; owned */
    float *bn_scale, *bn_shift;
    /* LRN */
    int lrn_size;
    float lrn_alpha, lrn_beta, lrn_bias;
    /* pad */
    float pad_value;
} node;

/* Node n's window along axis 0 (rows) or 1 (columns): output o reads
** inputs [o*s - p, o*s - p + (k-1)*d + 1); ops without a window map one
** to one (k = s = d = 1, p = 0; a Pad shifts by its leading padding). */
void win_geom(const node *n, int axis, int *k, int *s, int *d, int *p);

/* Geometry of a tensor along one axis, in input pixels. */
typedef struct axis_geom {
    int stride, offset, rf;
} axis_geom;

struct fcn_model {
    arena ar;
    void *file;              /* model.bin: mapped, or an owned copy */
    size_t file_size;
    int file_mapped;         /* 1: munmap it; 0: fcn_free it */
    int in_c, in_h, in_w;
    int classes;
    char color[8], resize[16];
    const char *name;
    float scale;
    float *mean, *std;
    int n_labels;
    const char **labels;
    int n_file_layers;
    int n_nodes;             /* the converted network, in execution order */
    node *nodes;
    int n_tensors;           /* tensor ids 0..n_tensors-1; 0 = input */
    int out_tensor;
    fcn_geometry geom;       /* of the output */
    int min_h, min_w;
    double weight_bytes;
    char *summary;
};

/* Build the typed graph from raw records and convert it into an FCN;
** fills m (whose arena already exists). */
fcn_status graph_build(const rd_model *rd, const fcn_options *opt,
                       fcn_model *m);

typedef struct shape {
    int c, h, w;
} shape;

/* Output shapes of every tensor of the converted model for an input of
** h x w; shapes has n_tensors entries. On failure the message names the
** node and the sizes. */
fcn_status graph_infer(const fcn_model *m, int h, int w, shape *shapes);
void node_free_weights(node *n);
/* Make n->weight a private, writable copy (before folding or flipping);
** 0 on OOM. */
int node_own_weight(node *n);

/* ---- kernels (conv.c, ops.c) ---- */

/* A window of a C x H x W map, as the kernels see it: rows [y0, y0+h) and
** columns [x0, x0+w) of the whole map (H x W), stored at p with row stride
** rs and plane stride ps (in floats). Networks run on spatial tiles of
** large images: each layer computes a window of its output from windows of
** its inputs, and padding applies only at the whole map's border. */
typedef struct view {
    float *p;
    int c, y0, x0, h, w;
    int H, W;
    int64_t rs, ps;
} view;

/* The whole of a contiguous C x H x W tensor. */
static inline view view_full(const float *p, shape s)
{
    view v = {(float *)p, s.c, 0, 0, s.h, s.w, s.h, s.w, s.w,
              (int64_t)s.h * s.w};
    return v;
}

/* Per-conv execution plan for one output window. */
typedef struct conv_plan {
    int in_h, in_w, out_h, out_w;
    int64_t K, N;      /* per group; N = out_h * out_w of the window */
    int tile;          /* output columns per tile (GEMM N block) */
    int n_tiles;
    int shared;        /* 1: tiles in sequence, threads split M; 0: threads
                          take whole tiles */
    int direct;        /* 1x1 stride 1 no pad: no im2col when the input
                          window is the output window, stored contiguously */
    int depthwise;     /* direct depthwise kernel */
    int winograd;      /* n->wino is set: winograd_forward */
    int panels;        /* im2col into panels + gemm_panels (gemm.c); else
                          im2col rows + OpenBLAS */
    size_t ws_floats;  /* workspace this conv needs, all threads */
} conv_plan;

/* Plan for the whole output of an in_h x in_w input. */
void conv_plan_make(const node *n, int in_h, int in_w, int threads,
                    conv_plan *p);
/* Plan for an out_h x out_w window of the output. */
void conv_plan_window(const node *n, int out_h, int out_w, int threads,
                      conv_plan *p);
/* The caller sets omp_set_num_threads(threads) first (fcn_session_run
** does): OpenMP OpenBLAS sizes its team from that ICV whenever it is called
** outside an active parallel region, which includes threads == 1.
** out's window must have p's out_h x out_w, rows contiguous (rs == w);
** in's window must cover every input pixel inside the map that out's
** window reads. */
void conv_forward(const node *n, const conv_plan *p, const view *in,
                  const view *out, float *ws, int threads);
/* im2col of output pixels [n0, n0+nt) of an output window (row-major,
** out_w wide, top-left at (oy0, ox0) of the output map) for channels
** [c0, c0+cn) of in, into col (K x nt, row-major). */
void im2col_tile(const view *in, int c0, int cn, const node *n, int oy0,
                 int ox0, int out_w, int64_t n0, int nt, float *col);

/* im2col_tile into the column panels gemm_panels reads: row k of the
** tile's column q at col[(q / GEMM_NR) * pstride + k * GEMM_NR + q % GEMM_NR],
** for rows k from 0 (channel c0) on; columns past nt in the last panel are
** zeroed. pstride = K * GEMM_NR for the whole K. */
void im2col_panels(const view *in, int c0, int cn, const node *n, int oy0,
                   int ox0, int out_w, int64_t n0, int nt, int64_t pstride,
                   float *col);

/* ---- gemm.c: C = A B, A packed at load, B in column panels ---- */

#define GEMM_MR 6
#define GEMM_NR 16
#define GEMM_KC 256
int gemm_available(void); /* the AVX2+FMA kernel runs on this CPU */
/* Rows of A packed (Mp): M rounded up to GEMM_MR; floats: Mp x K. */
int gemm_packed_rows(int M);
int64_t gemm_packed_floats(int M, int K);
/* Pack row-major A (M x K): slices of GEMM_KC columns, each Mp x kc, in
** panels of GEMM_MR rows, k-major. release: A lies in a read-only file
** mapping, whose pages are dropped (fcn_release_pages) as they are packed. */
void gemm_pack(int M, int K, const float *A, float *Ap, int release);
/* C (M x N, ldc) = rows [m0, m0+M) of packed A (Mp rows; m0 a multiple of
** GEMM_MR) times B, B in panels: panel j (columns [16j, 16j+16)) at
** B + j*K*16, row k of it at + k*16 (zeros past N). */
void gemm_panels(const float *Ap, int Mp, int m0, int M, int N, int K,
                 const float *B, float *C, int64_t ldc);
/* The same for one output pixel: y = A x. */
void gemv_panels(const float *Ap, int Mp, int m0, int M, int K,
                 const float *x, int64_t incx, float *y, int64_t incy);
/* Pack n's weights for gemm_panels into n->packed (per group); 0 on OOM.
** release: as gemm_pack's. */
int conv_pack(node *n, int release);

/* ---- winograd.c: F(4x4, 3x3) for 3x3 stride-1 convolutions ---- */

int winograd_applies(const node *n);  /* 3x3, stride 1, dilation 1, 1 group */
/* Transform n's weights into n->wino; 0 on OOM. */
int winograd_prepare(node *n, int pack);
/* Workspace (floats) for an out_h x out_w window. */
size_t winograd_ws(const node *n, int out_h, int out_w, int threads);
void winograd_forward(const node *n, const view *in, const view *out,
                      float *ws, int threads);

void act_apply(const act_param *a, float *x, int64_t n);
/* Elementwise ops: out's window lies inside in's. */
void act_forward(const act_param *a, const view *in, const view *out,
                 int threads);
void bn_forward(const node *n, const view *in, const view *out, int threads);
void lrn_forward(const node *n, const view *in, const view *out, int threads);
void softmax_forward(const view *in, const view *out, int threads);
/* Sum of n_in inputs, then act (NULL or ACT_NONE: none). */
void add_forward(const act_param *act, const view *in, int n_in,
                 const view *out, int threads);
/* Concatenation along channels: in[j] goes to out's channels from c0. */
void copy_window(const view *in, const view *out, int c0, int threads);
void pool_forward(const node *n, int max, const view *in, const view *out,
                  int threads);
void pad_forward(const node *n, const view *in, const view *out,
                 int threads);

/* Preprocess rows [y0, y0+h), columns [x0, x0+w) of img into dst: C
** planes ps floats apart, rows w floats apart. */
void image_preprocess(const fcn_model *m, const fcn_image *img, int y0,
                      int x0, int h, int w, float *dst, int64_t ps);

/* Output size of a window op along one axis; < 1 when it does not fit. */
int window_out(int in, int k, int s, int d, int pa, int pb, int ceil_mode);

#endif
