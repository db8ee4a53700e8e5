/*
** geometry.c: where each score-map cell looks in the input (stride, offset,
** receptive field), and the smallest input that gives a score map.
*/
#include "core/model.h"
#include "util/err.h"

/* Geometry of a tensor along one axis, in input pixels. */
typedef struct axis_geom {
    int stride, offset, rf;
} axis_geom;

/* The union of the windows of a node's inputs, then its own window. */
static axis_geom node_geom(const node *n, const axis_geom *g, int ax)
{
    axis_geom a = g[2 * n->in[0] + ax];
    for (int j = 1; j < n->n_in; j++) {
        axis_geom b = g[2 * n->in[j] + ax];
        int end = a.offset + a.rf > b.offset + b.rf ? a.offset + a.rf
                                                    : b.offset + b.rf;
        a.offset = a.offset < b.offset ? a.offset : b.offset;
        a.rf = end - a.offset;
        a.stride = a.stride > b.stride ? a.stride : b.stride;
    }
    int k, s, d, p;
    op_window(n, ax, &k, &s, &d, &p);
    a.rf += (k - 1) * d * a.stride;
    a.offset -= p * a.stride;
    a.stride *= s;
    return a;
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
    for (int i = 0; i < m->n_nodes; i++)
        for (int ax = 0; ax < 2; ax++)
            g[2 * m->nodes[i].out + ax] = node_geom(&m->nodes[i], g, ax);
    axis_geom h = g[2 * m->out_tensor], w = g[2 * m->out_tensor + 1];
    m->geom = (fcn_geometry){h.stride, w.stride, h.offset, w.offset, h.rf,
                             w.rf};
    mem_free(g);
    m->min_h = min_size(m, shapes, 0);
    m->min_w = min_size(m, shapes, 1);
    return FCN_OK;
}
