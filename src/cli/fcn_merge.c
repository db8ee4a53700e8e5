/*
** fcn-merge: join the parts of a sharded fcn-run (docs/scale-out.md) into
** the whole score map, equal bit for bit to a single run's; or check a
** sharded run's parts without writing. Every manifest, every output's size
** and SHA-256, and the bands' tiling are checked before anything is
** written; the output is written whole or not at all.
*/
#include <dirent.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_opt.h"
#include "fcn_stream.h"
#include "run_json.h"
#include "run_tiff.h"
#include "shard.h"

#define PROG "fcn-merge"

static const char *usage =
    "usage: fcn-merge DIR OUT [options]\n"
    "       fcn-merge --check DIR\n"
    "  DIR            the --out-dir of a run split with fcn-run --shard I/N\n"
    "  OUT            the whole map: FILE.npy (and its geometry FILE.npy.json)\n"
    "                 or FILE.tif (tiled pyramidal BigTIFF), equal bit for bit\n"
    "                 to a single fcn-run --out OUT of the input\n"
    "  --check        check every part (manifests, outputs' sizes and SHA-256)\n"
    "                 and write nothing; also for runs split by inputs\n"
    "  --classes LIST the TIFF's bands (labels or indices; default all)\n"
    "  --tiff-mode M  float (default), prob8 or argmax (as fcn-run's)\n"
    "  --allow-mixed-kernels  merge parts that ran different kernel variants\n"
    "                 (their last bits may differ from one run's)\n"
    "  -q, --quiet    nothing on stderr but errors\n"
    "  -h, --help     this text\n"
    "  --version      the version\n";

typedef struct margs {
    const char *dir, *out;
    cli_paths rest;
    int check, mixed;
    cli_common com;
    rt_opts tiff;
} margs;

enum { O_CHECK = 256, O_CLASSES, O_TIFF_MODE, O_MIXED };

static const struct option longopts[] = {
    {"check", no_argument, 0, O_CHECK},
    {"classes", required_argument, 0, O_CLASSES},
    {"tiff-mode", required_argument, 0, O_TIFF_MODE},
    {"allow-mixed-kernels", no_argument, 0, O_MIXED},
    CLI_COMMON_OPTIONS,
    {0, 0, 0, 0}};

/* "fcn-merge: MESSAGE" on stderr; 1. */
__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    char msg[8600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sh_one_line(msg);  /* a manifest's strings may hold newlines */
    fprintf(stderr, PROG ": %s\n", msg);
    return 1;
}

static int option(void *ud, int o, const char *v, int argc, char **argv)
{
    margs *a = ud;
    (void)argc;
    switch (o) {
    case O_CHECK: a->check = 1; return 0;
    case O_MIXED: a->mixed = 1; return 0;
    case O_CLASSES: a->tiff.classes = v; return 0;
    case O_TIFF_MODE:
        a->tiff.mode_set = 1;
        return rt_parse_mode(v, &a->tiff.mode)
                   ? 0 : cli_bad(PROG, "tiff-mode", "float, prob8 or argmax",
                                 v);
    case CLI_O_PRECISION: return cli_opt_error(PROG, '?', argv);
    default: {
        int rc = cli_shared_option(PROG, usage, &a->com, o, v);
        return rc != CLI_NOT_SHARED ? rc : cli_opt_error(PROG, o, argv);
    }
    }
}

/* ---- the parts ---- */

typedef struct parts {
    sh_manifest *v;  /* v[i]: part i (parts entries) */
    int parts, entries;
} parts;

static void parts_free(parts *p)
{
    for (int i = 0; p->v && i < p->parts; i++)
        sh_manifest_free(&p->v[i]);
    free(p->v);
}

/* N of the manifests' names in dir (one N only); 0 after a message. */
static int count_parts(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return fail("%s: cannot open the directory", dir) - 1;
    int n = 0, other = 0, i, k, end;
    struct dirent *e;
    while ((e = readdir(d)))
        if (sscanf(e->d_name, "part-%d-of-%d.json%n", &i, &k, &end) == 2 &&
            !e->d_name[end] && k >= 1 && k <= SH_MAX_PARTS) {
            if (n && k != n)
                other = k;
            else
                n = k;
        }
    closedir(d);
    if (other)
        return fail("%s holds parts of runs split in %d and in %d parts: "
                    "merge one run per directory", dir, n, other) - 1;
    if (!n)
        return fail("%s: no manifests (part-I-of-N.json) of a run split "
                    "with fcn-run --shard", dir) - 1;
    return n;
}

/* Every part present, complete, of one job, its outputs intact. */
static int read_parts(const margs *a, parts *p)
{
    char path[4200], err[8400], miss[256] = "";
    memset(p, 0, sizeof *p);
    if ((p->parts = count_parts(a->dir)) < 1)
        return 0;
    if (!(p->v = calloc((size_t)p->parts, sizeof *p->v)))
        return !fail("out of memory");
    int missing = 0;
    const sh_manifest *first = NULL;
    for (int i = 0; i < p->parts; i++) {
        sh_manifest_path(a->dir, i, p->parts, path, sizeof path);
        int rc = sh_manifest_read(path, &p->v[i], err, sizeof err);
        if (rc < 0)
            return !fail("%s", err);
        if (!rc) {
            size_t l = strlen(miss);
            if (missing++ < 8)
                snprintf(miss + l, sizeof miss - l, "%s%d", l ? ", " : "", i);
            continue;
        }
        if (p->v[i].part != i || p->v[i].parts != p->parts)
            return !fail("%s: its \"part\" or \"parts\" is not its name's",
                         path);
        if (!first)
            first = &p->v[i];
        else if (!json_equal(p->v[i].job, first->job))
            return !fail("%s: a part of another job than part %d (model, "
                         "inputs, parts or options differ): merge one run "
                         "per directory", path, first->part);
    }
    if (missing) {
        return !fail("%d of %d parts missing (part %s%s): run them with "
                     "fcn-run ... --shard I/%d --out-dir %s", missing,
                     p->parts, miss, missing > 8 ? ", ..." : "", p->parts,
                     a->dir);
    }
    for (int i = 0; i < p->parts; i++) {
        const sh_manifest *m = &p->v[i];
        sh_manifest_path(a->dir, i, p->parts, path, sizeof path);
        if (!m->complete)
            return !fail("%s: part incomplete (it failed or is still "
                         "running): run it again", path);
        for (int k = 0; k < m->n; k++) {
            if (!sh_entry_check(a->dir, &m->e[k], err, sizeof err))
                return !fail("%s (run its part again)", err);
            if (!a->mixed && strcmp(m->e[k].kernels, p->v[0].e[0].kernels))
                return !fail("parts ran different kernels ('%s' and '%s'): "
                             "their last bits differ; run them on one kind "
                             "of CPU, or --allow-mixed-kernels",
                             p->v[0].e[0].kernels, m->e[k].kernels);
        }
        p->entries += m->n;
    }
    return 1;
}

static const char *job_str(const parts *p, const char *key)
{
    return json_string_value(json_object_get(p->v[0].job, key));
}

/* The region the bands tile: the job's --cells, or the whole map. */
static int bands_region(const parts *p, fcn_region *r, char *err,
                        size_t errlen)
{
    const sh_entry *e0 = &p->v[0].e[0];
    *r = (fcn_region){e0->cells.row, e0->cells.col, 0, e0->cells.width};
    for (int i = 0; i < p->parts; i++) {
        const sh_entry *e = &p->v[i].e[0];
        if (p->v[i].n != 1) {
            snprintf(err, errlen, "part %d has %d outputs, a band has one", i,
                     p->v[i].n);
            return 0;
        }
        if (e->cells.row != r->row + r->height || e->cells.col != r->col ||
            e->cells.width != r->width || e->map_h != e0->map_h ||
            e->map_w != e0->map_w || e->classes != e0->classes ||
            memcmp(&e->geom, &e0->geom, sizeof e->geom) ||
            strcmp(e->input, e0->input)) {
            snprintf(err, errlen, "part %d's band (cells %d,%d %dx%d) does "
                     "not follow part %d's: the parts do not tile one map", i,
                     e->cells.row, e->cells.col, e->cells.height,
                     e->cells.width, i - 1);
            return 0;
        }
        r->height += e->cells.height;
    }
    return 1;
}

/* ---- the merge ---- */

/* The model of the job, with its preprocessing, for the labels of the
** sidecar and of --classes; its file must be the one that ran. */
static fcn_model *job_model(const parts *p, char *err, size_t errlen)
{
    char sha[65];
    int64_t bytes;
    const char *path = job_str(p, "model"), *want = job_str(p, "model_sha256");
    if (!path || !want) {
        snprintf(err, errlen, "the manifests' job has no model");
        return NULL;
    }
    if (!sh_sha256_file(path, sha, &bytes, err, errlen))
        return NULL;
    if (strcmp(sha, want)) {
        snprintf(err, errlen, "%s: not the model the parts ran (its SHA-256 "
                 "differs)", path);
        return NULL;
    }
    const json_t *o = json_object_get(p->v[0].job, "options");
    float mean[4], std[4];
    fcn_options opt = {0};
    const json_t *jm = json_object_get(o, "mean"), *js = json_object_get(o,
                                                                         "std");
    for (size_t k = 0; k < json_array_size(jm) && k < 4; k++)
        mean[k] = (float)json_number_value(json_array_get(jm, k));
    for (size_t k = 0; k < json_array_size(js) && k < 4; k++)
        std[k] = (float)json_number_value(json_array_get(js, k));
    opt.prep.color = json_string_value(json_object_get(o, "color"));
    opt.prep.scale = (float)json_number_value(json_object_get(o, "scale"));
    opt.prep.mean = json_array_size(jm) ? mean : NULL;
    opt.prep.std = json_array_size(js) ? std : NULL;
    const char *gap = json_string_value(json_object_get(o, "gap"));
    opt.gap_mode = gap && !strcmp(gap, "local") ? FCN_GAP_LOCAL
                                                : FCN_GAP_WINDOW;
    fcn_model *m = NULL;
    if (fcn_model_load(path, &opt, &m))
        snprintf(err, errlen, "%s", fcn_last_error());
    return m;
}

static int merge(margs *a, const parts *p)
{
    char err[8400], path[4200];
    fcn_region r;
    if (!bands_region(p, &r, err, sizeof err))
        return fail("%s", err);
    fcn_model *m = job_model(p, err, sizeof err);
    if (!m || !rt_resolve(PROG, m, &a->tiff)) {
        fcn_model_free(m);
        return m ? 1 : fail("%s", err);
    }
    const sh_entry *e0 = &p->v[0].e[0];
    const json_t *o = json_object_get(p->v[0].job, "options");
    const int level = (int)json_integer_value(json_object_get(o, "level"));
    fcn_geometry g = e0->geom;
    g.offset_h += r.row * g.stride_h;
    g.offset_w += r.col * g.stride_w;
    fcn_map_sink sink;
    int georef = 0, tif = rt_is_tiff(a->out), ok = 1;
    double t0 = cli_now();
    if (tif ? !rt_sink_open(a->out, e0->input, level, &a->tiff, &sink,
                            &georef, err, sizeof err)
            : fcn_npy_sink_open(a->out, &sink) != FCN_OK) {
        fcn_model_free(m);
        return fail("%s", tif ? err : fcn_last_error());
    }
    ok = !sink.begin(sink.ud, e0->classes, r.height, r.width, &g);
    for (int i = 0; ok && i < p->parts; i++) {
        const sh_entry *e = &p->v[i].e[0];
        fcn_tensor t = {0};
        snprintf(path, sizeof path, "%s/%s", a->dir, e->output);
        if (fcn_npy_read(path, &t)) {
            snprintf(err, sizeof err, "%s", fcn_last_error());
            ok = 0;
        } else if (t.c != e->classes || t.h != e->cells.height ||
                   t.w != e->cells.width) {
            snprintf(err, sizeof err, "%s: %d x %d x %d, its manifest says "
                     "%d x %d x %d", path, t.c, t.h, t.w, e->classes,
                     e->cells.height, e->cells.width);
            ok = 0;
        } else if (sink.put(sink.ud, e->cells.row - r.row, 0, t.h, t.w,
                            t.data)) {
            snprintf(err, sizeof err, "%s: %s", a->out, fcn_last_error());
            ok = 0;
        }
        fcn_tensor_free(&t);
    }
    if (ok && sink.commit(sink.ud)) {
        snprintf(err, sizeof err, "%s: %s", a->out, fcn_last_error());
        ok = -1;
    } else if (!ok) {
        if (!err[0])
            snprintf(err, sizeof err, "%s: %s", a->out, fcn_last_error());
        sink.abort(sink.ud);
    }
    fcn_scores sc = {NULL, e0->classes, r.height, r.width, g};
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    rj_input x = {.model_path = job_str(p, "model"), .m = m,
                  .path = e0->input, .w = e0->image_w, .h = e0->image_h,
                  .c = info.in_c, .fit = "stretch", .sc = &sc, .cells = &r,
                  .blocks = p->parts, .level = level};
    if (ok == 1 && !tif && !rj_write_sidecar(a->out, &x, err, sizeof err))
        ok = 0;
    fcn_model_free(m);
    if (ok != 1)
        return fail("%s", err);
    if (!a->com.quiet)
        fprintf(stderr, PROG ": %d parts -> %s (%d x %d x %d cells) in %.1f "
                "ms\n", p->parts, a->out, e0->classes, r.height, r.width,
                (cli_now() - t0) * 1e3);
    return 0;
}

int main(int argc, char **argv)
{
    margs a = {0};
    cli_signals();
    int rc = cli_parse(argc, argv, PROG, longopts, 1, option, &a, &a.dir,
                       &a.rest);
    if (!rc && !a.dir)
        rc = fail("no DIR given (%s --help lists the options)", PROG);
    if (!rc && a.check && a.rest.n)
        rc = fail("--check writes nothing: no OUT");
    if (!rc && !a.check && a.rest.n != 1)
        rc = fail("give DIR and OUT (or --check DIR)");
    if (!rc && !a.check) {
        a.out = a.rest.v[0];
        if (!rt_is_tiff(a.out) && !(strlen(a.out) > 4 &&
                                    !strcmp(a.out + strlen(a.out) - 4,
                                            ".npy")))
            rc = fail("%s: OUT must name a .npy or .tif file", a.out);
        else if ((a.tiff.classes || a.tiff.mode_set) && !rt_is_tiff(a.out))
            rc = fail("--classes and --tiff-mode need OUT.tif");
    }
    parts p = {0};
    if (!rc && !read_parts(&a, &p))
        rc = 1;
    const char *mode = rc ? NULL : job_str(&p, "mode");
    if (!rc && a.check) {
        if (!a.com.quiet)
            fprintf(stderr, PROG ": %s: %d parts, %d outputs, all complete "
                    "and intact\n", a.dir, p.parts, p.entries);
    } else if (!rc && (!mode || strcmp(mode, "cells"))) {
        rc = fail("%s: a run split by inputs: each output is whole already "
                  "(fcn-merge --check %s checks them)", a.dir, a.dir);
    } else if (!rc) {
        rc = merge(&a, &p);
    }
    parts_free(&p);
    cli_paths_free(&a.rest);
    return cli_exit(PROG, rc < 0 ? 0 : rc);
}
