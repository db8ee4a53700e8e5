/*
** run_args.c: fcn-run's command line: getopt_long through cli_opt.c, every
** option's range checked, the combinations checked (docs/cli.md).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "run_args.h"
#include "run_stream.h"

static const char *usage =
    "usage: fcn-run MODEL INPUT... [options]\n"
    "  MODEL          model.bin ('-': standard input)\n"
    "  INPUT          an image (PNG, JPEG, TIFF, WebP...) preprocessed as the model\n"
    "                 says, or a .npy float32 array (C, H, W) used as is;\n"
    "                 '-': standard input. Several: run in turn, the model\n"
    "                 loaded once; one that fails is reported and the others\n"
    "                 still run (exit status 1)\n"
    "  --list FILE    more inputs, one path per line ('-': standard input)\n"
    "  --out FILE.npy write the score map (classes, H', W') as float32 .npy,\n"
    "                 and its geometry beside it as FILE.npy.json; '-': the\n"
    "                 .npy on standard output; several inputs: a directory\n"
    "                 (DIR/NAME.npy) or a pattern with {} for the input's\n"
    "                 name without extension\n"
    "  --out FILE.tif the score map as a tiled pyramidal BigTIFF (a GeoTIFF\n"
    "                 where the input is one: docs/large-images.md)\n"
    "  --classes LIST its bands: classes (labels or indices, e.g. 3,Bag),\n"
    "                 in that order (default: all)\n"
    "  --tiff-mode M  float (float32 scores, the default), prob8 (uint8,\n"
    "                 round(clamp(score, 0, 1) * 255)) or argmax (the best\n"
    "                 class and its prob8 confidence)\n"
    "  --json FILE    per input: shape, geometry, top classes, timings, as\n"
    "                 JSON (an array for several inputs); '-': stdout\n"
    "  --heatmap CLASS FILE.png  a class's score map (label or index) as a\n"
    "                 PNG over the image (several inputs: DIR, giving\n"
    "                 DIR/NAME-heatmap.png, or a pattern with {})\n"
    "  --cmap NAME    its colour map: viridis (default), magma, gray, turbo\n"
    "  --range R      its value range: auto (default), 0:1 or LO:HI\n"
    "  --top K        also print the K best classes of every cell (1..1000)\n"
    "  --threads N    threads (0 = all cores, the default; up to 1024)\n"
    CLI_PRECISION_USAGE
    CLI_STRIDE_DIVISOR_USAGE
    "  --resize WxH   resize the image first (model's filter; 1..65536 each)\n"
    "  --fit F        how --resize fits: stretch (the default), crop (aspect\n"
    "                 kept, the centre WxH cut) or shorter (aspect kept, the\n"
    "                 shorter side min(W, H))\n"
    "  --mean A,B,C   preprocessing: (x*scale - mean[c]) / std[c], replacing\n"
    "  --std A,B,C    the model's (one value per channel; --std > 0)\n"
    "  --scale S      (finite, not 0)\n"
    "  --bgr, --rgb   the channel order of a 3-channel model\n"
    "  --max-pixels N the largest image (width x height) decoded or resized\n"
    "                 to (default 100000000); larger ones are refused\n"
    "  --gap local    convert a global-pooling head per location (no window)\n"
    "  --mem-limit N  bytes for the score map and activations (K, M, G\n"
    "                 suffixes; 64K to 1T, default 512M); larger inputs run\n"
    "                 on spatial tiles, with equal results\n"
    "  --tile N       force tiles of N score-map cells (1..65536)\n"
    "  --stream       compute the map block by block from windows of the\n"
    "                 image, within --mem-limit (always for TIFF inputs;\n"
    "                 docs/large-images.md)\n"
    "  --cells R,C,H,W  only the map's cells R..R+H-1 (rows), C..C+W-1\n"
    "                 (columns), from their input window (streamed)\n"
    "  --level N      a pyramid's level N: TIFF page, OpenSlide level\n"
    "                 (streamed)\n"
    "  --shard I/N    run part I (0..N-1) of N of the work: one input's map\n"
    "                 in bands of cell rows, or every N-th input of several;\n"
    "                 its outputs and manifest go to --out-dir, where a rerun\n"
    "                 skips what is done (fcn-merge joins the bands;\n"
    "                 docs/scale-out.md)\n"
    "  --out-dir DIR  where the parts of --shard go (made if absent)\n"
    "  --plan N       print the N parts as JSON (cells, input windows, cost)\n"
    "                 and run nothing\n"
    "  --layers       print the converted network\n"
    "  -q, --quiet    nothing on stderr but errors (no progress)\n"
    "  -h, --help     this text\n"
    "  --version      the version\n";

int run_fail(const char *msg)
{
    fprintf(stderr, PROG ": %s\n", msg);
    return 1;
}

int run_ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcasecmp(s + a - b, suf);
}

/* ---- arguments ---- */

enum {
    O_LIST = 256, O_OUT, O_JSON, O_HEAT, O_TOP, O_THREADS, O_RESIZE,
    O_MAXPIX, O_GAP, O_MEM, O_TILE, O_LAYERS, O_FIT, O_CLASSES, O_TIFF_MODE,
    O_STREAM, O_CELLS, O_LEVEL, O_SHARD, O_OUT_DIR, O_PLAN
};

static const struct option longopts[] = {
    {"list", required_argument, 0, O_LIST},
    {"out", required_argument, 0, O_OUT},
    {"json", required_argument, 0, O_JSON},
    {"heatmap", required_argument, 0, O_HEAT},
    {"top", required_argument, 0, O_TOP},
    {"threads", required_argument, 0, O_THREADS},
    {"resize", required_argument, 0, O_RESIZE},
    {"max-pixels", required_argument, 0, O_MAXPIX},
    {"gap", required_argument, 0, O_GAP},
    {"mem-limit", required_argument, 0, O_MEM},
    {"tile", required_argument, 0, O_TILE},
    {"layers", no_argument, 0, O_LAYERS},
    {"fit", required_argument, 0, O_FIT},
    {"stream", no_argument, 0, O_STREAM},
    {"cells", required_argument, 0, O_CELLS},
    {"level", required_argument, 0, O_LEVEL},
    {"classes", required_argument, 0, O_CLASSES},
    {"tiff-mode", required_argument, 0, O_TIFF_MODE},
    {"shard", required_argument, 0, O_SHARD},
    {"out-dir", required_argument, 0, O_OUT_DIR},
    {"plan", required_argument, 0, O_PLAN},
    CLI_RUN_OPTIONS,
    CLI_COMMON_OPTIONS,
    {0, 0, 0, 0}};

#define MAX_PARTS 1000000 /* shard.h's SH_MAX_PARTS */

static int bad(const char *opt, const char *what, const char *v)
{
    return cli_bad(PROG, opt, what, v);
}

/* One option (cli_option_fn). */
static int option(void *ud, int o, const char *v, int argc, char **argv)
{
    args *a = ud;
    long n;
    int rc = cli_shared_option(PROG, usage, &a->com, o, v);
    if (rc != CLI_NOT_SHARED)
        return rc;
    switch (o) {
    case O_LAYERS: a->layers = 1; return 0;
    case O_STREAM: a->stream = 1; return 0;
    case O_CELLS:
        return rs_parse_cells(v, &a->cells)
                   ? 0 : bad("cells", "R,C,H,W: the first row and column "
                             "(>= 0) and the height and width (> 0) in "
                             "cells", v);
    case O_LEVEL:
        if (!cli_int(v, 0, 1000, &n))
            return bad("level", "a number from 0 to 1000", v);
        a->level = (int)n;
        return 0;
    case O_OUT: a->out = v; return 0;
    case O_OUT_DIR: a->out_dir = v; return 0;
    case O_SHARD: {
        int i, nn, end = 0;
        if (sscanf(v, "%d/%d%n", &i, &nn, &end) != 2 || v[end] || i < 0 ||
            nn < 1 || nn > MAX_PARTS || i >= nn || !(*v >= '0' && *v <= '9'))
            return bad("shard", "I/N: part I (0..N-1) of N (1..1000000)", v);
        a->shard_i = i;
        a->shard_n = nn;
        return 0;
    }
    case O_PLAN:
        if (!cli_int(v, 1, MAX_PARTS, &n))
            return bad("plan", "a number of parts from 1 to 1000000", v);
        a->plan_n = (int)n;
        return 0;
    case O_JSON: a->json = v; return 0;
    case O_CLASSES: a->tiff.classes = v; return 0;
    case O_TIFF_MODE:
        a->tiff.mode_set = 1;
        return rt_parse_mode(v, &a->tiff.mode)
                   ? 0 : bad("tiff-mode", "float, prob8 or argmax", v);
    case O_FIT:
        if (!strcmp(v, "stretch") || !strcmp(v, "crop") ||
            !strcmp(v, "shorter")) {
            a->fit = *v == 's' ? (v[1] == 't' ? FCN_FIT_STRETCH
                                              : FCN_FIT_SHORTER)
                               : FCN_FIT_CROP;
            return 0;
        }
        return bad("fit", "stretch, crop or shorter", v);
    case O_LIST:
        a->listed = 1;
        a->list_stdin |= !strcmp(v, "-");
        return cli_paths_read_list(&a->inputs, PROG, v) ? 0 : 1;
    case O_HEAT:
        a->heat_class = v;
        return cli_second_value(PROG, "heatmap", "a CLASS and a FILE.png",
                                argc, argv, &a->heat_out);
    case O_TOP:
        if (!cli_int(v, 1, 1000, &n))
            return bad("top", "a number from 1 to 1000", v);
        a->top = (int)n;
        return 0;
    case O_THREADS:
        if (!cli_int(v, 0, 1024, &n))
            return bad("threads", "a number from 0 (all cores) to 1024", v);
        a->threads = (int)n;
        return 0;
    case O_RESIZE:
        return cli_wxh(v, 65536, &a->rw, &a->rh)
                   ? 0 : bad("resize", "WxH, each from 1 to 65536, e.g. "
                             "448x448", v);
    case O_MAXPIX:
        if (!cli_int(v, 1, 4294967296L, &n))
            return bad("max-pixels", "a number from 1 to 4294967296", v);
        a->opt.max_pixels = n;
        return 0;
    case O_GAP:
        if (!strcmp(v, "local") || !strcmp(v, "window")) {
            a->opt.gap_mode = *v == 'l' ? FCN_GAP_LOCAL : FCN_GAP_WINDOW;
            return 0;
        }
        return bad("gap", "'window' or 'local'", v);
    case O_MEM: return cli_mem_limit(PROG, v, &a->mem_limit);
    case O_TILE:
        if (!cli_int(v, 1, 65536, &n))
            return bad("tile", "a number of cells from 1 to 65536", v);
        a->tile = (int)n;
        return 0;
    default: return cli_opt_error(PROG, o, argv);
    }
}

/* An output spec for several inputs: a directory or a {} pattern. */
static int several_ok(const char *opt, const char *spec, const char *ext)
{
    if (strstr(spec, "{}") ? run_ends_with(spec, ext) : cli_is_dir(spec))
        return 1;
    fprintf(stderr, PROG ": %s %s: with several inputs give an existing "
            "directory or a pattern with {} ending in %s\n", opt, spec, ext);
    return 0;
}

/* --shard, --out-dir and --plan against the rest. */
static int shard_args(args *a, int several)
{
    if (!a->shard_n && !a->plan_n)
        return a->out_dir ? run_fail("--out-dir goes with --shard I/N") : 0;
    if (a->shard_n && a->plan_n)
        return run_fail("--shard runs a part, --plan prints them: one or "
                        "the other");
    if (a->shard_n && !a->out_dir)
        return run_fail("--shard needs --out-dir DIR for its outputs");
    if (a->plan_n && a->out_dir)
        return run_fail("--plan writes nothing: no --out-dir");
    int stdin_used = !strcmp(a->model, "-") || a->list_stdin;
    for (int k = 0; k < a->inputs.n; k++)
        stdin_used |= !strcmp(a->inputs.v[k], "-");
    if (stdin_used)
        return run_fail("--shard and --plan read the model and inputs from "
                        "files (every part reads the same): not '-'");
    if (a->out || a->heat_out || a->json)
        return run_fail("--shard writes its outputs into --out-dir, and "
                        "--plan on stdout: no --out, --heatmap or --json "
                        "(fcn-merge writes the whole map)");
    if (!several && a->rw)
        return run_fail("--shard and --plan on one input compute its map in "
                        "bands, streamed: not with --resize");
    for (int k = 0; !several && k < a->inputs.n; k++)
        if (run_ends_with(a->inputs.v[k], ".npy"))
            return run_fail("--shard and --plan on one input stream an image "
                            "file: not a .npy");
    a->stream |= !several;
    return 0;
}

/* 0: run; otherwise the exit status (-1: done, 0). */
int run_parse_args(int argc, char **argv, args *a)
{
    int rc = cli_parse(argc, argv, PROG, longopts, 1, option, a, &a->model,
                       &a->inputs);
    if (rc)
        return rc;
    if (!a->model || !a->inputs.n) {
        if (a->model && a->listed)
            return run_fail("--list gave no inputs");
        fprintf(stderr, PROG ": %s (fcn-run --help lists the options)\n",
                a->model ? "no INPUT given" : "no MODEL and INPUT given");
        return 2;
    }
    int stdin_uses = !strcmp(a->model, "-") + a->list_stdin;
    for (int k = 0; k < a->inputs.n; k++)
        stdin_uses += !strcmp(a->inputs.v[k], "-");
    if (stdin_uses > 1)
        return run_fail("standard input ('-') can be read once only");
    int several = a->listed || a->inputs.n > 1;
    if (a->out && a->json && !strcmp(a->out, "-") && !strcmp(a->json, "-"))
        return run_fail("--out - and --json - cannot both use standard output");
    if (several && a->out && !strcmp(a->out, "-"))
        return run_fail("--out -: one input only (several: a directory or a "
                    "pattern)");
    const char *ext = a->out && rt_is_tiff(a->out)
                          ? (run_ends_with(a->out, ".tiff") ? ".tiff" : ".tif")
                          : ".npy";
    if (a->out && strcmp(a->out, "-") &&
        (several ? !several_ok("--out", a->out, ext)
                 : !run_ends_with(a->out, ext)))
        return several ? 1 : run_fail("--out must name a .npy or .tif file");
    if ((a->tiff.classes || a->tiff.mode_set) && !strcmp(ext, ".npy"))
        return run_fail("--classes and --tiff-mode need --out FILE.tif");
    if (a->heat_out && several && !several_ok("--heatmap", a->heat_out, ".png"))
        return 1;
    if (a->heat_out && !strcmp(a->heat_out, "-"))
        return run_fail("--heatmap: give a file, not '-'");
    a->stream |= a->cells.height > 0 || a->level > 0;
    if (a->stream && (a->rw || a->heat_out || (a->out && !strcmp(a->out,
                                                                  "-"))))
        return run_fail("--stream, --cells and --level compute the map block by "
                    "block: not with --resize, --heatmap or --out -");
    if (a->fit && !a->rw)
        return run_fail("--fit needs --resize WxH");
    if ((rc = shard_args(a, several)))
        return rc;
    cli_prep_apply(&a->com.prep, &a->opt.prep);
    a->opt.precision = a->com.precision;
    a->opt.stride_divisor = a->com.stride_divisor;
    return 0;
}

