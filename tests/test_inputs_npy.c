/*
** test_inputs_npy.c: test_inputs' .npy cases: every lie of the header
** refused with a message naming the file and the problem; valid files
** (written here per the format's spec, and by NumPy) read back exactly.
** See test_inputs.h.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fcn.h"
#include "test_inputs.h"

/* ---- .npy ---- */

/* A .npy file per the format's spec: magic, version major.0, the header
** length (2 bytes for 1.0, 4 for 2.0 and 3.0), dict padded with spaces and
** ended by '\n' to a multiple of 64 bytes, then data_n bytes of data
** (floats k * 0.25 - 1 while they last, then zeros). */
static void npy_file(const char *path, int major, const char *dict,
                     size_t data_n)
{
    buf o = {0};
    static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    put(&o, magic, 6);
    put8(&o, major);
    put8(&o, 0);
    const size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    const size_t hl = (pre + dl + 1 + 63) / 64 * 64 - pre;
    if (major == 1)
        put16le(&o, (unsigned)hl);
    else
        put32le(&o, (uint32_t)hl);
    put(&o, dict, dl);
    for (size_t i = dl; i + 1 < hl; i++)
        put8(&o, ' ');
    put8(&o, '\n');
    for (size_t k = 0; k < data_n / 4; k++) {
        float v = k * 0.25f - 1;
        put(&o, &v, 4);
    }
    for (size_t k = data_n / 4 * 4; k < data_n; k++)
        put8(&o, 0);
    write_file(path, o.b, o.n);
    free(o.b);
}

/* Read back exactly: c x h x w floats k * scale + bias. */
static void npy_valid(const char *what, const char *path, int c, int h,
                      int w, float scale, float bias)
{
    fcn_tensor t = {0};
    fcn_status st = fcn_npy_read(path, &t);
    int same = st == FCN_OK && t.c == c && t.h == h && t.w == w;
    for (int k = 0; same && k < c * h * w; k++)
        same = t.data[k] == k * scale + bias;
    CHECK(same, "%s: %d (%d, %d, %d) %s", what, st, t.c, t.h, t.w,
          st ? fcn_last_error() : "");
    fcn_tensor_free(&t);
}

/* Refused with FCN_ERR_FORMAT (or want), a message naming the file and
** containing needle, nothing returned, fast. */
static void npy_refused(const char *what, const char *path, fcn_status want,
                        const char *needle)
{
    fcn_tensor t = {(float *)1, 1, 1, 1};
    double t0 = check_now();
    fcn_status st = fcn_npy_read(path, &t);
    double dt = check_now() - t0;
    const char *e = fcn_last_error();
    CHECK(st == want && !t.data && strstr(e, path) && strstr(e, needle) &&
          dt < 1.0, "%s: status %d in %.3f s: %s", what, st, dt, e);
}

static void npy_case(int major, const char *dict, size_t data_n,
                     const char *needle)
{
    const char *p = tmp_path("case.npy");
    npy_file(p, major, dict, data_n);
    npy_refused(dict, p, FCN_ERR_FORMAT, needle);
    remove(p);
}

/* Raw bytes as a .npy file. */
static void npy_raw(const char *what, const void *b, size_t n,
                    const char *needle)
{
    const char *p = tmp_path("raw.npy");
    write_file(p, b, n);
    npy_refused(what, p, FCN_ERR_FORMAT, needle);
    remove(p);
}

#define D3 "'descr': '<f4', 'fortran_order': False, 'shape': "

void npy_hand(void)
{
    const char *p = tmp_path("v.npy");
    /* valid: the three versions, key order, quotes, trailing comma */
    static const char *const good[] = {
        "{" D3 "(2, 3, 4), }",
        "{'shape': (2, 3, 4), 'fortran_order': False, 'descr': '<f4'}",
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,3,4)}",
        "{ 'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 2 , 3 , "
        "4 , ) , }",
    };
    for (int major = 1; major <= 3; major++)
        for (int i = 0; i < 4; i++) {
            npy_file(p, major, good[i], 2 * 3 * 4 * 4);
            char what[300];
            snprintf(what, sizeof what, "v%d.0 %s", major, good[i]);
            npy_valid(what, p, 2, 3, 4, 0.25f, -1);
        }
    /* what fcn_npy_write writes */
    float v[2 * 3 * 70];
    for (int k = 0; k < 2 * 3 * 70; k++)
        v[k] = k * 0.125f + 2;
    CHECK(fcn_npy_write(p, v, 3, (const int[]){2, 3, 70}) == FCN_OK,
          "fcn_npy_write: %s", fcn_last_error());
    npy_valid("fcn_npy_write's file", p, 2, 3, 70, 0.125f, 2);
    /* rank */
    npy_case(1, "{" D3 "(1, 3, 8, 8), }", 192 * 4,
             "4-D array (1, 3, 8, 8); expected (C, H, W)");
    npy_case(1, "{" D3 "(8, 8), }", 64 * 4, "2-D array (8, 8)");
    npy_case(1, "{" D3 "(64,), }", 64 * 4, "1-D array (64,)");
    npy_case(1, "{" D3 "(), }", 4, "0-D array ()");
    /* dtype, byte order, layout */
    npy_case(1, "{'descr': '<f8', 'fortran_order': False, 'shape': "
             "(1, 2, 2), }", 32, "dtype '<f8' is not float32 ('<f4')");
    npy_case(1, "{'descr': '<f8', 'fortran_order': False, 'shape': "
             "(1, 2, 2), }         'descr': '<f4'", 32, "spaces");
    npy_case(1, "{'descr': '<f8', 'fortran_order': False, 'shape': "
             "(1, 2, 2), '<f4': 1}", 32, "unexpected key '<f4'");
    npy_case(1, "{'descr': '>f4', 'fortran_order': False, 'shape': "
             "(1, 2, 2), }", 16, "dtype '>f4' is not float32");
    npy_case(1, "{'descr': '<i4', 'fortran_order': False, 'shape': "
             "(1, 2, 2), }", 16, "dtype '<i4'");
    npy_case(1, "{'descr': [('a', '<f4')], 'fortran_order': False, "
             "'shape': (1, 2, 2), }", 16, "not a simple dtype");
    npy_case(1, "{'descr': '<f4', 'fortran_order': True, 'shape': "
             "(1, 2, 2), }", 16, "Fortran order");
    /* keys */
    npy_case(1, "{'descr': '<f4', 'fortran_order': False, }", 16,
             "no 'shape'");
    npy_case(1, "{'descr': '<f4', 'shape': (1, 2, 2), }", 16,
             "no 'fortran_order'");
    npy_case(1, "{'fortran_order': False, 'shape': (1, 2, 2), }", 16,
             "no 'descr'");
    npy_case(1, "{" D3 "(1, 2, 2), 'extra': 0, }", 16,
             "unexpected key 'extra'");
    npy_case(1, "{" D3 "(1, 2, 2), 'shape': (1, 2, 2), }", 16,
             "'shape' given twice");
    /* malformed dictionaries */
    static const char *const bad[] = {
        "{'descr': '<f4' 'fortran_order': False, 'shape': (1, 2, 2)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 2), ",
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (1, 2, 2)}",
        "{'descr': '<f4', 'fortran_order': false, 'shape': (1, 2, 2)}",
        "{'descr: '<f4', 'fortran_order': False, 'shape': (1, 2, 2)}",
        "{descr: '<f4', 'fortran_order': False, 'shape': (1, 2, 2)}",
        "['descr', '<f4']",
        "",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 2)}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        npy_case(1, bad[i], 16, ".npy header");
    npy_case(1, "{" D3 "(4), }", 16, "'shape' is not a tuple");
    npy_case(1, "{" D3 "[1, 2, 2], }", 16, "'shape' is not a tuple");
    npy_case(1, "{" D3 "(1, 2, 2.0), }", 16, "'shape' is not a tuple");
    npy_case(1, "{" D3 "(1, 2 2), }", 16, "'shape' is not a tuple");
    npy_case(1, "{" D3 "(1, 2, 2L), }", 16, "'shape' is not a tuple");
    npy_case(1, "{" D3 "(1, -2, 2), }", 16, "each dimension must be 1 to");
    npy_case(1, "{" D3 "(1, 0, 2), }", 0, "each dimension must be 1 to");
    npy_case(1, "{" D3 "(1, 99999999999999999999999, 1), }", 16,
             "each dimension must be 1 to");
    /* data length against the file */
    npy_case(1, "{" D3 "(3, 1024, 1024), }", 100,
             "header says 3x1024x1024 floats (12 MiB) but the file holds 100 "
             "bytes");
    npy_case(1, "{" D3 "(1, 2, 2), }", 16 + 12, "12 bytes after the data");
    npy_case(2, "{" D3 "(1, 2, 2), }", 16 + 1, "1 byte after the data");
    npy_case(1, "{" D3 "(1, 2, 2), }", 15, "holds 15 bytes");
    long rss0 = check_peak_rss_kb();
    npy_case(1, "{" D3 "(8, 32768, 32768), }", 64,
             "(32 GiB) but the file holds 64 bytes");
    npy_case(3, "{" D3 "(1048576, 1048576, 1048576), }", 0,
             "(4 EiB) but the file holds 0 bytes");
    CHECK(check_peak_rss_kb() - rss0 < 64 * 1024, "32 GiB claim allocated");
    /* the preamble */
    npy_raw("empty file", "", 0, "not a .npy file");
    npy_raw("5 bytes", "\x93NUMP", 5, "not a .npy file");
    npy_raw("bad magic", "\x93NUMPX\x01\x00\x10\x00{}             \n", 26,
            "not a .npy file");
    npy_raw("a PNG", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, "not a .npy file");
    npy_raw("version 4.0", "\x93NUMPY\x04\x00\x10\x00{}             \n", 26,
            "version 4.0 is not supported");
    npy_raw("version 1.1", "\x93NUMPY\x01\x01\x10\x00{}             \n", 26,
            "version 1.1");
    npy_raw("no header length", "\x93NUMPY\x02\x00\x10\x00", 10,
            "ends in its preamble");
    npy_raw("header length past EOF",
            "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': "
            "False, 'shape': (3, 1000, 1000), }", 10 + 68,
            "header of 118 bytes runs past the end of the file (78 bytes)");
    npy_raw("header length 2^32-1", "\x93NUMPY\x02\x00\xff\xff\xff\xff{}",
            14, "header of 4294967295 bytes");
    npy_raw("no newline", "\x93NUMPY\x01\x00\x40\x00{'descr': '<f4', "
            "'fortran_order': False, 'shape': (1, 1, 1)}    ", 10 + 64,
            "one newline");
    static const char nul[] = "\x93NUMPY\x01\x00\x40\x00{'descr': '<f4\0', "
                              "'fortran_order': False, 'shape': (1, 1, 1)}"
                              "  \n";
    npy_raw("NUL in the header", nul, sizeof nul - 1, "'descr'");
    npy_refused("a directory", tmp, FCN_ERR_IO, "not a regular file");
    fcn_tensor t;
    CHECK(fcn_npy_read("/nonexistent.npy", &t) == FCN_ERR_IO &&
          strstr(fcn_last_error(), "/nonexistent.npy"), "missing file");
    remove(p);
}

/* Files written by NumPy itself (np.save; write_array for 2.0 and 3.0). */
void npy_numpy(void)
{
    static const char *const py = "/usr/bin/python3";
    if (access(py, X_OK) != 0) {
        printf("note: %s not found; NumPy-written files not tried\n", py);
        return;
    }
    const char *script = tmp_path("npy.py"), *dir = tmp;
    static const char src[] =
        "import sys, numpy as np\n"
        "d, p = sys.argv[1], sys.argv[2]\n"
        "a = (np.arange(30, dtype=np.float32) * 0.5 - 3).reshape(2, 3, 5)\n"
        "np.save(d + p + 'v1.npy', a)\n"
        "for v in (2, 3):\n"
        "    with open(d + p + 'v%d.npy' % v, 'wb') as f:\n"
        "        np.lib.format.write_array(f, a, version=(v, 0))\n"
        "np.save(d + p + 'f8.npy', a.astype('<f8'))\n"
        "np.save(d + p + 'be.npy', a.astype('>f4'))\n"
        "np.save(d + p + '4d.npy', a.reshape(1, 2, 3, 5))\n"
        "np.save(d + p + '2d.npy', a.reshape(6, 5))\n"
        "np.save(d + p + 'fo.npy', np.asfortranarray(a))\n"
        "np.save(d + p + 'big.npy', np.zeros((1, 2, 70000), np.float32))\n";
    write_file(script, src, sizeof src - 1);
    char cmd[3000], prefix[64];
    snprintf(prefix, sizeof prefix, "/inputs.%ld.np_", (long)getpid());
    snprintf(cmd, sizeof cmd, "%s '%s' '%s' '%s'", py, script, dir, prefix);
    int rc = system(cmd);
    CHECK(rc == 0, "NumPy could not write its files (%s: %d)", cmd, rc);
    remove(script);
    if (rc)
        return;
    static const char *const names[] = {"v1", "v2", "v3", "f8", "be", "4d",
                                        "2d", "fo", "big"};
    static const char *const needle[] = {
        NULL, NULL, NULL, "dtype '<f8'", "dtype '>f4'",
        "4-D array (1, 2, 3, 5)", "2-D array (6, 5)", "Fortran order", NULL};
    for (int i = 0; i < 9; i++) {
        char p[1200], name[16];
        snprintf(name, sizeof name, "np_%s.npy", names[i]);
        snprintf(p, sizeof p, "%s", tmp_path(name));
        if (i < 3)
            npy_valid(p, p, 2, 3, 5, 0.5f, -3);
        else if (i < 8)
            npy_refused(p, p, FCN_ERR_FORMAT, needle[i]);
        else
            npy_valid(p, p, 1, 2, 70000, 0, 0); /* a v1 header beyond 64 */
        remove(p);
    }
}

