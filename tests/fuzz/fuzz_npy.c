/*
** fuzz_npy.c: libFuzzer harness of the .npy reader (fcn_npy_read). An
** array it accepts must be what the header says (shape, every byte of the
** file after the header), and is written back (fcn_npy_write) and read
** again: it must come back identical.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char out_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(out_path, sizeof out_path, "/dev/shm/fcn-fuzz-npy-%d.npy",
             (int)getpid());
    return 0;
}

/* Where the data starts, from the preamble (versions 1, 2 and 3). */
static size_t data_start(const uint8_t *d, size_t size)
{
    if (size < 10)
        return 0;
    if (d[6] == 1)
        return 10 + (d[8] | (size_t)d[9] << 8);
    if (size < 12)
        return 0;
    return 12 + (d[8] | (size_t)d[9] << 8 | (size_t)d[10] << 16 |
                 (size_t)d[11] << 24);
}

/* The dims of the header's 'shape' tuple, read independently of the
** reader: how many there are (-1 if no tuple follows 'shape'). */
static int header_shape(const uint8_t *d, size_t start, long long *dims)
{
    char hdr[65536 + 1];
    size_t n = start < sizeof hdr ? start : sizeof hdr - 1;
    memcpy(hdr, d, n);
    hdr[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (!hdr[i])
            hdr[i] = ' ';
    const char *p = strstr(hdr, "'shape'");
    if (!p || !(p = strchr(p, '(')))
        return -1;
    int k = 0;
    for (p++;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            return k;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p)
            return -1;
        if (k < 8)
            dims[k] = v;
        k++;
        p = end;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file(data, size);
    if (!path)
        return 0;
    fcn_tensor t;
    fcn_status st = fcn_npy_read(path, &t);
    fz_check_status(st);
    if (st) {
        FZ_CHECK(t.data == NULL);
        return 0;
    }
    FZ_CHECK(t.data && t.c > 0 && t.h > 0 && t.w > 0);
    size_t n = (size_t)t.c * t.h * t.w;
    fz_touch(t.data, n * sizeof *t.data);
    /* the data is all of the file after the header, and the header's
    ** shape is the tensor's */
    size_t start = data_start(data, size);
    FZ_CHECK(start > 0 && start + n * sizeof(float) == size);
    long long d[8];
    FZ_CHECK(header_shape(data, start, d) == 3);
    FZ_CHECK(d[0] == t.c && d[1] == t.h && d[2] == t.w);
    int shape[3] = {t.c, t.h, t.w};
    if (n <= 1 << 16 && fcn_npy_write(out_path, t.data, 3, shape) == FCN_OK) {
        fcn_tensor u;
        FZ_CHECK(fcn_npy_read(out_path, &u) == FCN_OK);
        FZ_CHECK(u.c == t.c && u.h == t.h && u.w == t.w);
        FZ_CHECK(memcmp(u.data, t.data, n * sizeof *t.data) == 0);
        fcn_tensor_free(&u);
        unlink(out_path);
    }
    fcn_tensor_free(&t);
    return 0;
}
