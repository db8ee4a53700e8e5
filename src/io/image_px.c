/*
** image_px.c: decoded pixels to the model's channels, as PIL's
** Image.convert('RGB') and ('L') compute them, at 8 or 16 bits, for both
** decoders (image.c, image_vips.c).
*/
#include "io/image.h"

/* PIL's ITU-R 601-2 luma in 16-bit fixed point (Pillow's L24), the same
** weights at 16 bits. */
static unsigned luma(uint64_t r, uint64_t g, uint64_t b)
{
    return (unsigned)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

/* Pillow's cmyk2rgb: (max - k) - round(c * (max - k) / max). */
static unsigned cmyk1(unsigned c, unsigned k, unsigned max)
{
    const unsigned nk = max - k;
    return nk - (unsigned)(((uint64_t)c * nk + max / 2) / max);
}

/* One pixel's value of channel ch from its bands. */
static void px_get(const unsigned *v, img_bands b, unsigned max,
                   unsigned *rgb)
{
    switch (b) {
    case IMG_BANDS_GRAY:
    case IMG_BANDS_GRAY_ALPHA:
        rgb[0] = rgb[1] = rgb[2] = v[0];
        break;
    case IMG_BANDS_RGB:
    case IMG_BANDS_RGBA:
        rgb[0] = v[0];
        rgb[1] = v[1];
        rgb[2] = v[2];
        break;
    case IMG_BANDS_CMYK:
    case IMG_BANDS_CMYKA:
        for (int k = 0; k < 3; k++)
            rgb[k] = cmyk1(v[k], v[3], max);
        break;
    }
}

int img_bands_count(img_bands b)
{
    static const int n[] = {1, 2, 3, 4, 4, 5};
    return n[b];
}

void img_px_convert(const void *src, img_bands b, int depth, size_t n,
                    int channels, void *dst)
{
    const int nb = img_bands_count(b), wide = depth == 16;
    const unsigned max = wide ? 65535 : 255;
    const unsigned char *s8 = src;
    const uint16_t *s16 = src;
    unsigned char *d8 = dst;
    uint16_t *d16 = dst;
    /* forward, one pixel read whole before it is written: dst may be src
    ** when channels <= the bands' count */
    for (size_t p = 0; p < n; p++) {
        unsigned v[5] = {0}, rgb[3] = {0}, out[3];
        for (int k = 0; k < nb; k++)
            v[k] = wide ? s16[p * nb + k] : s8[p * nb + k];
        if (channels == 1 && (b == IMG_BANDS_GRAY ||
                              b == IMG_BANDS_GRAY_ALPHA)) {
            out[0] = v[0];  /* 'LA' to 'L': the alpha dropped */
        } else {
            px_get(v, b, max, rgb);
            if (channels == 1)
                out[0] = luma(rgb[0], rgb[1], rgb[2]);
            else
                out[0] = rgb[0], out[1] = rgb[1], out[2] = rgb[2];
        }
        for (int k = 0; k < channels; k++) {
            if (wide)
                d16[p * channels + k] = (uint16_t)out[k];
            else
                d8[p * channels + k] = (unsigned char)out[k];
        }
    }
}
