/*
** run_shard.c: fcn-run's parts of a split run (run_shard.h): the job that
** every part of one run describes alike, this part's units, its manifest
** (resumed, rewritten after each output), and the plan of all parts.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "fcn_stream.h"
#include "run_shard.h"

/* ---- the job ---- */

static json_t *floats_or_null(const float *v, int n)
{
    if (!n)
        return json_null();
    json_t *a = json_array();
    for (int k = 0; k < n && a; k++)
        json_array_append_new(a, json_real(v[k]));
    return a;
}

static json_t *ints_or_null(int n, const int *v)
{
    return n ? sh_ints(v, n) : json_null();
}

/* Every option that changes the scores, as docs/scale-out.md lists them;
** null: the model's own. */
static json_t *job_options(const args *a)
{
    static const char *const fits[] = {"stretch", "shorter", "crop"};
    const cli_prep *p = &a->com.prep;
    const int cells[4] = {a->cells.row, a->cells.col, a->cells.height,
                          a->cells.width},
              resize[2] = {a->rw, a->rh};
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
        "precision", a->opt.precision == FCN_PRECISION_BF16 ? "bf16" : "fp32",
        "gemm", a->opt.gemm == FCN_GEMM_BLAS ? "blas" : "auto", "winograd",
        a->opt.winograd == FCN_WINOGRAD_NEVER    ? "never"
        : a->opt.winograd == FCN_WINOGRAD_ALWAYS ? "always"
                                                 : "auto",
        "gap", a->opt.gap_mode == FCN_GAP_LOCAL ? "local" : "window",
        "stride_divisor",
        a->opt.stride_divisor > 1 ? a->opt.stride_divisor : 1, "level",
        a->level, "cells",
        ints_or_null(a->cells.height ? 4 : 0, cells), "color",
        p->color ? json_string(p->color) : json_null(), "scale",
        p->scale != 0 ? json_real(p->scale) : json_null(), "mean",
        floats_or_null(p->mean, p->n_mean), "std",
        floats_or_null(p->std, p->n_std), "resize",
        ints_or_null(a->rw ? 2 : 0, resize), "fit",
        a->rw ? json_string(fits[a->fit]) : json_null());
}

static json_t *job_json(const args *a, int cells_mode, int parts, char *err,
                        size_t errlen)
{
    char sha[65];
    int64_t bytes;
    if (!sh_sha256_file(a->model, sha, &bytes, err, errlen))
        return NULL;
    json_t *in = json_array();
    for (int k = 0; k < a->inputs.n && in; k++)
        if (json_array_append_new(in, json_string(a->inputs.v[k])))
            in = (json_decref(in), NULL);
    json_t *j = in ? json_pack("{s:s, s:s, s:s, s:i, s:o, s:o}", "model",
                               a->model, "model_sha256", sha, "mode",
                               cells_mode ? "cells" : "list", "parts", parts,
                               "inputs", in, "options", job_options(a))
                   : NULL;
    if (!j)
        snprintf(err, errlen, "out of memory (or an input's name is not "
                 "UTF-8)");
    return j;
}

/* ---- units ---- */

static int cells_mode_of(const args *a)
{
    return !(a->listed || a->inputs.n > 1);
}

/* The image's size and its map (or --cells region) in cells mode. */
static int image_region(const args *a, const fcn_model *m, int *img_h,
                        int *img_w, int *map_h, int *map_w, fcn_region *r,
                        char *err, size_t errlen)
{
    fcn_source *src;
    const fcn_source_options so = {.level = a->level};
    int mh, mw;
    if (fcn_source_open(m, a->inputs.v[0], &so, &src)) {
        snprintf(err, errlen, "%s", fcn_last_error());
        return 0;
    }
    fcn_source_size(src, img_h, img_w, NULL);
    fcn_source_free(src);
    if (fcn_model_map_size(m, *img_h, *img_w, &mh, &mw)) {
        snprintf(err, errlen, "%s: %s", a->inputs.v[0], fcn_last_error());
        return 0;
    }
    *map_h = mh;
    *map_w = mw;
    *r = a->cells.height ? a->cells : (fcn_region){0, 0, mh, mw};
    if (r->row > mh - r->height || r->col > mw - r->width) {
        snprintf(err, errlen, "--cells %d,%d,%d,%d are not within the %dx%d "
                 "map", r->row, r->col, r->height, r->width, mh, mw);
        return 0;
    }
    return 1;
}

/* Part i of n of region r: whole cell rows. */
static fcn_region band_of(const fcn_region *r, int i, int n)
{
    const int a = (int)((int64_t)i * r->height / n),
              b = (int)((int64_t)(i + 1) * r->height / n);
    return (fcn_region){r->row + a, r->col, b - a, r->width};
}

static int output_name(const args *a, int cells_mode, int part, int k,
                       char *out, size_t n)
{
    char spec[64];
    if (cells_mode)
        snprintf(spec, sizeof spec, "{}.part-%d-of-%d.npy", part,
                 a->shard_n ? a->shard_n : a->plan_n);
    else
        snprintf(spec, sizeof spec, "{}.npy");
    /* the name fcn-run gives DIR/STEM.npy, without DIR (made later) */
    return cli_out_name(spec, a->inputs.v[k], "", "", out, n);
}

int rsh_output(const rsh_state *s, int k, char *out, size_t n)
{
    return output_name(s->a, s->cells_mode, s->a->shard_i, k, out, n);
}

int rsh_mine(const rsh_state *s, int k)
{
    return s->cells_mode ? k == 0 : k % s->a->shard_n == s->a->shard_i;
}

/* The input window of region r and (gflop not NULL) its direct-
** convolution GFLOP; 0 with err set. */
static int region_cost(const fcn_model *m, int h, int w, const fcn_region *r,
                       size_t mem, int win[4], double *gflop, char *err,
                       size_t errlen)
{
    fcn_session_options so = {.threads = 1, .mem_limit = mem};
    fcn_session *s;
    if (fcn_session_create_region(m, h, w, r, &so, &s)) {
        snprintf(err, errlen, "%s", fcn_last_error());
        return 0;
    }
    fcn_session_input_window(s, &win[0], &win[1], &win[2], &win[3]);
    const int n = gflop ? fcn_session_layers(s, NULL, 0) : 0;
    fcn_layer_stats *l = n ? calloc((size_t)n, sizeof *l) : NULL;
    if (l) {
        fcn_session_layers(s, l, n);
        *gflop = 0;
        for (int k = 0; k < n; k++)
            *gflop += l[k].flops / 1e9;
    }
    free(l);
    fcn_session_free(s);
    if (n && !l)
        snprintf(err, errlen, "out of memory");
    return !n || l != NULL;
}

/* Two inputs of the list whose outputs would have one name: refused. */
typedef struct named {
    char *name;
    int k;
} named;

static int by_name(const void *x, const void *y)
{
    const named *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    return c ? c : a->k - b->k;
}

static int distinct_names(const args *a, char *err, size_t errlen)
{
    named *v = calloc((size_t)a->inputs.n, sizeof *v);
    int ok = v != NULL;
    char name[4096];
    for (int k = 0; ok && k < a->inputs.n; k++) {
        ok = output_name(a, 0, 0, k, name, sizeof name) &&
             (v[k].name = strdup(name));
        v[k].k = k;
    }
    if (!ok)
        snprintf(err, errlen, "out of memory, or an output's name is too "
                 "long");
    if (ok)
        qsort(v, (size_t)a->inputs.n, sizeof *v, by_name);
    for (int k = 1; ok && k < a->inputs.n; k++)
        if (!strcmp(v[k].name, v[k - 1].name)) {
            snprintf(err, errlen, "inputs %s and %s would both write "
                     "%s/%s: parts must never write one file (give inputs "
                     "distinct file names)", a->inputs.v[v[k - 1].k],
                     a->inputs.v[v[k].k], a->out_dir, v[k].name);
            ok = 0;
        }
    for (int k = 0; v && k < a->inputs.n; k++)
        free(v[k].name);
    free(v);
    return ok;
}

/* ---- the part ---- */

static int fail(const char *msg)
{
    fprintf(stderr, PROG ": %s\n", msg);
    return 0;
}

int rsh_begin(rsh_state *s, const args *a, const fcn_model *m,
              fcn_region *band)
{
    char err[8400], path[4200];
    memset(s, 0, sizeof *s);
    s->a = a;
    s->m = m;
    s->cells_mode = cells_mode_of(a);
    if (s->cells_mode) {
        fcn_region r;
        int h, w, mh, mw;
        if (!image_region(a, m, &h, &w, &mh, &mw, &r, err, sizeof err))
            return fail(err);
        if (r.height < a->shard_n) {
            snprintf(err, sizeof err, "--shard %d/%d: the map has %d row%s "
                     "of cells, so at most %d part%s", a->shard_i,
                     a->shard_n, r.height, r.height > 1 ? "s" : "", r.height,
                     r.height > 1 ? "s" : "");
            return fail(err);
        }
        *band = s->band = band_of(&r, a->shard_i, a->shard_n);
        s->units = 1;
    } else {
        if (!distinct_names(a, err, sizeof err))
            return fail(err);
        for (int k = 0; k < a->inputs.n; k++)
            s->units += rsh_mine(s, k);
    }
    if (mkdir(a->out_dir, 0777) && errno != EEXIST) {
        snprintf(err, sizeof err, "--out-dir %s: %s", a->out_dir,
                 strerror(errno));
        return fail(err);
    }
    if (!cli_is_dir(a->out_dir) ||
        !sh_manifest_path(a->out_dir, a->shard_i, a->shard_n, path,
                          sizeof path)) {
        snprintf(err, sizeof err, "--out-dir %s: not a directory (or its "
                 "name is too long)", a->out_dir);
        return fail(err);
    }
    json_t *job = job_json(a, s->cells_mode, a->shard_n, err, sizeof err);
    if (!job)
        return fail(err);
    int rc = sh_manifest_read(path, &s->man, err, sizeof err);
    if (rc < 0) {
        json_decref(job);
        char msg[8600];
        snprintf(msg, sizeof msg, "%s (remove it to run this part afresh)",
                 err);
        return fail(msg);
    }
    if (rc > 0 && !json_equal(s->man.job, job)) {
        json_decref(job);
        sh_manifest_free(&s->man);
        snprintf(err, sizeof err, "%s is a part of another job (another "
                 "model, inputs, number of parts or options): use another "
                 "--out-dir, or remove it", path);
        return fail(err);
    }
    if (rc > 0) {
        json_decref(job);
    } else {
        s->man.job = job;
        s->man.part = a->shard_i;
        s->man.parts = a->shard_n;
    }
    s->man.complete = 0;
    if (!sh_manifest_write(a->out_dir, &s->man, err, sizeof err)) {
        sh_manifest_free(&s->man);
        return fail(err);
    }
    return 1;
}

int rsh_done(rsh_state *s, int k)
{
    char name[4096], err[8400];
    if (!rsh_output(s, k, name, sizeof name))
        return 0;
    const sh_entry *e = sh_entry_find(&s->man, name);
    if (!e)
        return 0;
    if (sh_entry_check(s->a->out_dir, e, err, sizeof err)) {
        s->done_before++;
        return 1;
    }
    if (!s->a->com.quiet)
        fprintf(stderr, PROG ": %s: running it again\n", err);
    return 0;
}

int rsh_record(rsh_state *s, const rj_input *x, char *err, size_t errlen)
{
    const args *a = s->a;
    fcn_model_info info;
    fcn_model_get_info(s->m, &info);
    const char *base = strrchr(x->out, '/');
    sh_entry e = {.input = (char *)x->path,
                  .output = (char *)(base ? base + 1 : x->out),
                  .kernels = (char *)fcn_gemm_info(a->opt.gemm),
                  .image_h = x->h, .image_w = x->w,
                  .classes = x->sc->classes,
                  .cells = {0, 0, x->sc->out_h, x->sc->out_w},
                  .win = {0, 0, x->h, x->w}, .geom = info.geom};
    e.map_h = x->sc->out_h;
    e.map_w = x->sc->out_w;
    if (s->cells_mode) {
        e.cells = s->band;
        if (fcn_model_map_size(s->m, x->h, x->w, &e.map_h, &e.map_w)) {
            snprintf(err, errlen, "%s", fcn_last_error());
            return 0;
        }
        if (!region_cost(s->m, x->h, x->w, &s->band, a->mem_limit, e.win,
                         NULL, err, errlen))
            return 0;
    }
    if (!sh_sha256_file(x->out, e.sha256, &e.bytes, err, errlen))
        return 0;
    if (!sh_entry_add(&s->man, &e)) {
        snprintf(err, errlen, "out of memory");
        return 0;
    }
    s->ran++;
    return sh_manifest_write(a->out_dir, &s->man, err, errlen);
}

int rsh_end(rsh_state *s, int failed)
{
    char err[8400], path[4200];
    const args *a = s->a;
    s->man.complete = !failed && s->done_before + s->ran == s->units;
    int ok = sh_manifest_write(a->out_dir, &s->man, err, sizeof err);
    if (!ok)
        fail(err);
    sh_manifest_path(a->out_dir, a->shard_i, a->shard_n, path, sizeof path);
    if (!a->com.quiet)
        fprintf(stderr, PROG ": part %d/%d: %d of %d unit%s run, %d done "
                "before%s; %s\n", a->shard_i, a->shard_n, s->ran, s->units,
                s->units > 1 ? "s" : "", s->done_before,
                s->man.complete ? "" : ", INCOMPLETE", path);
    sh_manifest_free(&s->man);
    return failed || !ok ? 1 : 0;
}

/* ---- the plan ---- */

static json_t *unit_json(const args *a, const fcn_model *m, int cells_mode,
                         int part, int k, const fcn_region *band, int h,
                         int w, int mh, int mw)
{
    char name[4096], err[4200] = "its output's name is too long";
    int win[4];
    double gflop = 0;
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    const fcn_region r = band ? *band : (fcn_region){0, 0, mh, mw};
    if (!output_name(a, cells_mode, part, k, name, sizeof name) ||
        !region_cost(m, h, w, &r, a->mem_limit, win, &gflop, err,
                     sizeof err))
        return json_pack("{s:s, s:s}", "input", a->inputs.v[k], "error",
                         err);
    const int img[2] = {h, w}, map[3] = {info.classes, mh, mw},
              cells[4] = {r.row, r.col, r.height, r.width};
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:s, s:{s:I, s:I, s:f}}",
                     "input", a->inputs.v[k], "image", sh_ints(img, 2),
                     "map", sh_ints(map, 3), "cells", sh_ints(cells, 4),
                     "input_window", sh_ints(win, 4), "output", name, "cost",
                     "cells",
                     (json_int_t)r.height * r.width, "input_pixels",
                     (json_int_t)win[2] * win[3], "gflop", gflop);
}

/* The size of input k (an image's header, or a .npy read). */
static int input_size(const args *a, const fcn_model *m, int k, int *h,
                      int *w)
{
    const char *p = a->inputs.v[k];
    if (run_ends_with(p, ".npy")) {
        fcn_tensor t;
        if (fcn_npy_read(p, &t))
            return 0;
        *h = t.h, *w = t.w;
        fcn_tensor_free(&t);
        return 1;
    }
    fcn_source *src;
    const fcn_source_options so = {.level = a->level};
    if (fcn_source_open(m, p, &so, &src))
        return 0;
    fcn_source_size(src, h, w, NULL);
    fcn_source_free(src);
    return 1;
}

int rsh_plan(const args *a, const fcn_model *m)
{
    char err[8400];
    const int n = a->plan_n, cells_mode = cells_mode_of(a);
    int h = 0, w = 0, mh, mw, failed = 0;
    fcn_region r = {0};
    if (cells_mode &&
        !image_region(a, m, &h, &w, &mh, &mw, &r, err, sizeof err))
        return !fail(err);
    if (cells_mode && r.height < n) {
        snprintf(err, sizeof err, "--plan %d: the map has %d row%s of cells, "
                 "so at most %d parts", n, r.height, r.height > 1 ? "s" : "",
                 r.height);
        return !fail(err);
    }
    if (!cells_mode && !distinct_names(a, err, sizeof err))
        return !fail(err);
    json_t *job = job_json(a, cells_mode, n, err, sizeof err);
    json_t *parts = json_array();
    for (int i = 0; i < n && job && parts; i++) {
        json_t *units = json_array();
        for (int k = cells_mode ? 0 : i; k < a->inputs.n && units;
             k += cells_mode ? a->inputs.n : n) {
            fcn_region b = band_of(&r, i, n);
            json_t *u;
            if (!cells_mode && (!input_size(a, m, k, &h, &w) ||
                                fcn_model_map_size(m, h, w, &mh, &mw)))
                u = json_pack("{s:s, s:s}", "input", a->inputs.v[k],
                              "error", fcn_last_error());
            else
                u = unit_json(a, m, cells_mode, i, k,
                              cells_mode ? &b : NULL, h, w, mh, mw);
            failed |= !u || json_object_get(u, "error") != NULL;
            if (json_array_append_new(units, u))
                units = (json_decref(units), NULL);
        }
        if (!units || json_array_append_new(parts, json_pack(
                          "{s:i, s:o}", "part", i, "units", units)))
            parts = (json_decref(parts), NULL);
    }
    json_t *root = job && parts ? json_pack("{s:i, s:o, s:o}", "fcn_plan", 1,
                                            "job", job, "parts", parts)
                                : NULL;
    if (!root) {
        json_decref(job);
        json_decref(parts);
        return !fail(job ? "out of memory" : err);
    }
    json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    putchar('\n');
    json_decref(root);
    return failed ? 1 : 0;
}
