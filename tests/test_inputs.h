/*
** test_inputs.h: what test_inputs.c (image bombs, the pixel cap, main) and
** test_inputs_npy.c (.npy headers) share: scratch files in TMPDIR and a
** growing byte buffer to write them with.
*/
#ifndef FCN_TEST_INPUTS_H
#define FCN_TEST_INPUTS_H

#include <stddef.h>
#include <stdint.h>

extern const char *tmp;  /* TMPDIR */

/* A path in TMPDIR for name, kept until remove_all (which removes them
** all, whatever happened). */
const char *tmp_path(const char *name);
void remove_all(void);
void write_file(const char *path, const void *data, size_t n);

typedef struct buf {
    unsigned char *b;
    size_t n, cap;
} buf;

void put(buf *o, const void *p, size_t n);
void put8(buf *o, int v);
void put16le(buf *o, unsigned v);
void put32le(buf *o, uint32_t v);

/* test_inputs_npy.c */
void npy_hand(void);
void npy_numpy(void);

#endif
