/*
** fcn-run: run a classifier, converted to a fully convolutional network, on
** images or .npy arrays of any size, and print or save their score maps.
** The model is loaded once; one session per input size is kept (a small
** cache). docs/cli.md describes the options, outputs and exit statuses.
*/
#define _DEFAULT_SOURCE /* realpath */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "cli_opt.h"
#include "fcn.h"
#include "heatmap.h"
#include "run_args.h"
#include "run_json.h"
#include "run_shard.h"
#include "run_stream.h"
#include "run_tiff.h"

#define CACHE 4                       /* sessions kept, by input size */
#define STDIN_MAX ((size_t)4 << 30)   /* bytes read from `-` */

typedef struct cached {
    fcn_session *s;
    int h, w;
    unsigned long used;
} cached;

typedef struct ctx {
    args *a;
    fcn_model *m;
    double t_load;
    int heat_cls, list_mode, text, failed, printed;
    cached cache[CACHE];
    unsigned long clock;
    cli_json js;
    int n_js;
    cli_paths written;  /* output names so far, to refuse a repeated one */
    cli_progress prog;
    rsh_state *shard;   /* --shard: this part's manifest */
} ctx;

/* ---- messages ---- */

/* "fcn-run: PATH: MSG" (once: MSG may start with PATH already). */
static void input_error(ctx *c, const char *path, const char *msg)
{
    cli_progress_end(&c->prog);
    size_t pl = strlen(path);
    if (!strncmp(msg, path, pl) && msg[pl] == ':')
        fprintf(stderr, PROG ": %s\n", msg);
    else
        fprintf(stderr, PROG ": %s: %s\n", path, msg);
    if (c->a->json && c->list_mode) {
        cli_json_printf(&c->js, c->n_js++ ? ",\n" : "[\n");
        rj_error_json(&c->js, path, msg);
    }
    c->failed++;
}

/* ---- sessions ---- */

/* A session for h x w: one of the cache, or a new one in place of the
** least recently used. NULL after fcn_last_error() is set. */
static fcn_session *session_for(ctx *c, int h, int w)
{
    cached *lru = &c->cache[0];
    for (int k = 0; k < CACHE; k++) {
        cached *e = &c->cache[k];
        if (e->s && e->h == h && e->w == w) {
            e->used = ++c->clock;
            return e->s;
        }
        if (!e->s || e->used < lru->used)
            lru = e;
        if (!e->s)
            break;
    }
    fcn_session_free(lru->s);
    *lru = (cached){0};
    fcn_session_options so = {.threads = c->a->threads,
                              .mem_limit = c->a->mem_limit,
                              .tile = c->a->tile,
                              .progress = cli_progress_tiles,
                              .progress_ud = &c->prog};
    if (fcn_session_create(c->m, h, w, &so, &lru->s) != FCN_OK)
        return NULL;
    *lru = (cached){lru->s, h, w, ++c->clock};
    return lru->s;
}

/* ---- the text summary ---- */

static void print_model(const ctx *c)
{
    fcn_model_info info;
    fcn_model_get_info(c->m, &info);
    printf("model   %s: trained on %dx%dx%d (CxHxW), %d classes, %d layers "
           "-> %d after conversion, %.2f MB of weights, smallest input %dx%d "
           "(WxH)\n", c->a->model, info.in_c, info.in_h, info.in_w,
           info.classes, info.n_layers_file, info.n_layers_fcn,
           info.weight_bytes / 1e6, info.min_w, info.min_h);
    if (c->a->layers) {
        printf("converted layers (shapes at the trained size):\n");
        fputs(fcn_model_summary(c->m), stdout);
    }
}

static int print_summary(const ctx *c, const rj_input *x,
                         const fcn_session *s)
{
    const fcn_scores *sc = x->sc;
    const fcn_geometry *g = &sc->geom;
    printf("input   %s: %dx%d (WxH), %d channel%s%s\n", x->path, x->w, x->h,
           x->c, x->c > 1 ? "s" : "", x->is_npy ? ", used as is" : "");
    printf("scores  %d classes x %d x %d cells (HxW)\n", sc->classes,
           sc->out_h, sc->out_w);
    rj_print_geometry(g);
    int th, tw, ntiles;
    fcn_session_tiles(s, &th, &tw, &ntiles);
    printf("time    %.1f ms, %d thread%s, %.1f MB arena", x->t_run * 1e3,
           x->threads, x->threads > 1 ? "s" : "",
           fcn_session_arena_bytes(s) / 1e6);
    if (ntiles > 1)
        printf(", %d tiles of %dx%d cells", ntiles, th, tw);
    printf("; %s%s; %s\n", fcn_gemm_info(FCN_GEMM_AUTO),
           c->a->opt.precision == FCN_PRECISION_BF16 ? ", bf16" : "",
           fcn_blas_info());
    if (rj_print_top_classes(c->m, sc))
        return run_fail("out of memory");
    heat_ascii(stdout, sc, c->m, 120);
    return c->a->top && rj_print_top_per_cell(c->m, sc, c->a->top)
               ? run_fail("out of memory") : 0;
}

/* ---- one input ---- */

/* The input: an image decoded once (preprocessed tile by tile as it runs)
** or a .npy array. real: where to read it (stdin's spool); 0 after
** input_error. */
static int read_input(ctx *c, const char *path, const char *real,
                      int is_npy, fcn_tensor *in, fcn_image *img)
{
    char buf[1024];
    fcn_model_info info;
    fcn_model_get_info(c->m, &info);
    if (is_npy && c->a->rw && !c->a->com.quiet) {
        cli_progress_end(&c->prog);
        fprintf(stderr, PROG ": %s: --resize ignored for a .npy input\n",
                path);
    }
    const int fit = !is_npy && c->a->fit != FCN_FIT_STRETCH;
    fcn_image whole = {0};
    fcn_status st = is_npy ? fcn_npy_read(real, in)
                    : fit  ? fcn_image_decode(c->m, real, 0, 0, &whole)
                           : fcn_image_decode(c->m, real, c->a->rh, c->a->rw,
                                              img);
    if (!st && fit) {
        st = fcn_image_fit(c->m, &whole, c->a->fit, c->a->rh, c->a->rw, img);
        fcn_image_free(&whole);
    }
    if (st != FCN_OK) {
        input_error(c, path, cli_msg_rename(fcn_last_error(), real, path, buf,
                                            sizeof buf));
        return 0;
    }
    if (!is_npy)
        *in = (fcn_tensor){NULL, img->c, img->h, img->w};
    if (in->c != info.in_c) {
        snprintf(buf, sizeof buf, "has %d channels, the model takes %d",
                 in->c, info.in_c);
        input_error(c, path, buf);
        return 0;
    }
    return 1;
}

/* out claimed for this input: not the input itself, nor an output
** already written (an earlier input's, --json); 0 after input_error. */
static int claim(ctx *c, const char *path, const char *out)
{
    char msg[1200];
    char *ro = realpath(out, NULL), *ri = realpath(path, NULL);
    int same = ro && ri && !strcmp(ro, ri);
    free(ro);
    free(ri);
    if (same) {
        input_error(c, path, "its output would replace the input itself: "
                    "not written");
        return 0;
    }
    for (int k = 0; k < c->written.n; k++)
        if (!strcmp(c->written.v[k], out)) {
            snprintf(msg, sizeof msg, "its output %s is already another "
                     "output (same name): not written", out);
            input_error(c, path, msg);
            return 0;
        }
    if (!cli_paths_add(&c->written, out)) {
        input_error(c, path, "out of memory");
        return 0;
    }
    return 1;
}

/* The name of this input's output from spec (NULL: none), claimed, and
** the name of its sidecar (side, if not NULL); 0 after input_error. */
static int output_name(ctx *c, const char *spec, const char *path,
                       const char *suffix, const char *ext, char *out,
                       size_t n, char *side)
{
    if (!spec || !strcmp(spec, "-"))
        return 1;
    /* one input: the name as given (a directory there is refused) */
    if (!(c->list_mode ? cli_out_name(spec, path, suffix, ext, out, n)
                       : snprintf(out, n, "%s", spec) < (int)n) ||
        (side && !rj_sidecar_path(out, side, n))) {
        input_error(c, path, "its output's name is too long");
        return 0;
    }
    return claim(c, path, out) && (!side || claim(c, path, side));
}

/* --out and its sidecar, --heatmap; 0 after input_error. */
static int write_outputs(ctx *c, rj_input *x, const fcn_image *img,
                         const char *npy, const char *png)
{
    char err[1024], lb[32];
    const args *a = c->a;
    if (a->out && !strcmp(a->out, "-")) {
        if (!rj_npy_stream(stdout, x->sc))
            return 0; /* cli_exit says why */
        x->out = "-";
    } else if (a->out && rt_is_tiff(npy)) {
        if (!rt_write(npy, x->is_npy || !strcmp(x->path, "-") ? NULL
                                                             : x->path,
                      x->resize_w > 0, x->sc, &a->tiff, &x->georef, err,
                      sizeof err)) {
            input_error(c, x->path, err);
            return 0;
        }
        x->out = npy;
    } else if (a->out) {
        int shape[3] = {x->sc->classes, x->sc->out_h, x->sc->out_w};
        if (fcn_npy_write(npy, x->sc->data, 3, shape) != FCN_OK) {
            input_error(c, x->path, fcn_last_error());
            return 0;
        }
        if (!rj_write_sidecar(npy, x, err, sizeof err)) {
            input_error(c, x->path, err);
            return 0;
        }
        x->out = npy;
    }
    if (a->heat_out) {
        if (!heat_write_png(png, x->is_npy ? NULL : img, x->sc, c->heat_cls,
                            a->com.cmap, &a->com.range,
                            cli_label(c->m, c->heat_cls, lb, sizeof lb), err,
                            sizeof err)) {
            input_error(c, x->path, err);
            return 0;
        }
        x->heatmap = png;
    }
    return 1;
}

/* The summary, the files written and the JSON of an input that ran (s:
** its session; NULL: streamed). */
static void report(ctx *c, const rj_input *x, const fcn_session *s)
{
    char msg[8400];
    const fcn_scores *sc = x->sc;
    if (c->shard && !rsh_record(c->shard, x, msg, sizeof msg)) {
        input_error(c, x->path, msg);
        return;
    }
    if (c->text && c->printed++)
        putchar('\n');
    if (c->text && c->printed == 1)
        print_model(c);
    if (c->text && !s)
        rs_print_summary(c->m, x);
    else if (c->text && print_summary(c, x, s)) {
        c->failed++;
        return;
    }
    if (c->text && x->out && rt_is_tiff(x->out))
        printf("wrote   %s (tiled pyramidal BigTIFF%s)\n", x->out,
               x->georef ? ", georeferenced" : "");
    else if (c->text && x->out)
        printf("wrote   %s (float32, %d x %d x %d) and its geometry %s\n",
               x->out, sc->classes, sc->out_h, sc->out_w,
               rj_sidecar_path(x->out, msg, sizeof msg) ? msg : "");
    if (c->text && x->heatmap)
        printf("wrote   %s (heat map of %s)\n", x->heatmap,
               cli_label(c->m, c->heat_cls, msg, sizeof msg));
    if (c->a->json) {
        if (c->list_mode)
            cli_json_printf(&c->js, c->n_js++ ? ",\n" : "[\n");
        rj_input_json(&c->js, x);
        c->n_js += !c->list_mode;
    }
}

/* Whether an image input runs streamed: --stream (--cells, --level), or
** a TIFF whose outputs need no whole map (--heatmap and --out - take the
** in-memory path). */
static int streamed(const args *a, const char *src)
{
    return a->stream ||
           (!a->rw && !a->heat_out && !(a->out && !strcmp(a->out, "-")) &&
            rs_wanted(src, 0));
}

/* A streamed input (run_stream.h): its map into --out's .npy. */
static void stream_input(ctx *c, const char *path, const char *src,
                         const char *npy)
{
    const args *a = c->a;
    char msg[1024];
    fcn_scores sc;
    fcn_region cells;
    rj_rank *best = NULL;
    fcn_map_sink file;
    rj_input x = {.model_path = a->model, .m = c->m, .path = path,
                  .fit = "stretch", .sc = &sc, .threads = a->threads,
                  .t_load = c->t_load};
    const rs_opts o = {a->threads, a->mem_limit,
                       a->cells.height ? &a->cells : NULL, a->level,
                       cli_progress_tiles, &c->prog};
    int tif = a->out && rt_is_tiff(npy);
    if (tif && !rt_sink_open(npy, src, a->level, &a->tiff, &file, &x.georef,
                             msg, sizeof msg)) {
        input_error(c, path, msg);
        return;
    }
    if ((a->out && !tif && fcn_npy_sink_open(npy, &file) != FCN_OK) ||
        !rs_run(c->m, src, &o, a->out ? &file : NULL, &x, &sc, &cells,
                &best)) {
        input_error(c, path, cli_msg_rename(fcn_last_error(), src, path, msg,
                                            sizeof msg));
        return;
    }
    cli_progress_end(&c->prog);
    x.out = a->out ? npy : NULL;
    if (a->out && !tif && !rj_write_sidecar(npy, &x, msg, sizeof msg))
        input_error(c, path, msg);
    else
        report(c, &x, NULL);
    free(best);
}

/* Run one input; its failures are counted in c->failed. */
static void run_input(ctx *c, const char *path, int idx, int count)
{
    const args *a = c->a;
    char real[64], msg[1024], npy[4096], png[4096], side[4096];
    int fd = -1, is_npy = run_ends_with(path, ".npy");
    const char *src = path;
    fcn_tensor in = {0};
    fcn_image img = {0};
    fcn_scores sc;
    cli_progress_begin(&c->prog, path, idx, count);
    double t0 = cli_now();
    if (!strcmp(path, "-")) {
        msg[0] = 0;
        if (!cli_stdin_spool(STDIN_MAX, &fd, real, sizeof real, msg,
                             sizeof msg)) {
            input_error(c, "stdin", msg);
            return;
        }
        char magic[6];
        is_npy = pread(fd, magic, 6, 0) == 6 && !memcmp(magic, "\x93NUMPY", 6);
        src = real;
    }
    const char *ext = a->out && rt_is_tiff(a->out)
                          ? (run_ends_with(a->out, ".tiff") ? ".tiff" : ".tif")
                          : ".npy";
    if (!output_name(c, a->out, path, "", ext, npy, sizeof npy,
                     strcmp(ext, ".npy") ? NULL : side) ||
        !output_name(c, a->heat_out, path, "-heatmap", ".png", png,
                     sizeof png, NULL))
        goto done;
    if (is_npy && a->stream) {
        input_error(c, path, "--stream, --cells and --level read windows of "
                    "an image file: a .npy input runs whole, without them");
        goto done;
    }
    if (!is_npy && streamed(a, src)) {
        stream_input(c, path, src, npy);
        goto done;
    }
    if (!read_input(c, path, src, is_npy, &in, &img))
        goto done;
    static const char *const fits[] = {"stretch", "shorter", "crop"};
    rj_input x = {.model_path = a->model, .m = c->m, .path = path,
                  .w = in.w, .h = in.h, .c = in.c, .is_npy = is_npy,
                  .resize_w = is_npy ? 0 : a->rw,
                  .resize_h = is_npy ? 0 : a->rh, .fit = fits[a->fit],
                  .sc = &sc, .threads = a->threads, .t_load = c->t_load,
                  .t_decode = cli_now() - t0};
    double t1 = cli_now();
    fcn_session *s = session_for(c, in.h, in.w);
    if (!s) {
        input_error(c, path, fcn_last_error());
        goto done;
    }
    double t2 = cli_now();
    x.t_plan = t2 - t1;
    if ((is_npy ? fcn_session_run(s, in.data, &sc)
                : fcn_session_run_image(s, &img, &sc)) != FCN_OK) {
        input_error(c, path, fcn_last_error());
        goto done;
    }
    x.t_run = cli_now() - t2;
    cli_progress_end(&c->prog);
    int th, tw;
    fcn_session_tiles(s, &th, &tw, &x.tiles);
    if (!write_outputs(c, &x, &img, npy, png))
        goto done;
    report(c, &x, s);
done:
    if (fd >= 0)
        close(fd);
    fcn_tensor_free(&in);
    fcn_image_free(&img);
}

/* ---- the run ---- */

static int load_model(ctx *c)
{
    double t0 = cli_now();
    fcn_status st;
    if (!strcmp(c->a->model, "-")) {
        void *data = NULL;
        size_t n = 0;
        char err[256] = "";
        if (!cli_stdin_read(STDIN_MAX, &data, &n, err, sizeof err))
            return !run_fail(err);
        st = fcn_model_load_memory(data, n, &c->a->opt, &c->m);
        free(data);
    } else {
        st = fcn_model_load(c->a->model, &c->a->opt, &c->m);
    }
    if (st != FCN_OK) {
        if (!cli_prep_explain(&c->a->com.prep, PROG, fcn_last_error()))
            run_fail(fcn_last_error());
        return 0;
    }
    c->t_load = cli_now() - t0;
    if (!cli_prep_check(&c->a->com.prep, PROG, c->m))
        return 0;
    if (c->a->heat_out &&
        (c->heat_cls = cli_find_class(c->m, c->a->heat_class)) < 0) {
        cli_unknown_class(PROG, c->m, "--heatmap", c->a->heat_class);
        return 0;
    }
    return rt_resolve(PROG, c->m, &c->a->tiff);
}

/* The JSON document: to stdout or written whole to a file. */
static int write_json(ctx *c)
{
    if (c->list_mode)
        cli_json_printf(&c->js, c->n_js ? "\n]\n" : "[]\n");
    else
        cli_json_printf(&c->js, "\n");
    if (c->js.oom)
        return run_fail("out of memory for the JSON");
    if (!c->list_mode && !c->n_js)
        return 1; /* the one input failed: no document */
    if (!strcmp(c->a->json, "-")) {
        fwrite(c->js.s, 1, c->js.n, stdout);
        return 0;
    }
    cli_file f;
    if (!cli_file_open(&f, c->a->json))
        return run_fail(fcn_last_error());
    fwrite(c->js.s, 1, c->js.n, f.f);
    return cli_file_commit(&f) ? 0 : run_fail(fcn_last_error());
}

/* --shard I/N: this part's units into --out-dir (run_shard.h). */
static int run_part(ctx *c)
{
    args *a = c->a;
    char name[4096], path[8200];
    rsh_state st;
    fcn_region band;
    if (!rsh_begin(&st, a, c->m, &band))
        return 1;
    c->shard = &st;
    const int failed = c->failed;
    for (int k = 0; k < a->inputs.n && !ferror(stdout); k++) {
        if (!rsh_mine(&st, k) || rsh_done(&st, k))
            continue;
        if (st.cells_mode) {
            rsh_output(&st, k, name, sizeof name);
            snprintf(path, sizeof path, "%s/%s", a->out_dir, name);
            a->out = path;
            a->cells = band;
        } else {
            a->out = a->out_dir;
        }
        run_input(c, a->inputs.v[k], k, a->inputs.n);
    }
    c->shard = NULL;
    a->out = NULL;
    return rsh_end(&st, c->failed - failed);
}

static int run(args *a)
{
    ctx c = {0};
    c.a = a;
    c.list_mode = a->listed || a->inputs.n > 1;
    c.text = !(a->out && !strcmp(a->out, "-")) &&
             !(a->json && !strcmp(a->json, "-"));
    cli_progress_init(&c.prog, PROG, a->com.quiet, a->com.progress);
    int rc = 1;
    if (!load_model(&c))
        goto out;
    if (a->json && strcmp(a->json, "-") && !cli_paths_add(&c.written, a->json)) {
        run_fail("out of memory");
        goto out;
    }
    if (a->plan_n) {
        rc = rsh_plan(a, c.m);
        goto out;
    }
    if (a->shard_n) {
        rc = run_part(&c);
        goto out;
    }
    for (int k = 0; k < a->inputs.n && !ferror(stdout); k++)
        run_input(&c, a->inputs.v[k], k, a->inputs.n);
    rc = c.failed ? 1 : 0;
    if (a->json && write_json(&c))
        rc = 1;
out:
    cli_progress_end(&c.prog);
    for (int k = 0; k < CACHE; k++)
        fcn_session_free(c.cache[k].s);
    fcn_model_free(c.m);
    cli_json_free(&c.js);
    cli_paths_free(&c.written);
    return rc;
}

int main(int argc, char **argv)
{
    args a = {0};
    a.com.range.automatic = 1;
    cli_signals();
    int rc = run_parse_args(argc, argv, &a);
    if (!rc) {
        if (!a.threads)
            a.threads = fcn_default_threads();
        rc = run(&a);
    }
    cli_paths_free(&a.inputs);
    return cli_exit(PROG, rc < 0 ? 0 : rc);
}
