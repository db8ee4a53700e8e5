/*
** image_guard.h: what fcn checks or decodes itself before (or instead of)
** stb_image 2.27, whose JPEG Huffman tables and PNM reader are unsafe on
** hostile input: a walk of every JPEG marker segment, and fcn's own
** reader of binary PNM (P5, P6) at 8 and 16 bits.
*/
#ifndef FCN_IO_IMAGE_GUARD_H
#define FCN_IO_IMAGE_GUARD_H

#include <stdint.h>
#include <stdio.h>

#include "fcn.h"

/* A binary PNM's header: w x h samples of c (1: P5, 3: P6) channels at
** maxval, the pixel data from byte offset `data` of the file. */
typedef struct img_pnm {
    int w, h, c, maxval;
    long data;
} img_pnm;

/* The checks on f (read from its start, left at its start): a JPEG (FF
** D8) has every marker segment walked, before and after SOS, and a DHT
** segment refused (FCN_ERR_FORMAT) unless each of its tables has class
** 0/1, id 0..3, at most 256 codes and its codes inside the segment, a
** scan refused (FCN_ERR_FORMAT) that uses a table not yet defined, and a
** progressive JPEG refused (FCN_ERR_UNSUPPORTED: libvips decodes it). A
** P5/P6 file has its header parsed into *pnm (pnm->c > 0), bounded: a side
** of 0 or maxval outside 1..65535 is FCN_ERR_FORMAT, a side over
** IMG_MAX_DIM FCN_ERR_NOMEM. A PNG whose first IDAT chunk is empty is
** FCN_ERR_FORMAT. Anything else: FCN_OK, pnm->c == 0. */
fcn_status img_guard(FILE *f, const char *path, img_pnm *pnm);

/* Decode the PNM img_guard read into *px (mem_alloc'd: w * h * channels
** samples, channels 1 or 3) as PIL reads PPM/PGM: at 8 bits where maxval
** <= 255, else at 16 (host-endian; the file's are big-endian), each
** sample v scaled as round-half-even(v / maxval * max) in double (max 255
** or 65535), a sample over maxval giving max; then to `channels` as
** img_px_convert does. Data shorter than the header says: FCN_ERR_FORMAT,
** before allocating where f is a regular file. */
fcn_status img_pnm_decode(FILE *f, const char *path, const img_pnm *pnm,
                          int channels, unsigned char **px);

#endif
