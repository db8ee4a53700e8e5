/*
** run_stream.c: fcn-run's streamed inputs (run_stream.h). The block runner
** hands each block to a sink that keeps every class's best cell and passes
** the block on to the .npy sink, if there is one.
*/
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_opt.h"
#include "run_stream.h"

int rs_wanted(const char *path, int force)
{
    return force || cli_is_tiff(path);
}

int rs_parse_cells(const char *v, fcn_region *r)
{
    long n[4];
    const char *p = v;
    for (int i = 0; i < 4; i++) {
        char *end;
        errno = 0;
        n[i] = strtol(p, &end, 10);
        if (end == p || errno || n[i] < (i < 2 ? 0 : 1) || n[i] > INT_MAX ||
            *end != (i < 3 ? ',' : '\0')) {
            r->height = 0;
            return 0;
        }
        p = end + 1;
    }
    *r = (fcn_region){(int)n[0], (int)n[1], (int)n[2], (int)n[3]};
    return 1;
}

/* The ranking sink, in front of the file's (next.begin NULL: none). */
typedef struct rank_sink {
    fcn_map_sink next;
    rj_rank *best;
    int classes, h, w;
} rank_sink;

static fcn_status rk_begin(void *ud, int classes, int h, int w,
                           const fcn_geometry *g)
{
    rank_sink *k = ud;
    k->classes = classes;
    k->h = h;
    k->w = w;
    if (!(k->best = calloc((size_t)classes, sizeof *k->best)))
        return FCN_ERR_NOMEM;
    for (int c = 0; c < classes; c++)
        k->best[c] = (rj_rank){c, -INFINITY, 0, 0};
    return k->next.begin ? k->next.begin(k->next.ud, classes, h, w, g)
                         : FCN_OK;
}

/* The first best cell in the map's row-major order, as rj_best_cells
** finds it on a whole map, whatever the order of the blocks. */
static fcn_status rk_put(void *ud, int row, int col, int h, int w,
                         const float *s)
{
    rank_sink *k = ud;
    for (int c = 0; c < k->classes; c++) {
        rj_rank *b = &k->best[c];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const float v = s[((size_t)c * h + y) * w + x];
                const int gy = row + y, gx = col + x;
                if (v > b->score ||
                    (v == b->score && (gy < b->y || (gy == b->y && gx < b->x))))
                    *b = (rj_rank){c, v, gy, gx};
            }
    }
    return k->next.put ? k->next.put(k->next.ud, row, col, h, w, s) : FCN_OK;
}

static fcn_status rk_commit(void *ud)
{
    rank_sink *k = ud;
    rj_rank_sort(k->best, k->classes);
    return k->next.commit ? k->next.commit(k->next.ud) : FCN_OK;
}

static void rk_abort(void *ud)
{
    rank_sink *k = ud;
    free(k->best);
    k->best = NULL;
    if (k->next.abort)
        k->next.abort(k->next.ud);
}

int rs_run(const fcn_model *m, const char *real, const rs_opts *o,
           const fcn_map_sink *file, rj_input *x, fcn_scores *sc,
           fcn_region *cells, rj_rank **best)
{
    *best = NULL;
    rank_sink k = {0};
    if (file)
        k.next = *file;
    fcn_source *src;
    const fcn_source_options so = {.level = o->level};
    double t0 = cli_now();
    fcn_status st = fcn_source_open(m, real, &so, &src);
    if (st) {
        if (file)
            file->abort(file->ud);
        return 0;
    }
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    fcn_source_size(src, &x->h, &x->w, NULL);
    x->c = info.in_c;
    fcn_map_sink sink = {rk_begin, rk_put, rk_commit, rk_abort, &k};
    const fcn_stream_options so2 = {.threads = o->threads,
                                    .mem_limit = o->mem_limit,
                                    .cells = o->cells,
                                    .progress = o->progress,
                                    .progress_ud = o->progress_ud};
    int bh = 0, bw = 0;
    st = fcn_stream_blocks(m, src, &so2, &bh, &bw, &x->blocks);
    x->t_decode = cli_now() - t0;
    double t1 = cli_now();
    if (st && file)
        file->abort(file->ud);
    if (!st)
        st = fcn_stream_run(m, src, &so2, &sink);
    fcn_source_free(src);
    if (st)
        return 0;
    x->t_run = cli_now() - t1;
    x->tiles = x->blocks;
    *best = k.best;
    x->best = k.best;
    x->level = o->level;
    *sc = (fcn_scores){NULL, k.classes, k.h, k.w, info.geom};
    *cells = o->cells ? *o->cells : (fcn_region){0, 0, k.h, k.w};
    sc->geom.offset_h += cells->row * info.geom.stride_h;
    sc->geom.offset_w += cells->col * info.geom.stride_w;
    x->cells = cells;
    (void)bh, (void)bw;
    return 1;
}

void rs_print_summary(const fcn_model *m, const rj_input *x)
{
    const fcn_scores *sc = x->sc;
    const fcn_geometry *g = &sc->geom;
    const fcn_region *r = x->cells;
    printf("input   %s: %dx%d (WxH), %d channel%s, level %d, streamed\n",
           x->path, x->w, x->h, x->c, x->c > 1 ? "s" : "", x->level);
    printf("scores  %d classes x %d x %d cells (HxW): cells %d,%d %dx%d "
           "(row,col HxW) of the map\n", sc->classes, sc->out_h, sc->out_w,
           r->row, r->col, r->height, r->width);
    rj_print_geometry(g);
    printf("time    %.1f ms, %d thread%s, %d block%s; %s\n", x->t_run * 1e3,
           x->threads, x->threads > 1 ? "s" : "", x->blocks,
           x->blocks > 1 ? "s" : "", fcn_gemm_info(FCN_GEMM_AUTO));
    rj_print_ranks(m, g, sc->classes, x->best);
    printf("(a streamed map is neither drawn nor listed per cell (--top); "
           "--out writes it)\n");
}
