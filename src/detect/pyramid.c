/*
** pyramid.c: the detector (fcn_detect.h): an image resized to every scale
** of a pyramid, a session per scale, every cell past the threshold a box
** in the image's pixels, greedy per-class suppression across the scales,
** and optionally a class's heat map.
**
** The sessions are planned for one image size and kept for the next image
** of that size (a folder of photos from one camera plans once); they run
** one after another, so they share one arena and one score map, as large
** as the largest level needs.
*/
#include <math.h>
#include <string.h>

#include "core/session.h"
#include "detect/detector.h"
#include "fcn_detect.h"
#include "util/err.h"
#include "util/par.h"
#include "util/mem.h"

#define MAX_SCALES DETECT_MAX_SCALES

static const double default_scales[] = {0.9, 0.75, 0.6};

void fcn_detect_defaults(fcn_detect_options *o)
{
    memset(o, 0, sizeof *o);
    o->scales = default_scales;
    o->n_scales = 3;
    o->threshold = 0.9f;
    o->iou = 0.3;
}

static void drop_sessions(fcn_detector *d)
{
    for (int k = 0; k < MAX_SCALES; k++) {
        fcn_session_free(d->sessions[k]);
        d->sessions[k] = NULL;
    }
    mem_free(d->arena);
    mem_free(d->scores);
    mem_free(d->heat);
    d->arena = d->scores = d->heat = NULL;
    d->img_w = d->img_h = 0;
}

void fcn_detector_free(fcn_detector *d)
{
    if (!d)
        return;
    drop_sessions(d);
    fcn_detections_free(&d->dets);
    mem_free(d->classes);
    mem_free(d);
}

static fcn_status check_options(const fcn_detect_options *o, int classes)
{
    if (o->n_scales < 1 || o->n_scales > MAX_SCALES || !o->scales)
        return err_set(FCN_ERR_ARG, "detector: %d scales (1 to %d)",
                       o->n_scales, MAX_SCALES);
    for (int k = 0; k < o->n_scales; k++)
        if (!(o->scales[k] > 0) || !isfinite(o->scales[k]))
            return err_set(FCN_ERR_ARG, "detector: scale %g is not a positive "
                           "number", o->scales[k]);
    if (!(o->iou >= 0 && o->iou <= 1))
        return err_set(FCN_ERR_ARG, "detector: iou %g is not in [0, 1]",
                       o->iou);
    if (o->heatmap && (o->heat_class < 0 || o->heat_class >= classes))
        return err_set(FCN_ERR_ARG, "detector: heat map of class %d, the model "
                       "has %d", o->heat_class, classes);
    return FCN_OK;
}

fcn_status fcn_detector_create(const fcn_model *m,
                               const fcn_detect_options *opt,
                               fcn_detector **out)
{
    if (!m || !opt || !out)
        return err_set(FCN_ERR_ARG, "fcn_detector_create: NULL argument");
    *out = NULL;
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    fcn_status st = check_options(opt, info.classes);
    if (st)
        return st;
    fcn_detector *d = mem_calloc(1, sizeof *d);
    if (!d || !(d->classes = mem_calloc((size_t)info.classes, 1))) {
        mem_free(d);
        return err_set(FCN_ERR_NOMEM, "out of memory");
    }
    d->m = m;
    d->o = *opt;
    d->info = info;
    memcpy(d->scales, opt->scales, sizeof(double) * opt->n_scales);
    d->o.scales = d->scales;
    for (int c = 0; c < info.classes; c++) {
        const char *l = fcn_model_label(m, c);
        d->classes[c] = opt->classes ? opt->classes[c] != 0
                                     : !(l && !strcmp(l, "background"));
    }
    d->o.classes = d->classes;
    d->dets.max = opt->max_candidates;
    *out = d;
    return FCN_OK;
}

int detector_level(fcn_detector *d, int k, int w, int h)
{
    fcn_detect_level *r = &d->levels[k];
    memset(r, 0, sizeof *r);
    if (fcn_level_make(w, h, d->scales[k], &r->lv) != FCN_OK) {
        r->skipped = "larger than 65536 pixels a side";
        r->lv.scale = d->scales[k];
        return 0;
    }
    if (r->lv.width < d->info.min_w || r->lv.height < d->info.min_h) {
        r->skipped = "smaller than the network's smallest input";
        return 0;
    }
    return 1;
}

fcn_status detector_none(const fcn_detector *d, int w, int h)
{
    return err_set(FCN_ERR_SHAPE, "%dx%d is smaller than the network's "
                   "smallest input (%dx%d) at every scale", w, h,
                   d->info.min_w, d->info.min_h);
}

/* The levels for an image of w x h: which run, a session planned for each
** (sharing one arena and one score map), and the heat map's buffer. */
static fcn_status plan_levels(fcn_detector *d, int w, int h)
{
    const fcn_session_options so = {.threads = d->o.threads,
                                    .mem_limit = d->o.mem_limit, .tile = 0};
    size_t arena = 0, scores = 0;
    int runnable = 0;
    drop_sessions(d);
    for (int k = 0; k < d->o.n_scales; k++) {
        fcn_detect_level *r = &d->levels[k];
        if (!detector_level(d, k, w, h))
            continue;
        runnable++;
        fcn_status st = session_plan(d->m, r->lv.height, r->lv.width, &so,
                                     &d->sessions[k]);
        if (st)
            return err_wrap(st, "scale %g: ", r->lv.scale);
        if (session_arena_floats(d->sessions[k]) > arena)
            arena = session_arena_floats(d->sessions[k]);
        if (session_scores_floats(d->sessions[k]) > scores)
            scores = session_scores_floats(d->sessions[k]);
    }
    if (!runnable)
        return detector_none(d, w, h);
    d->arena = mem_aligned(sizeof(float) * arena);
    d->scores = mem_aligned(sizeof(float) * scores);
    if (d->o.heatmap)
        d->heat = mem_alloc(sizeof(float) * (size_t)w * h);
    if (!d->arena || !d->scores || (d->o.heatmap && !d->heat))
        return err_set(FCN_ERR_NOMEM, "out of memory for the levels of a "
                       "%dx%d image", w, h);
    for (int k = 0; k < d->o.n_scales; k++)
        if (d->sessions[k])
            session_bind(d->sessions[k], d->arena, d->scores);
    d->img_w = w;
    d->img_h = h;
    return FCN_OK;
}

/* Level k on img: resize, run, cells, heat map. */
static fcn_status run_level(fcn_detector *d, int k, const fcn_image *img,
                            int *heat_set)
{
    fcn_detect_level *r = &d->levels[k];
    fcn_image limg = *img;
    fcn_status st = FCN_OK;
    if ((r->lv.width != img->w || r->lv.height != img->h) &&
        (st = fcn_image_resize(d->m, img, r->lv.height, r->lv.width, &limg)))
        return err_wrap(st, "scale %g: ", r->lv.scale);
    fcn_session *s = d->sessions[k];
    fcn_scores sc;
    size_t before = d->dets.n;
    if (!(st = fcn_session_run_image(s, &limg, &sc)))
        st = fcn_detect_cells(&sc, &r->lv, k, d->o.threshold, d->classes,
                              &d->dets);
    if (!st && d->heat) {
        st = fcn_score_plane_sample(
            sc.data + (size_t)d->o.heat_class * sc.out_h * sc.out_w, sc.out_h,
            sc.out_w, &sc.geom, &r->lv, d->heat, *heat_set);
        *heat_set = 1;
    }
    if (!st) {
        r->out_h = sc.out_h;
        r->out_w = sc.out_w;
        r->geom = sc.geom;
        fcn_score_map_padding(&sc.geom, sc.out_h, sc.out_w, limg.h, limg.w,
                              &r->pad);
        fcn_session_tiles(s, &r->tile_h, &r->tile_w, &r->tiles);
        r->candidates = d->dets.n - before;
    }
    if (limg.pixels != img->pixels)
        fcn_image_free(&limg);
    return st ? err_wrap(st, "scale %g: ", r->lv.scale) : FCN_OK;
}

void detector_report(const fcn_detector *d, int level, int n_levels, int k,
                     int done, double pixels_done, double pixels_total)
{
    if (!d->o.progress)
        return;
    fcn_detect_progress p = {level, n_levels, &d->levels[k].lv, done,
                             pixels_done, pixels_total};
    d->o.progress(d->o.user, &p);
}

fcn_status fcn_detector_run(fcn_detector *d, const fcn_image *img,
                            fcn_detect_result *res)
{
    if (!d || !img || !img->pixels || !res)
        return err_set(FCN_ERR_ARG, "fcn_detector_run: NULL argument");
    memset(res, 0, sizeof *res);
    fcn_status st;
    if ((img->w != d->img_w || img->h != d->img_h) &&
        (st = plan_levels(d, img->w, img->h)))
        return st;
    double total = 0, done = 0;
    int runnable = 0, lvl = 0, heat_set = 0;
    for (int k = 0; k < d->o.n_scales; k++)
        if (d->sessions[k]) {
            runnable++;
            total += (double)d->levels[k].lv.width * d->levels[k].lv.height;
        }
    d->dets.n = 0;
    for (int k = 0; k < d->o.n_scales; k++) {
        fcn_detect_level *r = &d->levels[k];
        if (!d->sessions[k])
            continue;
        detector_report(d, ++lvl, runnable, k, 0, done, total);
        double t0 = par_time();
        if ((st = run_level(d, k, img, &heat_set)))
            return st;
        r->seconds = par_time() - t0;
        done += (double)r->lv.width * r->lv.height;
        detector_report(d, lvl, runnable, k, 1, done, total);
    }
    return detector_finish(d, res);
}

fcn_status detector_finish(fcn_detector *d, fcn_detect_result *res)
{
    size_t kept;
    fcn_status st = fcn_nms(d->dets.d, d->dets.n, d->o.iou,
                            d->o.max_detections, &kept);
    if (st)
        return st;
    *res = (fcn_detect_result){d->dets.d, kept, d->levels, d->o.n_scales,
                               d->classes, d->heat};
    return FCN_OK;
}
