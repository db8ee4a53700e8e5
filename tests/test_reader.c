/*
** test_reader.c: bad input gets a status and a message, never a crash.
** Run under AddressSanitizer and UBSan in CI (see .ci/run).
**
**  - every proper prefix of a valid model.bin is refused;
**  - thousands of random byte flips: each load either succeeds or fails
**    with a message (sanitizers catch any out-of-bounds read);
**  - tests/fixtures/bad/: models with one defect each, refused with a
**    message that names the defect;
**  - wrong version, input smaller than the network needs, absurd sizes,
**    unreadable images and arrays;
**  - the limits of docs/model-format.md ("Limits and validation") on
**    generated models: window attributes at and around every limit, alone
**    and chained so that products overflow 32 bits, against an independent
**    128-bit computation of the status, the layer blamed and the geometry;
**    attributes that disagree with the weights; padding bombs; the score
**    map in the session's memory budget; pool bombs (huge windows)
**    (test_reader_limits.c, test_reader_bombs.c; test_reader.h).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fcn.h"
#include "test_reader.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

/* The limits (test_reader_limits.c, test_reader_bombs.c). */
static void limits(void)
{
    for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++)
        ones[i] = 1.0f;
    const double t0 = check_now();
    single_layers();
    printf("single layers: %d cases, %d accepted (%.1f s)\n", cases_geom,
           outcomes[FCN_OK], check_now() - t0);
    chains();
    disagreements();
    pad_bombs();
    score_budget();
    pool_bombs();
    printf("limits: %d geometry cases (%d accepted, refused: %d FORMAT, %d "
           "UNSUPPORTED (%d of them the accumulated geometry), %d SHAPE, %d "
           "NOMEM), %d attribute/weight "
           "disagreements, %d padding and score-map cases (%.1f s)\n",
           cases_geom, outcomes[FCN_OK], outcomes[FCN_ERR_FORMAT],
           outcomes[FCN_ERR_UNSUPPORTED], refused_geometry,
           outcomes[FCN_ERR_SHAPE],
           outcomes[FCN_ERR_NOMEM], cases_attr, cases_pad, check_now() - t0);
    CHECK(outcomes[FCN_OK] > 500 && outcomes[FCN_ERR_FORMAT] > 1000 &&
              refused_geometry > 100 &&
              outcomes[FCN_ERR_UNSUPPORTED] > 100 &&
              outcomes[FCN_ERR_SHAPE] > 100 && outcomes[FCN_ERR_NOMEM] > 5,
          "the generated cases miss an outcome");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/fixtures";
    const char *tmp = argc > 2 ? argv[2] : ".";
    char path[1024];
    size_t size;
    snprintf(path, sizeof path, "%s/cf_dense2/model.bin", dir);
    unsigned char *good = check_read_file(path, &size);
    CHECK(good != NULL, "cannot read %s", path);
    if (!good)
        return check_done();
    fcn_model *m = NULL;
    CHECK(fcn_model_load_memory(good, size, NULL, &m) == FCN_OK,
          "valid model refused: %s", fcn_last_error());
    fcn_model_info info;
    fcn_model_get_info(m, &info);

    /* Every proper prefix. */
    int prefix_ok = 1;
    for (size_t n = 0; n < size; n++) {
        fcn_model *x = NULL;
        fcn_status st = fcn_model_load_memory(good, n, NULL, &x);
        if (st == FCN_OK || x || !strlen(fcn_last_error())) {
            prefix_ok = 0;
            CHECK(0, "prefix of %zu bytes accepted", n);
            fcn_model_free(x);
        }
    }
    CHECK(prefix_ok, "every prefix refused (%zu prefixes)", size);

    /* Random byte flips. Weight bytes may change values and still load;
    ** the rest must be caught. A loaded model is run at its trained size. */
    unsigned char *buf = malloc(size);
    int loaded = 0, refused = 0;
    const fcn_session_options one = {.threads = 1, .mem_limit = 0, .tile = 0};
    for (int it = 0; it < 3000 && buf; it++) {
        memcpy(buf, good, size);
        int flips = 1 + (int)(next() % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = (size_t)(next() % size);
            /* half of the flips hit the header and graph section */
            if (k == 0 && (it & 1))
                at = (size_t)(next() % (size < 2048 ? size : 2048));
            buf[at] ^= (unsigned char)(1u << (next() % 8));
        }
        fcn_model *x = NULL;
        fcn_status st = fcn_model_load_memory(buf, size, NULL, &x);
        if (st == FCN_OK) {
            loaded++;
            fcn_model_info xi;
            fcn_model_get_info(x, &xi);
            fcn_session *s = NULL;
            if (xi.in_h <= 64 && xi.in_w <= 64 &&
                fcn_session_create(x, xi.in_h, xi.in_w, &one, &s) == FCN_OK) {
                float *in = calloc((size_t)xi.in_c * xi.in_h * xi.in_w,
                                   sizeof(float));
                fcn_scores sc;
                if (in)
                    fcn_session_run(s, in, &sc);
                free(in);
            }
            fcn_session_free(s);
            fcn_model_free(x);
        } else {
            refused++;
            CHECK(x == NULL && strlen(fcn_last_error()) > 10,
                  "refusal without a message");
        }
    }
    CHECK(refused > 100 && loaded > 0, "byte flips: %d refused, %d loaded",
          refused, loaded);
    printf("byte flips: %d refused, %d loaded\n", refused, loaded);

    /* Wrong version. */
    memcpy(buf, good, size);
    buf[8] = 2;
    fcn_model *x = NULL;
    CHECK(fcn_model_load_memory(buf, size, NULL, &x) == FCN_ERR_FORMAT &&
              strstr(fcn_last_error(), "version 2"),
          "version 2 accepted or unclear: %s", fcn_last_error());

    /* Defective models. */
    static const struct {
        const char *file, *needle;
    } bad[] = {
        {"dense_mismatch.bin", "'fc'"},    {"no_chain.bin", "t_missing"},
        {"bad_kernel.bin", "conv2"},       {"unknown_op.bin", "Frobnicate"},
        {"conv_weight_shape.bin", "conv1"}, {"unknown_attr.bin", "frobnication"},
        {"mistyped_attr.bin", "kernel"},   {"conv_after_flatten.bin", "conv2"},
        {"bad_input_shape.bin", "input_shape"}, {"truncated.bin", "truncated"},
        {"bad_magic.bin", "magic"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "%s/bad/%s", dir, bad[i].file);
        x = NULL;
        fcn_status st = fcn_model_load(path, NULL, &x);
        CHECK(st != FCN_OK && !x && strstr(fcn_last_error(), bad[i].needle),
              "%s: status %d, message '%s' should name '%s'", bad[i].file, st,
              fcn_last_error(), bad[i].needle);
        fcn_model_free(x);
    }
    CHECK(fcn_model_load("/nonexistent/model.bin", NULL, &x) == FCN_ERR_IO,
          "missing file: %s", fcn_last_error());
    CHECK(fcn_model_load(dir, NULL, &x) != FCN_OK, "a directory accepted");

    /* Inputs the network cannot take. */
    fcn_session *s = NULL;
    fcn_status st = fcn_session_create(m, info.min_h - 1, info.in_w, NULL, &s);
    CHECK(st == FCN_ERR_SHAPE && !s && strstr(fcn_last_error(), "smaller"),
          "input below the minimum: %d, '%s'", st, fcn_last_error());
    st = fcn_session_create(m, info.min_h, info.min_w, NULL, &s);
    CHECK(st == FCN_OK, "minimum input %dx%d refused: %s", info.min_w,
          info.min_h, fcn_last_error());
    fcn_session_free(s);
    s = NULL;
    CHECK(fcn_session_create(m, 0, 10, NULL, &s) != FCN_OK && !s, "0 rows");
    CHECK(fcn_session_create(m, 1 << 30, 1 << 30, NULL, &s) != FCN_OK && !s,
          "absurd size accepted");
    CHECK(fcn_session_create(m, 200000, 200000, NULL, &s) != FCN_OK && !s,
          "200000^2 input accepted");

    /* Unreadable images and arrays. */
    fcn_tensor t;
    snprintf(path, sizeof path, "%s/not_an_image.png", tmp);
    write_file(path, "this is not a PNG file\n", 23);
    CHECK(fcn_image_load(m, path, 0, 0, &t) == FCN_ERR_FORMAT && !t.data,
          "text as image: %s", fcn_last_error());
    write_file(path, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    CHECK(fcn_image_load(m, path, 0, 0, &t) == FCN_ERR_FORMAT && !t.data,
          "truncated PNG: %s", fcn_last_error());
    CHECK(fcn_image_load(m, "/nonexistent.png", 0, 0, &t) == FCN_ERR_IO,
          "missing image: %s", fcn_last_error());
    CHECK(fcn_npy_read(path, &t) == FCN_ERR_FORMAT, "PNG as npy");
    snprintf(path, sizeof path, "%s/bad.npy", tmp);
    static const char npy_hdr[] =
        "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, "
        "'shape': (3, 1000, 1000), }";
    write_file(path, npy_hdr, sizeof npy_hdr - 1);
    CHECK(fcn_npy_read(path, &t) == FCN_ERR_FORMAT && !t.data,
          "truncated npy: %s", fcn_last_error());
    remove(path);
    snprintf(path, sizeof path, "%s/not_an_image.png", tmp);
    remove(path);

    free(buf);
    free(good);
    fcn_model_free(m);
    limits();
    return check_done();
}
