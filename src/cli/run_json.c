/*
** run_json.c: see run_json.h.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "run_json.h"

#define TOP_CLASSES 5

static int by_score(const void *a, const void *b)
{
    float x = ((const rj_rank *)a)->score, y = ((const rj_rank *)b)->score;
    int i = ((const rj_rank *)a)->cls, j = ((const rj_rank *)b)->cls;
    return x < y ? 1 : x > y ? -1 : (i > j) - (i < j);
}

void rj_rank_sort(rj_rank *r, int n)
{
    qsort(r, (size_t)n, sizeof *r, by_score);
}

rj_rank *rj_best_cells(const fcn_scores *sc)
{
    const int C = sc->classes, HW = sc->out_h * sc->out_w;
    rj_rank *best = calloc((size_t)C, sizeof *best);
    if (!best)
        return NULL;
    for (int c = 0; c < C; c++) {
        best[c] = (rj_rank){c, -INFINITY, 0, 0};
        for (int p = 0; p < HW; p++)
            if (sc->data[(size_t)c * HW + p] > best[c].score)
                best[c] = (rj_rank){c, sc->data[(size_t)c * HW + p],
                                    p / sc->out_w, p % sc->out_w};
    }
    rj_rank_sort(best, C);
    return best;
}

int rj_is_background(const fcn_model *m, int c)
{
    const char *l = fcn_model_label(m, c);
    return l && !strcmp(l, "background");
}

static void json_geometry(cli_json *b, const fcn_geometry *g)
{
    cli_json_printf(b, "{\"stride\": [%d, %d], \"offset\": [%d, %d], "
                    "\"receptive_field\": [%d, %d]}", g->stride_h,
                    g->stride_w, g->offset_h, g->offset_w, g->rf_h, g->rf_w);
}

static void json_floats(cli_json *b, const float *v, int n)
{
    cli_json_printf(b, "[");
    for (int k = 0; k < n; k++)
        cli_json_printf(b, "%s%.9g", k ? ", " : "", v[k]);
    cli_json_printf(b, "]");
}

/* "key": "value" or null */
static void json_key_str(cli_json *b, const char *key, const char *v)
{
    cli_json_printf(b, "\"%s\": ", key);
    if (v)
        cli_json_str(b, v);
    else
        cli_json_printf(b, "null");
}

static void json_preprocessing(cli_json *b, const rj_input *x)
{
    fcn_model_info info;
    fcn_model_get_info(x->m, &info);
    if (x->is_npy) {
        cli_json_printf(b, "{\"used_as_is\": true}");
        return;
    }
    cli_json_printf(b, "{\"used_as_is\": false, ");
    json_key_str(b, "color", info.color);
    cli_json_printf(b, ", ");
    json_key_str(b, "resize_filter", info.resize);
    cli_json_printf(b, ", \"scale\": %.9g, \"mean\": ", info.scale);
    json_floats(b, info.mean, info.in_c);
    cli_json_printf(b, ", \"std\": ");
    json_floats(b, info.std, info.in_c);
    if (x->resize_w)
        cli_json_printf(b, ", \"resized_to\": [%d, %d], \"fit\": \"%s\"}",
                        x->resize_w, x->resize_h, x->fit);
    else
        cli_json_printf(b, ", \"resized_to\": null}");
}

static void json_top(cli_json *b, const rj_input *x)
{
    const fcn_scores *sc = x->sc;
    const fcn_geometry *g = &sc->geom;
    char lb[32];
    rj_rank *own = x->best ? NULL : rj_best_cells(sc);
    const rj_rank *best = x->best ? x->best : own;
    if (!best) {
        b->oom = 1;
        return;
    }
    cli_json_printf(b, "[");
    for (int k = 0, shown = 0; k < sc->classes && shown < TOP_CLASSES; k++) {
        const rj_rank *r = &best[k];
        if (rj_is_background(x->m, r->cls))
            continue;
        cli_json_printf(b, "%s\n   {\"class\": %d, \"label\": ",
                        shown++ ? "," : "", r->cls);
        cli_json_str(b, cli_label(x->m, r->cls, lb, sizeof lb));
        cli_json_printf(b, ", \"score\": %.7g, \"cell\": [%d, %d], "
                        "\"window\": [%d, %d, %d, %d]}", r->score, r->y,
                        r->x, r->x * g->stride_w + g->offset_w,
                        r->y * g->stride_h + g->offset_h, g->rf_w, g->rf_h);
    }
    cli_json_printf(b, "]");
    free(own);
}

/* , "streamed": {...} of a streamed run; nothing otherwise */
static void json_streamed(cli_json *b, const rj_input *x)
{
    const fcn_region *r = x->cells;
    if (r)
        cli_json_printf(b, ",\n \"streamed\": {\"cells\": [%d, %d, %d, %d], "
                        "\"level\": %d, \"blocks\": %d}", r->row, r->col,
                        r->height, r->width, x->level, x->blocks);
}

void rj_input_json(cli_json *b, const rj_input *x)
{
    const fcn_scores *sc = x->sc;
    cli_json_printf(b, "{");
    json_key_str(b, "input", x->path);
    cli_json_printf(b, ", \"width\": %d, \"height\": %d, \"channels\": %d, "
                    "\"kind\": \"%s\",\n \"shape\": [%d, %d, %d], "
                    "\"geometry\": ", x->w, x->h, x->c,
                    x->is_npy ? "npy" : "image", sc->classes, sc->out_h,
                    sc->out_w);
    json_geometry(b, &sc->geom);
    cli_json_printf(b, ",\n \"top\": ");
    json_top(b, x);
    cli_json_printf(b, ",\n \"timings\": {\"load\": %.6f, \"decode\": %.6f, "
                    "\"plan\": %.6f, \"run\": %.6f}, \"tiles\": %d, "
                    "\"threads\": %d, ", x->t_load, x->t_decode, x->t_plan,
                    x->t_run, x->tiles, x->threads);
    json_key_str(b, "out", x->out);
    cli_json_printf(b, ", ");
    json_key_str(b, "heatmap", x->heatmap);
    json_streamed(b, x);
    cli_json_printf(b, "}");
}

void rj_error_json(cli_json *b, const char *path, const char *msg)
{
    cli_json_printf(b, "{");
    json_key_str(b, "input", path);
    cli_json_printf(b, ", ");
    json_key_str(b, "error", msg);
    cli_json_printf(b, "}");
}

int rj_sidecar_path(const char *npy_path, char *out, size_t n)
{
    int k = snprintf(out, n, "%s.json", npy_path);
    return k > 0 && (size_t)k < n;
}

static void sidecar_json(cli_json *b, const char *npy_path,
                         const rj_input *x)
{
    fcn_model_info info;
    fcn_model_get_info(x->m, &info);
    const fcn_scores *sc = x->sc;
    const char *base = strrchr(npy_path, '/');
    char lb[32];
    cli_json_printf(b, "{");
    json_key_str(b, "scores", base ? base + 1 : npy_path);
    cli_json_printf(b, ", \"dtype\": \"float32\", \"layout\": "
                    "\"classes x rows x columns\", \"shape\": [%d, %d, %d],\n"
                    " \"geometry\": ", sc->classes, sc->out_h, sc->out_w);
    json_geometry(b, &sc->geom);
    cli_json_printf(b, ",\n \"labels\": [");
    for (int k = 0; k < sc->classes; k++) {
        cli_json_printf(b, "%s", k ? ", " : "");
        cli_json_str(b, cli_label(x->m, k, lb, sizeof lb));
    }
    cli_json_printf(b, "],\n \"model\": {");
    json_key_str(b, "path", x->model_path);
    cli_json_printf(b, ", ");
    json_key_str(b, "name", info.name);
    cli_json_printf(b, ", \"trained_size\": [%d, %d, %d]},\n ", info.in_c,
                    info.in_h, info.in_w);
    json_key_str(b, "input", x->path);
    cli_json_printf(b, ", \"input_size\": [%d, %d, %d],\n \"preprocessing\": ",
                    x->c, x->h, x->w);
    json_preprocessing(b, x);
    json_streamed(b, x);
    cli_json_printf(b, "}\n");
}

int rj_write_sidecar(const char *npy_path, const rj_input *x, char *err,
                     size_t errlen)
{
    char path[4096];
    cli_json b = {0};
    cli_file o;
    if (!rj_sidecar_path(npy_path, path, sizeof path)) {
        snprintf(err, errlen, "%s: the sidecar's name is too long", npy_path);
        return 0;
    }
    sidecar_json(&b, npy_path, x);
    int ok = !b.oom && cli_file_open(&o, path);
    if (ok) {
        fwrite(b.s, 1, b.n, o.f);
        ok = cli_file_commit(&o);
    }
    if (!ok)
        snprintf(err, errlen, "%s", b.oom ? "out of memory for the sidecar"
                                          : fcn_last_error());
    cli_json_free(&b);
    return ok;
}

int rj_npy_stream(FILE *f, const fcn_scores *sc)
{
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': "
                     "False, 'shape': (%d, %d, %d), }", sc->classes,
                     sc->out_h, sc->out_w);
    /* magic (6) + version (2) + length (2) + dict, padded with spaces to
    ** a multiple of 64 and ended by '\n', as NumPy writes version 1.0 */
    int total = (10 + n + 1 + 63) / 64 * 64, hl = total - 10;
    unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                              (unsigned char)(hl & 255),
                              (unsigned char)(hl >> 8)};
    fwrite(head, 1, sizeof head, f);
    fprintf(f, "%s%*s\n", dict, hl - n - 1, "");
    size_t cnt = (size_t)sc->classes * sc->out_h * sc->out_w;
    return fwrite(sc->data, sizeof(float), cnt, f) == cnt && !ferror(f);
}

int rj_print_top_classes(const fcn_model *m, const fcn_scores *sc)
{
    rj_rank *best = rj_best_cells(sc);
    if (!best)
        return 1;
    rj_print_ranks(m, &sc->geom, sc->classes, best);
    free(best);
    return 0;
}

void rj_print_geometry(const fcn_geometry *g)
{
    printf("geometry cell (i,j) sees input rows %d*i%+d .. +%d, columns "
           "%d*j%+d .. +%d (stride %dx%d, receptive field %dx%d, offset "
           "%d,%d)\n", g->stride_h, g->offset_h, g->rf_h, g->stride_w,
           g->offset_w, g->rf_w, g->stride_h, g->stride_w, g->rf_h, g->rf_w,
           g->offset_h, g->offset_w);
}

void rj_print_ranks(const fcn_model *m, const fcn_geometry *g, int classes,
                    const rj_rank *best)
{
    char b1[32];
    printf("top classes over the map (best cell, its window x,y,w,h in "
           "pixels):\n");
    for (int k = 0, shown = 0; k < classes && shown < TOP_CLASSES; k++) {
        if (rj_is_background(m, best[k].cls))
            continue;
        shown++;
        printf("  %-20s %10.4f  cell (%d,%d)  window %d,%d,%d,%d\n",
               cli_label(m, best[k].cls, b1, sizeof b1), best[k].score,
               best[k].y, best[k].x, best[k].x * g->stride_w + g->offset_w,
               best[k].y * g->stride_h + g->offset_h, g->rf_w, g->rf_h);
    }
}

int rj_print_top_per_cell(const fcn_model *m, const fcn_scores *sc, int top)
{
    const int C = sc->classes, HW = sc->out_h * sc->out_w;
    char b1[32];
    rj_rank *r = malloc(sizeof *r * (size_t)C);
    if (!r)
        return 1;
    printf("top %d per cell:\n", top);
    for (int p = 0; p < HW; p++) {
        for (int c = 0; c < C; c++)
            r[c] = (rj_rank){c, sc->data[(size_t)c * HW + p], 0, 0};
        qsort(r, (size_t)C, sizeof *r, by_score);
        printf("  (%d,%d)", p / sc->out_w, p % sc->out_w);
        for (int k = 0; k < top && k < C; k++)
            printf("  %s %.4f", cli_label(m, r[k].cls, b1, sizeof b1),
                   r[k].score);
        putchar('\n');
    }
    free(r);
    return 0;
}
