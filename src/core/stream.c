/*
** stream.c: image sources and the block runner (include/fcn_stream.h).
** A block of cells is a region session (fcn_session_create_region) run on
** its input window alone, read from the source; its scores go to the sink.
** Blocks are sized so that the window's pixels and the session fit the
** memory limit: the window takes at most a quarter of it, the session the
** rest (its planner tiles within that); a session that does not fit
** (FCN_ERR_NOMEM) halves the block and tries again.
*/
#include <string.h>

#include "core/model.h"
#include "fcn_stream.h"
#include "util/err.h"

#define STREAM_DEFAULT_LIMIT ((size_t)512 << 20)

struct fcn_source {
    const fcn_model *m;
    img_vsrc *v;        /* windows from the file, or NULL: */
    fcn_image whole;    /* the image decoded whole */
    int h, w;
};

/* opt's width x height, if any: a windowed file resized lazily, an image
** decoded whole resized as the in-memory pyramid does. */
static fcn_status source_resize(fcn_source *s, const char *path,
                                const fcn_source_options *opt)
{
    const int w = opt ? opt->width : 0, h = opt ? opt->height : 0;
    if (!w && !h)
        return FCN_OK;
    if (w < 1 || h < 1)
        return err_set(FCN_ERR_ARG, "%s: resize to %dx%d is impossible",
                       path, w, h);
    if (w == s->w && h == s->h)
        return FCN_OK;
    fcn_status st;
    if (s->v)
        st = img_vips_resize(s->v, h, w);
    else {
        fcn_image r;
        if (!(st = fcn_image_resize(s->m, &s->whole, h, w, &r))) {
            fcn_image_free(&s->whole);
            s->whole = r;
        }
    }
    if (!st) {
        s->h = h;
        s->w = w;
    }
    return st;
}

fcn_status fcn_source_open(const fcn_model *m, const char *path,
                           const fcn_source_options *opt, fcn_source **out)
{
    if (!out)
        return err_set(FCN_ERR_ARG, "fcn_source_open: out is NULL");
    *out = NULL;
    if (!m || !path)
        return err_set(FCN_ERR_ARG, "fcn_source_open: NULL argument");
    const int level = opt ? opt->level : 0;
    if (level < 0)
        return err_set(FCN_ERR_ARG, "%s: level %d is impossible", path,
                       level);
    img_decoder d;
    fcn_status st = img_decoder_get(&d);
    if (st)
        return st;
    fcn_source *s = mem_calloc(1, sizeof *s);
    if (!s)
        return err_set(FCN_ERR_NOMEM, "%s: out of memory", path);
    s->m = m;
    if (d == IMG_DEC_VIPS)
        st = img_vips_open(path, m->in_c, level, &s->v, &s->h, &s->w);
    if (!st && !s->v) {
        if (level > 0)
            st = err_set(FCN_ERR_ARG, "%s: level %d asked of a file read "
                         "whole (levels: TIFF pages, OpenSlide levels)",
                         path, level);
        else if (!(st = fcn_image_decode(m, path, 0, 0, &s->whole))) {
            s->h = s->whole.h;
            s->w = s->whole.w;
        }
    }
    if (!st)
        st = source_resize(s, path, opt);
    if (st) {
        fcn_source_free(s);
        return st;
    }
    *out = s;
    return FCN_OK;
}

void fcn_source_free(fcn_source *src)
{
    if (!src)
        return;
    img_vips_close(src->v);
    fcn_image_free(&src->whole);
    mem_free(src);
}

void fcn_source_size(const fcn_source *src, int *height, int *width,
                     int *windowed)
{
    if (height)
        *height = src->h;
    if (width)
        *width = src->w;
    if (windowed)
        *windowed = src->v != NULL;
}

fcn_status fcn_source_read(fcn_source *src, int y0, int x0, int h, int w,
                           fcn_image *window)
{
    if (!src || !window)
        return err_set(FCN_ERR_ARG, "fcn_source_read: NULL argument");
    if (src->v)
        return img_vips_read(src->v, y0, x0, h, w, src->m->max_pixels,
                             window);
    memset(window, 0, sizeof *window);
    const fcn_image *im = &src->whole;
    if (h < 1 || w < 1 || y0 < 0 || x0 < 0 || y0 > im->h - h ||
        x0 > im->w - w)
        return err_set(FCN_ERR_ARG, "window %dx%d at %d,%d is outside the "
                       "%dx%d image", w, h, x0, y0, im->w, im->h);
    const size_t px = (size_t)im->c * (im->depth == 16 ? 2 : 1);
    unsigned char *p = mem_alloc((size_t)h * w * px);
    if (!p)
        return err_set(FCN_ERR_NOMEM, "out of memory for a %dx%d window", w,
                       h);
    for (int y = 0; y < h; y++)
        memcpy(p + (size_t)y * w * px,
               im->pixels + ((size_t)(y0 + y) * im->w + x0) * px,
               (size_t)w * px);
    *window = (fcn_image){p, w, h, im->c, im->depth};
    return FCN_OK;
}

/* ---- the block runner ---- */

typedef struct stream_plan {
    fcn_region r;     /* the region of the map */
    int bh, bw;       /* block size in cells */
    int classes;
    fcn_geometry g;   /* of the whole map */
    size_t limit;
} stream_plan;

/* Input pixels along an axis of a window of n cells. */
static int64_t axis_px(int n, int stride, int rf, int side)
{
    const int64_t p = (int64_t)(n - 1) * stride + rf;
    return p < side ? p : side;
}

static int64_t window_px(const stream_plan *p, const fcn_source *src, int bh,
                         int bw)
{
    return axis_px(bh, p->g.stride_h, p->g.rf_h, src->h) *
           axis_px(bw, p->g.stride_w, p->g.rf_w, src->w);
}

/* Bytes of a window's pixels (the depth of windows read from the file is
** known only when read: 16 bits counted). */
static int64_t window_bytes(const stream_plan *p, const fcn_source *src,
                            int bh, int bw)
{
    const int sample = src->v || src->whole.depth == 16 ? 2 : 1;
    return window_px(p, src, bh, bw) * src->m->in_c * sample;
}

/* The map's size (from a session of its first cell), the region, and a
** first block size from the limit. */
static fcn_status stream_plan_make(const fcn_model *m, fcn_source *src,
                                   const fcn_stream_options *o,
                                   stream_plan *p)
{
    memset(p, 0, sizeof *p);
    p->limit = o->mem_limit ? o->mem_limit : STREAM_DEFAULT_LIMIT;
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    p->g = info.geom;
    p->classes = info.classes;
    /* the map's size: the last cell that sees the image */
    shape *sh = mem_alloc(sizeof(shape) * m->n_tensors);
    if (!sh)
        return err_set(FCN_ERR_NOMEM, "out of memory");
    fcn_status st = graph_infer_size(m, src->h, src->w, sh);
    const shape out = sh[m->out_tensor];
    mem_free(sh);
    if (st)
        return st;
    p->r = o->cells ? *o->cells : (fcn_region){0, 0, out.h, out.w};
    const fcn_region *r = &p->r;
    if (r->height < 1 || r->width < 1 || r->row < 0 || r->col < 0 ||
        r->row > out.h - r->height || r->col > out.w - r->width)
        return err_set(FCN_ERR_ARG, "cells %d,%d %dx%d (row,col HxW) are "
                       "not within the %dx%d map", r->row, r->col, r->height,
                       r->width, out.h, out.w);
    /* the window at most a quarter of the limit and within max_pixels */
    const int64_t cap = (int64_t)(p->limit / 4);
    int bh = r->height, bw = r->width;
    while ((bh > 1 || bw > 1) && (window_bytes(p, src, bh, bw) > cap ||
                                  window_px(p, src, bh, bw) > m->max_pixels))
    {
        if (bh >= bw)
            bh = (bh + 1) / 2;
        else
            bw = (bw + 1) / 2;
    }
    p->bh = o->block_h > 0 && o->block_h < bh ? o->block_h : bh;
    p->bw = o->block_w > 0 && o->block_w < bw ? o->block_w : bw;
    return FCN_OK;
}

/* The session of block *b; a block too large halves (and p->bh, p->bw
** with it, for the blocks to come), its height only where fixed_h is 0
** (the first block of a grid row sets the row's height). */
static fcn_status block_session(const fcn_model *m, const fcn_source *src,
                                const fcn_stream_options *o, stream_plan *p,
                                fcn_region *b, int fixed_h, fcn_session **s)
{
    for (;;) {
        const int64_t wb = window_bytes(p, src, b->height, b->width);
        fcn_session_options so = {.threads = o->threads,
                                  .mem_limit = p->limit > (size_t)wb
                                                   ? p->limit - (size_t)wb
                                                   : 1};
        fcn_status st = fcn_session_create_region(m, src->h, src->w, b, &so,
                                                  s);
        if (st != FCN_ERR_NOMEM || (b->width == 1 &&
                                    (fixed_h || b->height == 1)))
            return st;
        if (!fixed_h && b->height >= b->width)
            b->height = p->bh = (b->height + 1) / 2;
        else
            b->width = p->bw = (b->width + 1) / 2;
    }
}

fcn_status fcn_stream_blocks(const fcn_model *m, fcn_source *src,
                             const fcn_stream_options *opt, int *block_h,
                             int *block_w, int *n_blocks)
{
    if (!m || !src)
        return err_set(FCN_ERR_ARG, "fcn_stream_blocks: NULL argument");
    const fcn_stream_options o0 = {0}, *o = opt ? opt : &o0;
    stream_plan p;
    fcn_status st = stream_plan_make(m, src, o, &p);
    fcn_region b = {p.r.row, p.r.col, p.bh, p.bw};
    fcn_session *s = NULL;
    if (!st)
        st = block_session(m, src, o, &p, &b, 0, &s);
    fcn_session_free(s);
    if (st)
        return st;
    const int64_t n = (int64_t)((p.r.height + p.bh - 1) / p.bh) *
                      ((p.r.width + p.bw - 1) / p.bw);
    if (block_h)
        *block_h = p.bh;
    if (block_w)
        *block_w = p.bw;
    if (n_blocks)
        *n_blocks = n > 0x7fffffff ? 0x7fffffff : (int)n;
    return FCN_OK;
}

/* A sink's status: where it failed without saying why (its message empty:
** a caller's sink need not use fcn's), the message says which call. */
#define SINK_CALL(what, call) \
    (err_set(FCN_OK, "%s", ""), sink_said(what, (call)))
static fcn_status sink_said(const char *what, fcn_status st)
{
    if (st && !strcmp(fcn_last_error(), "no error"))
        err_set(st, "the score map's sink failed in %s (%s)", what,
                fcn_status_string(st));
    return st;
}

/* One block (*b, which may shrink: block_session): its session, its
** window read, run, put. */
static fcn_status run_block(const fcn_model *m, fcn_source *src,
                            const fcn_stream_options *o, stream_plan *p,
                            fcn_region *b, int fixed_h,
                            const fcn_map_sink *sink)
{
    fcn_session *s;
    fcn_status st = block_session(m, src, o, p, b, fixed_h, &s);
    if (st)
        return st;
    int y0, x0, h, w;
    fcn_session_input_window(s, &y0, &x0, &h, &w);
    fcn_image win;
    fcn_scores sc;
    st = fcn_source_read(src, y0, x0, h, w, &win);
    if (!st) {
        st = fcn_session_run_window(s, &win, &sc);
        fcn_image_free(&win);
    }
    if (!st)
        st = SINK_CALL("put", sink->put(sink->ud, b->row - p->r.row,
                                        b->col - p->r.col, b->height,
                                        b->width, sc.data));
    fcn_session_free(s);
    return st;
}

/* Blocks still to come after the block ending at column col of the grid
** row ending at row end (counting at the current block size). */
static int64_t blocks_left(const stream_plan *p, int col, int end)
{
    const int ec = p->r.col + p->r.width, er = p->r.row + p->r.height;
    return (ec - col + p->bw - 1) / p->bw +
           (int64_t)((er - end + p->bh - 1) / p->bh) *
               ((p->r.width + p->bw - 1) / p->bw);
}

fcn_status fcn_stream_run(const fcn_model *m, fcn_source *src,
                          const fcn_stream_options *opt,
                          const fcn_map_sink *sink)
{
    if (!m || !src || !sink || !sink->begin || !sink->put || !sink->commit ||
        !sink->abort)
        return err_set(FCN_ERR_ARG, "fcn_stream_run: NULL argument");
    const fcn_stream_options o0 = {0}, *o = opt ? opt : &o0;
    stream_plan p;
    fcn_status st = stream_plan_make(m, src, o, &p);
    fcn_geometry g = p.g;
    g.offset_h += p.r.row * g.stride_h;
    g.offset_w += p.r.col * g.stride_w;
    if (!st)
        st = SINK_CALL("begin", sink->begin(sink->ud, p.classes, p.r.height,
                                            p.r.width, &g));
    if (st) {
        sink->abort(sink->ud);
        return st;
    }
    const int er = p.r.row + p.r.height, ec = p.r.col + p.r.width;
    int64_t done = 0;
    for (int row = p.r.row; row < er && !st;) {
        int rh = 0;  /* the grid row's height, once its first block ran */
        for (int col = p.r.col; col < ec && !st;) {
            fcn_region b = {row, col, rh ? rh : (er - row < p.bh ? er - row
                                                                 : p.bh),
                            ec - col < p.bw ? ec - col : p.bw};
            st = run_block(m, src, o, &p, &b, rh != 0, sink);
            if (st)
                break;
            rh = b.height;
            col += b.width;
            done++;
            if (o->progress) {
                const int64_t t = done + blocks_left(&p, col, row + rh);
                o->progress(o->progress_ud, (int)(done < 0x7fffffff ? done
                                                  : 0x7fffffff),
                            (int)(t < 0x7fffffff ? t : 0x7fffffff));
            }
        }
        row += rh;
    }
    if (st) {
        sink->abort(sink->ud);
        return st;
    }
    return SINK_CALL("commit", sink->commit(sink->ud));
}
