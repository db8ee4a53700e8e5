/*
** npy.c: .npy arrays (NumPy's format, version 1, float32, C order) in and
** out. Writes go to a temporary file renamed over the target, so no
** partial file is ever left behind.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io/image.h"
#include "util/err.h"
#include "util/mem.h"

void fcn_tensor_free(fcn_tensor *t)
{
    if (!t)
        return;
    mem_free(t->data);
    t->data = NULL;
}

fcn_status fcn_npy_read(const char *path, fcn_tensor *out)
{
    if (!path || !out)
        return err_set(FCN_ERR_ARG, "fcn_npy_read: NULL argument");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(FCN_ERR_IO, "%s: %s", path, strerror(errno));
    unsigned char pre[10];
    char hdr[4096];
    fcn_status st = FCN_OK;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 ||
        (pre[6] != 1)) {
        fclose(f);
        return err_set(FCN_ERR_FORMAT, "%s: not a version-1 .npy file",
                       path);
    }
    size_t hl = pre[8] | (size_t)pre[9] << 8;
    if (hl >= sizeof hdr || fread(hdr, 1, hl, f) != hl) {
        fclose(f);
        return err_set(FCN_ERR_FORMAT, "%s: .npy header truncated", path);
    }
    hdr[hl] = 0;
    long long d[3];
    const char *sh = strstr(hdr, "'shape':");
    if (!strstr(hdr, "'descr': '<f4'") ||
        !strstr(hdr, "'fortran_order': False") || !sh ||
        sscanf(sh, "'shape': (%lld, %lld, %lld)", &d[0], &d[1], &d[2]) != 3) {
        fclose(f);
        return err_set(FCN_ERR_FORMAT, "%s: expected a float32 (<f4) array "
                       "of shape (C, H, W) in C order", path);
    }
    if (d[0] < 1 || d[1] < 1 || d[2] < 1 || d[0] > 4096 ||
        d[1] > IMG_MAX_DIM || d[2] > IMG_MAX_DIM ||
        d[0] * d[1] * d[2] > IMG_MAX_PIXELS * 4) {
        fclose(f);
        return err_set(FCN_ERR_FORMAT, "%s: array shape (%lld, %lld, %lld) "
                       "is impossible", path, d[0], d[1], d[2]);
    }
    size_t n = (size_t)(d[0] * d[1] * d[2]);
    float *t = mem_aligned(n * sizeof(float));
    if (!t) {
        fclose(f);
        return err_set(FCN_ERR_NOMEM, "%s: out of memory", path);
    }
    if (fread(t, sizeof(float), n, f) != n)
        st = err_set(FCN_ERR_FORMAT, "%s: array data truncated", path);
    fclose(f);
    if (st) {
        mem_free(t);
        return st;
    }
    out->data = t;
    out->c = (int)d[0];
    out->h = (int)d[1];
    out->w = (int)d[2];
    return FCN_OK;
}

fcn_status fcn_npy_write(const char *path, const float *data, int ndim,
                         const int *shape)
{
    if (!path || !data || ndim < 1 || ndim > 4 || !shape)
        return err_set(FCN_ERR_ARG, "fcn_npy_write: bad argument");
    char dims[128] = "";
    size_t n = 1, len = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return err_set(FCN_ERR_ARG, "fcn_npy_write: negative shape");
        len += (size_t)snprintf(dims + len, sizeof dims - len, "%d,%s",
                                shape[i], ndim > 1 && i == ndim - 1 ? "" : "");
        n *= (size_t)shape[i];
    }
    if (ndim > 1)
        dims[len - 1] = 0;  /* (a,b,c) ; a 1-d shape keeps "(a,)" */
    char hdr[256];
    int hl = snprintf(hdr, sizeof hdr,
                      "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }",
                      dims);
    int total = 10 + hl + 1;
    int pad = (64 - total % 64) % 64;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >=
        (int)sizeof tmp)
        return err_set(FCN_ERR_ARG, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return err_set(FCN_ERR_IO, "%s: %s", tmp, strerror(errno));
    unsigned short hlen = (unsigned short)(hl + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, hl, f) == (size_t)hl;
    for (int i = 0; i < pad && ok; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF && fwrite(data, sizeof(float), n, f) == n;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return err_set(FCN_ERR_IO, "%s: cannot write (%s)", path,
                       strerror(e));
    }
    return FCN_OK;
}
