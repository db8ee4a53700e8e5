/*
** plan.c: the plan of a session (plan.h): the choice of bands and strips
** that fits the memory limit with the least estimated work, each tensor's
** windows (from plan_window.c), the kernel plans, and the arena layout.
*/
#include <stdio.h>
#include <string.h>

#include "core/planner.h"
#include "util/err.h"

/* A fixed cost per layer call (threads, small GEMMs) in the work
** estimate, so that a choice between equal work takes fewer strips. */
#define CALL_COST 1e6

#define SOFT_ARENA ((size_t)SOFT_MB << 20)
#ifndef SOFT_MB
#define SOFT_MB 32
#endif
#define SOFT_MIN_ROWS 4

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* ---- the tables of the final choice ---- */

/* Index of v in a node's list of window sizes, appended if new; -1 on
** OOM. */
static int size_class(int **list, int *n, int v)
{
    for (int i = 0; i < *n; i++)
        if ((*list)[i] == v)
            return i;
    int *l = mem_realloc(*list, sizeof(int) * (size_t)(*n + 1));
    if (!l)
        return -1;
    l[*n] = v;
    *list = l;
    return (*n)++;
}

/* The tables for tiles_x bands of tiles_y strips. 0 on OOM. */
static int record_alloc(planner *pl)
{
    plan *p = pl->p;
    const size_t nt = (size_t)p->n_tensors, nn = (size_t)p->n_nodes;
    p->cols = mem_calloc((size_t)p->tiles_x * nt, sizeof(plan_col));
    p->band_rows = mem_calloc((size_t)p->tiles_x, sizeof(int));
    pl->masks = mem_calloc((size_t)p->tiles_x * nt, 1);
    p->n_h = mem_calloc(nn, sizeof(int));
    p->n_w = mem_calloc(nn, sizeof(int));
    p->plan_at = mem_calloc(nn, sizeof(size_t));
    p->node_h = mem_calloc(nn, sizeof(int *));
    p->node_w = mem_calloc(nn, sizeof(int *));
    return p->cols && p->band_rows && pl->masks && p->n_h && p->n_w &&
           p->plan_at && p->node_h && p->node_w;
}

/* Band tx's columns into the plan, and its row schedule: an existing one
** for the same needed tensors, or a new one (*fresh: to be filled by this
** band's strips). -1 on OOM. */
static int record_band(planner *pl, int tx, int *fresh)
{
    plan *p = pl->p;
    const int nt = p->n_tensors;
    plan_col *band = p->cols + (size_t)tx * nt;
    char *mask = pl->masks + (size_t)p->n_row_sets * nt;
    for (int t = 0; t < nt; t++) {
        band[t] = (plan_col){pl->cols[t].x0, pl->cols[t].w, 0};
        mask[t] = pl->cols[t].w > 0;
    }
    for (int k = 0; k < p->n_row_sets; k++)
        if (!memcmp(pl->masks + (size_t)k * nt, mask, (size_t)nt)) {
            *fresh = 0;
            return p->band_rows[tx] = k;
        }
    size_t per = (size_t)p->tiles_y * nt;
    plan_row *rows = mem_realloc(p->rows, sizeof(plan_row) * per *
                                          (p->n_row_sets + 1));
    if (!rows)
        return -1;
    p->rows = rows;
    *fresh = 1;
    return p->band_rows[tx] = p->n_row_sets++;
}

/* The windows of strip ty of row schedule `set`, from req and prev. */
static void record_rows(planner *pl, int set, int ty)
{
    plan *p = pl->p;
    plan_row *rows = p->rows + ((size_t)set * p->tiles_y + ty) * p->n_tensors;
    for (int t = 0; t < p->n_tensors; t++) {
        rect r = pl->req[t], q = pl->prev[t];
        int from = q.y0 + q.h;  /* where the previous strip ended */
        rows[t] = (plan_row){r.y0, r.h, from,
                             from > r.y0 && r.y0 > q.y0 ? r.y0 - q.y0 : 0, 0};
    }
}

/* Kernel plans for every window size each node meets, for the session's
** threads. 0 on OOM. */
static int record_plans(planner *pl)
{
    plan *p = pl->p;
    const fcn_model *m = pl->m;
    size_t total = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        p->plan_at[i] = total;
        if (op_get(m->nodes[i].op)->plan)
            total += (size_t)p->n_h[i] * p->n_w[i];
    }
    p->plans = mem_calloc(total, sizeof(op_plan));
    if (!p->plans)
        return 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        if (!op_get(n->op)->plan)
            continue;
        for (int a = 0; a < p->n_h[i]; a++)
            for (int b = 0; b < p->n_w[i]; b++)
                op_get(n->op)->plan(n, p->shapes[n->out], p->node_h[i][a],
                                    p->node_w[i][b], pl->threads,
                                    &p->plans[p->plan_at[i] + a * p->n_w[i] +
                                              b]);
    }
    return 1;
}

/* ---- simulating a tiling ---- */

/* Node i's window in the current strip: its cost (one thread) into the
** estimate, and (record) its size classes. 0 on OOM. */
static int node_window_cost(planner *pl, int i, int tx, int ty, int set,
                            int fresh, char *seen)
{
    plan *p = pl->p;
    const node *n = &pl->m->nodes[i];
    const op_def *d = op_get(n->op);
    const int t = n->out;
    rect r = pl->req[t], q = pl->prev[t];
    int nr = r.y0 + r.h - (q.y0 + q.h);
    if (r.h <= 0 || r.w <= 0 || nr <= 0)
        return 1;
    double cells = (double)nr * r.w * p->shapes[t].c;
    if (d->plan) {
        op_plan op;
        d->plan(n, p->shapes[t], nr, r.w, 1, &op);
        cells = op.work;
        if (!seen[i]) {
            p->stats_ws[i] = op.ws_floats;
            seen[i] = 1;
        }
        if (op.ws_floats > p->ws_floats)
            p->ws_floats = op.ws_floats;
    }
    p->work += cells + CALL_COST;
    if (!pl->record)
        return 1;
    int hc = size_class(&p->node_h[i], &p->n_h[i], nr);
    int wc = size_class(&p->node_w[i], &p->n_w[i], r.w);
    if (hc < 0 || wc < 0)
        return 0;
    if (fresh)
        p->rows[((size_t)set * p->tiles_y + ty) * p->n_tensors + t].hcls = hc;
    p->cols[(size_t)tx * p->n_tensors + t].wcls = wc;
    return 1;
}

/* Whether band `cols` needs a row schedule of its own: its needed tensors
** differ from those of the *n schedules so far (then *n grows). 0 on OOM. */
static int count_row_set(planner *pl, const rect *cols, int *n)
{
    const int nt = pl->m->n_tensors;
    if (*n >= pl->sets_cap) {
        int cap = pl->sets_cap ? 2 * pl->sets_cap : 4;
        char *q = mem_realloc(pl->sets, (size_t)cap * nt);
        if (!q)
            return 0;
        pl->sets = q;
        pl->sets_cap = cap;
    }
    char *mask = pl->sets + (size_t)*n * nt;
    for (int t = 0; t < nt; t++)
        mask[t] = cols[t].w > 0;
    for (int k = 0; k < *n; k++)
        if (!memcmp(pl->sets + (size_t)k * nt, mask, (size_t)nt))
            return 1;
    (*n)++;
    return 1;
}

/* Input rows the strips stream: the input window's (at least one strip,
** even where the cells read no input). */
static int input_rows(const plan *p) { return p->in_h > 0 ? p->in_h : 1; }

/* Run bands of tw score-map columns and strips of `step` input rows
** through the planner: per-tensor buffer rows, which tensors carry rows
** between strips, the workspace (one thread) and the estimated work; with
** record, the plan's tables too. 0 on OOM. */
static int simulate(planner *pl, int step, int tw, char *seen)
{
    plan *p = pl->p;
    const fcn_model *m = pl->m;
    const int nt = m->n_tensors, H = input_rows(p);
    p->step = step;
    p->tile_w = tw;
    p->tiles_y = (H + step - 1) / step;
    p->tiles_x = (p->cw + tw - 1) / tw;
    memset(p->buf_rows, 0, sizeof(int) * nt);
    memset(p->wmax, 0, sizeof(int) * nt);
    memset(p->keep, 0, (size_t)nt);
    memset(seen, 0, (size_t)m->n_nodes);
    p->ws_floats = 0;
    p->work = 0;
    if (pl->record && !record_alloc(pl))
        return 0;
    int n_sets = 0;
    for (int tx = 0; tx < p->tiles_x; tx++) {
        int set = 0, fresh = 0;
        plan_band_cols(pl, tw, tx, pl->cols);
        if (!count_row_set(pl, pl->cols, &n_sets))
            return 0;
        for (int t = 0; t < nt; t++)  /* nothing yet, from the first row */
            pl->prev[t] = (rect){pl->cols[t].y0, 0, 0, 0};
        if (pl->record && (set = record_band(pl, tx, &fresh)) < 0)
            return 0;
        for (int ty = 0; ty < p->tiles_y; ty++) {
            plan_strip_rects(pl, p->in_y0 + (ty + 1) * step, pl->cols,
                             pl->prev, pl->req);
            for (int t = 0; t < nt; t++) {
                rect r = pl->req[t], q = pl->prev[t];
                if (r.h > p->buf_rows[t])
                    p->buf_rows[t] = r.h;
                if (r.w > p->wmax[t])
                    p->wmax[t] = r.w;
                if (r.h > 0 && r.y0 < q.y0 + q.h)
                    p->keep[t] = 1;
            }
            if (fresh)
                record_rows(pl, set, ty);
            for (int i = 0; i < m->n_nodes; i++)
                if (!node_window_cost(pl, i, tx, ty, set, fresh, seen))
                    return 0;
            memcpy(pl->prev, pl->req, sizeof(rect) * nt);
        }
    }
    /* what record_alloc and record_band allocate for this tiling */
    p->table_bytes = (size_t)p->tiles_x * nt * (sizeof(plan_col) + 1) +
                     (size_t)n_sets * p->tiles_y * nt * sizeof(plan_row) +
                     (size_t)p->tiles_x * sizeof(int);
    return 1;
}

/* Lifetimes: tensors that carry rows live through the whole band (-2),
** the others from their producer to their last reader. The input slot
** (images are preprocessed into it) counts as produced first. */
static void lifetimes(const fcn_model *m, plan *p)
{
    const int nt = m->n_tensors;
    for (int t = 0; t < nt; t++) {
        p->first[t] = t - 1;
        p->last[t] = t - 1;
    }
    for (int i = 0; i < m->n_nodes; i++)
        for (int j = 0; j < m->nodes[i].n_in; j++)
            if (p->last[m->nodes[i].in[j]] < i)
                p->last[m->nodes[i].in[j]] = i;
    p->last[m->out_tensor] = m->n_nodes;
    for (int t = 0; t < nt; t++)
        if (p->keep[t] || t == m->out_tensor) {
            p->first[t] = -2;
            p->last[t] = m->n_nodes;
        }
}

/* Arena offsets by first fit, long-lived tensors first, then in order of
** birth. Returns the bytes of arena + one thread's workspace, 0 on OOM. */
static size_t layout(const fcn_model *m, plan *p)
{
    const int nt = m->n_tensors;
    for (int t = 0; t < nt; t++)
        p->cap[t] = round16((size_t)p->shapes[t].c * p->buf_rows[t] *
                            p->wmax[t]);
    lifetimes(m, p);
    int *order = mem_alloc(sizeof(int) * nt), *live = mem_alloc(sizeof(int) * nt);
    if (!order || !live) {
        mem_free(order);
        mem_free(live);
        return 0;
    }
    int k = 0;
    for (int t = 0; t < nt; t++)
        if (p->first[t] == -2)
            order[k++] = t;
    for (int t = 0; t < nt; t++)
        if (p->first[t] != -2)
            order[k++] = t;
    size_t top = 0;
    for (int a = 0; a < nt; a++) {
        int t = order[a], n_live = 0;
        for (int b = 0; b < a; b++) {  /* placed tensors whose life overlaps */
            int u = order[b];
            if (p->first[u] <= p->last[t] && p->first[t] <= p->last[u])
                live[n_live++] = u;
        }
        size_t need = p->cap[t], best = (size_t)-1;
        for (int c = -1; c < n_live; c++) {
            size_t o = c < 0 ? 0 : p->offset[live[c]] + p->cap[live[c]];
            int ok = 1;
            for (int q = 0; q < n_live && ok; q++) {
                size_t lo = p->offset[live[q]], hi = lo + p->cap[live[q]];
                ok = o + need <= lo || o >= hi;
            }
            if (ok && o < best)
                best = o;
        }
        p->offset[t] = best;
        if (best + need > top)
            top = best + need;
    }
    mem_free(order);
    mem_free(live);
    p->arena_floats = top;
    return (top + round16(p->ws_floats)) * sizeof(float);
}

/* Simulate and lay out a tiling; returns what the memory limit counts
** of it (plan_budget_bytes), 0 on OOM. */
static size_t plan_tiles(planner *pl, int step, int tw, char *seen)
{
    if (!simulate(pl, step, tw, seen) || !layout(pl->m, pl->p)) {
        pl->oom = 1;  /* not "does not fit": the search must not go on */
        return 0;
    }
    return plan_budget_bytes(pl->p);
}

/* ---- the choice ---- */

/* Input rows per strip of th score-map rows. */
static int strip_step(const plan *p, int th)
{
    const int H = input_rows(p);
    return (int64_t)th * p->ystride < H ? th * p->ystride : H;
}

/* Strips for bands of tw cells that fit `limit`: the tallest (th score-map
** rows, th * row stride input rows) or, of the few just below it, the one
** with the least estimated work (Winograd's 4x4 blocks align better on
** some heights). Returns th, 0 if none fits; leaves its plan in p. */
static int fit_strips(planner *pl, int tw, size_t limit, char *seen)
{
    plan *p = pl->p;
    const int H = input_rows(p);
    int top = (H + p->ystride - 1) / p->ystride;
    size_t b = plan_tiles(pl, H, tw, seen);
    if (b && b <= limit)
        return top;
    int lo = 0, hi = top - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        b = plan_tiles(pl, strip_step(p, mid), tw, seen);
        if (b && b <= limit)
            lo = mid;
        else
            hi = mid - 1;
    }
    if (lo <= 0)
        return 0;
    int best = lo;
    double best_work = 0;
    for (int th = lo; th >= 1 && th > lo - 4; th--) {
        b = plan_tiles(pl, strip_step(p, th), tw, seen);
        if (b && b <= limit && (th == lo || p->work < best_work * 0.999)) {
            best = th;
            best_work = p->work;
        }
    }
    plan_tiles(pl, strip_step(p, best), tw, seen);
    return best;
}

/* The band width (k bands) and strip height that fit the limit with the
** least work: strips cost nothing extra, bands recompute their column
** halo. Planned with one thread's workspace, so that the choice (and the
** result) does not depend on the thread count. 0 if nothing fits. */
static int choose_tiling(planner *pl, size_t limit, char *seen, int *tw_out)
{
    /* Where one band of strips fits a working set near the caches, take
    ** it: strips add no work, and the activations stay cached */
    const size_t soft = SOFT_ARENA + pl->p->score_bytes;
    if (limit > soft) {
        const int th = fit_strips(pl, pl->p->cw, soft, seen);
        if (th >= SOFT_MIN_ROWS || (th > 0 && pl->p->tiles_y == 1)) {
            *tw_out = pl->p->cw;
            return th;
        }
        if (pl->oom)
            return 0;
    }
    static const int bands[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64};
    const int ow = pl->p->cw;
    int best_tw = 0, best_th = 0, last_tw = 0;
    double best_work = 0;
    for (size_t k = 0; k < sizeof bands / sizeof bands[0]; k++) {
        int tw = (ow + bands[k] - 1) / bands[k];
        if (tw == last_tw)
            continue;
        last_tw = tw;
        int th = fit_strips(pl, tw, limit, seen);
        if (th > 0 && (!best_tw || pl->p->work < best_work * 0.999)) {
            best_tw = tw;
            best_th = th;
            best_work = pl->p->work;
        }
        if (th > 0 && pl->p->tiles_y == 1)
            break;  /* narrower bands only add halo work */
    }
    *tw_out = best_tw;
    return best_th;
}

static int plan_alloc(plan *p, int nt, int nn)
{
    p->n_tensors = nt;
    p->n_nodes = nn;
    p->shapes = mem_alloc(sizeof(shape) * nt);
    p->buf_rows = mem_calloc(nt, sizeof(int));
    p->wmax = mem_calloc(nt, sizeof(int));
    p->keep = mem_calloc(nt, 1);
    p->cap = mem_calloc(nt, sizeof(size_t));
    p->offset = mem_calloc(nt, sizeof(size_t));
    p->first = mem_calloc(nt, sizeof(int));
    p->last = mem_calloc(nt, sizeof(int));
    p->stats_ws = mem_calloc(nn, sizeof(size_t));
    p->block = mem_calloc(nn, sizeof(int));
    return p->shapes && p->buf_rows && p->wmax && p->keep && p->cap &&
           p->offset && p->first && p->last && p->stats_ws && p->block;
}

void plan_free(plan *p)
{
    for (int i = 0; i < p->n_nodes && p->node_h; i++)
        mem_free(p->node_h[i]);
    for (int i = 0; i < p->n_nodes && p->node_w; i++)
        mem_free(p->node_w[i]);
    void *arrays[] = {p->shapes, p->cols, p->band_rows, p->rows, p->n_h,
                      p->n_w, p->plan_at, p->node_h, p->node_w, p->plans,
                      p->stats_ws, p->buf_rows, p->wmax, p->keep, p->cap,
                      p->offset, p->first, p->last, p->block};
    for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; k++)
        mem_free(arrays[k]);
    memset(p, 0, sizeof *p);
}

size_t plan_arena_bytes(const plan *p, int threads)
{
    return (p->arena_floats + round16(p->ws_floats) +
            (size_t)(threads - 1) * p->ws_floats) * sizeof(float);
}

size_t plan_budget_bytes(const plan *p)
{
    return plan_arena_bytes(p, 1) + p->score_bytes + p->table_bytes;
}

/* n bytes as "512 MiB", "5.96 TiB" (three significant digits). */
static const char *bytes_str(double n, char *buf, size_t size)
{
    static const char *unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB",
                                 "EiB"};
    int u = 0;
    while (n >= 1024 && u < 6) {
        n /= 1024;
        u++;
    }
    snprintf(buf, size, "%.3g %s", n, unit[u]);
    return buf;
}

/* The tiling, then the final pass that records it. */
static fcn_status plan_tiling(planner *pl, int width, int height,
                              size_t limit, int tile, char *seen)
{
    plan *p = pl->p;
    int th = tile, tw = tile < p->cw ? tile : p->cw;
    char lim[32], sc[32];
    if (!tile && !(th = choose_tiling(pl, limit, seen, &tw)) && !pl->oom)
        return err_set(FCN_ERR_NOMEM, "memory limit of %s is too small for a "
                       "%dx%d input: beside its score map (%s), even a strip "
                       "of one score-map cell does not fit (raise it with "
                       "--mem-limit)", bytes_str((double)limit, lim,
                       sizeof lim), width, height,
                       bytes_str((double)p->score_bytes, sc, sizeof sc));
    if (pl->oom)
        return err_set(FCN_ERR_NOMEM, "out of memory planning the session");
    p->tile_h = th;
    pl->record = 1;
    if (!plan_tiles(pl, strip_step(p, th), tw, seen) || !record_plans(pl))
        return err_set(FCN_ERR_NOMEM, "out of memory planning the session");
    return FCN_OK;
}

/* The cells to plan (NULL: the whole map), checked against the map, and
** every node's block. */
static fcn_status plan_cells(planner *pl, const fcn_region *cells)
{
    plan *p = pl->p;
    const fcn_model *m = pl->m;
    const shape os = p->shapes[m->out_tensor];
    for (int i = 0; i < m->n_nodes; i++) {
        const op_def *d = op_get(m->nodes[i].op);
        p->block[i] = d->block ? d->block(&m->nodes[i],
                                          p->shapes[m->nodes[i].out]) : 1;
    }
    fcn_region c = cells ? *cells : (fcn_region){0, 0, os.h, os.w};
    if (c.height < 1 || c.width < 1)
        return err_set(FCN_ERR_ARG, "region of %dx%d cells (HxW) at row %d, "
                       "column %d is empty", c.height, c.width, c.row, c.col);
    if (c.row < 0 || c.col < 0 || (int64_t)c.row + c.height > os.h ||
        (int64_t)c.col + c.width > os.w)
        return err_set(FCN_ERR_ARG, "region rows %d..%lld, columns %d..%lld "
                       "lies outside the %dx%d score map (HxW)", c.row,
                       (long long)c.row + c.height - 1, c.col,
                       (long long)c.col + c.width - 1, os.h, os.w);
    p->cy0 = c.row;
    p->cx0 = c.col;
    p->ch = c.height;
    p->cw = c.width;
    /* the input window: the whole input, or what the region needs */
    rect in = {0, 0, p->shapes[0].h, p->shapes[0].w};
    if (cells) {
        plan_need(pl, (rect){c.row, c.col, c.height, c.width}, pl->req);
        in = pl->req[0];
    }
    p->in_y0 = in.h > 0 && in.w > 0 ? in.y0 : 0;
    p->in_x0 = in.h > 0 && in.w > 0 ? in.x0 : 0;
    p->in_h = in.h > 0 && in.w > 0 ? in.h : 0;
    p->in_w = in.h > 0 && in.w > 0 ? in.w : 0;
    return FCN_OK;
}

fcn_status plan_make(const fcn_model *m, int height, int width, int threads,
                     size_t limit, int tile, const fcn_region *cells,
                     plan *p)
{
    const int nt = m->n_tensors;
    memset(p, 0, sizeof *p);
    planner pl = {m, p, threads, mem_alloc(sizeof(rect) * nt),
                  mem_alloc(sizeof(rect) * nt), mem_alloc(sizeof(rect) * nt),
                  0, NULL, NULL, 0, 0};
    char *seen = mem_alloc((size_t)m->n_nodes);
    fcn_status st;
    if (!pl.cols || !pl.req || !pl.prev || !seen ||
        !plan_alloc(p, nt, m->n_nodes)) {
        st = err_set(FCN_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = graph_infer_size(m, height, width, p->shapes)) ||
        (st = plan_cells(&pl, cells)))
        goto done;
    /* The score map is counted in the limit, and refused here, before
    ** any tiling is simulated, when it alone exceeds it: the time to
    ** refuse does not grow with the map. c, h, w <= MEM_MAX_DIM: the
    ** product fits in 64 bits. */
    const shape os = {p->shapes[m->out_tensor].c, p->ch, p->cw};
    const int64_t score_floats = (int64_t)os.c * os.h * os.w;
    const double score_bytes = (double)score_floats * sizeof(float);
    if (score_floats > ((int64_t)1 << 34) || score_bytes > (double)limit) {
        char sc[32], lim[32];
        if (score_floats > ((int64_t)1 << 34))
            st = err_set(FCN_ERR_NOMEM, "input %dx%d: score map %dx%dx%d "
                         "(%s) exceeds the limit of 2^34 floats", width,
                         height, os.c, os.h, os.w,
                         bytes_str(score_bytes, sc, sizeof sc));
        else
            st = err_set(FCN_ERR_NOMEM, "input %dx%d: score map %dx%dx%d "
                         "(%s) exceeds the memory limit of %s (raise it with "
                         "--mem-limit)", width, height, os.c, os.h, os.w,
                         bytes_str(score_bytes, sc, sizeof sc),
                         bytes_str((double)limit, lim, sizeof lim));
        goto done;
    }
    p->score_bytes = (size_t)score_bytes;
    /* input rows per score-map row: the score map's row stride */
    p->ystride = m->geom.stride_h < 1 ? 1
                 : m->geom.stride_h > input_rows(p) ? input_rows(p)
                 : m->geom.stride_h;
    st = plan_tiling(&pl, width, height, limit, tile, seen);
done:
    mem_free(pl.cols);
    mem_free(pl.req);
    mem_free(pl.prev);
    mem_free(pl.masks);
    mem_free(pl.sets);
    mem_free(seen);
    if (st)
        plan_free(p);
    return st;
}
