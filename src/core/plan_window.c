/*
** plan_window.c: the windows of a plan (planner.h): the input range each
** node needs for an output range, the columns of a band, and the rows of a
** strip, with what later strips still read.
*/
#include <string.h>

#include "core/planner.h"

/* Input range one axis of a node needs for output range [o0, o1), clipped
** to the input map [0, in): that of the whole blocks of bl outputs (on the
** map's grid) the range meets. */
static void need_axis(int o0, int o1, int k, int s, int d, int p, int bl,
                      int in, int *i0, int *i1)
{
    /* o, s, k, d, p within MEM_MAX_DIM: 64 bits hold these; both ends
    ** are clipped to the map before they become ints again */
    const int64_t b0 = (int64_t)o0 / bl * bl,
                  b1 = ((int64_t)o1 + bl - 1) / bl * bl;
    int64_t a = b0 * s - p, b = (b1 - 1) * s - p + (int64_t)(k - 1) * d + 1;
    *i0 = (int)(a < 0 ? 0 : a > in ? in : a);
    *i1 = (int)(b < 0 ? 0 : b > in ? in : b);
}

static rect rect_union(rect a, rect b)
{
    if (a.h <= 0 || a.w <= 0)
        return b;
    if (b.h <= 0 || b.w <= 0)
        return a;
    int y1 = a.y0 + a.h > b.y0 + b.h ? a.y0 + a.h : b.y0 + b.h;
    int x1 = a.x0 + a.w > b.x0 + b.w ? a.x0 + a.w : b.x0 + b.w;
    rect r;
    r.y0 = a.y0 < b.y0 ? a.y0 : b.y0;
    r.x0 = a.x0 < b.x0 ? a.x0 : b.x0;
    r.h = y1 - r.y0;
    r.w = x1 - r.x0;
    return r;
}

/* Window of every tensor that output window `o` needs (full receptive
** field, the union where a tensor feeds several layers; w == 0: not
** needed): the columns of a band. */
static void need_rects(const planner *pl, rect o, rect *req)
{
    const fcn_model *m = pl->m;
    const shape *shapes = pl->p->shapes;
    memset(req, 0, sizeof(rect) * m->n_tensors);
    req[m->out_tensor] = o;
    for (int i = m->n_nodes - 1; i >= 0; i--) {
        const node *n = &m->nodes[i];
        rect r = req[n->out];
        if (r.h <= 0 || r.w <= 0)
            continue;  /* nothing downstream needs it */
        for (int j = 0; j < n->n_in; j++) {
            shape is = shapes[n->in[j]];
            int y0, y1, x0, x1, k, st, d, p;
            const int bl = pl->p->block[i];
            op_window(n, 0, &k, &st, &d, &p);
            need_axis(r.y0, r.y0 + r.h, k, st, d, p, bl, is.h, &y0, &y1);
            op_window(n, 1, &k, &st, &d, &p);
            need_axis(r.x0, r.x0 + r.w, k, st, d, p, bl, is.w, &x0, &x1);
            rect q = {y0, x0, y1 - y0, x1 - x0};
            if (q.h > 0 && q.w > 0)
                req[n->in[j]] = rect_union(req[n->in[j]], q);
        }
    }
}

/* Window of each tensor in band tx of tw score-map columns of the cells
** planned (w == 0: not needed in this band). */
void plan_band_cols(const planner *pl, int tw, int tx, rect *cols)
{
    const plan *p = pl->p;
    const int x0 = p->cx0 + tx * tw, end = p->cx0 + p->cw;
    need_rects(pl, (rect){p->cy0, x0, p->ch, end - x0 < tw ? end - x0 : tw},
               cols);
}

void plan_need(const planner *pl, rect cells, rect *req)
{
    need_rects(pl, cells, req);
}

static int64_t floordiv(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Output rows [0, end) of node n (blocks of bl rows) that rows [0, avail)
** of an input of in_h rows allow (out_h rows in all): rows whose whole
** block they allow. */
static int rows_computable(const node *n, int bl, int avail, int in_h,
                           int out_h)
{
    if (avail >= in_h)
        return out_h;
    int k, st, d, p;
    op_window(n, 0, &k, &st, &d, &p);
    int64_t o = floordiv((int64_t)avail + p - (int64_t)(k - 1) * d - 1, st) + 1;
    o = o < 0 ? 0 : o > out_h ? out_h : o;
    return (int)(o < out_h ? o / bl * bl : o);
}

/* First input row (of in_h) that output row o of node n (in its block of
** bl rows) reads. */
static int first_row_read(const node *n, int bl, int o, int in_h)
{
    int k, st, d, p;
    op_window(n, 0, &k, &st, &d, &p);
    int64_t a = (int64_t)o / bl * bl * st - p;
    return (int)(a < 0 ? 0 : a > in_h ? in_h : a);
}

/* Windows of every tensor for the strip that brings the input to row y
** (its rows up to y available), in a band `cols` (each tensor's window
** in the band: rows and columns), after the previous strip's windows
** `prev` (at the start of the band: empty, at the first row of cols). The
** strips are pushed from the input: every layer computes all the rows of
** its window that its inputs allow, and a tensor keeps only the rows that
** its readers still need (from the first row their next output row reads)
** and its new rows. */
void plan_strip_rects(const planner *pl, int y, const rect *cols,
                        const rect *prev, rect *req)
{
    const fcn_model *m = pl->m;
    const shape *sh = pl->p->shapes;
    const int nt = m->n_tensors;
    /* req[t].h holds the end first: rows [0, end) computed after it */
    for (int t = 0; t < nt; t++) {
        int pe = prev[t].y0 + prev[t].h;
        req[t] = (rect){pe, cols[t].x0, pe, cols[t].w};
    }
    const int end0 = cols[0].y0 + cols[0].h;
    if (cols[0].w > 0 && y > req[0].h)
        req[0].h = y < end0 ? y : end0;
    for (int i = 0; i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        const int t = n->out;
        if (cols[t].w <= 0)
            continue;
        int e = cols[t].y0 + cols[t].h;
        for (int j = 0; j < n->n_in; j++) {
            int u = n->in[j], hu = sh[u].h;
            int c = rows_computable(n, pl->p->block[i],
                                    cols[u].w > 0 ? req[u].h : hu, hu,
                                    sh[t].h);
            if (c < e)
                e = c;
        }
        if (e > req[t].h)
            req[t].h = e;
    }
    /* keep what the readers' next rows read */
    for (int i = 0; i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        const int t = n->out;
        int pe = prev[t].y0 + prev[t].h;
        if (cols[t].w <= 0 || pe >= cols[t].y0 + cols[t].h)
            continue;  /* not needed, or done */
        for (int j = 0; j < n->n_in; j++) {
            int u = n->in[j];
            if (cols[u].w <= 0)
                continue;
            int f = first_row_read(n, pl->p->block[i], pe, sh[u].h);
            if (f < req[u].y0)
                req[u].y0 = f;
        }
    }
    for (int t = 0; t < nt; t++) {
        if (cols[t].w <= 0)
            req[t] = (rect){0, 0, 0, 0};
        else
            req[t].h -= req[t].y0;
    }
}

