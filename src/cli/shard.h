/*
** shard.h: the files of a sharded run (docs/scale-out.md), shared by
** fcn-run --shard and fcn-merge: the parts' manifests (JSON, through
** jansson), their entries, and the SHA-256 of outputs (OpenSSL's EVP).
*/
#ifndef FCN_CLI_SHARD_H
#define FCN_CLI_SHARD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "fcn.h"

#define SH_FORMAT 1     /* "fcn_shard" */
#define SH_MAX_PARTS 1000000

/* One output of a part. */
typedef struct sh_entry {
    char *input, *output, *kernels;  /* owned */
    int image_h, image_w;            /* the input's rows, columns */
    int classes, map_h, map_w;       /* the whole map */
    fcn_region cells;                /* the output's cells of the map */
    int win[4];                      /* its input window: y, x, h, w */
    fcn_geometry geom;               /* of the whole map's cell (0, 0) */
    int64_t bytes;
    char sha256[65];
} sh_entry;

typedef struct sh_manifest {
    json_t *job;        /* owned reference */
    int part, parts, complete;
    sh_entry *e;
    int n, cap;
} sh_manifest;

/* DIR/part-I-of-N.json; 0 if it does not fit. */
int sh_manifest_path(const char *dir, int part, int parts, char *out,
                     size_t n);
/* The file's size and SHA-256 (64 hex digits); 0 with err set. */
int sh_sha256_file(const char *path, char hex[65], int64_t *bytes, char *err,
                   size_t errlen);
/* Read and check a manifest: 1 read, 0 absent (err says so), -1 not a
** manifest of this format (err says why). */
int sh_manifest_read(const char *path, sh_manifest *m, char *err,
                     size_t errlen);
/* Write m as DIR/part-I-of-N.json, whole or not at all; 0 with err set. */
int sh_manifest_write(const char *dir, const sh_manifest *m, char *err,
                      size_t errlen);
/* Add (a copy of) e, replacing an entry with the same output; 0: out of
** memory. */
int sh_entry_add(sh_manifest *m, const sh_entry *e);
/* The entry whose output is name; NULL if none. */
const sh_entry *sh_entry_find(const sh_manifest *m, const char *output);
/* e's output exists in dir with its size and SHA-256; 0 with err naming
** what differs. */
int sh_entry_check(const char *dir, const sh_entry *e, char *err,
                   size_t errlen);
void sh_entry_free(sh_entry *e);
/* A JSON array of v[0..n) (n 0: an empty array); NULL: out of memory. */
json_t *sh_ints(const int *v, int n);
/* Control characters of a message (a manifest's strings, and jansson's
** quotes of a file's text, may hold newlines) as spaces: one line. */
void sh_one_line(char *s);
void sh_manifest_free(sh_manifest *m);

#endif
