/*
** detect_stream.c: the detector on a streamed image
** (include/fcn_detect_stream.h). Each level's score map comes block by
** block from fcn_stream_run into a sink that turns the block's cells into
** detections (detect_block, as the in-memory run does for a whole map);
** the candidates are then put back in the in-memory run's order (level,
** class, row, column), so that suppression, which breaks ties by that
** order, keeps the same boxes.
*/
#include <stdlib.h>
#include <string.h>

#include "detect/detector.h"
#include "fcn_detect_stream.h"
#include "util/err.h"
#include "util/par.h"

typedef struct level_sink {
    fcn_detector *d;
    int k, classes, out_h, out_w;
    fcn_geometry g;
} level_sink;

static fcn_status ls_begin(void *ud, int classes, int out_h, int out_w,
                           const fcn_geometry *g)
{
    level_sink *s = ud;
    s->classes = classes;
    s->out_h = out_h;
    s->out_w = out_w;
    s->g = *g;
    return FCN_OK;
}

static fcn_status ls_put(void *ud, int row, int col, int h, int w,
                         const float *scores)
{
    level_sink *s = ud;
    fcn_detector *d = s->d;
    return detect_block(scores, s->classes, row, col, h, w, &s->g,
                        &d->levels[s->k].lv, s->k, d->o.threshold,
                        d->classes, &d->dets);
}

static fcn_status ls_commit(void *ud)
{
    (void)ud;
    return FCN_OK;
}

static void ls_abort(void *ud) { (void)ud; }

/* The in-memory run's order of candidates. */
static int by_cell(const void *a, const void *b)
{
    const fcn_detection *x = a, *y = b;
    if (x->level != y->level)
        return x->level < y->level ? -1 : 1;
    if (x->cls != y->cls)
        return x->cls < y->cls ? -1 : 1;
    if (x->cell_i != y->cell_i)
        return x->cell_i < y->cell_i ? -1 : 1;
    return x->cell_j < y->cell_j ? -1 : x->cell_j > y->cell_j;
}

/* Level k of the image at path (w x h): stream its map into d->dets. */
static fcn_status run_level(fcn_detector *d, int k, const char *path,
                            const fcn_stream_options *so)
{
    fcn_detect_level *r = &d->levels[k];
    const fcn_source_options sopt = {0, r->lv.width, r->lv.height};
    fcn_source *src;
    fcn_status st = fcn_source_open(d->m, path, &sopt, &src);
    if (st)
        return st;
    level_sink ls = {.d = d, .k = k};
    const fcn_map_sink sink = {ls_begin, ls_put, ls_commit, ls_abort, &ls};
    const size_t before = d->dets.n;
    if (!(st = fcn_stream_blocks(d->m, src, so, &r->tile_h, &r->tile_w,
                                 &r->tiles)))
        st = fcn_stream_run(d->m, src, so, &sink);
    fcn_source_free(src);
    if (st)
        return st;
    r->out_h = ls.out_h;
    r->out_w = ls.out_w;
    r->geom = ls.g;
    fcn_score_map_padding(&ls.g, ls.out_h, ls.out_w, r->lv.height,
                          r->lv.width, &r->pad);
    r->candidates = d->dets.n - before;
    return FCN_OK;
}

fcn_status fcn_detector_run_stream(fcn_detector *d, const char *path,
                                   const fcn_stream_options *opt, int *width,
                                   int *height, fcn_detect_result *res)
{
    if (!d || !path || !res)
        return err_set(FCN_ERR_ARG, "fcn_detector_run_stream: NULL "
                       "argument");
    memset(res, 0, sizeof *res);
    if (d->o.heatmap)
        return err_set(FCN_ERR_ARG, "%s: a heat map needs the whole image, "
                       "not a streamed one", path);
    if (opt && opt->cells)
        return err_set(FCN_ERR_ARG, "%s: detection streams whole maps (no "
                       "cells region)", path);
    fcn_stream_options so = opt ? *opt : (fcn_stream_options){0};
    if (!so.threads)
        so.threads = d->o.threads;
    if (!so.mem_limit)
        so.mem_limit = d->o.mem_limit;
    fcn_source *src;
    fcn_status st = fcn_source_open(d->m, path, NULL, &src);
    if (st)
        return st;
    int w, h;
    fcn_source_size(src, &h, &w, NULL);
    fcn_source_free(src);
    if (width)
        *width = w;
    if (height)
        *height = h;
    d->img_w = d->img_h = 0;  /* the levels no longer match the sessions */
    double total = 0, done = 0;
    int runnable = 0, lvl = 0;
    for (int k = 0; k < d->o.n_scales; k++)
        if (detector_level(d, k, w, h)) {
            runnable++;
            total += (double)d->levels[k].lv.width * d->levels[k].lv.height;
        }
    if (!runnable)
        return err_wrap(detector_none(d, w, h), "%s: ", path);
    d->dets.n = 0;
    for (int k = 0; k < d->o.n_scales; k++) {
        fcn_detect_level *r = &d->levels[k];
        if (r->skipped)
            continue;
        detector_report(d, ++lvl, runnable, k, 0, done, total);
        double t0 = par_time();
        if ((st = run_level(d, k, path, &so)))
            return err_wrap(st, "%s: scale %g: ", path, r->lv.scale);
        r->seconds = par_time() - t0;
        done += (double)r->lv.width * r->lv.height;
        detector_report(d, lvl, runnable, k, 1, done, total);
    }
    if (d->dets.n)
        qsort(d->dets.d, d->dets.n, sizeof *d->dets.d, by_cell);
    st = detector_finish(d, res);
    return st ? err_wrap(st, "%s: ", path) : FCN_OK;
}
