/*
** fuzz_manifest.c: libFuzzer harness of the reader of split runs'
** manifests (src/cli/shard.c, which fcn-run --shard and fcn-merge use). A
** manifest it accepts must hold what the format allows (docs/scale-out.md:
** parts in range, every output a plain name in the directory, its cells
** within its map, its SHA-256 64 hex digits), and, written back
** (sh_manifest_write) and read again, must come back the same.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "shard.h"

static char dir[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "/dev/shm/fcn-fuzz-manifest-%d", (int)getpid());
    mkdir(dir, 0700);
    return 0;
}

static void check_entry(const sh_manifest *m, const sh_entry *e)
{
    FZ_CHECK(e->input && e->output && e->kernels);
    FZ_CHECK(*e->output && !strchr(e->output, '/') &&
             strcmp(e->output, ".") && strcmp(e->output, ".."));
    FZ_CHECK(strlen(e->sha256) == 64 && e->bytes >= 0);
    FZ_CHECK(e->cells.height >= 1 && e->cells.width >= 1 &&
             e->cells.row >= 0 && e->cells.col >= 0 &&
             e->cells.row + (int64_t)e->cells.height <= e->map_h &&
             e->cells.col + (int64_t)e->cells.width <= e->map_w);
    FZ_CHECK(sh_entry_find(m, e->output) == e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file(data, size);
    if (!path)
        return 0;
    char err[8400], back[128];
    sh_manifest m, n;
    if (sh_manifest_read(path, &m, err, sizeof err) != 1) {
        FZ_CHECK(err[0] && !strchr(err, '\n'));
        return 0;
    }
    FZ_CHECK(m.parts >= 1 && m.parts <= SH_MAX_PARTS && m.part >= 0 &&
             m.part < m.parts && json_is_object(m.job));
    for (int k = 0; k < m.n; k++)
        check_entry(&m, &m.e[k]);
    FZ_CHECK(sh_manifest_write(dir, &m, err, sizeof err));
    FZ_CHECK(sh_manifest_path(dir, m.part, m.parts, back, sizeof back));
    FZ_CHECK(sh_manifest_read(back, &n, err, sizeof err) == 1);
    FZ_CHECK(json_equal(m.job, n.job) && n.part == m.part &&
             n.parts == m.parts && n.complete == m.complete && n.n == m.n);
    for (int k = 0; k < m.n; k++) {
        const sh_entry *a = &m.e[k], *b = &n.e[k];
        FZ_CHECK(!strcmp(a->input, b->input) &&
                 !strcmp(a->output, b->output) &&
                 !strcmp(a->kernels, b->kernels) &&
                 !strcmp(a->sha256, b->sha256) && a->bytes == b->bytes &&
                 !memcmp(&a->cells, &b->cells, sizeof a->cells) &&
                 !memcmp(a->win, b->win, sizeof a->win) &&
                 !memcmp(&a->geom, &b->geom, sizeof a->geom) &&
                 a->map_h == b->map_h && a->classes == b->classes);
    }
    unlink(back);
    sh_manifest_free(&m);
    sh_manifest_free(&n);
    return 0;
}
