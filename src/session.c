/*
** session.c: the plan for one input size (shapes, one arena laid out by
** tensor liveness, the conv workspace) and the run loop.
*/
#include <omp.h>
#include <string.h>

#include "internal.h"

struct fcn_session {
    const fcn_model *m;
    int h, w, threads;
    shape *shapes;        /* per tensor */
    size_t *offset;       /* per tensor, in floats, into mem */
    conv_plan *conv;      /* per node (conv nodes only) */
    double *seconds;      /* per node, last run */
    float *mem;           /* arena: activations, then workspace */
    size_t arena_floats, ws_floats;
};

void fcn_session_free(fcn_session *s)
{
    if (!s)
        return;
    fcn_free(s->shapes);
    fcn_free(s->offset);
    fcn_free(s->conv);
    fcn_free(s->seconds);
    fcn_free(s->mem);
    fcn_free(s);
}

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* First-fit placement of each tensor in the arena, freeing a tensor after
** its last reader. The output tensor lives to the end. */
static fcn_status layout(fcn_session *s)
{
    const fcn_model *m = s->m;
    int nt = m->n_tensors;
    int *last = fcn_malloc(sizeof(int) * nt), *live = fcn_malloc(sizeof(int) * nt);
    if (!last || !live) {
        fcn_free(last);
        fcn_free(live);
        return fcn_error(FCN_ERR_NOMEM, "out of memory planning the session");
    }
    for (int t = 0; t < nt; t++)
        last[t] = t - 1;  /* never read: dies after its producer */
    for (int i = 0; i < m->n_nodes; i++)
        for (int j = 0; j < m->nodes[i].n_in; j++)
            if (last[m->nodes[i].in[j]] < i)
                last[m->nodes[i].in[j]] = i;
    last[m->out_tensor] = m->n_nodes;
    int n_live = 0;
    size_t top = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        int t = m->nodes[i].out;
        size_t need = round16((size_t)s->shapes[t].c * s->shapes[t].h *
                              s->shapes[t].w);
        /* candidate offsets: 0 and the end of each live tensor */
        size_t best = (size_t)-1;
        for (int k = -1; k < n_live; k++) {
            size_t o = 0;
            if (k >= 0) {
                int u = live[k];
                o = s->offset[u] + round16((size_t)s->shapes[u].c *
                                           s->shapes[u].h * s->shapes[u].w);
            }
            int ok = 1;
            for (int q = 0; q < n_live && ok; q++) {
                int u = live[q];
                size_t a = s->offset[u],
                       b = a + round16((size_t)s->shapes[u].c *
                                       s->shapes[u].h * s->shapes[u].w);
                ok = o + need <= a || o >= b;
            }
            if (ok && o < best)
                best = o;
        }
        s->offset[t] = best;
        if (best + need > top)
            top = best + need;
        live[n_live++] = t;
        /* drop tensors whose last reader is node i */
        int k = 0;
        for (int q = 0; q < n_live; q++)
            if (last[live[q]] > i)
                live[k++] = live[q];
        n_live = k;
    }
    s->arena_floats = top;
    fcn_free(last);
    fcn_free(live);
    return FCN_OK;
}

fcn_status fcn_session_create(const fcn_model *m, int height, int width,
                              int threads, fcn_session **out)
{
    if (!out)
        return fcn_error(FCN_ERR_ARG, "fcn_session_create: out is NULL");
    *out = NULL;
    if (!m)
        return fcn_error(FCN_ERR_ARG, "fcn_session_create: model is NULL");
    if (threads <= 0)
        threads = omp_get_max_threads();
    if (threads > 1024)
        return fcn_error(FCN_ERR_ARG, "%d threads is absurd", threads);
    fcn_session *s = fcn_calloc(1, sizeof *s);
    if (!s)
        return fcn_error(FCN_ERR_NOMEM, "out of memory");
    s->m = m;
    s->h = height;
    s->w = width;
    s->threads = threads;
    s->shapes = fcn_malloc(sizeof(shape) * m->n_tensors);
    s->offset = fcn_calloc(m->n_tensors, sizeof(size_t));
    s->conv = fcn_calloc(m->n_nodes, sizeof(conv_plan));
    s->seconds = fcn_calloc(m->n_nodes, sizeof(double));
    fcn_status st;
    if (!s->shapes || !s->offset || !s->conv || !s->seconds) {
        st = fcn_error(FCN_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = graph_infer(m, height, width, s->shapes)))
        goto fail;
    for (int i = 0; i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        if (n->op != OP_CONV)
            continue;
        shape is = s->shapes[n->in[0]];
        conv_plan_make(n, is.h, is.w, threads, &s->conv[i]);
        if (s->conv[i].ws_floats > s->ws_floats)
            s->ws_floats = s->conv[i].ws_floats;
    }
    if ((st = layout(s)))
        goto fail;
    size_t total = s->arena_floats + round16(s->ws_floats);
    if (total > ((size_t)1 << 36)) {
        st = fcn_error(FCN_ERR_NOMEM, "input %dx%d needs %.1f GB of "
                       "activations; too large", width, height,
                       total * 4.0 / 1e9);
        goto fail;
    }
    s->mem = fcn_aligned_alloc(total * sizeof(float));
    if (!s->mem) {
        st = fcn_error(FCN_ERR_NOMEM, "input %dx%d: cannot allocate %.1f MB "
                       "for activations and workspace", width, height,
                       total * 4.0 / 1e6);
        goto fail;
    }
    *out = s;
    return FCN_OK;
fail:
    fcn_session_free(s);
    return st;
}

void fcn_session_shape(const fcn_session *s, fcn_scores *sc)
{
    shape o = s->shapes[s->m->out_tensor];
    sc->data = s->mem + s->offset[s->m->out_tensor];
    sc->classes = o.c;
    sc->out_h = o.h;
    sc->out_w = o.w;
    sc->geom = s->m->geom;
}

size_t fcn_session_arena_bytes(const fcn_session *s)
{
    return (s->arena_floats + round16(s->ws_floats)) * sizeof(float);
}

fcn_status fcn_session_run(fcn_session *s, const float *input, fcn_scores *out)
{
    if (!s || !input)
        return fcn_error(FCN_ERR_ARG, "fcn_session_run: NULL argument");
    const fcn_model *m = s->m;
    const int T = s->threads;
    float *ws = s->mem + s->arena_floats;
    /* OpenMP OpenBLAS sizes its own team from this ICV when it is called
    ** outside an active parallel region: keep it at ours. */
    int saved = omp_get_max_threads();
    omp_set_num_threads(T);
    for (int i = 0; i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        const float *in[FCN_MAX_INPUTS];
        for (int j = 0; j < n->n_in; j++)
            in[j] = n->in[j] == 0 ? input : s->mem + s->offset[n->in[j]];
        shape is = s->shapes[n->in[0]], os = s->shapes[n->out];
        float *y = s->mem + s->offset[n->out];
        double t0 = omp_get_wtime();
        int64_t count = (int64_t)os.c * os.h * os.w;
        switch (n->op) {
        case OP_CONV:
            conv_forward(n, &s->conv[i], in[0], y, ws, T);
            break;
        case OP_MAXPOOL:
        case OP_AVGPOOL:
            pool_forward(n, n->op == OP_MAXPOOL, is, os, in[0], y, T);
            break;
        case OP_ACT:
            memcpy(y, in[0], sizeof(float) * count);
            act_apply(&n->act, y, count);
            break;
        case OP_BN:
            bn_forward(n, is, in[0], y, T);
            break;
        case OP_LRN:
            lrn_forward(n, is, in[0], y, T);
            break;
        case OP_ADD:
            add_forward(in, n->n_in, count, y, T);
            break;
        case OP_CONCAT: {
            float *p = y;
            for (int j = 0; j < n->n_in; j++) {
                shape sj = s->shapes[n->in[j]];
                size_t c = (size_t)sj.c * sj.h * sj.w;
                memcpy(p, in[j], sizeof(float) * c);
                p += c;
            }
            break;
        }
        case OP_PAD:
            pad_forward(n, is, os, in[0], y, T);
            break;
        case OP_SOFTMAX:
            softmax_forward(os, in[0], y, T);
            break;
        case OP_DENSE:
        case OP_FLATTEN:
        case OP_GAP:
        case OP_GMP:
        case OP_IDENTITY:
            break;  /* converted away at load */
        }
        s->seconds[i] = omp_get_wtime() - t0;
    }
    omp_set_num_threads(saved);
    if (out)
        fcn_session_shape(s, out);
    return FCN_OK;
}

int fcn_session_layers(const fcn_session *s, fcn_layer_stats *out, int max)
{
    const fcn_model *m = s->m;
    for (int i = 0; i < m->n_nodes && out && i < max; i++) {
        const node *n = &m->nodes[i];
        shape is = s->shapes[n->in[0]], os = s->shapes[n->out];
        fcn_layer_stats *l = &out[i];
        memset(l, 0, sizeof *l);
        l->name = n->name;
        l->op = n->opname;
        l->in_c = is.c; l->in_h = is.h; l->in_w = is.w;
        l->out_c = os.c; l->out_h = os.h; l->out_w = os.w;
        l->seconds = s->seconds[i];
        if (n->op == OP_CONV || n->op == OP_MAXPOOL || n->op == OP_AVGPOOL) {
            l->kh = n->kh; l->kw = n->kw;
            l->stride_h = n->sh; l->stride_w = n->sw;
            l->groups = n->op == OP_CONV ? n->groups : 1;
        }
        if (n->op == OP_CONV) {
            const conv_plan *p = &s->conv[i];
            l->gemm_m = n->cout / n->groups;
            l->gemm_n = p->N;
            l->gemm_k = p->K;
            l->flops = 2.0 * n->cout * (double)p->N * p->K;
            l->im2col_bytes = 4.0 * p->ws_floats;
        }
    }
    return m->n_nodes;
}
