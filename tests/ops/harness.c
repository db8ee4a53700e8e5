/*
** harness.c: see harness.h.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define CANARY 16
#define CANARY_BITS 0x7fc0cafeu /* a NaN payload no kernel produces */

/* ---- PRNG ---- */

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

int irand(int lo, int hi)
{
    return lo + (int)(rnd() % (uint64_t)(hi - lo + 1));
}

float frand(float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)(rnd() >> 11) / 9007199254740992.0);
}

void fill(float *x, int64_t n, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = frand(lo, hi);
}

/* ---- buffers ---- */

float *buf_new(int64_t n)
{
    float *p = mem_aligned((size_t)(n + CANARY) * sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory (%lld floats)\n", (long long)n);
        exit(2);
    }
    uint32_t nanbits = 0x7fc00000u, canary = CANARY_BITS;
    for (int64_t i = 0; i < n; i++)
        memcpy(&p[i], &nanbits, 4);
    for (int i = 0; i < CANARY; i++)
        memcpy(&p[n + i], &canary, 4);
    return p;
}

int canary_ok(const float *p, int64_t n)
{
    uint32_t canary = CANARY_BITS;
    for (int i = 0; i < CANARY; i++)
        if (memcmp(&p[n + i], &canary, 4))
            return 0;
    return 1;
}

void buf_free(float *p) { mem_free(p); }

/* ---- activations ---- */

const char *act_name(act_kind k)
{
    static const char *names[] = {"none", "relu", "leaky", "clip", "sigmoid",
                                  "tanh", "hswish", "hsigmoid", "mul"};
    return (unsigned)k < 9 ? names[k] : "?";
}

op_id act_op(act_kind k)
{
    static const op_id ops[] = {OP_COUNT, OP_RELU, OP_LEAKY, OP_CLIP,
                                OP_SIGMOID, OP_TANH, OP_HSWISH, OP_HSIGMOID,
                                OP_MUL};
    return ops[k];
}

double act_ref(const act_param *a, double x)
{
    switch (a->kind) {
    case ACT_NONE:
        return x;
    case ACT_RELU:
        return x > 0 ? x : 0;
    case ACT_LEAKY:
        return x >= 0 ? x : x * a->a;
    case ACT_CLIP:
        return x < a->a ? a->a : x > a->b ? a->b : x;
    case ACT_SIGMOID:
        return 1.0 / (1.0 + exp(-x));
    case ACT_TANH:
        return tanh(x);
    case ACT_HSWISH: {
        double r = x + 3;
        r = r < 0 ? 0 : r > 6 ? 6 : r;
        return x * r / 6;
    }
    case ACT_HSIGMOID: {
        double r = a->a * x + a->b;
        return r < 0 ? 0 : r > 1 ? 1 : r;
    }
    case ACT_MUL:
        return x * a->a;
    }
    return NAN;
}

double act_lipschitz(const act_param *a)
{
    double l = 1.0;
    switch (a->kind) {
    case ACT_LEAKY:
    case ACT_HSIGMOID:
    case ACT_MUL:
        l = fabs(a->a);
        break;
    case ACT_HSWISH:
        l = 1.5;
        break;
    default:
        break;
    }
    return l > 1.0 ? l : 1.0;
}

act_param act_random(act_kind k)
{
    act_param a = {k, 0.0f, 0.0f};
    switch (k) {
    case ACT_LEAKY:
        a.a = irand(0, 3) ? frand(0.0f, 0.5f) : frand(-1.5f, 2.0f);
        break;
    case ACT_CLIP:
        if (irand(0, 2) == 0) {
            a.a = 0.0f; /* relu6 */
            a.b = 6.0f;
        } else {
            a.a = frand(-1.0f, 0.0f);
            a.b = frand(0.1f, 1.5f);
        }
        break;
    case ACT_HSIGMOID:
        if (irand(0, 1)) {
            a.a = 1.0f / 6.0f; /* PyTorch */
            a.b = 0.5f;
        } else {
            a.a = frand(0.1f, 2.0f); /* ONNX HardSigmoid alpha, beta */
            a.b = frand(0.0f, 1.0f);
        }
        break;
    case ACT_MUL:
        a.a = frand(-2.0f, 2.0f);
        break;
    default:
        break;
    }
    return a;
}

int window_ref(int in, int k, int s, int d, int pa, int pb, int ceil)
{
    int keff = (k - 1) * d + 1, total = in + pa + pb, span = total - keff;
    if (span < 0)
        return 0;
    int o = 0;
    if (!ceil) {
        while ((int64_t)o * s + keff <= total)
            o++;
    } else {
        while ((int64_t)o * s <= span + s - 1)
            o++;
        if ((int64_t)(o - 1) * s >= in + pa)
            o--;
    }
    return o;
}

/* ---- layer records ---- */

void tl_init(tlayer *t, const char *op)
{
    memset(t, 0, sizeof *t);
    t->L.op = op;
    t->L.name = "test";
    t->L.output = "out";
    t->L.attrs.a = t->a;
    t->L.w = t->w;
}

static layer_attr *tl_add(tlayer *t, const char *key, char type)
{
    layer_attr *a = &t->a[t->L.attrs.n++];
    a->key = key;
    a->type = type;
    return a;
}

void tl_ints(tlayer *t, const char *key, int n, const int *v)
{
    int k = (int)t->L.attrs.n;
    layer_attr *a = tl_add(t, key, 'i');
    for (int i = 0; i < n; i++)
        t->iv[k][i] = v[i];
    a->n = (uint32_t)n;
    a->iv = t->iv[k];
}

void tl_float(tlayer *t, const char *key, float v)
{
    int k = (int)t->L.attrs.n;
    layer_attr *a = tl_add(t, key, 'f');
    t->fv[k] = v;
    a->n = 1;
    a->fv = &t->fv[k];
}

void tl_str(tlayer *t, const char *key, const char *v)
{
    tl_add(t, key, 's')->sv = v;
}

void tl_weight(tlayer *t, const char *name, int ndim, const int64_t *dims,
               const float *data)
{
    layer_weight *w = &t->w[t->L.n_w++];
    w->name = name;
    w->ndim = ndim;
    w->count = 1;
    for (int i = 0; i < ndim; i++) {
        w->dims[i] = dims[i];
        w->count *= dims[i];
    }
    w->data = data;
}

fcn_status t_node(const tlayer *t, int n_in, node *n, arena *ar)
{
    tlayer copy = *t;  /* parse marks attributes used */
    copy.L.attrs.a = copy.a;
    copy.L.w = copy.w;
    copy.L.n_in = (uint32_t)n_in;
    memset(n, 0, sizeof *n);
    for (uint32_t i = 0; i < copy.L.attrs.n; i++) {
        if (copy.a[i].type == 'i')
            copy.a[i].iv = copy.iv[i];
        else if (copy.a[i].type == 'f')
            copy.a[i].fv = &copy.fv[i];
    }
    fcn_status st = node_parse(&copy.L, n, ar);
    n->n_in = n_in;
    for (int j = 0; j < n_in; j++)
        n->in[j] = j;
    n->out = n_in;
    return st;
}

void t_act_node(act_param a, node *n, arena *ar)
{
    tlayer t;
    tl_init(&t, op_name(act_op(a.kind)));
    if (a.kind == ACT_LEAKY) {
        tl_float(&t, "alpha", a.a);
    } else if (a.kind == ACT_CLIP) {
        tl_float(&t, "min", a.a);
        tl_float(&t, "max", a.b);
    } else if (a.kind == ACT_HSIGMOID) {
        tl_float(&t, "alpha", a.a);
        tl_float(&t, "beta", a.b);
    } else if (a.kind == ACT_MUL) {
        tl_float(&t, "value", a.a);
    }
    fcn_status st = t_node(&t, 1, n, ar);
    CHECK(st == FCN_OK, "activation %s: parse: %s", act_name(a.kind),
          fcn_last_error());
}

typedef struct fwd_ctx {
    const node *n;
    const op_run *r;
} fwd_ctx;

static void fwd_team(void *ctx, par *p)
{
    const fwd_ctx *c = ctx;
    op_get(c->n->op)->forward(c->n, c->r, p);
}

void t_forward(const node *n, const view *in, const view *out,
               const op_plan *plan, float *ws, int threads)
{
    op_run r = {in, out, plan, ws};
    fwd_ctx c = {n, &r};
    par_run(threads, fwd_team, &c);
}

void t_check_full(const node *n, float *const *ins, const shape *is,
                  int n_in, shape os, t_ref_fn *ref, void *ctx,
                  const char *desc)
{
    const int64_t on = (int64_t)os.c * os.h * os.w;
    view in[OP_MAX_INPUTS];
    for (int j = 0; j < n_in; j++)
        in[j] = view_full(ins[j], is[j]);
    float *out[2] = {buf_new(on), buf_new(on)};
    for (int r = 0; r < 2; r++) {
        view o = view_full(out[r], os);
        t_forward(n, in, &o, NULL, NULL, r ? 3 : 1);
    }
    int64_t worst = -1;
    double we = 0, wref = 0;
    for (int64_t i = 0; i < on; i++) {
        double tol, e;
        double want = ref(ctx, (int)(i / ((int64_t)os.h * os.w)),
                          (int)(i / os.w % os.h), (int)(i % os.w), &tol);
        e = fabs((double)out[0][i] - want);
        if (isinf(want) && out[0][i] == want)
            e = 0;
        if (!(e <= tol) && (worst < 0 || !(e <= we))) {
            worst = i;
            we = isnan(e) ? INFINITY : e;
            wref = want;
        }
    }
    CHECK(worst < 0, "%s: worst at element %lld: got %.9g, ref %.9g", desc,
          (long long)worst, worst >= 0 ? out[0][worst] : 0.0, wref);
    CHECK(canary_ok(out[0], on) && canary_ok(out[1], on),
          "%s: wrote past the output", desc);
    CHECK(!memcmp(out[0], out[1], sizeof(float) * on),
          "%s: 1 and 3 threads differ", desc);
    buf_free(out[0]);
    buf_free(out[1]);
}

int t_infer(const node *n, const shape *in, int n_in, shape *out)
{
    const shape *p[OP_MAX_INPUTS];
    char msg[200];
    for (int j = 0; j < n_in; j++)
        p[j] = &in[j];
    return op_get(n->op)->infer(n, p, out, msg, sizeof msg);
}

/* ---- models in memory ---- */

typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

struct tmodel {
    bytes meta, layers, data;
    uint32_t n_layers;
};

static void put(bytes *b, const void *src, size_t n)
{
    if (!n)
        return;
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            exit(2);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_u32(bytes *b, uint32_t v)
{
    unsigned char c[4] = {v & 255, v >> 8 & 255, v >> 16 & 255, v >> 24};
    put(b, c, 4);
}

static void put_u64(bytes *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_str(bytes *b, const char *s)
{
    put_u32(b, (uint32_t)strlen(s));
    put(b, s, strlen(s));
}

static void put_attrs(bytes *b, const layer_attrs *a)
{
    put_u32(b, a->n);
    for (uint32_t i = 0; i < a->n; i++) {
        const layer_attr *x = &a->a[i];
        put_str(b, x->key);
        put(b, &x->type, 1);
        if (x->type == 's') {
            put_str(b, x->sv);
            continue;
        }
        put_u32(b, x->n);
        for (uint32_t j = 0; j < x->n; j++) {
            if (x->type == 'i') {
                put_u64(b, (uint64_t)x->iv[j]);
            } else {
                uint32_t u;
                memcpy(&u, &x->fv[j], 4);
                put_u32(b, u);
            }
        }
    }
}

tmodel *tm_new(int c, int h, int w)
{
    tmodel *m = calloc(1, sizeof *m);
    if (!m)
        exit(2);
    tlayer t;
    tl_init(&t, "");
    int s[3] = {c, h, w};
    tl_ints(&t, "input_shape", 3, s);
    put_attrs(&m->meta, &t.L.attrs);
    put_u32(&m->meta, 0);  /* no labels */
    return m;
}

void tm_layer(tmodel *m, const char *op, const char *name,
              const char *inputs, const char *output, const tlayer *t)
{
    bytes *b = &m->layers;
    put_str(b, op);
    put_str(b, name);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", inputs);
    uint32_t n = 1;
    for (const char *q = inputs; *q; q++)
        n += *q == ',';
    put_u32(b, n);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save))
        put_str(b, tok);
    put_str(b, output);
    put_attrs(b, &t->L.attrs);
    put_u32(b, t->L.n_w);
    for (uint32_t i = 0; i < t->L.n_w; i++) {
        const layer_weight *w = &t->w[i];
        static const unsigned char zero[64];
        put(&m->data, zero, (64 - m->data.n % 64) % 64);
        put_str(b, w->name);
        put_u32(b, 0);
        put_u32(b, (uint32_t)w->ndim);
        for (int d = 0; d < w->ndim; d++)
            put_u64(b, (uint64_t)w->dims[d]);
        put_u64(b, m->data.n);
        put(&m->data, w->data, sizeof(float) * (size_t)w->count);
    }
    m->n_layers++;
}

unsigned char *tm_finish(tmodel *m, size_t *size)
{
    bytes g = {0}, f = {0};
    put(&g, m->meta.p, m->meta.n);
    put_u32(&g, m->n_layers);
    put(&g, m->layers.p, m->layers.n);
    const uint64_t goff = 64, doff = (goff + g.n + 63) / 64 * 64;
    const uint64_t total = doff + m->data.n;
    put(&f, "FCNMODEL", 8);
    put_u32(&f, 1);
    put_u32(&f, 64);
    put_u64(&f, total);
    put_u64(&f, goff);
    put_u64(&f, g.n);
    put_u64(&f, doff);
    put_u64(&f, m->data.n);
    put_u64(&f, 0);
    put(&f, g.p, g.n);
    static const unsigned char zero[64];
    put(&f, zero, doff - f.n);
    if (m->data.n)
        put(&f, m->data.p, m->data.n);
    free(g.p);
    free(m->meta.p);
    free(m->layers.p);
    free(m->data.p);
    free(m);
    *size = f.n;
    return f.p;
}

fcn_model *tm_load(tmodel *m, const fcn_options *opt)
{
    size_t n;
    unsigned char *b = tm_finish(m, &n);
    fcn_model *model = NULL;
    fcn_status st = fcn_model_load_memory(b, n, opt, &model);
    free(b);
    CHECK(st == FCN_OK, "test model: load: %s", fcn_last_error());
    return st ? NULL : model;
}

float *t_run_model(const fcn_model *m, const float *in, int H, int W,
                   int *classes, int *out_h, int *out_w)
{
    float *first = NULL;
    for (int k = 0; k < 2; k++) {
        fcn_session_options so = {.threads = k ? 3 : 1,
                                  .mem_limit = 0, .tile = 0};
        fcn_session *s = NULL;
        fcn_scores sc;
        fcn_status st = fcn_session_create(m, H, W, &so, &s);
        if (!st)
            st = fcn_session_run(s, in, &sc);
        CHECK(st == FCN_OK, "test model %dx%d: %s", W, H, fcn_last_error());
        if (st) {
            fcn_session_free(s);
            free(first);
            return NULL;
        }
        size_t n = (size_t)sc.classes * sc.out_h * sc.out_w;
        if (!k) {
            first = malloc(n * sizeof(float) + 1);
            memcpy(first, sc.data, n * sizeof(float));
            *classes = sc.classes;
            *out_h = sc.out_h;
            *out_w = sc.out_w;
        } else {
            CHECK(!memcmp(first, sc.data, n * sizeof(float)),
                  "test model %dx%d: 1 and 3 threads differ", W, H);
        }
        fcn_session_free(s);
    }
    return first;
}
