/*
** fcn.h: fully convolutional inference of CNN classifiers on CPU.
**
** fcn loads a classifier as it was trained (model.bin, docs/model-format.md),
** converts its dense head into convolutions at load time, and runs the result
** on images of any size, producing a score map of classes x out_h x out_w:
** the classifier evaluated at every window position, in one pass.
**
**   fcn_model *m;  fcn_session *s;  fcn_scores sc;
**   if (fcn_model_load("model.bin", NULL, &m) != FCN_OK)
**       fprintf(stderr, "%s\n", fcn_last_error());
**   fcn_session_create(m, height, width, NULL, &s);  // NULL: defaults
**   fcn_session_run(s, input_chw, &sc);   // sc.data: classes x out_h x out_w
**   ...  fcn_session_free(s);  fcn_model_free(m);
**
** Three phases: load does what depends on the file (parse, validate, convert,
** pack weights); session create does what depends on the input size (shapes,
** geometry, one arena); run only computes and never allocates.
**
** Errors: every function returns an fcn_status; the detail is a one-line
** message from fcn_last_error() (thread-local). The library never prints and
** never exits.
**
** Memory: every allocation goes through one hook, fcn_set_allocator (malloc
** by default); a refused allocation is FCN_ERR_NOMEM, nothing leaked.
**
** Threads (tests/test_threads.c checks these, also under ThreadSanitizer):
**   - A loaded fcn_model is immutable: any number of threads may use one at
**     once (sessions, detectors, images, info), until fcn_model_free, which
**     must come after every session and detector of it is freed.
**   - An fcn_session, and an fcn_detector, is used by one thread at a time
**     (a run writes its arena and score map); sessions of one model run in
**     as many threads as wanted, each run with its own OpenMP team of its
**     `threads` (their sum is what the machine runs), with results
**     bit-identical to a run alone.
**   - fcn_last_error and fcn_blas_info return thread-local strings. The
**     process-wide set-ups (the kernel variant, FCN_ISA read at first use;
**     OpenBLAS, opened at first need; FCN_DECODER and libvips, at the
**     first image) happen once, from whichever thread comes first.
**   - fcn_set_allocator is not thread-safe (call it before other threads
**     use fcn); everything else may be called from any thread.
**   - Objects and buffers (images, tensors, score maps) are plain data: the
**     caller serialises writes to them as to any memory.
*/
#ifndef FCN_H
#define FCN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; fcn_version() says which library is running
** (meson.build checks these against the project's version). */
#define FCN_VERSION_MAJOR 0
#define FCN_VERSION_MINOR 1
#define FCN_VERSION_PATCH 0
#define FCN_VERSION_STRING "0.1.0"
/* as one number, for #if: FCN_VERSION_NUMBER >= FCN_MAKE_VERSION(0, 2, 0) */
#define FCN_MAKE_VERSION(a, b, c) ((a) * 10000 + (b) * 100 + (c))
#define FCN_VERSION_NUMBER \
    FCN_MAKE_VERSION(FCN_VERSION_MAJOR, FCN_VERSION_MINOR, FCN_VERSION_PATCH)

/* The library's version, "MAJOR.MINOR.PATCH" (that of the libfcn the
** program runs with, which may be newer than the header it was built
** with). */
const char *fcn_version(void);

typedef enum fcn_status {
    FCN_OK = 0,
    FCN_ERR_IO,          /* file cannot be opened or read */
    FCN_ERR_FORMAT,      /* file is not a valid model.bin / image / npy */
    FCN_ERR_UNSUPPORTED, /* valid file, but an op or option fcn does not handle */
    FCN_ERR_SHAPE,       /* shapes do not chain, or input too small */
    FCN_ERR_NOMEM,       /* allocation failed or a size limit was exceeded */
    FCN_ERR_ARG          /* bad argument from the caller */
} fcn_status;

/* converted network; immutable once loaded: shared by any number of
** threads */
typedef struct fcn_model fcn_model;
/* one input size, its plan and memory; used by one thread at a time (one
** session per thread) */
typedef struct fcn_session fcn_session;

/* How a global pooling head (GAP -> Dense) is converted. */
typedef enum fcn_gap_mode {
    FCN_GAP_WINDOW = 0, /* avg/max pool with the trained window, stride 1:
                           every cell equals the classifier on its crop */
    FCN_GAP_LOCAL = 1   /* drop the pooling: the finer per-location map */
} fcn_gap_mode;

/* Which 3x3 stride-1 convolutions run as Winograd F(4x4, 3x3). */
typedef enum fcn_winograd {
    FCN_WINOGRAD_AUTO = 0,   /* where both channel counts are >= 64, and
                                per map size where it measured faster than
                                im2col + SGEMM (docs/engine.md) */
    FCN_WINOGRAD_NEVER = 1,  /* im2col + SGEMM everywhere */
    FCN_WINOGRAD_ALWAYS = 2  /* every 3x3 stride-1 undilated ungrouped conv */
} fcn_winograd;

/* Which matrix multiply runs the convolutions. */
typedef enum fcn_gemm {
    FCN_GEMM_AUTO = 0,  /* fcn's AVX2/FMA kernel on weights packed at load,
                           where the CPU has AVX2 and FMA; else OpenBLAS */
    FCN_GEMM_BLAS = 1   /* OpenBLAS SGEMM on the weights as stored */
} fcn_gemm;

/* The arithmetic of the im2col + GEMM convolutions and dense layers. */
typedef enum fcn_precision {
    FCN_PRECISION_FP32 = 0,  /* float32 throughout */
    FCN_PRECISION_BF16 = 1   /* weights and GEMM inputs rounded to bfloat16
                                (nearest even), float32 accumulation, on
                                AVX512_BF16 (vdpbf16ps); Winograd layers
                                stay float32. Needs fcn's AVX-512 kernel on
                                a CPU with AVX512_BF16, else the load fails
                                with FCN_ERR_UNSUPPORTED (docs/engine.md) */
} fcn_precision;

/* The most pixels (width x height) an image may have to be decoded, and a
** resize may produce, unless fcn_options.max_pixels says otherwise (as
** PIL's MAX_IMAGE_PIXELS); checked from the image's header, before
** anything is decoded. */
#define FCN_DEFAULT_MAX_PIXELS ((int64_t)100000000)

/* Preprocessing of images that replaces the model's own (as OpenCV's
** blobFromImage takes it): (x*scale - mean[c]) / std[c] after the channel
** order. A zeroed struct, and each zero or NULL field, means the model's
** value; copied at load, fcn_model_get_info reports the effective ones.
** A value out of range fails the load with FCN_ERR_ARG. */
typedef struct fcn_preprocess {
    const char *color;  /* NULL: the model's; "rgb" or "bgr" (bgr: the
                           channels swapped) for 3-channel models, "gray"
                           for 1-channel ones */
    float scale;        /* 0: the model's; else finite */
    const float *mean;  /* NULL: the model's; in_c finite values */
    const float *std;   /* NULL: the model's; in_c finite values, each > 0 */
} fcn_preprocess;

typedef struct fcn_options {   /* a zeroed struct means defaults */
    fcn_gap_mode gap_mode;
    fcn_winograd winograd;
    fcn_gemm gemm;
    int64_t max_pixels;        /* images of this model (fcn_image_decode,
                                  _resize, _load, the detector's levels):
                                  0: FCN_DEFAULT_MAX_PIXELS; larger is
                                  refused with FCN_ERR_NOMEM; a side is at
                                  most 65536 whatever the cap; < 0:
                                  FCN_ERR_ARG */
    fcn_preprocess prep;       /* zeroed: the model's preprocessing */
    fcn_precision precision;   /* FCN_PRECISION_FP32 (0) by default */
    int stride_divisor;        /* K > 1: a score map K times finer than the
                                  network's stride S in both axes (cells
                                  S/K pixels apart, the same window and
                                  offset), by the a-trous rewrite at load:
                                  the last strided layers lose a factor K
                                  of stride, the layers after them dilate
                                  (docs/engine.md, "Maps finer than the
                                  stride"); K must divide S in both axes,
                                  else FCN_ERR_ARG; 0 or 1: none; < 0 or
                                  > 1024: FCN_ERR_ARG */
} fcn_options;

/* Geometry of the score map in input pixels: cell (i, j) sees the input
** window whose top-left corner is (i*stride + offset, j*stride + offset)
** (rows, cols) and whose size is rf_h x rf_w. offset may be negative: the
** window then extends into the padding. */
typedef struct fcn_geometry {
    int stride_h, stride_w;
    int offset_h, offset_w;
    int rf_h, rf_w;
} fcn_geometry;

typedef struct fcn_scores {
    const float *data;  /* classes x out_h x out_w, owned by the session */
    int classes, out_h, out_w;
    fcn_geometry geom;
} fcn_scores;

typedef struct fcn_model_info {
    int in_c, in_h, in_w;      /* the size the classifier was trained at */
    int classes;
    int min_h, min_w;          /* smallest input that gives a score map */
    const char *color;         /* "rgb", "bgr" or "gray" */
    const char *resize;        /* "bilinear" or "area" */
    float scale;               /* (x*scale - mean[c]) / std[c] */
    const float *mean, *std;   /* in_c entries each */
    const char *name;          /* free text, may be "" */
    int n_layers_file;         /* layers in the file */
    int n_layers_fcn;          /* layers after conversion */
    size_t weight_bytes;       /* bytes of weights held by the model for
                                  running (packed copies, Winograd) */
    fcn_geometry geom;         /* of the score map (independent of size) */
} fcn_model_info;

/* Load, validate and convert a model.bin. opt may be NULL. */
fcn_status fcn_model_load(const char *path,        /* model.bin */
                          const fcn_options *opt,  /* NULL = defaults */
                          fcn_model **out);
/* Same from memory; the buffer is copied and may be freed afterwards. */
fcn_status fcn_model_load_memory(const void *data, size_t size,
                                 const fcn_options *opt, fcn_model **out);
void fcn_model_free(fcn_model *m);  /* accepts NULL */

void fcn_model_get_info(const fcn_model *m, fcn_model_info *info);
const char *fcn_model_label(const fcn_model *m, int cls);  /* NULL if none */
/* Human-readable description of the converted layers, one per line; the
** string is owned by the model. */
const char *fcn_model_summary(const fcn_model *m);
/* The score map's size (cells, rows x columns) for an image_h x image_w
** input, without a session: what fcn_session_create would give, for any
** size up to 2^20 a side (include/fcn_stream.h streams such images). An
** input smaller than the network needs: FCN_ERR_SHAPE; sides < 1 or above
** 2^20: FCN_ERR_ARG. */
fcn_status fcn_model_map_size(const fcn_model *m, int image_h, int image_w,
                              int *out_h, int *out_w);

typedef struct fcn_session_options {  /* a zeroed struct means defaults */
    int threads;        /* <= 0: OpenMP's default (all cores) */
    size_t mem_limit;   /* bytes for the score map (classes x out_h x
                           out_w floats), activations, one thread's
                           workspace and the tiling's tables; 0: 512 MiB.
                           Each further thread adds its own workspace.
                           Larger inputs run in bands of score-map columns
                           and strips of input rows. With fcn's own kernels
                           (FCN_GEMM_AUTO where the CPU has AVX2 and FMA)
                           the scores are the same bits whatever the
                           tiling, the thread count or the region
                           (fcn_session_create_region), for one kernel
                           variant (FCN_ISA); OpenBLAS (FCN_GEMM_BLAS, CPUs
                           without AVX2) gives them up to rounding only
                           (docs/engine.md, "Exact results") */
    int tile;           /* > 0: force bands of tile score-map columns and
                           strips of tile score-map rows' worth of input
                           rows */
    /* NULL: none. Called after each tile of a run (fcn_session_tiles) with
    ** the tiles done so far and their total (done == total the last time),
    ** on the thread that called fcn_session_run, which is thread 0 of the
    ** run's team: the other threads may meanwhile start the next tile and
    ** wait for it. It must not call fcn on this session; a slow callback
    ** slows the run. Counts over INT_MAX are clamped to INT_MAX. */
    void (*progress)(void *ud, int done, int total);
    void *progress_ud;
} fcn_session_options;

/* Plan the network for an input of height x width. opt may be NULL.
** Fails with FCN_ERR_SHAPE when the input is smaller than the network
** needs (the message names the layer), FCN_ERR_NOMEM when the score map
** alone exceeds the memory limit (refused at once, whatever its size) or
** when beside it even one score-map cell's strip does not fit. */
fcn_status fcn_session_create(const fcn_model *m, int height, int width,
                              const fcn_session_options *opt,
                              fcn_session **out);
/* Tiling chosen: strip height and band width in score-map cells, and the
** number of tiles (strips x bands). */
void fcn_session_tiles(const fcn_session *s, int *tile_h, int *tile_w,
                       int *n_tiles);
void fcn_session_free(fcn_session *s);  /* accepts NULL */
/* Score map size and geometry, known before running. */
void fcn_session_shape(const fcn_session *s, fcn_scores *shape);
size_t fcn_session_arena_bytes(const fcn_session *s);
/* Run on a preprocessed float input, in_c x height x width (CHW); on a
** region session, its input window alone (fcn_session_input_window). */
fcn_status fcn_session_run(fcn_session *s, const float *input, fcn_scores *out);

/* Per-layer figures of the last run, for benchmarks. */
typedef struct fcn_layer_stats {
    const char *name;          /* layer name in the file */
    const char *op;            /* e.g. "Conv", "Dense as conv", "MaxPool" */
    int in_c, in_h, in_w, out_c, out_h, out_w;
    int kh, kw, stride_h, stride_w, groups;  /* conv and pools */
    int64_t gemm_m, gemm_n, gemm_k;  /* conv as GEMM (per group); 0 if none */
    double flops;              /* direct-convolution FLOPs (2 per MAC) */
    double seconds;            /* time of this layer in the last run */
    size_t im2col_bytes;       /* kernel workspace of the layer's first
                                  window, one thread */
    const char *kernel;        /* the path and ISA that run the layer's
                                  whole-map window, "path/isa": path
                                  winograd, gemm, gemv, depthwise; isa
                                  avx512, avx2, openblas, c (portable C);
                                  NULL for layers without FLOPs */
} fcn_layer_stats;

/* Number of layers of the converted network; fills up to max entries of
** out (may be NULL) with the figures of the last fcn_session_run. */
int fcn_session_layers(const fcn_session *s, fcn_layer_stats *out, int max);

/* A region of the score map, in cells: rows [row, row + height), columns
** [col, col + width). */
typedef struct fcn_region {
    int row, col, height, width;
} fcn_region;

/* A session for the cells of a region of the score map of an image_h x
** image_w input, computed from the input pixels they need alone (the
** region's halo, fcn_session_input_window). Its scores (fcn_session_shape,
** fcn_session_run) are cells->height x cells->width cells, equal bit for
** bit to those cells of the whole image's map (docs/engine.md, "Exact
** results"); padding applies only at the image's true borders. The
** geometry's offsets are the region's: its cell (i, j) sees the input
** window at (i*stride_h + offset_h, j*stride_w + offset_w) of the image.
** A region outside the map, or empty: FCN_ERR_ARG. The other errors and
** opt are fcn_session_create's (mem_limit counts the region's cells),
** but for the cap of 2^34 floats on a layer's whole-image output, which a
** region session, holding its region's alone, does not apply (sides up to
** 2^20: include/fcn_stream.h streams such images). */
fcn_status fcn_session_create_region(const fcn_model *m, int image_h,
                                     int image_w, const fcn_region *cells,
                                     const fcn_session_options *opt,
                                     fcn_session **out);
/* The input pixels the session reads, clipped to the image: rows [*y0, *y0
** + *h), columns [*x0, *x0 + *w) (the whole input for a session of
** fcn_session_create). On a region session fcn_session_run takes this
** window alone (in_c x h x w floats, CHW), and fcn_session_run_image the
** whole image, of which it reads the window. */
void fcn_session_input_window(const fcn_session *s, int *y0, int *x0, int *h,
                              int *w);

/* ---- images and arrays (helpers for front ends) ---- */

/* The buffers of fcn_tensor and fcn_image that fcn fills come from the
** allocation hook (below) and go back with fcn_tensor_free/fcn_image_free;
** an image or tensor whose buffer is the caller's own may be passed in,
** but never to those two. */
typedef struct fcn_tensor {  /* a C x H x W float32 array */
    float *data;
    int c, h, w;
} fcn_tensor;

typedef struct fcn_image {   /* pixels h x w x c (c = 1 or 3, RGB) */
    unsigned char *pixels;     /* 16-bit: uint16_t samples, host-endian */
    int w, h, c;
    int depth;                 /* bits per sample: 8 or 16; 0 means 8 */
} fcn_image;

/* Decode an image with the model's channel count, optionally resized
** (out_h/out_w > 0) with the model's filter. Two decoders (docs/images.md),
** chosen by the environment variable FCN_DECODER, read once: "vips"
** (libvips: TIFF, BigTIFF, WebP, PNG, JPEG, GIF, PNM, ...; the EXIF
** orientation applied; the default where fcn is built with libvips) or
** "stb" (stb_image: PNG, baseline JPEG, BMP, PNM, GIF, TGA, PSD, HDR; EXIF
** ignored); another value: FCN_ERR_ARG. Both give what PIL's
** convert('RGB') or convert('L') gives: alpha dropped, not flattened;
** palettes expanded; CMYK (libvips) as Pillow converts it; and keep 16-bit
** samples (16-bit PNG and PNM, and with libvips TIFF) at full depth
** (depth 16); other sample formats (float TIFF) are FCN_ERR_UNSUPPORTED.
** Preprocessing happens tile by tile in fcn_session_run_image, so a
** large photo never exists as floats in full. The image's size is read
** from its header first: more than the model's max_pixels
** (fcn_options.max_pixels), or a side over 65536, and so a resize target,
** is refused with FCN_ERR_NOMEM before anything is decoded (the message
** names the limit; libvips: the size after the orientation). Only the
** decoded pixels (and, resizing, the resized ones) are ever held: no copy
** (libvips reads the file in order, a strip at a time, into the image). */
fcn_status fcn_image_decode(const fcn_model *m, const char *path, int out_h,
                            int out_w, fcn_image *out);
void fcn_image_free(fcn_image *img);
/* Resize img to out_w x out_h with the model's filter (stb_image_resize);
** an axis that shrinks uses the box filter (area averaging). A target over
** the model's max_pixels: FCN_ERR_NOMEM, before allocating. */
fcn_status fcn_image_resize(const fcn_model *m, const fcn_image *img,
                            int out_h, int out_w, fcn_image *out);

/* How fcn_image_fit brings an image to out_h x out_w (torchvision's
** transforms). */
typedef enum fcn_fit {
    FCN_FIT_STRETCH = 0, /* resized to out_h x out_w */
    FCN_FIT_SHORTER = 1, /* aspect kept, the shorter side min(out_h, out_w),
                            the other int(s * long / short): Resize(int) */
    FCN_FIT_CROP = 2     /* aspect kept, resized to cover out_h x out_w:
                            the side whose ratio out/in is the larger gets
                            its target exactly, the other int(t * other /
                            this) (as Resize(int)); then the centre out_h x
                            out_w cut from that H x W: top int(round((H -
                            out_h) / 2.0)), round half to even, likewise
                            left: Resize + CenterCrop */
} fcn_fit;
/* img brought to out_h x out_w (SHORTER: the size it gives) with the
** model's filter, into a new image; out_h, out_w > 0; the resized size is
** checked against the model's max_pixels. */
fcn_status fcn_image_fit(const fcn_model *m, const fcn_image *img,
                         fcn_fit fit, int out_h, int out_w, fcn_image *out);
/* Run on a decoded image whose size is the session's (a region session's:
** the whole image, of which it reads the input window). */
fcn_status fcn_session_run_image(fcn_session *s, const fcn_image *img,
                                 fcn_scores *out);

/* fcn_image_decode, then the model's preprocessing of the whole image into
** floats: channel order, then (x*scale - mean[c]) / std[c]. */
fcn_status fcn_image_load(const fcn_model *m, const char *path, int out_h,
                          int out_w, fcn_tensor *out);
/* Read a .npy float32 array shaped (C, H, W), C order, little-endian,
** and nothing else: format version 1.0, 2.0 or 3.0; a header dictionary
** with exactly the keys 'descr' ('<f4'), 'fortran_order' (False) and
** 'shape' (three ints, each 1 to 2^20; a 2-D array is refused), spaces and
** '\n' after it; exactly C*H*W floats to the end of a regular file
** (checked against its size before allocating). FCN_ERR_FORMAT otherwise,
** the message naming the file and the problem. */
fcn_status fcn_npy_read(const char *path, fcn_tensor *out);
/* Write a float32 array of the given shape (ndim <= 4) as .npy, through
** fcn_output_* (below): whole or not at all, never over a path that is not
** a regular file. */
fcn_status fcn_npy_write(const char *path, const float *data, int ndim,
                         const int *shape);
void fcn_tensor_free(fcn_tensor *t);

/* Output files written whole or not at all; fcn_npy_write and the front
** ends write through these. fcn_output_open creates a temporary beside
** path (".NAME.XXXXXX.tmp" in the same directory, O_CREAT|O_EXCL, never
** following a symlink; mode 0666 & ~umask, or the permissions of the file
** it will replace) and gives a stdio stream to write it with (*f, owned by
** the output: do not fclose it). A path that exists and is not a regular
** file (a symlink, a device, a FIFO, a directory) is refused and left as
** it is: "PATH: exists and is not a regular file, not replaced".
** fcn_output_commit checks every write, then flushes, fsyncs, closes and
** renames the temporary over path, so a reader sees the old file or the
** whole new one, then fsyncs the directory (the new name survives a
** crash); on any failure before the rename it removes the temporary and
** says why ("PATH: No space left on device"); a failure to sync the
** directory is reported with the file in place. fcn_output_abort removes
** it. Either ends the output (the handle is gone). Thread-safe; at most 16
** outputs are open at once in a process. */
typedef struct fcn_output fcn_output;
fcn_status fcn_output_open(const char *path, fcn_output **out, FILE **f);
fcn_status fcn_output_commit(fcn_output *o);
void fcn_output_abort(fcn_output *o);   /* NULL: nothing */
/* Unlink the temporary of every output still open. Async-signal-safe (a
** fixed table, unlinkat only): for a SIGINT/SIGTERM handler, which then
** restores the default action and re-raises the signal. */
void fcn_output_remove_temporaries(void);

/* ---- memory: the allocation hook ---- */

/* Where the library's memory comes from (in the spirit of lua_Alloc and
** stb's STBI_MALLOC). Every allocation fcn makes goes through alloc: models,
** sessions, detectors, plans, images (stb_image's buffers included), arrays,
** detections. alloc returns size bytes aligned to align (a power of two, 16
** or 64), or NULL: the call then fails with FCN_ERR_NOMEM, nothing leaked
** and its outputs NULL (or, where it can do without the block, succeeds
** with the same result). free is given the pointer and the size alloc was asked
** for. ud is passed to both. Outside the hook: the memory OpenBLAS, the
** OpenMP runtime and libvips (opened on first use; the codecs' state and
** a strip of rows while fcn_image_decode copies them into the image's
** buffer, which is from alloc) and libtiff with zlib (the TIFF sink's
** tile codecs) allocate for themselves, libc's (stdio buffers), and the
** read-only file mapping fcn_model_load uses for model.bin (it falls back to
** a buffer from alloc where the file cannot be mapped). */
typedef struct fcn_allocator {
    void *(*alloc)(void *ud, size_t size, size_t align);
    void (*free)(void *ud, void *p, size_t size);
    void *ud;
} fcn_allocator;

/* Process-wide; a is copied; NULL restores malloc/free. Each block is
** given back to the allocator that made it, so a change leaves earlier
** models, sessions and images valid (their allocator and its ud must stay
** usable until they are freed). Not thread-safe: call it while no other
** thread is inside fcn (best: once, before any other fcn call). The hook
** itself is called from any thread that calls fcn, concurrently when
** several do (so it must be thread-safe then), never from inside
** fcn_session_run. FCN_ERR_ARG when a->alloc or a->free is NULL. */
fcn_status fcn_set_allocator(const fcn_allocator *a);

const char *fcn_status_string(fcn_status st);
const char *fcn_last_error(void);  /* thread-local, one line */

/* The thread count a session uses when its options say 0: OpenMP's
** default (all cores, or OMP_NUM_THREADS). */
int fcn_default_threads(void);

/* The BLAS in use, e.g. "OpenBLAS 0.3.21 ... (OpenMP)"; OpenBLAS is opened
** only when a model loaded with FCN_GEMM_BLAS (or on a CPU without AVX2/FMA)
** needs it, and until then this says "OpenBLAS not loaded (unused)", or why
** it could not be loaded: "... (out of memory: OpenBLAS needs N MiB ...)",
** its constructor's buffers not fitting the address-space limit. */
const char *fcn_blas_info(void);
/* What runs the convolutions' matrix products for a model loaded with
** `gemm`: fcn's packed-weight kernel (where this CPU has AVX2 and FMA) or
** OpenBLAS SGEMM. */
const char *fcn_gemm_info(fcn_gemm gemm);

#ifdef __cplusplus
}
#endif
#endif
