/*
** detect.c: score-map cells to boxes in image pixels (the map's geometry and
** the pyramid level's scale), greedy per-class non-maximum suppression, and
** score planes resampled to the image. See include/fcn_detect.h and
** docs/detect.md.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detector.h"
#include "fcn_detect.h"
#include "util/err.h"
#include "util/mem.h"

#define LEVEL_MAX_DIM 65536
#define DEFAULT_MAX_DETECTIONS ((size_t)1 << 23)

fcn_status fcn_level_make(int image_w, int image_h, double scale,
                          fcn_level *lv)
{
    if (!lv)
        return err_set(FCN_ERR_ARG, "fcn_level_make: NULL argument");
    memset(lv, 0, sizeof *lv);
    if (image_w < 1 || image_h < 1)
        return err_set(FCN_ERR_ARG, "image size %dx%d is impossible",
                       image_w, image_h);
    if (!(scale > 0) || !isfinite(scale))
        return err_set(FCN_ERR_ARG, "scale %g is not a positive number",
                       scale);
    double w = floor(image_w * scale + 0.5), h = floor(image_h * scale + 0.5);
    if (w > LEVEL_MAX_DIM || h > LEVEL_MAX_DIM)
        return err_set(FCN_ERR_ARG, "scale %g makes the %dx%d image %.0fx%.0f"
                       ", beyond %d pixels a side", scale, image_w, image_h,
                       w, h, LEVEL_MAX_DIM);
    lv->scale = scale;
    lv->width = w < 1 ? 1 : (int)w;
    lv->height = h < 1 ? 1 : (int)h;
    lv->image_w = image_w;
    lv->image_h = image_h;
    lv->scale_x = (double)lv->width / image_w;
    lv->scale_y = (double)lv->height / image_h;
    return FCN_OK;
}

int fcn_pyramid_scales(double min_scale, double max_scale, double step,
                       double *out, int max_out)
{
    if (!(min_scale > 0) || !(max_scale >= min_scale) || !isfinite(max_scale)
        || !(step > 0 && step < 1))
        return -1;
    double n = floor(log(max_scale / min_scale) / -log(step) + 1e-9) + 1;
    if (n > 1e6)
        return -1;
    int count = (int)n;
    for (int k = 0; k < count && k < max_out; k++)
        out[k] = max_scale * pow(step, k);
    return count;
}

fcn_box fcn_cell_window(const fcn_geometry *g, int i, int j)
{
    fcn_box b = {(double)j * g->stride_w + g->offset_w,
                 (double)i * g->stride_h + g->offset_h, g->rf_w, g->rf_h};
    return b;
}

fcn_box fcn_cell_box(const fcn_geometry *g, int i, int j, const fcn_level *lv)
{
    fcn_box b = fcn_cell_window(g, i, j);
    b.x /= lv->scale_x;
    b.w /= lv->scale_x;
    b.y /= lv->scale_y;
    b.h /= lv->scale_y;
    return b;
}

fcn_box fcn_box_clip(fcn_box b, int w, int h)
{
    double x0 = fmax(b.x, 0), y0 = fmax(b.y, 0);
    double x1 = fmin(b.x + b.w, w), y1 = fmin(b.y + b.h, h);
    fcn_box r = {x0, y0, x1 > x0 ? x1 - x0 : 0, y1 > y0 ? y1 - y0 : 0};
    if (r.w == 0 || r.h == 0)
        r.w = r.h = 0;
    return r;
}

double fcn_box_iou(fcn_box a, fcn_box b)
{
    if (!(a.w > 0 && a.h > 0 && b.w > 0 && b.h > 0))
        return 0;
    double iw = fmin(a.x + a.w, b.x + b.w) - fmax(a.x, b.x);
    double ih = fmin(a.y + a.h, b.y + b.h) - fmax(a.y, b.y);
    if (iw <= 0 || ih <= 0)
        return 0;
    double inter = iw * ih, uni = a.w * a.h + b.w * b.h - inter;
    return uni > 0 ? inter / uni : 0;
}

int fcn_cell_padded(const fcn_geometry *g, int i, int j, int in_h, int in_w)
{
    long long y = (long long)i * g->stride_h + g->offset_h;
    long long x = (long long)j * g->stride_w + g->offset_w;
    return y < 0 || x < 0 || y + g->rf_h > in_h || x + g->rf_w > in_w;
}

/* Padded rows (or columns) of one axis: at the start, at the end, and
** how many are padded on either side. */
static void axis_padding(int stride, int offset, int rf, int out, int in,
                         int *lo, int *hi, long long *any)
{
    *lo = *hi = 0;
    *any = 0;
    for (int i = 0; i < out; i++) {
        long long a = (long long)i * stride + offset;
        int l = a < 0, h = a + rf > in;
        *lo += l;
        *hi += h;
        *any += l || h;
    }
}

void fcn_score_map_padding(const fcn_geometry *g, int out_h, int out_w,
                           int in_h, int in_w, fcn_padding *p)
{
    long long rows, cols;
    axis_padding(g->stride_h, g->offset_h, g->rf_h, out_h, in_h, &p->top,
                 &p->bottom, &rows);
    axis_padding(g->stride_w, g->offset_w, g->rf_w, out_w, in_w, &p->left,
                 &p->right, &cols);
    p->cells = (long long)out_h * out_w - (out_h - rows) * (out_w - cols);
}

void fcn_detections_free(fcn_detections *v)
{
    if (!v)
        return;
    mem_free(v->d);
    v->d = NULL;
    v->n = v->cap = 0;
}

static fcn_status push(fcn_detections *v, const fcn_detection *d)
{
    size_t max = v->max ? v->max : DEFAULT_MAX_DETECTIONS;
    if (v->n == v->cap) {
        if (v->n >= max)
            return err_set(FCN_ERR_NOMEM, "more than %zu detections before "
                           "suppression: raise the threshold", max);
        size_t cap = v->cap ? v->cap * 2 : 256;
        if (cap > max)
            cap = max;
        fcn_detection *nd = mem_realloc(v->d, cap * sizeof *nd);
        if (!nd)
            return err_set(FCN_ERR_NOMEM, "out of memory for %zu detections",
                           cap);
        v->d = nd;
        v->cap = cap;
    }
    v->d[v->n++] = *d;
    return FCN_OK;
}

fcn_status detect_block(const float *scores, int classes, int row, int col,
                        int h, int w, const fcn_geometry *g,
                        const fcn_level *lv, int level, float threshold,
                        const unsigned char *class_on, fcn_detections *out)
{
    const size_t hw = (size_t)h * w;
    for (int c = 0; c < classes; c++) {
        if (class_on && !class_on[c])
            continue;
        const float *p = scores + (size_t)c * hw;
        for (int bi = 0; bi < h; bi++)
            for (int bj = 0; bj < w; bj++) {
                float s = p[(size_t)bi * w + bj];
                if (!(s >= threshold))
                    continue;
                const int i = row + bi, j = col + bj;
                fcn_detection d;
                d.cls = c;
                d.score = s;
                d.box = fcn_box_clip(fcn_cell_box(g, i, j, lv),
                                     lv->image_w, lv->image_h);
                if (d.box.w <= 0)
                    continue;
                d.scale = lv->scale;
                d.level = level;
                d.cell_i = i;
                d.cell_j = j;
                d.padded = fcn_cell_padded(g, i, j, lv->height, lv->width);
                fcn_status st = push(out, &d);
                if (st)
                    return st;
            }
    }
    return FCN_OK;
}

fcn_status fcn_detect_cells(const fcn_scores *sc, const fcn_level *lv,
                            int level, float threshold,
                            const unsigned char *class_on,
                            fcn_detections *out)
{
    if (!sc || !lv || !out || !sc->data)
        return err_set(FCN_ERR_ARG, "fcn_detect_cells: NULL argument");
    return detect_block(sc->data, sc->classes, 0, 0, sc->out_h, sc->out_w,
                        &sc->geom, lv, level, threshold, class_on, out);
}

/* ---- non-maximum suppression ---- */

typedef struct order {
    float score;
    size_t idx;
} order;

static int by_score(const void *a, const void *b)
{
    const order *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* A uniform grid over the boxes' extent: cells of side G, G at least the
** largest box side, so a box touches at most 2x2 cells when G is not
** enlarged; every kept box is listed in every cell it touches, and two
** boxes that overlap share a cell. */
typedef struct grid {
    double x0, y0, g;
    int gw, gh;
    size_t *head;        /* gw * gh: first entry + 1, 0 = none */
    size_t *next, *item; /* entries: next entry + 1, kept detection index */
    size_t n, cap;
} grid;

static void cell_range(const grid *G, fcn_box b, int *cx0, int *cy0, int *cx1,
                       int *cy1)
{
    double a = floor((b.x - G->x0) / G->g), c = floor((b.x + b.w - G->x0) / G->g);
    double e = floor((b.y - G->y0) / G->g), f = floor((b.y + b.h - G->y0) / G->g);
    *cx0 = a < 0 ? 0 : a >= G->gw ? G->gw - 1 : (int)a;
    *cx1 = c < 0 ? 0 : c >= G->gw ? G->gw - 1 : (int)c;
    *cy0 = e < 0 ? 0 : e >= G->gh ? G->gh - 1 : (int)e;
    *cy1 = f < 0 ? 0 : f >= G->gh ? G->gh - 1 : (int)f;
}

fcn_status fcn_nms(fcn_detection *d, size_t n, double iou, size_t max_keep,
                   size_t *kept)
{
    if ((!d && n) || !kept)
        return err_set(FCN_ERR_ARG, "fcn_nms: NULL argument");
    *kept = 0;
    if (n == 0)
        return FCN_OK;
    if (max_keep == 0 || max_keep > n)
        max_keep = n;
    order *ord = mem_alloc(n * sizeof *ord);
    size_t *keep = mem_alloc(max_keep * sizeof *keep);
    grid G = {0};
    fcn_status st = FCN_OK;
    if (!ord || !keep) {
        st = err_set(FCN_ERR_NOMEM, "out of memory for %zu detections", n);
        goto done;
    }
    double minx = INFINITY, miny = INFINITY, maxx = -INFINITY,
           maxy = -INFINITY, side = 0;
    for (size_t k = 0; k < n; k++) {
        ord[k] = (order){d[k].score, k};
        const fcn_box *b = &d[k].box;
        minx = fmin(minx, b->x);
        miny = fmin(miny, b->y);
        maxx = fmax(maxx, b->x + b->w);
        maxy = fmax(maxy, b->y + b->h);
        side = fmax(side, fmax(b->w, b->h));
    }
    qsort(ord, n, sizeof *ord, by_score);
    if (!(maxx - minx < 1e12 && maxy - miny < 1e12 && side < 1e12)) {
        st = err_set(FCN_ERR_ARG, "fcn_nms: boxes with impossible "
                     "coordinates");
        goto done;
    }
    /* grid cells: as small as the largest box, but no more than ~4n */
    G.x0 = minx;
    G.y0 = miny;
    G.g = fmax(side, 1.0);
    for (;;) {
        double gw = floor((maxx - minx) / G.g) + 1;
        double gh = floor((maxy - miny) / G.g) + 1;
        if (gw * gh <= fmax(1024.0, 4.0 * (double)n)) {
            G.gw = (int)gw;
            G.gh = (int)gh;
            break;
        }
        G.g *= 2;
    }
    G.head = mem_calloc((size_t)G.gw * G.gh, sizeof *G.head);
    if (!G.head) {
        st = err_set(FCN_ERR_NOMEM, "out of memory for suppression");
        goto done;
    }
    size_t nk = 0;
    for (size_t k = 0; k < n && nk < max_keep; k++) {
        const fcn_detection *c = &d[ord[k].idx];
        int cx0, cy0, cx1, cy1;
        cell_range(&G, c->box, &cx0, &cy0, &cx1, &cy1);
        int suppressed = 0;
        for (int gy = cy0; gy <= cy1 && !suppressed; gy++)
            for (int gx = cx0; gx <= cx1 && !suppressed; gx++)
                for (size_t e = G.head[(size_t)gy * G.gw + gx]; e;
                     e = G.next[e - 1]) {
                    const fcn_detection *o = &d[G.item[e - 1]];
                    if (o->cls == c->cls && fcn_box_iou(o->box, c->box) > iou) {
                        suppressed = 1;
                        break;
                    }
                }
        if (suppressed)
            continue;
        keep[nk++] = ord[k].idx;
        for (int gy = cy0; gy <= cy1; gy++)
            for (int gx = cx0; gx <= cx1; gx++) {
                if (G.n == G.cap) {
                    size_t cap = G.cap ? G.cap * 2 : 1024;
                    size_t *a = mem_realloc(G.next, cap * sizeof *a);
                    if (a)
                        G.next = a;
                    size_t *b = a ? mem_realloc(G.item, cap * sizeof *b) : NULL;
                    if (b)
                        G.item = b;
                    if (!a || !b) {
                        st = err_set(FCN_ERR_NOMEM,
                                     "out of memory for suppression");
                        goto done;
                    }
                    G.cap = cap;
                }
                size_t *h = &G.head[(size_t)gy * G.gw + gx];
                G.next[G.n] = *h;
                G.item[G.n] = ord[k].idx;
                *h = ++G.n;
            }
    }
    /* the kept ones to the front, best first */
    fcn_detection *tmp = mem_alloc(nk * sizeof *tmp + 1);
    if (!tmp) {
        st = err_set(FCN_ERR_NOMEM, "out of memory for suppression");
        goto done;
    }
    for (size_t k = 0; k < nk; k++)
        tmp[k] = d[keep[k]];
    memcpy(d, tmp, nk * sizeof *tmp);
    mem_free(tmp);
    *kept = nk;
done:
    mem_free(ord);
    mem_free(keep);
    mem_free(G.head);
    mem_free(G.next);
    mem_free(G.item);
    return st;
}

/* ---- score planes resampled to the image ---- */

/* Cell coordinate of image pixel centres along one axis. */
static void axis_sample(int n_img, double scale, int stride, int offset,
                        int rf, int n_cells, int *i0, float *t)
{
    for (int x = 0; x < n_img; x++) {
        double f = ((x + 0.5) * scale - offset - rf / 2.0) / stride;
        if (!(f > 0))
            f = 0;
        if (f > n_cells - 1)
            f = n_cells - 1;
        int a = (int)f;
        if (a > n_cells - 2)
            a = n_cells > 1 ? n_cells - 2 : 0;
        i0[x] = a;
        t[x] = n_cells > 1 ? (float)(f - a) : 0.f;
    }
}

fcn_status fcn_score_plane_sample(const float *plane, int out_h, int out_w,
                                  const fcn_geometry *g, const fcn_level *lv,
                                  float *dst, int accumulate)
{
    if (!plane || !g || !lv || !dst || out_h < 1 || out_w < 1)
        return err_set(FCN_ERR_ARG, "fcn_score_plane_sample: bad argument");
    const int W = lv->image_w, H = lv->image_h;
    int *j0 = mem_alloc(sizeof *j0 * (size_t)W), *i0 = mem_alloc(sizeof *i0 * (size_t)H);
    float *tx = mem_alloc(sizeof *tx * (size_t)W), *ty = mem_alloc(sizeof *ty * (size_t)H);
    fcn_status st = FCN_OK;
    if (!j0 || !i0 || !tx || !ty) {
        st = err_set(FCN_ERR_NOMEM, "out of memory for a heat map");
    } else {
        axis_sample(W, lv->scale_x, g->stride_w, g->offset_w, g->rf_w, out_w,
                    j0, tx);
        axis_sample(H, lv->scale_y, g->stride_h, g->offset_h, g->rf_h, out_h,
                    i0, ty);
        const int dx = out_w > 1, dy = out_h > 1;
        for (int y = 0; y < H; y++) {
            const float *r0 = plane + (size_t)i0[y] * out_w;
            const float *r1 = r0 + (size_t)dy * out_w;
            float *o = dst + (size_t)y * W;
            const float b = ty[y];
            for (int x = 0; x < W; x++) {
                const int a = j0[x];
                const float u = tx[x];
                float top = r0[a] + (r0[a + dx] - r0[a]) * u;
                float bot = r1[a] + (r1[a + dx] - r1[a]) * u;
                float v = top + (bot - top) * b;
                o[x] = accumulate && o[x] > v ? o[x] : v;
            }
        }
    }
    mem_free(j0);
    mem_free(i0);
    mem_free(tx);
    mem_free(ty);
    return st;
}
