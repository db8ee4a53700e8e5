/*
** fuzz.h: what the libFuzzer harnesses of tests/fuzz share (README.md).
**
** Each harness sees only the public API. A check that fails aborts, which
** libFuzzer reports as a crash with the input that caused it.
*/
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "fcn.h"

/* abort() with a message when cond is false. */
#define FZ_CHECK(cond) \
    ((cond) ? (void)0 : fz_fail(__FILE__, __LINE__, #cond))
void fz_fail(const char *file, int line, const char *what);

/* A status the library returned: a known value, and when it is an error,
** a one-line message (the library's contract, include/fcn.h). */
void fz_check_status(fcn_status st);

/* FNV-1a of the input: the harnesses derive options from it, so that one
** input always takes the same path. */
uint32_t fz_hash(const uint8_t *data, size_t size);

/* A path whose file holds exactly data (a memfd, reused by every call of
** one process), for the entry points that read files. NULL if the memfd
** cannot be written (the harness then skips the input). */
const char *fz_file(const uint8_t *data, size_t size);

/* Reads every byte (so that ASan checks a buffer's whole extent). */
void fz_touch(const void *p, size_t n);

/* A model from tests/fuzz/models/ or elsewhere in the source tree (path
** relative to it; FCN_FUZZ_SRC overrides the tree's root); opt may be
** NULL. Aborts if it does not load: the harness cannot run without it. */
fcn_model *fz_load_model(const char *relpath, const fcn_options *opt);
/* A model.bin fuzz input loaded from memory with options drawn from h;
** with fix_size, the header's file_size is first made right (so that the
** fuzzer explores past the size check). *m is NULL where it fails. */
fcn_status fz_load_input(const uint8_t *data, size_t size, uint32_t h,
                         int fix_size, fcn_model **m);

#endif
