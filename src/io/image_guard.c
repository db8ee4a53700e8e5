/*
** image_guard.c: the checks made before a file reaches stb_image 2.27
** (image_guard.h), and fcn's own binary PNM reader.
**
** stb 2.27 writes past its Huffman arrays on a JPEG DHT table of more than
** 256 codes (reachable from stbi_info too, and a DHT may follow SOS), and
** its PNM reader overflows an int on a long width, reads past its buffer
** on a 16-bit file decoded to another channel count, and keeps the low
** byte of 16-bit samples. The marker walk below follows stb's own: any
** bytes up to an FF, fill FFs, then the marker; entropy-coded data after
** SOS runs to the first FF followed by neither 00 (a stuffed byte), FF nor
** a restart marker. A scan that would decode with a Huffman table not yet
** defined is refused too (stb 2.27 reads the table's uninitialised limits),
** and so is any progressive JPEG: fuzzing found stb 2.27's progressive
** decoder undefined on corrupt scans (index and shift out of range) twice
** in a day; libvips (libjpeg) decodes them. A PNG whose first IDAT is empty makes stb 2.27 offset a
** null pointer: it is refused.
*/
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "io/image.h"
#include "io/image_guard.h"
#include "util/err.h"
#include "util/mem.h"

/* ---- JPEG ---- */

/* The marker after a segment: bytes to the next FF, its fill FFs, then
** the marker byte (EOF at the end). */
static int jpeg_marker(FILE *f)
{
    int c;
    do
        c = getc(f);
    while (c != EOF && c != 0xFF);
    while (c == 0xFF)
        c = getc(f);
    return c;
}

/* Past the entropy-coded data of a scan: the marker that ends it. */
static int jpeg_scan_end(FILE *f)
{
    for (;;) {
        int c = jpeg_marker(f);
        if (c != 0x00 && (c < 0xD0 || c > 0xD7))
            return c;
    }
}

/* Skip n bytes; 0 at the end of the file. */
static int skip(FILE *f, long n)
{
    while (n-- > 0)
        if (getc(f) == EOF)
            return 0;
    return 1;
}

/* The tables of a DHT segment of L bytes after its length. Past the end
** of the file stb reads zeros: the counts read before it still count. */
static fcn_status jpeg_dht(FILE *f, const char *path, long L,
                           unsigned *defined)
{
    while (L > 0) {
        if (L < 17)
            return err_set(FCN_ERR_FORMAT, "%s: JPEG: Huffman table header "
                           "beyond the end of its DHT segment", path);
        int q = getc(f), n = 0, k = 0;
        q = q == EOF ? 0 : q;
        for (int i = 0; i < 16 && k != EOF; i++) {
            k = getc(f);
            n += k == EOF ? 0 : k;
        }
        if (q >> 4 > 1 || (q & 15) > 3)
            return err_set(FCN_ERR_FORMAT, "%s: JPEG: Huffman table of "
                           "class %d, id %d (class 0 or 1, id 0 to 3)", path,
                           q >> 4, q & 15);
        if (n > 256)
            return err_set(FCN_ERR_FORMAT, "%s: JPEG: Huffman table with %d "
                           "codes (at most 256)", path, n);
        *defined |= 1u << ((q >> 4) * 4 + (q & 15));
        if (k == EOF)
            return FCN_OK;
        L -= 17;
        if (n > L)
            return err_set(FCN_ERR_FORMAT, "%s: JPEG: Huffman table of %d "
                           "codes beyond the end of its DHT segment", path, n);
        if (!skip(f, n))
            return FCN_OK;
        L -= n;
    }
    return FCN_OK;
}

/* A scan header (SOS, L bytes after its length): every Huffman table its
** components will be decoded with must have been defined before it, since
** stb 2.27 decodes with an undefined table's uninitialised limits (and
** indexes its arrays with what they give). A DC table is used by a first
** DC scan (Ss 0, Ah 0), an AC table by any scan with Se > 0. */
static fcn_status jpeg_sos(FILE *f, const char *path, long L,
                           unsigned defined)
{
    unsigned char h[12];
    const long n = L < (long)sizeof h ? L : (long)sizeof h;
    if (n < 1 || (long)fread(h, 1, (size_t)n, f) != n)
        return FCN_OK;
    const int ns = h[0];
    if (ns < 1 || ns > 4 || n < 1 + 2 * ns + 3)
        return skip(f, L - n), FCN_OK; /* stb refuses it */
    const int ss = h[1 + 2 * ns], se = h[2 + 2 * ns], ah = h[3 + 2 * ns] >> 4;
    for (int i = 0; i < ns; i++) {
        const int td = h[2 + 2 * i] >> 4, ta = h[2 + 2 * i] & 15;
        const int dc = ss == 0 && ah == 0 && td < 4 &&
                       !(defined >> td & 1);
        const int ac = se > 0 && ta < 4 && !(defined >> (4 + ta) & 1);
        if (dc || ac)
            return err_set(FCN_ERR_FORMAT, "%s: JPEG: a scan uses the %s "
                           "Huffman table %d, which is not defined", path,
                           dc ? "DC" : "AC", dc ? td : ta);
    }
    skip(f, L - n);
    return FCN_OK;
}

/* Every segment of a JPEG, f just past its SOI. Where stb would stop (the
** end of the file, EOI, a length under 2) the walk stops too. */
static fcn_status jpeg_walk(FILE *f, const char *path)
{
    unsigned defined = 0; /* bit class * 4 + id: the tables seen so far */
    int m = jpeg_marker(f);
    for (;;) {
        if (m == EOF || m == 0xD9 || m == 0x00)
            return FCN_OK;
        if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
            m = jpeg_marker(f); /* standalone markers */
            continue;
        }
        const int hi = getc(f), lo = getc(f);
        if (lo == EOF)
            return FCN_OK;
        const long L = (long)(hi << 8 | lo) - 2;
        if (L < 0)
            return FCN_OK;
        if (m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE)
            return err_set(FCN_ERR_UNSUPPORTED, "%s: progressive JPEG: "
                           "decoded only through libvips (stb_image 2.27's "
                           "progressive decoder is not safe on corrupt "
                           "files)", path);
        if (m == 0xC4 || m == 0xDA) {
            fcn_status st = m == 0xC4 ? jpeg_dht(f, path, L, &defined)
                                      : jpeg_sos(f, path, L, defined);
            if (st)
                return st;
        } else if (!skip(f, L)) {
            return FCN_OK;
        }
        m = m == 0xDA ? jpeg_scan_end(f) : jpeg_marker(f);
    }
}

/* ---- PNG ---- */

/* stb 2.27 computes idata + 0 on a null idata (undefined behaviour) when
** an IDAT chunk of length 0 comes before any image data: such a file (legal,
** but written by no encoder we know) is refused. f is past the 8-byte
** signature; the walk stops at the first IDAT with data, IEND or the end of
** the file, skipping each chunk's data and CRC. */
static fcn_status png_walk(FILE *f, const char *path)
{
    unsigned char h[8];
    while (fread(h, 1, 8, f) == 8) {
        const uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
                             (uint32_t)h[2] << 8 | h[3];
        const uint32_t type = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 |
                              (uint32_t)h[6] << 8 | h[7];
        if (type == 0x49444154u) /* IDAT */
            return len ? FCN_OK
                       : err_set(FCN_ERR_FORMAT, "%s: PNG: empty IDAT chunk "
                                 "before the image data (not supported)",
                                 path);
        if (type == 0x49454E44u || fseek(f, (long)len + 4, SEEK_CUR) != 0)
            return FCN_OK; /* IEND */
    }
    return FCN_OK;
}

/* ---- PNM ---- */

#define PNM_BIG 1000000000000LL /* integers saturate here */

static int pnm_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
           c == '\r';
}

/* Past whitespace and comments from c: the first other character. */
static int pnm_skip(FILE *f, int c)
{
    for (;;) {
        while (pnm_space(c))
            c = getc(f);
        if (c != '#')
            return c;
        while (c != EOF && c != '\n' && c != '\r')
            c = getc(f);
    }
}

/* The decimal integer at *c (after whitespace and comments), saturated at
** PNM_BIG; -1 if there is none. *c: the character after it. */
static long long pnm_int(FILE *f, int *c)
{
    *c = pnm_skip(f, *c);
    if (*c < '0' || *c > '9')
        return -1;
    long long v = 0;
    for (; *c >= '0' && *c <= '9'; *c = getc(f))
        if (v < PNM_BIG)
            v = v * 10 + (*c - '0');
    return v < PNM_BIG ? v : PNM_BIG;
}

static fcn_status pnm_header(FILE *f, const char *path, int c, img_pnm *p)
{
    static const char *const what[] = {"width", "height", "maxval"};
    long long v[3];
    int ch = getc(f);
    for (int i = 0; i < 3; i++) {
        v[i] = pnm_int(f, &ch);
        if (v[i] < 0)
            return err_set(FCN_ERR_FORMAT, "%s: PNM: no %s in the header",
                           path, what[i]);
        if (i < 2 && v[i] > IMG_MAX_DIM)
            return err_set(FCN_ERR_NOMEM, "%s: PNM: image %s %s%lld is "
                           "larger than %d pixels a side", path, what[i],
                           v[i] == PNM_BIG ? "over " : "", v[i], IMG_MAX_DIM);
        if (i < 2 && v[i] == 0)
            return err_set(FCN_ERR_FORMAT, "%s: PNM: image %s 0", path,
                           what[i]);
    }
    if (v[2] < 1 || v[2] > 65535)
        return err_set(FCN_ERR_FORMAT, "%s: PNM: maxval %s%lld (1 to 65535)",
                       path, v[2] == PNM_BIG ? "over " : "", v[2]);
    if (!pnm_space(ch))
        return err_set(FCN_ERR_FORMAT, "%s: PNM: no whitespace after the "
                       "maxval", path);
    *p = (img_pnm){(int)v[0], (int)v[1], c, (int)v[2], ftell(f)};
    return p->data < 0 ? err_set(FCN_ERR_IO, "%s: cannot tell the position "
                                 "in the file", path)
                       : FCN_OK;
}

fcn_status img_guard(FILE *f, const char *path, img_pnm *pnm)
{
    *pnm = (img_pnm){0};
    const int a = getc(f), b = getc(f);
    fcn_status st = FCN_OK;
    if (a == 0xFF) { /* stb takes fill FFs before the SOI too */
        int m = b;
        while (m == 0xFF)
            m = getc(f);
        if (m == 0xD8)
            st = jpeg_walk(f, path);
    } else if (a == 'P' && (b == '5' || b == '6')) {
        st = pnm_header(f, path, b == '5' ? 1 : 3, pnm);
    } else if (a == 0x89 && b == 'P') {
        unsigned char sig[6];
        if (fread(sig, 1, 6, f) == 6 && !memcmp(sig, "NG\r\n\x1a\n", 6))
            st = png_walk(f, path);
    }
    if (fseek(f, 0, SEEK_SET) != 0 && !st)
        st = err_set(FCN_ERR_IO, "%s: cannot seek in the file (not a "
                     "regular file?)", path);
    return st;
}

/* x >= 0 (v / maxval * max in double) rounded half to even, at most
** max: Python's round, as PIL's PPM decoder computes it. */
static unsigned round_even(double x, unsigned max)
{
    if (x >= max)
        return max;
    const unsigned i = (unsigned)x;
    const double r = x - i;
    return i + (r > 0.5 || (r == 0.5 && (i & 1)));
}

/* One row of samples (bps bytes each, big-endian) scaled in place to 8 or
** 16 bits (lut: maxval + 1 entries; beyond them the most). */
static void pnm_scale(unsigned char *s, size_t n, int bps,
                      const uint16_t *lut, int maxval)
{
    uint16_t *d16 = (uint16_t *)s;
    for (size_t i = 0; i < n; i++) {
        const int v = bps == 2 ? s[2 * i] << 8 | s[2 * i + 1] : s[i];
        const uint16_t o = v > maxval ? (bps == 2 ? 65535 : 255) : lut[v];
        if (bps == 2)
            d16[i] = o;
        else
            s[i] = (unsigned char)o;
    }
}

fcn_status img_pnm_decode(FILE *f, const char *path, const img_pnm *pnm,
                          int channels, unsigned char **px)
{
    *px = NULL;
    if (channels != 1 && channels != 3)
        return err_set(FCN_ERR_ARG, "%s: %d channels asked of a PNM image",
                       path, channels);
    const int bps = pnm->maxval > 255 ? 2 : 1;
    const size_t row = (size_t)pnm->w * pnm->c * bps;
    const long long need = (long long)row * pnm->h;
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) &&
        sb.st_size - pnm->data < need)
        return err_set(FCN_ERR_FORMAT, "%s: PNM: the pixel data ends after "
                       "%lld of %lld bytes", path,
                       (long long)(sb.st_size - pnm->data), need);
    if (fseek(f, pnm->data, SEEK_SET) != 0)
        return err_set(FCN_ERR_IO, "%s: cannot seek in the file", path);
    unsigned char *out = mem_alloc((size_t)pnm->w * pnm->h * channels * bps);
    unsigned char *buf = mem_alloc(row + 1 + 2 * ((size_t)pnm->maxval + 1));
    if (!out || !buf) {
        mem_free(out);
        mem_free(buf);
        return err_set(FCN_ERR_NOMEM, "%s: out of memory decoding a %dx%d "
                       "image", path, pnm->w, pnm->h);
    }
    uint16_t *lut = (uint16_t *)(buf + (row + 1) / 2 * 2);
    for (int v = 0; v <= pnm->maxval; v++)
        lut[v] = (uint16_t)round_even((double)v / pnm->maxval *
                                      (bps == 2 ? 65535.0 : 255.0),
                                      bps == 2 ? 65535 : 255);
    for (int y = 0; y < pnm->h; y++) {
        if (fread(buf, 1, row, f) != row) {
            mem_free(out);
            mem_free(buf);
            return err_set(FCN_ERR_FORMAT, "%s: PNM: the pixel data ends in "
                           "row %d of %d", path, y, pnm->h);
        }
        pnm_scale(buf, (size_t)pnm->w * pnm->c, bps, lut, pnm->maxval);
        img_px_convert(buf, pnm->c == 1 ? IMG_BANDS_GRAY : IMG_BANDS_RGB,
                       8 * bps, (size_t)pnm->w, channels,
                       out + (size_t)y * pnm->w * channels * bps);
    }
    mem_free(buf);
    *px = out;
    return FCN_OK;
}
