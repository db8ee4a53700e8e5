/*
** tiffmap.c: the TIFF score-map sink (fcn_tiff.h). Each pyramid level is
** a libtiff BigTIFF in an unlinked temporary file, written a tile row at a
** time: level 0 as the blocks of a grid row complete, level k+1 from the
** rows of level k as each of its tile rows is written (2x2 means, or the
** top-left cell in argmax mode). At commit level 0's file gets the other
** levels' tiles copied raw (no recompression) as its next directories,
** and is copied into the output (fcn_output_*, whole or absent): the
** output stream cannot seek, which libtiff needs.
*/
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/tiffmap.h"
#include "io/outfile.h"
#include "util/err.h"
#include "util/mem.h"

#define MAX_LEVELS 32

typedef struct level {
    TIFF *t;
    int keep;           /* a second descriptor of its file, to read it */
    int w, h;           /* cells */
    int row0;           /* the level's row of strip's first row */
    int n, cap;         /* rows in strip, rows it holds */
    unsigned char *strip;
} level;

typedef struct tsink {
    outf *out;
    FILE *f;
    char path[512];
    int *cls;           /* bands' classes; NULL: all (known at begin) */
    int n_cls;
    fcn_tiff_mode mode;
    fcn_tiff_compression comp;
    int tile;
    fcn_georef *geo;
    int classes;        /* the model's */
    int bands, bps;     /* samples per cell, bytes per sample */
    size_t cell;        /* bands * bps */
    fcn_geometry g;
    int next_row, next_col, grid_h;  /* the next block expected */
    int n_levels;
    level lv[MAX_LEVELS];
    unsigned char *tilebuf;
    tiffm_msg msg;
} tsink;

static fcn_status fail_tiff(tsink *s, const char *what)
{
    return err_set(FCN_ERR_IO, "%s: %s%s%s", s->path, what,
                   s->msg.text[0] ? ": " : "", s->msg.text);
}

static int set_tags(tsink *s, TIFF *t, int w, int h, int reduced)
{
    uint16_t comp = s->comp == FCN_TIFF_NONE ? COMPRESSION_NONE
                  : s->comp == FCN_TIFF_LZW ? COMPRESSION_LZW
                  : COMPRESSION_ADOBE_DEFLATE;
    int ok = TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)w) &&
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)h) &&
        TIFFSetField(t, TIFFTAG_TILEWIDTH, (uint32_t)s->tile) &&
        TIFFSetField(t, TIFFTAG_TILELENGTH, (uint32_t)s->tile) &&
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)s->bands) &&
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)(8 * s->bps)) &&
        TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, s->mode == FCN_TIFF_FLOAT ?
                     SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_UINT) &&
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK) &&
        TIFFSetField(t, TIFFTAG_COMPRESSION, comp) &&
        TIFFSetField(t, TIFFTAG_SOFTWARE, "fcn " FCN_VERSION_STRING);
    if (ok && s->bands > 1) {
        uint16_t extra[256] = {0};  /* EXTRASAMPLE_UNSPECIFIED */
        ok = TIFFSetField(t, TIFFTAG_EXTRASAMPLES, (uint16_t)(s->bands - 1),
                          extra);
    }
    if (ok && reduced)
        ok = TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE);
    if (ok && !reduced && s->geo) {
        double a[6];
        fcn_georef_map(s->geo->affine, &s->g, a);
        ok = tiffm_write_geo(t, s->geo, a);
    }
    return ok;
}

static int temp_fd(void)
{
    const char *dir = getenv("TMPDIR");
    char name[4096];
    if (!dir || !*dir || strlen(dir) > sizeof name - 32)
        dir = "/tmp";
    snprintf(name, sizeof name, "%s/.fcn-tiff.XXXXXX", dir);
    int fd = mkstemp(name);
    if (fd >= 0)
        unlink(name);
    return fd;
}

static fcn_status level_open(tsink *s, int k, int w, int h)
{
    level *L = &s->lv[k];
    L->w = w;
    L->h = h;
    L->keep = -1;
    L->cap = s->tile;
    int fd = temp_fd();
    if (fd < 0)
        return err_set(FCN_ERR_IO, "%s: temporary file: %s", s->path,
                       strerror(errno));
    L->keep = dup(fd);
    if (L->keep < 0) {
        close(fd);
        return err_set(FCN_ERR_IO, "%s: %s", s->path, strerror(errno));
    }
    L->t = tiffm_fdopen(fd, s->path, "w8", &s->msg);
    if (!L->t) {
        close(fd);
        return fail_tiff(s, "cannot start the TIFF");
    }
    if (!set_tags(s, L->t, w, h, k > 0))
        return fail_tiff(s, "cannot set its tags");
    int64_t bytes;
    if (!mem_mul64((int64_t)s->tile * w, (int64_t)s->cell, &bytes) ||
        !(L->strip = mem_alloc((size_t)bytes)))
        return err_set(FCN_ERR_NOMEM, "%s: out of memory for a tile row of "
                       "%d x %d cells", s->path, s->tile, w);
    return FCN_OK;
}

/* One output sample of score v (prob8 and the confidence). */
static unsigned to_u8(float v)
{
    if (!(v > 0))
        return 0;  /* NaN too */
    return v >= 1 ? 255u : (unsigned)lrintf(v * 255.0f);
}

static void put_sample(const tsink *s, unsigned char *p, unsigned v)
{
    if (s->bps == 2) {
        uint16_t u = (uint16_t)v;
        memcpy(p, &u, 2);
    } else {
        *p = (unsigned char)v;
    }
}

/* A block's row r (of h x w, CHW planes) into cells of dst. */
static void convert_row(const tsink *s, const float *sc, int h, int w,
                        int r, unsigned char *dst)
{
    size_t plane = (size_t)h * w;
    for (int x = 0; x < w; x++, dst += s->cell) {
        const float *c0 = sc + (size_t)r * w + x;
        if (s->mode == FCN_TIFF_ARGMAX) {
            int best = s->cls[0];
            float bv = c0[plane * (size_t)best];
            for (int b = 1; b < s->n_cls; b++) {
                float v = c0[plane * (size_t)s->cls[b]];
                if (v > bv || (bv != bv && v == v)) {
                    bv = v;
                    best = s->cls[b];
                }
            }
            put_sample(s, dst, (unsigned)best);
            put_sample(s, dst + s->bps, to_u8(bv));
        } else if (s->mode == FCN_TIFF_PROB8) {
            for (int b = 0; b < s->n_cls; b++)
                dst[b] = (unsigned char)to_u8(c0[plane * (size_t)s->cls[b]]);
        } else {
            for (int b = 0; b < s->n_cls; b++)
                memcpy(dst + 4 * b, &c0[plane * (size_t)s->cls[b]], 4);
        }
    }
}

/* Row y of level k+1 from rows a, b (b may be a again) of level k. */
static void reduce_row(const tsink *s, const level *L, const unsigned char *a,
                       const unsigned char *b, unsigned char *dst, int w2)
{
    for (int x = 0; x < w2; x++, dst += s->cell) {
        int x0 = 2 * x, x1 = 2 * x + 1 < L->w ? 2 * x + 1 : 2 * x;
        const unsigned char *q[4] = {a + x0 * s->cell, a + x1 * s->cell,
                                     b + x0 * s->cell, b + x1 * s->cell};
        int n = (x1 != x0 ? 2 : 1) * (b != a ? 2 : 1);
        if (s->mode == FCN_TIFF_ARGMAX) {
            memcpy(dst, q[0], s->cell);
            continue;
        }
        for (int c = 0; c < s->bands; c++) {
            if (s->mode == FCN_TIFF_FLOAT) {
                float v[4], sum = 0;
                for (int i = 0; i < 4; i++)
                    memcpy(&v[i], q[i] + 4 * c, 4);
                if (n == 4)
                    sum = ((v[0] + v[1]) + (v[2] + v[3])) * 0.25f;
                else if (n == 2)
                    sum = (v[0] + (x1 != x0 ? v[1] : v[2])) * 0.5f;
                else
                    sum = v[0];
                memcpy(dst + 4 * c, &sum, 4);
            } else {
                unsigned t = 0;
                for (int i = 0; i < 4; i++)
                    t += q[i][c];
                /* q repeats a cell where the level is odd: count it once */
                if (n == 2)
                    t /= 2;
                else if (n == 1)
                    t /= 4;
                int d = n == 4 ? 4 : n;
                dst[c] = (unsigned char)((t + (unsigned)d / 2) / (unsigned)d);
            }
        }
    }
}

static fcn_status level_add(tsink *s, int k, const unsigned char *row);

/* Write rows [0, rows) of level k's strip as a tile row; reduce them
** into level k+1; keep what is left of the strip. */
static fcn_status flush(tsink *s, int k, int rows)
{
    level *L = &s->lv[k];
    size_t rb = (size_t)L->w * s->cell, tb = (size_t)s->tile * s->cell;
    for (int x0 = 0; x0 < L->w; x0 += s->tile) {
        int tw = L->w - x0 < s->tile ? L->w - x0 : s->tile;
        memset(s->tilebuf, 0, tb * s->tile);
        for (int r = 0; r < rows; r++)
            memcpy(s->tilebuf + r * tb, L->strip + r * rb + x0 * s->cell,
                   (size_t)tw * s->cell);
        uint32_t idx = TIFFComputeTile(L->t, (uint32_t)x0, (uint32_t)L->row0,
                                       0, 0);
        if (TIFFWriteEncodedTile(L->t, idx, s->tilebuf,
                                 (tmsize_t)(tb * s->tile)) < 0)
            return fail_tiff(s, "cannot write a tile");
    }
    if (k + 1 < s->n_levels) {
        level *N = &s->lv[k + 1];
        unsigned char *tmp = s->tilebuf;  /* a tile holds a reduced row? */
        size_t need = (size_t)N->w * s->cell;
        unsigned char *own = need > tb * s->tile ? mem_alloc(need) : NULL;
        if (need > tb * s->tile && !own)
            return err_set(FCN_ERR_NOMEM, "%s: out of memory", s->path);
        if (own)
            tmp = own;
        fcn_status st = FCN_OK;
        for (int r = 0; r < rows && st == FCN_OK; r += 2) {
            const unsigned char *a = L->strip + r * rb;
            reduce_row(s, L, a, r + 1 < rows ? a + rb : a, tmp, N->w);
            st = level_add(s, k + 1, tmp);
        }
        mem_free(own);
        if (st)
            return st;
    }
    memmove(L->strip, L->strip + rows * rb, (size_t)(L->n - rows) * rb);
    L->n -= rows;
    L->row0 += rows;
    return FCN_OK;
}

static fcn_status level_add(tsink *s, int k, const unsigned char *row)
{
    level *L = &s->lv[k];
    memcpy(L->strip + (size_t)L->n * L->w * s->cell, row,
           (size_t)L->w * s->cell);
    L->n++;
    if (L->n == s->tile || L->row0 + L->n == L->h)
        return flush(s, k, L->n);
    return FCN_OK;
}

static void sink_free(tsink *s)
{
    for (int k = 0; k < MAX_LEVELS; k++) {
        if (s->lv[k].t)
            TIFFClose(s->lv[k].t);
        if (s->lv[k].keep >= 0)
            close(s->lv[k].keep);
        mem_free(s->lv[k].strip);
    }
    outf_abort(s->out);
    mem_free(s->tilebuf);
    mem_free(s->cls);
    mem_free(s->geo);
    mem_free(s);
}

static void s_abort(void *ud)
{
    sink_free(ud);
}

static fcn_status s_begin(void *ud, int classes, int out_h, int out_w,
                          const fcn_geometry *g)
{
    tsink *s = ud;
    if (classes < 1 || out_h < 1 || out_w < 1 || !g || s->classes)
        return err_set(FCN_ERR_ARG, "%s: TIFF sink: bad begin (%d classes, "
                       "%d x %d)", s->path, classes, out_h, out_w);
    s->classes = classes;
    s->g = *g;
    if (!s->cls) {
        if (!(s->cls = mem_calloc((size_t)classes, sizeof *s->cls)))
            return err_set(FCN_ERR_NOMEM, "%s: out of memory", s->path);
        for (int c = 0; c < classes; c++)
            s->cls[c] = c;
        s->n_cls = classes;
    }
    for (int b = 0; b < s->n_cls; b++)
        if (s->cls[b] < 0 || s->cls[b] >= classes)
            return err_set(FCN_ERR_ARG, "%s: class %d is not one of the "
                           "model's 0..%d", s->path, s->cls[b], classes - 1);
    if (s->mode == FCN_TIFF_ARGMAX) {
        s->bands = 2;
        s->bps = classes > 256 ? 2 : 1;
    } else {
        if (s->n_cls > 256)
            return err_set(FCN_ERR_UNSUPPORTED, "%s: %d bands: a TIFF score "
                           "map holds at most 256 classes (choose some)",
                           s->path, s->n_cls);
        s->bands = s->n_cls;
        s->bps = s->mode == FCN_TIFF_FLOAT ? 4 : 1;
    }
    s->cell = (size_t)s->bands * s->bps;
    if (!(s->tilebuf = mem_alloc((size_t)s->tile * s->tile * s->cell)))
        return err_set(FCN_ERR_NOMEM, "%s: out of memory", s->path);
    int w = out_w, h = out_h;
    for (;;) {
        fcn_status st = level_open(s, s->n_levels++, w, h);
        if (st)
            return st;
        if ((w <= s->tile && h <= s->tile) || s->n_levels == MAX_LEVELS)
            break;
        w = (w + 1) / 2;
        h = (h + 1) / 2;
    }
    return FCN_OK;
}

static fcn_status s_put(void *ud, int row, int col, int h, int w,
                        const float *scores)
{
    tsink *s = ud;
    level *L = &s->lv[0];
    if (!s->classes || !scores || h < 1 || w < 1 || row != s->next_row ||
        col != s->next_col || (col > 0 && h != s->grid_h) ||
        (int64_t)col + w > L->w || (int64_t)row + h > L->h)
        return err_set(FCN_ERR_ARG, "%s: TIFF sink: block at (%d, %d) of %d "
                       "x %d out of order (expected (%d, %d))", s->path, row,
                       col, h, w, s->next_row, s->next_col);
    if (col == 0) {
        s->grid_h = h;
        if (L->n + h > L->cap) {
            int64_t bytes;
            unsigned char *p = NULL;
            if (mem_mul64((int64_t)(L->n + h) * L->w, (int64_t)s->cell,
                          &bytes))
                p = mem_realloc(L->strip, (size_t)bytes);
            if (!p)
                return err_set(FCN_ERR_NOMEM, "%s: out of memory for %d rows "
                               "of %d cells", s->path, L->n + h, L->w);
            L->strip = p;
            L->cap = L->n + h;
        }
    }
    size_t rb = (size_t)L->w * s->cell;
    for (int r = 0; r < h; r++)
        convert_row(s, scores, h, w, r,
                    L->strip + (size_t)(L->n + r) * rb + col * s->cell);
    s->next_col = col + w;
    if (s->next_col < L->w)
        return FCN_OK;
    /* the grid row is whole */
    s->next_col = 0;
    s->next_row = row + h;
    L->n += h;
    while (L->n >= s->tile || (L->n > 0 && L->row0 + L->n == L->h)) {
        fcn_status st = flush(s, 0, L->n < s->tile ? L->n : s->tile);
        if (st)
            return st;
    }
    return FCN_OK;
}

/* Level k's tiles, copied raw into level 0's file as its next image. */
static fcn_status append_level(tsink *s, int k, unsigned char **buf,
                               size_t *cap)
{
    level *L = &s->lv[k];
    TIFF *t0 = s->lv[0].t;
    if (!TIFFWriteDirectory(t0))
        return fail_tiff(s, "cannot write a directory");
    if (!set_tags(s, t0, L->w, L->h, 1))
        return fail_tiff(s, "cannot set its tags");
    int fd = L->keep;
    L->keep = -1;
    if (lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return err_set(FCN_ERR_IO, "%s: temporary: %s", s->path,
                       strerror(errno));
    }
    TIFF *r = tiffm_fdopen(fd, s->path, "r", &s->msg);
    if (!r) {
        close(fd);
        return fail_tiff(s, "cannot read back a level");
    }
    fcn_status st = FCN_OK;
    uint64_t *bc = NULL;
    uint32_t n = TIFFNumberOfTiles(r);
    if (!TIFFGetField(r, TIFFTAG_TILEBYTECOUNTS, &bc) || !bc)
        st = fail_tiff(s, "a level has no tiles");
    for (uint32_t i = 0; i < n && st == FCN_OK; i++) {
        if (bc[i] > *cap) {
            mem_free(*buf);
            *cap = (size_t)bc[i];
            if (!(*buf = mem_alloc(*cap))) {
                *cap = 0;
                st = err_set(FCN_ERR_NOMEM, "%s: out of memory", s->path);
                break;
            }
        }
        tmsize_t got = TIFFReadRawTile(r, i, *buf, (tmsize_t)bc[i]);
        if (got < 0 || (uint64_t)got != bc[i] ||
            TIFFWriteRawTile(t0, i, *buf, got) != got)
            st = fail_tiff(s, "cannot copy a tile");
    }
    TIFFClose(r);
    return st;
}

static fcn_status s_commit(void *ud)
{
    tsink *s = ud;
    fcn_status st = FCN_OK;
    if (!s->classes || s->next_row != s->lv[0].h)
        st = err_set(FCN_ERR_ARG, "%s: TIFF sink: commit after %d of %d rows",
                     s->path, s->next_row, s->classes ? s->lv[0].h : 0);
    for (int k = 1; k < s->n_levels && st == FCN_OK; k++) {
        if (!TIFFFlush(s->lv[k].t))  /* its directory written */
            st = fail_tiff(s, "cannot write a level");
        TIFFClose(s->lv[k].t);
        s->lv[k].t = NULL;
    }
    unsigned char *buf = NULL;
    size_t cap = 0;
    for (int k = 1; k < s->n_levels && st == FCN_OK; k++)
        st = append_level(s, k, &buf, &cap);
    mem_free(buf);
    if (st == FCN_OK && !TIFFFlush(s->lv[0].t))
        st = fail_tiff(s, "cannot write the last directory");
    if (st == FCN_OK) {
        TIFFClose(s->lv[0].t);
        s->lv[0].t = NULL;
        int fd = s->lv[0].keep;
        char chunk[1 << 16];
        if (lseek(fd, 0, SEEK_SET) != 0)
            st = err_set(FCN_ERR_IO, "%s: temporary: %s", s->path,
                         strerror(errno));
        for (ssize_t n; st == FCN_OK && (n = read(fd, chunk, sizeof chunk));) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                st = err_set(FCN_ERR_IO, "%s: temporary: %s", s->path,
                             strerror(errno));
            else
                fwrite(chunk, 1, (size_t)n, s->f);  /* commit checks */
        }
    }
    if (st == FCN_OK) {
        outf *o = s->out;
        s->out = NULL;
        st = outf_commit(o);
    }
    sink_free(s);
    return st;
}

fcn_status fcn_tiff_sink_open(const char *path, const fcn_tiff_options *opt,
                              fcn_map_sink *sink)
{
    if (!path || !sink)
        return err_set(FCN_ERR_ARG, "fcn_tiff_sink_open: NULL argument");
    fcn_tiff_options o = {0};
    if (opt)
        o = *opt;
    if (o.tile == 0)
        o.tile = 256;
    if (o.tile < 16 || o.tile > 4096 || o.tile % 16 || (unsigned)o.mode > 2 ||
        (unsigned)o.compression > 2 || o.n_classes < 0 ||
        (o.n_classes > 0 && !o.classes))
        return err_set(FCN_ERR_ARG, "%s: bad TIFF options (tile %d, mode %d, "
                       "compression %d, %d classes)", path, o.tile,
                       (int)o.mode, (int)o.compression, o.n_classes);
    tsink *s = mem_calloc(1, sizeof *s);
    if (!s)
        return err_set(FCN_ERR_NOMEM, "%s: out of memory", path);
    for (int k = 0; k < MAX_LEVELS; k++)
        s->lv[k].keep = -1;
    snprintf(s->path, sizeof s->path, "%s", path);
    s->mode = o.mode;
    s->comp = o.compression;
    s->tile = o.tile;
    fcn_status st = FCN_OK;
    if (o.n_classes > 0) {
        if (!(s->cls = mem_calloc((size_t)o.n_classes, sizeof *s->cls)))
            st = err_set(FCN_ERR_NOMEM, "%s: out of memory", path);
        else
            memcpy(s->cls, o.classes, (size_t)o.n_classes * sizeof *s->cls);
        s->n_cls = o.n_classes;
    }
    if (st == FCN_OK && o.georef && !(s->geo = tiffm_georef_copy(o.georef)))
        st = err_set(FCN_ERR_NOMEM, "%s: out of memory", path);
    if (st == FCN_OK)
        st = outf_open(path, &s->out, &s->f);
    if (st) {
        sink_free(s);
        return st;
    }
    sink->begin = s_begin;
    sink->put = s_put;
    sink->commit = s_commit;
    sink->abort = s_abort;
    sink->ud = s;
    return FCN_OK;
}
