/*
** fcn_stream.h: score maps of images too large to hold whole.
**
** An image source (fcn_source) reads windows of an image file without
** decoding the rest; the block runner (fcn_stream_run) splits the score map,
** or a region of it, into blocks of cells whose sessions
** (fcn_session_create_region) fit a memory limit, reads each block's input
** window from the source and hands the block's scores to a sink
** (fcn_map_sink), block after block. The blocks' cells are equal bit for bit
** to those of the whole image's map (fcn.h, fcn_session_create_region).
**
**   fcn_source *src;  fcn_map_sink sink;
**   fcn_source_open(model, "slide.tif", NULL, &src);
**   fcn_npy_sink_open("scores.npy", &sink);
**   fcn_stream_run(model, src, NULL, &sink);  // sink committed or aborted
**   fcn_source_free(src);
**
** docs/large-images.md: the memory and time model, formats and levels.
*/
#ifndef FCN_STREAM_H
#define FCN_STREAM_H

#include "fcn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where a streamed score map goes. fcn_stream_run calls begin once, put
** for every block in row-major order of the block grid (all blocks of a
** grid row have the same row and h; the grid's rows come top to bottom),
** then commit; on any failure (of the run or of a callback) abort instead,
** and nothing more. Each callback's failure is an fcn_status with its
** message set through the callback's own means (a sink in libfcn sets
** fcn_last_error; another may return FCN_ERR_IO and leave a message it
** keeps). */
typedef struct fcn_map_sink {
    /* the map to come: classes x out_h x out_w cells, the geometry of
    ** cell (0, 0) of the region (its offsets are the region's) */
    fcn_status (*begin)(void *ud, int classes, int out_h, int out_w,
                        const fcn_geometry *g);
    /* a block of cells: rows [row, row+h), cols [col, col+w) of the map
    ** begin announced, scores classes x h x w (CHW, rows w apart, planes
    ** h*w apart), valid during the call only */
    fcn_status (*put)(void *ud, int row, int col, int h, int w,
                      const float *scores);
    /* all blocks put: make the output whole (fcn_output_commit) */
    fcn_status (*commit)(void *ud);
    /* on any failure: remove what was written, free what the sink holds */
    void (*abort)(void *ud);
    void *ud;
} fcn_map_sink;

/* ---- image sources ---- */

/* An image file read window by window (libvips random access on tiled or
** striped TIFF, BigTIFF, pyramidal TIFF, OpenSlide formats); other files,
** and every file in a build without libvips or with FCN_DECODER=stb, are
** decoded whole once and their windows copied out. */
typedef struct fcn_source fcn_source;

typedef struct fcn_source_options {  /* a zeroed struct means defaults */
    int level;  /* pyramid level: 0 the full resolution; TIFF: the page,
                   OpenSlide: the level; > 0 on another format: FCN_ERR_ARG */
    int width, height;  /* > 0 (both): the image (or level) resized to
                   width x height, lazily: a windowed file through libvips'
                   vips_resize (linear kernel), a file read whole through
                   fcn_image_resize (as the detector's in-memory pyramid);
                   0 (both): its own size */
} fcn_source_options;

/* Open path for the model's channels (in_c: 1 or 3, as fcn_image_decode
** converts them; the EXIF orientation applied). Only the header is read:
** the model's max_pixels (fcn_options.max_pixels) bounds each window read
** and a whole-image fallback, not the size of a windowed image, whose
** sides may exceed 65536 (up to INT_MAX). opt may be NULL. */
fcn_status fcn_source_open(const fcn_model *m, const char *path,
                           const fcn_source_options *opt, fcn_source **out);
void fcn_source_free(fcn_source *src);  /* accepts NULL */
/* The image's size (after the orientation), and whether windows are read
** from the file (1) or copied from the image decoded whole (0). */
void fcn_source_size(const fcn_source *src, int *height, int *width,
                     int *windowed);
/* Rows [y0, y0+h), columns [x0, x0+w) of the image, within it, into a new
** image (free it with fcn_image_free): the model's channels, 8 or 16 bits
** as stored. More than max_pixels: FCN_ERR_NOMEM. Not thread-safe on one
** source. */
fcn_status fcn_source_read(fcn_source *src, int y0, int x0, int h, int w,
                           fcn_image *window);

/* Run a region session on its input window alone (fcn_session_input_window:
** window->h x window->w pixels, the model's channels), preprocessing it tile
** by tile as fcn_session_run_image does. */
fcn_status fcn_session_run_window(fcn_session *s, const fcn_image *window,
                                  fcn_scores *out);

/* ---- the block runner ---- */

typedef struct fcn_stream_options {  /* a zeroed struct means defaults */
    int threads;         /* each block's session; <= 0: OpenMP's default */
    size_t mem_limit;    /* bytes for one block: its input window's pixels,
                            its session's activations, workspace and scores;
                            0: 512 MiB. The weights, the sink's and the
                            decoder's own memory come on top */
    const fcn_region *cells;  /* NULL: the whole map; else that region */
    int block_h, block_w;     /* > 0: blocks of at most this many cells
                                 (rows, columns); else sized to mem_limit */
    /* NULL: none; after each block, with the blocks done and their total */
    void (*progress)(void *ud, int done, int total);
    void *progress_ud;
} fcn_stream_options;

/* The map (or opt->cells of it) of the image src reads, block by block
** into sink, which is committed on success and aborted on any failure.
** Errors: a region outside the map (FCN_ERR_ARG), an image smaller than
** the network needs (FCN_ERR_SHAPE), a memory limit too small for one
** cell (FCN_ERR_NOMEM), a read or a sink's failure (theirs). */
fcn_status fcn_stream_run(const fcn_model *m, fcn_source *src,
                          const fcn_stream_options *opt,
                          const fcn_map_sink *sink);
/* The block size fcn_stream_run would use (in cells), and the grid's
** count, without running. */
fcn_status fcn_stream_blocks(const fcn_model *m, fcn_source *src,
                             const fcn_stream_options *opt, int *block_h,
                             int *block_w, int *n_blocks);

/* A sink writing the map as a .npy float32 array (classes, out_h, out_w),
** C order: the header with the final shape and the file's full size laid
** out at begin, each block written in place, through fcn_output_* (whole
** or absent: committed at commit, removed at abort). The sink frees itself
** at commit or abort. */
fcn_status fcn_npy_sink_open(const char *path, fcn_map_sink *sink);

#ifdef __cplusplus
}
#endif
#endif
