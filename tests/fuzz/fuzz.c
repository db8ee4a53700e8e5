/*
** fuzz.c: helpers of the libFuzzer harnesses (fuzz.h).
*/
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

void fz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", file, line,
            what, fcn_last_error());
    abort();
}

void fz_check_status(fcn_status st)
{
    FZ_CHECK(st >= FCN_OK && st <= FCN_ERR_ARG);
    if (st == FCN_OK)
        return;
    const char *msg = fcn_last_error();
    FZ_CHECK(msg && msg[0]);
    FZ_CHECK(strcmp(msg, "no error") != 0);
}

uint32_t fz_hash(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    return h;
}

const char *fz_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fcn-fuzz", 0);
        if (fd < 0)
            return NULL;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0)
        return NULL;
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
        if (n <= 0)
            return NULL;
        done += (size_t)n;
    }
    return path;
}

void fz_touch(const void *p, size_t n)
{
    const unsigned char *b = p;
    unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc ^= b[i];
    volatile unsigned char sink = acc;
    (void)sink;
}

fcn_model *fz_load_model(const char *relpath, const fcn_options *opt)
{
    const char *root = getenv("FCN_FUZZ_SRC");
    if (!root)
        root = FCN_FUZZ_SRC;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, relpath);
    fcn_model *m;
    if (fcn_model_load(path, opt, &m) != FCN_OK) {
        fprintf(stderr, "fuzz: cannot load %s: %s\n", path, fcn_last_error());
        abort();
    }
    return m;
}

fcn_status fz_load_input(const uint8_t *data, size_t size, uint32_t h,
                         int fix_size, fcn_model **m)
{
    fcn_options opt = {
        .gap_mode = (fcn_gap_mode)(h & 1),
        .winograd = (fcn_winograd)((h >> 1) % 3),
        .gemm = (fcn_gemm)((h >> 3) & 1),
    };
    *m = NULL;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf)
        return FCN_ERR_NOMEM;
    memcpy(buf, data, size);
    if (fix_size && size >= 24)
        for (int i = 0; i < 8; i++)
            buf[16 + i] = (unsigned char)((uint64_t)size >> (8 * i));
    fcn_status st = fcn_model_load_memory(buf, size, &opt, m);
    free(buf);
    return st;
}
