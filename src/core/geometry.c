/*
** geometry.c: where each score-map cell looks in the input (stride, offset,
** receptive field), and the smallest input that gives a score map.
*/
#include "core/model.h"
#include "util/err.h"

/* The largest accumulated stride, receptive field and |offset| a model may
** have, per axis (docs/model-format.md, "Limits and validation"): they are
** ints in fcn_geometry, and detection multiplies them by cell indices. */
#define GEOM_MAX ((int64_t)1 << 30)

/* Geometry of a tensor along one axis, in input pixels; 64-bit, so that a
** step that leaves [-GEOM_MAX, GEOM_MAX] is seen before it is refused. */
typedef struct axis_geom {
    int64_t stride, offset, rf;
} axis_geom;

/* The union of the windows of a node's inputs, then its own window; FCN_OK
** or a refusal naming the node. Every input's geometry is within GEOM_MAX
** (checked when it was made), and a window's k, s, d, p within MEM_MAX_DIM
** (the ops' parse), so no product below overflows 64 bits; mem_mul64
** checks anyway. */
static fcn_status node_geom(const node *n, const axis_geom *g, int ax,
                            axis_geom *out)
{
    axis_geom a = g[2 * n->in[0] + ax];
    for (int j = 1; j < n->n_in; j++) {
        axis_geom b = g[2 * n->in[j] + ax];
        int64_t end = a.offset + a.rf > b.offset + b.rf ? a.offset + a.rf
                                                        : b.offset + b.rf;
        a.offset = a.offset < b.offset ? a.offset : b.offset;
        a.rf = end - a.offset;
        a.stride = a.stride > b.stride ? a.stride : b.stride;
    }
    int k, s, d, p;
    int64_t span, grow, shift, stride;
    op_window(n, ax, &k, &s, &d, &p);
    const char *axis = ax ? "columns" : "rows";
    if (k < 1 || s < 1 || d < 1 || !mem_mul64(k - 1, d, &span) ||
        !mem_mul64(span, a.stride, &grow) || !mem_mul64(s, a.stride, &stride))
        return err_set(FCN_ERR_UNSUPPORTED, "layer '%s' (%s): window %d, "
                       "stride %d, dilation %d along the %s overflow the "
                       "geometry", n->name, n->label, k, s, d, axis);
    /* p < 0 (never from a file: pads are >= 0) would move the offset up */
    if (!mem_mul64(p < 0 ? -(int64_t)p : p, a.stride, &shift))
        return err_set(FCN_ERR_UNSUPPORTED, "layer '%s' (%s): padding %d "
                       "overflows the geometry", n->name, n->label, p);
    a.rf += grow;
    a.offset += p < 0 ? shift : -shift;
    a.stride = stride;
    if (a.stride > GEOM_MAX || a.rf > GEOM_MAX || a.offset > GEOM_MAX ||
        a.offset < -GEOM_MAX)
        return err_set(FCN_ERR_UNSUPPORTED, "layer '%s' (%s): along the %s "
                       "the accumulated stride %lld, receptive field %lld or "
                       "offset %lld exceeds the limit of 2^30 input pixels",
                       n->name, n->label, axis, (long long)a.stride,
                       (long long)a.rf, (long long)a.offset);
    *out = a;
    return FCN_OK;
}

/* Smallest input along one axis (the other at its trained size). */
static int min_size(const fcn_model *m, shape *shapes, int axis)
{
    int lo = 1, hi = axis ? m->in_w : m->in_h;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        shape in = {m->in_c, axis ? m->in_h : mid, axis ? mid : m->in_w};
        if (graph_infer(m->nodes, m->n_nodes, in, shapes, 0) == FCN_OK)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

fcn_status geom_compute(fcn_model *m, shape *shapes)
{
    axis_geom *g = mem_calloc((size_t)m->n_tensors * 2, sizeof(axis_geom));
    if (!g)
        return err_set(FCN_ERR_NOMEM, "out of memory");
    g[0] = g[1] = (axis_geom){1, 0, 1};
    fcn_status st = FCN_OK;
    for (int i = 0; i < m->n_nodes && !st; i++)
        for (int ax = 0; ax < 2 && !st; ax++)
            st = node_geom(&m->nodes[i], g, ax, &g[2 * m->nodes[i].out + ax]);
    axis_geom h = g[2 * m->out_tensor], w = g[2 * m->out_tensor + 1];
    mem_free(g);
    if (st)
        return st;
    /* within GEOM_MAX = 2^30: they fit fcn_geometry's ints */
    m->geom = (fcn_geometry){(int)h.stride, (int)w.stride, (int)h.offset,
                             (int)w.offset, (int)h.rf, (int)w.rf};
    m->min_h = min_size(m, shapes, 0);
    m->min_w = min_size(m, shapes, 1);
    return FCN_OK;
}
