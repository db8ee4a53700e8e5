/*
** fuzz_image.c: libFuzzer harness of image decoding (stb_image through
** fcn_image_decode), resizing (fcn_image_resize, and decode with a size)
** and preprocessing (fcn_image_load).
**
** The input is written to a memfd and decoded through its /proc path. The
** model (its channel count and resize filter are what decoding uses) is
** one of three, chosen by a hash of the input: gray + bilinear (the
** bundled model), RGB + bilinear, RGB + area, each loaded with a cap of
** 2^18 pixels (fcn_options.max_pixels) that every decoded or resized image
** must respect.
*/
#include <string.h>

#include "fuzz.h"

/* Pixels an image may have: a lower cap than the default keeps every
** input fast; decoding must refuse more from the header alone. */
#define MAX_PIXELS ((int64_t)1 << 18)

static fcn_model *models[3];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fcn_options o = {.max_pixels = MAX_PIXELS};
    models[0] = fz_load_model("models/fashion.bin", &o);
    models[1] = fz_load_model("tests/fixtures/gap_head/model.bin", &o);
    models[2] = fz_load_model("tests/fuzz/models/rgb_area.bin", &o);
    return 0;
}

static void check_image(const fcn_image *img, int c, int h, int w)
{
    FZ_CHECK(img->pixels && img->c == c);
    FZ_CHECK(img->w > 0 && img->h > 0);
    FZ_CHECK(!h || img->h == h);
    FZ_CHECK(!w || img->w == w);
    FZ_CHECK((int64_t)img->w * img->h <= MAX_PIXELS);
    fz_touch(img->pixels, (size_t)img->w * img->h * img->c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file(data, size);
    if (!path)
        return 0;
    uint32_t h = fz_hash(data, size);
    const fcn_model *m = models[h % 3];
    fcn_model_info in;
    fcn_model_get_info(m, &in);
    int rh = 1 + (int)(h >> 2 & 15), rw = 1 + (int)(h >> 6 & 15);

    fcn_image img;
    fcn_status st = fcn_image_decode(m, path, 0, 0, &img);
    fz_check_status(st);
    if (st)
        return 0;
    check_image(&img, in.in_c, 0, 0);
    size_t pixels = (size_t)img.w * img.h;

    fcn_image small;
    st = fcn_image_resize(m, &img, rh, rw, &small);
    fz_check_status(st);
    if (st == FCN_OK) {
        check_image(&small, in.in_c, rh, rw);
        fcn_image_free(&small);
    }
    /* an enlargement, where it stays small */
    if (pixels <= 4096) {
        st = fcn_image_resize(m, &img, img.h * 2 + 1, img.w + rw, &small);
        fz_check_status(st);
        if (st == FCN_OK) {
            check_image(&small, in.in_c, img.h * 2 + 1, img.w + rw);
            fcn_image_free(&small);
        }
    }
    fcn_image_free(&img);

    /* decoding again, where decoding is cheap: with a size, with the other
    ** channel count, and as floats */
    if (pixels <= 1 << 16) {
        st = fcn_image_decode(m, path, rh, rw, &img);
        fz_check_status(st);
        if (st == FCN_OK) {
            check_image(&img, in.in_c, rh, rw);
            fcn_image_free(&img);
        }
        const fcn_model *other = models[in.in_c == 1 ? 1 + h / 3 % 2 : 0];
        int other_c = in.in_c == 1 ? 3 : 1;
        st = fcn_image_decode(other, path, 0, 0, &img);
        fz_check_status(st);
        if (st == FCN_OK) {
            check_image(&img, other_c, 0, 0);
            fcn_image_free(&img);
        }
        fcn_tensor t;
        st = fcn_image_load(m, path, 0, 0, &t);
        fz_check_status(st);
        if (st == FCN_OK) {
            FZ_CHECK(t.data && t.c == in.in_c);
            FZ_CHECK((size_t)t.h * t.w == pixels);
            fz_touch(t.data, (size_t)t.c * t.h * t.w * sizeof *t.data);
            fcn_tensor_free(&t);
        }
    }
    return 0;
}
