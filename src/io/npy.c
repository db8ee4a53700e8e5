/*
** npy.c: .npy arrays (NumPy's format, float32, C order) in and out: read
** strictly (versions 1.0 to 3.0, exactly the header fcn accepts, the data
** checked against the file's size), written as version 1.0. Writes go to
** a temporary file renamed over the target, so no partial file is ever
** left behind.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcn_stream.h"
#include "io/image.h"
#include "io/outfile.h"
#include "util/err.h"
#include "util/mem.h"

void fcn_tensor_free(fcn_tensor *t)
{
    if (!t)
        return;
    mem_free(t->data);
    t->data = NULL;
}

/* ---- reading: NumPy's format (numpy.lib.format), parsed exactly ----
** magic "\x93NUMPY", version 1.0 (a 2-byte header length), 2.0 or 3.0 (4
** bytes), then the header: a Python dict literal with exactly the keys
** 'descr' ('<f4'), 'fortran_order' (False) and 'shape' (3 ints), padded
** with spaces and ended by '\n'; then exactly C*H*W floats to the end of
** the file. */

#define NPY_MAX_HEADER 10000 /* numpy.load's own default limit */
#define NPY_MAX_RANK 32

typedef struct npy_cur {
    const char *p, *end;
} npy_cur;

static void npy_ws(npy_cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static int npy_eat(npy_cur *c, char ch)
{
    npy_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A string literal in ' or " (no escapes: no valid key or dtype has one)
** into buf; 0 if there is none. */
static int npy_str(npy_cur *c, char *buf, size_t n)
{
    npy_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    const char q = *c->p++;
    size_t k = 0;
    for (; c->p < c->end && *c->p != q; c->p++) {
        if (*c->p == '\\' || (unsigned char)*c->p < 0x20 || k + 1 >= n)
            return 0;
        buf[k++] = *c->p;
    }
    if (c->p >= c->end)
        return 0;
    c->p++;
    buf[k] = 0;
    return 1;
}

/* A tuple of decimal ints, "()", "(a,)", "(a, b)", "(a, b,)"; values
** beyond 2^40 are kept as 2^40 + 1 (they are refused anyway). */
static int npy_tuple(npy_cur *c, int64_t *d, int *rank)
{
    *rank = 0;
    if (!npy_eat(c, '('))
        return 0;
    if (npy_eat(c, ')'))
        return 1;
    for (;;) {
        npy_ws(c);
        int neg = c->p < c->end && *c->p == '-';
        c->p += neg;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return 0;
        int64_t v = 0;
        for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++)
            v = v > ((int64_t)1 << 40) ? v : v * 10 + (*c->p - '0');
        if (*rank == NPY_MAX_RANK)
            return 0;
        d[(*rank)++] = neg ? -v : v;
        int comma = npy_eat(c, ',');
        if (npy_eat(c, ')'))
            return *rank > 1 || comma; /* "(3)" is an int, not a tuple */
        if (!comma)
            return 0;
    }
}

/* The header dictionary into descr, fortran and the shape. */
static fcn_status npy_dict(const char *path, const char *h, size_t n,
                           char *descr, size_t descr_n, int *fortran,
                           int64_t *d, int *rank)
{
    npy_cur c = {h, h + n};
    int seen[3] = {0, 0, 0};
    static const char *const keys[3] = {"descr", "fortran_order", "shape"};
    if (!npy_eat(&c, '{'))
        goto bad;
    while (!npy_eat(&c, '}')) {
        char key[64];
        if (!npy_str(&c, key, sizeof key) || !npy_eat(&c, ':'))
            goto bad;
        int k = 0;
        while (k < 3 && strcmp(key, keys[k]))
            k++;
        if (k == 3)
            return err_set(FCN_ERR_FORMAT, "%s: unexpected key '%s' in the "
                           ".npy header (it has only 'descr', "
                           "'fortran_order' and 'shape')", path, key);
        if (seen[k]++)
            return err_set(FCN_ERR_FORMAT, "%s: key '%s' given twice in the "
                           ".npy header", path, key);
        npy_ws(&c);
        if (k == 0 && !npy_str(&c, descr, descr_n))
            return err_set(FCN_ERR_FORMAT, "%s: 'descr' is not a simple "
                           "dtype string (a structured array?); expected "
                           "'<f4'", path);
        if (k == 1) {
            size_t left = (size_t)(c.end - c.p);
            if (left >= 4 && !memcmp(c.p, "True", 4))
                *fortran = 1, c.p += 4;
            else if (left >= 5 && !memcmp(c.p, "False", 5))
                *fortran = 0, c.p += 5;
            else
                goto bad;
        }
        if (k == 2 && !npy_tuple(&c, d, rank))
            return err_set(FCN_ERR_FORMAT, "%s: 'shape' is not a tuple of "
                           "integers in the .npy header", path);
        if (!npy_eat(&c, ',')) {
            if (!npy_eat(&c, '}'))
                goto bad;
            break;
        }
    }
    /* padding: spaces, then the '\n' that ends the header */
    while (c.p < c.end - 1 && *c.p == ' ')
        c.p++;
    if (c.p != c.end - 1 || *c.p != '\n')
        return err_set(FCN_ERR_FORMAT, "%s: the .npy header dictionary is "
                       "not followed by spaces and one newline", path);
    for (int k = 0; k < 3; k++)
        if (!seen[k])
            return err_set(FCN_ERR_FORMAT, "%s: the .npy header has no '%s'",
                           path, keys[k]);
    return FCN_OK;
bad:
    return err_set(FCN_ERR_FORMAT, "%s: malformed .npy header dictionary "
                   "(at byte %d of it)", path, (int)(c.p - h));
}

/* "12 MiB" */
static const char *npy_size(int64_t b, char *buf, size_t n)
{
    static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB",
                                       "PiB", "EiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024 && u < 6)
        v /= 1024, u++;
    snprintf(buf, n, "%.*g %s", u ? 3 : 20, v, unit[u]);
    return buf;
}

/* What the header says: a (C, H, W) '<f4' C-order array, each dimension
** in [1, MEM_MAX_DIM]; *n: its floats. */
static fcn_status npy_check(const char *path, const char *descr,
                            int fortran, const int64_t *d, int rank,
                            int64_t *n)
{
    if (strcmp(descr, "<f4"))
        return err_set(FCN_ERR_FORMAT, "%s: dtype '%s' is not float32 "
                       "('<f4')%s", path, descr, !strcmp(descr, ">f4") ||
                       !strcmp(descr, "|f4") ? ", little-endian" : "");
    if (fortran)
        return err_set(FCN_ERR_FORMAT, "%s: the array is in Fortran order; "
                       "expected C order (fortran_order False)", path);
    if (rank != 3) {
        char s[200] = "(";
        size_t k = 1;
        for (int i = 0; i < rank && k < sizeof s - 40; i++)
            k += (size_t)snprintf(s + k, sizeof s - k, "%s%lld", i ? ", " : "",
                                  (long long)d[i]);
        snprintf(s + k, sizeof s - k, "%s)", rank == 1 ? "," : "");
        return err_set(FCN_ERR_FORMAT, "%s: %d-D array %s; expected (C, H, "
                       "W)%s", path, rank, s, rank == 2 ? " (one channel: "
                       "(1, H, W))" : "");
    }
    *n = 1;
    for (int i = 0; i < 3; i++) {
        if (d[i] < 1 || d[i] > MEM_MAX_DIM)
            return err_set(FCN_ERR_FORMAT, "%s: shape (%lld, %lld, %lld): "
                           "each dimension must be 1 to %d", path,
                           (long long)d[0], (long long)d[1], (long long)d[2],
                           MEM_MAX_DIM);
        *n *= d[i]; /* at most 2^60: no overflow */
    }
    return FCN_OK;
}

/* Magic, version and header length; *hl: the header's bytes, *pre: where
** it starts. */
static fcn_status npy_preamble(const char *path, FILE *f, int64_t size,
                               size_t *hl, int *pre)
{
    unsigned char b[12];
    size_t got = fread(b, 1, 10, f);
    if (got < 8 || memcmp(b, "\x93NUMPY", 6))
        return err_set(FCN_ERR_FORMAT, "%s: not a .npy file (no \\x93NUMPY "
                       "magic)", path);
    if (b[6] < 1 || b[6] > 3 || b[7] != 0)
        return err_set(FCN_ERR_FORMAT, "%s: .npy format version %d.%d is not "
                       "supported (1.0, 2.0 and 3.0 are)", path, b[6], b[7]);
    *pre = b[6] == 1 ? 10 : 12;
    if (got < 10 || (*pre == 12 && fread(b + 10, 1, 2, f) != 2))
        return err_set(FCN_ERR_FORMAT, "%s: .npy file ends in its preamble",
                       path);
    *hl = b[8] | (size_t)b[9] << 8;
    if (*pre == 12)
        *hl |= (size_t)b[10] << 16 | (size_t)b[11] << 24;
    if (*hl > NPY_MAX_HEADER)
        return err_set(FCN_ERR_FORMAT, "%s: .npy header of %zu bytes (the "
                       "limit is %d)", path, *hl, NPY_MAX_HEADER);
    if ((int64_t)(*pre + *hl) > size)
        return err_set(FCN_ERR_FORMAT, "%s: .npy header of %zu bytes runs "
                       "past the end of the file (%lld bytes)", path, *hl,
                       (long long)size);
    return FCN_OK;
}

/* The header of the open file f of size bytes: the array's shape in d,
** its floats in *n, where its data starts in *data_at (f is there). */
static fcn_status npy_header(const char *path, FILE *f, int64_t size,
                             int64_t *d, int64_t *n, int64_t *data_at)
{
    size_t hl = 0;
    int pre = 0, fortran = 0, rank = 0;
    fcn_status st = npy_preamble(path, f, size, &hl, &pre);
    if (st)
        return st;
    char hdr[NPY_MAX_HEADER + 1], descr[32] = "";
    int64_t dims[NPY_MAX_RANK];
    if (fread(hdr, 1, hl, f) != hl)
        return err_set(FCN_ERR_IO, "%s: cannot read the .npy header", path);
    if ((st = npy_dict(path, hdr, hl, descr, sizeof descr, &fortran, dims,
                       &rank)) ||
        (st = npy_check(path, descr, fortran, dims, rank, n)))
        return st;
    memcpy(d, dims, 3 * sizeof *d);
    *data_at = pre + (int64_t)hl;
    return FCN_OK;
}

fcn_status fcn_npy_read(const char *path, fcn_tensor *out)
{
    if (!path || !out)
        return err_set(FCN_ERR_ARG, "fcn_npy_read: NULL argument");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(FCN_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return err_set(FCN_ERR_IO, "%s: not a regular file", path);
    }
    int64_t d[3] = {0, 0, 0}, n = 0, at = 0;
    fcn_status st = npy_header(path, f, (int64_t)sb.st_size, d, &n, &at);
    /* the data, exactly to the end of the file, checked before allocating */
    const int64_t left = (int64_t)sb.st_size - at, bytes = n * 4;
    char b[32];
    if (!st && bytes > left)
        st = err_set(FCN_ERR_FORMAT, "%s: header says %lldx%lldx%lld floats "
                     "(%s) but the file holds %lld bytes after the header",
                     path, (long long)d[0], (long long)d[1], (long long)d[2],
                     npy_size(bytes, b, sizeof b), (long long)left);
    else if (!st && bytes < left)
        st = err_set(FCN_ERR_FORMAT, "%s: %lld byte%s after the data", path,
                     (long long)(left - bytes), left - bytes > 1 ? "s" : "");
    float *t = st ? NULL : mem_aligned((size_t)bytes);
    if (!st && !t)
        st = err_set(FCN_ERR_NOMEM, "%s: out of memory for %s of data", path,
                     npy_size(bytes, b, sizeof b));
    if (!st && (fread(t, 1, (size_t)bytes, f) != (size_t)bytes ||
                fgetc(f) != EOF))
        st = err_set(FCN_ERR_IO, "%s: the file changed while it was read",
                     path);
    fclose(f);
    if (st) {
        mem_free(t);
        return st;
    }
    *out = (fcn_tensor){t, (int)d[0], (int)d[1], (int)d[2]};
    return FCN_OK;
}

/* The .npy header of a float32 array of the given shape (version 1.0,
** padded to 64 bytes): its length, at most 256 + 64 bytes into b. */
static size_t npy_header_make(int ndim, const int64_t *shape,
                              unsigned char b[320])
{
    char dims[160] = "";
    size_t len = 0;
    for (int i = 0; i < ndim; i++)
        len += (size_t)snprintf(dims + len, sizeof dims - len, "%lld,",
                                (long long)shape[i]);
    if (ndim > 1)
        dims[len - 1] = 0;  /* (a,b,c) ; a 1-d shape keeps "(a,)" */
    char hdr[256];
    const int hl = snprintf(hdr, sizeof hdr, "{'descr': '<f4', "
                            "'fortran_order': False, 'shape': (%s), }", dims);
    const int pad = (64 - (10 + hl + 1) % 64) % 64;
    const unsigned hlen = (unsigned)(hl + pad + 1);
    const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                   (unsigned char)(hlen & 0xff),
                                   (unsigned char)(hlen >> 8)};
    memcpy(b, pre, 10);
    memcpy(b + 10, hdr, (size_t)hl);
    memset(b + 10 + hl, ' ', (size_t)pad);
    b[10 + hl + pad] = '\n';
    return 10 + (size_t)hlen;
}

fcn_status fcn_npy_write(const char *path, const float *data, int ndim,
                         const int *shape)
{
    if (!path || !data || ndim < 1 || ndim > 4 || !shape)
        return err_set(FCN_ERR_ARG, "fcn_npy_write: bad argument");
    int64_t d[4];
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return err_set(FCN_ERR_ARG, "fcn_npy_write: negative shape");
        d[i] = shape[i];
        n *= (size_t)shape[i];
    }
    unsigned char hdr[320];
    const size_t hl = npy_header_make(ndim, d, hdr);
    outf *o;
    FILE *f;
    fcn_status st = outf_open(path, &o, &f);
    if (st)
        return st;
    int ok = fwrite(hdr, 1, hl, f) == hl &&
             fwrite(data, sizeof(float), n, f) == n;
    if (!ok && !ferror(f)) {
        outf_abort(o);
        return err_set(FCN_ERR_IO, "%s: write failed", path);
    }
    return outf_commit(o); /* says which write failed, if one did */
}

/* ---- the streamed map's sink (include/fcn_stream.h) ---- */

typedef struct npy_sink {
    outf *o;
    int fd;
    int classes, h, w;
    off_t data;  /* where the floats start */
    char path[];
} npy_sink;

static fcn_status npy_pwrite(const npy_sink *k, const void *p, size_t n,
                             off_t at)
{
    const char *c = p;
    while (n > 0) {
        const ssize_t r = pwrite(k->fd, c, n, at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return err_set(FCN_ERR_IO, "%s: %s", k->path,
                           strerror(r < 0 ? errno : EIO));
        c += r;
        n -= (size_t)r;
        at += r;
    }
    return FCN_OK;
}

static void npy_sink_abort(void *ud)
{
    npy_sink *k = ud;
    outf_abort(k->o);
    mem_free(k);
}

static fcn_status npy_sink_begin(void *ud, int classes, int out_h, int out_w,
                                 const fcn_geometry *g)
{
    (void)g;
    npy_sink *k = ud;
    const int64_t d[3] = {classes, out_h, out_w};
    unsigned char hdr[320];
    const size_t hl = npy_header_make(3, d, hdr);
    FILE *f;
    fcn_status st = outf_open(k->path, &k->o, &f);
    if (st)
        return st;
    k->fd = outf_fd(k->o);
    k->classes = classes;
    k->h = out_h;
    k->w = out_w;
    k->data = (off_t)hl;
    const off_t size = (off_t)hl + (off_t)classes * out_h * out_w * 4;
    /* the whole file laid out, so that a full disk shows now */
    int r = posix_fallocate(k->fd, 0, size);
    if (r == EINVAL || r == EOPNOTSUPP)
        r = ftruncate(k->fd, size) ? errno : 0;
    if (r)
        return err_set(FCN_ERR_IO, "%s: %s", k->path, strerror(r));
    return npy_pwrite(k, hdr, hl, 0);
}

static fcn_status npy_sink_put(void *ud, int row, int col, int h, int w,
                               const float *scores)
{
    const npy_sink *k = ud;
    if (row < 0 || col < 0 || h < 1 || w < 1 || row > k->h - h ||
        col > k->w - w)
        return err_set(FCN_ERR_ARG, "%s: block %d,%d %dx%d outside the map",
                       k->path, row, col, h, w);
    fcn_status st = FCN_OK;
    for (int c = 0; c < k->classes && !st; c++)
        for (int y = 0; y < h && !st; y++)
            st = npy_pwrite(k, scores + ((size_t)c * h + y) * w,
                            sizeof(float) * w,
                            k->data + (((off_t)c * k->h + row + y) * k->w +
                                       col) * 4);
    return st;
}

static fcn_status npy_sink_commit(void *ud)
{
    npy_sink *k = ud;
    fcn_status st = outf_commit(k->o);
    mem_free(k);
    return st;
}

fcn_status fcn_npy_sink_open(const char *path, fcn_map_sink *sink)
{
    if (!path || !sink)
        return err_set(FCN_ERR_ARG, "fcn_npy_sink_open: NULL argument");
    memset(sink, 0, sizeof *sink);
    npy_sink *k = mem_calloc(1, sizeof *k + strlen(path) + 1);
    if (!k)
        return err_set(FCN_ERR_NOMEM, "%s: out of memory", path);
    strcpy(k->path, path);
    *sink = (fcn_map_sink){npy_sink_begin, npy_sink_put, npy_sink_commit,
                           npy_sink_abort, k};
    return FCN_OK;
}
