/*
** shard.c: manifests and checksums of sharded runs (shard.h). A manifest
** is read with every field's type and range checked, so that a damaged or
** foreign file is refused with a message naming the field, never trusted.
*/
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "shard.h"

int sh_manifest_path(const char *dir, int part, int parts, char *out,
                     size_t n)
{
    int k = snprintf(out, n, "%s/part-%d-of-%d.json", dir, part, parts);
    return k > 0 && (size_t)k < n;
}

int sh_sha256_file(const char *path, char hex[65], int64_t *bytes, char *err,
                   size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return 0;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    static unsigned char buf[1 << 16];
    size_t got;
    int64_t total = 0;
    while (ok && (got = fread(buf, 1, sizeof buf, f)) > 0) {
        ok = EVP_DigestUpdate(ctx, buf, got);
        total += (int64_t)got;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        ok = 0;
    } else if (ok && !(ok = EVP_DigestFinal_ex(ctx, md, &len) && len == 32)) {
        snprintf(err, errlen, "%s: SHA-256 failed", path);
    } else if (!ok) {
        snprintf(err, errlen, "%s: SHA-256 failed", path);
    }
    EVP_MD_CTX_free(ctx);
    fclose(f);
    if (!ok)
        return 0;
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    *bytes = total;
    return 1;
}

/* ---- entries to and from JSON ---- */

json_t *sh_ints(const int *v, int n)
{
    json_t *a = json_array();
    for (int k = 0; k < n && a; k++)
        json_array_append_new(a, json_integer(v[k]));
    return a;
}

static json_t *entry_json(const sh_entry *e)
{
    const fcn_geometry *g = &e->geom;
    const int img[2] = {e->image_h, e->image_w},
              map[3] = {e->classes, e->map_h, e->map_w},
              cells[4] = {e->cells.row, e->cells.col, e->cells.height,
                          e->cells.width},
              st[2] = {g->stride_h, g->stride_w},
              off[2] = {g->offset_h, g->offset_w}, rf[2] = {g->rf_h, g->rf_w};
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o}, s:s, s:s, "
                     "s:I, s:s}", "input", e->input, "image",
                     sh_ints(img, 2), "map", sh_ints(map, 3), "cells",
                     sh_ints(cells, 4), "input_window", sh_ints(e->win, 4),
                     "geometry", "stride", sh_ints(st, 2), "offset",
                     sh_ints(off, 2), "receptive_field", sh_ints(rf, 2),
                     "kernels", e->kernels, "output", e->output,
                     "bytes", (json_int_t)e->bytes, "sha256", e->sha256);
}

/* n integers of array key of o, each in [lo, hi]; 0 with err set. */
static int get_ints(const json_t *o, const char *key, int *v, int n, int lo,
                    int hi, const char *where, char *err, size_t errlen)
{
    const json_t *a = json_object_get(o, key);
    if (!json_is_array(a) || (int)json_array_size(a) != n)
        goto bad;
    for (int k = 0; k < n; k++) {
        const json_t *x = json_array_get(a, (size_t)k);
        if (!json_is_integer(x) || json_integer_value(x) < lo ||
            json_integer_value(x) > hi)
            goto bad;
        v[k] = (int)json_integer_value(x);
    }
    return 1;
bad:
    snprintf(err, errlen, "%s: \"%s\" is not %d integers in %d..%d", where,
             key, n, lo, hi);
    return 0;
}

static char *get_str(const json_t *o, const char *key, const char *where,
                     char *err, size_t errlen)
{
    const char *s = json_string_value(json_object_get(o, key));
    char *d = s ? strdup(s) : NULL;
    if (!s)
        snprintf(err, errlen, "%s: \"%s\" is not a string", where, key);
    else if (!d)
        snprintf(err, errlen, "out of memory");
    return d;
}

/* A name within the directory: no path, not "." or "..". */
static int plain_name(const char *s)
{
    return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

static int entry_parse(const json_t *o, sh_entry *e, const char *where,
                       char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    int img[2], map[3], c[4], st[2], off[2], rf[2];
    const json_t *g = json_object_get(o, "geometry");
    const json_t *b = json_object_get(o, "bytes");
    char *sha = NULL;
    if (!json_is_object(o) || !json_is_object(g)) {
        snprintf(err, errlen, "%s: not an entry object with a \"geometry\" "
                 "object", where);
        return 0;
    }
    if (!(e->input = get_str(o, "input", where, err, errlen)) ||
        !(e->output = get_str(o, "output", where, err, errlen)) ||
        !(e->kernels = get_str(o, "kernels", where, err, errlen)) ||
        !(sha = get_str(o, "sha256", where, err, errlen)) ||
        !get_ints(o, "image", img, 2, 1, INT_MAX, where, err, errlen) ||
        !get_ints(o, "map", map, 3, 1, INT_MAX, where, err, errlen) ||
        !get_ints(o, "cells", c, 4, 0, INT_MAX, where, err, errlen) ||
        !get_ints(o, "input_window", e->win, 4, 0, INT_MAX, where, err,
                  errlen) ||
        !get_ints(g, "stride", st, 2, 1, INT_MAX, where, err, errlen) ||
        !get_ints(g, "offset", off, 2, INT_MIN, INT_MAX, where, err,
                  errlen) ||
        !get_ints(g, "receptive_field", rf, 2, 1, INT_MAX, where, err,
                  errlen)) {
        free(sha);
        sh_entry_free(e);
        return 0;
    }
    e->image_h = img[0], e->image_w = img[1];
    e->classes = map[0], e->map_h = map[1], e->map_w = map[2];
    e->cells = (fcn_region){c[0], c[1], c[2], c[3]};
    e->geom = (fcn_geometry){st[0], st[1], off[0], off[1], rf[0], rf[1]};
    const char *why = NULL;
    if (!plain_name(e->output))
        why = "\"output\" is not a file name within the directory";
    else if (!is_hex64(sha))
        why = "\"sha256\" is not 64 lowercase hex digits";
    else if (!json_is_integer(b) || json_integer_value(b) < 0)
        why = "\"bytes\" is not a count of bytes";
    else if (c[2] < 1 || c[3] < 1 || c[0] > map[1] - c[2] ||
             c[1] > map[2] - c[3])
        why = "\"cells\" are not within \"map\"";
    if (why) {
        snprintf(err, errlen, "%s: %s", where, why);
        free(sha);
        sh_entry_free(e);
        return 0;
    }
    memcpy(e->sha256, sha, 65);
    free(sha);
    e->bytes = (int64_t)json_integer_value(b);
    return 1;
}

/* ---- manifests ---- */

void sh_one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

static int read_manifest(const char *path, sh_manifest *m, char *err,
                         size_t errlen);

int sh_manifest_read(const char *path, sh_manifest *m, char *err,
                     size_t errlen)
{
    int rc = read_manifest(path, m, err, errlen);
    if (rc != 1)
        sh_one_line(err);
    return rc;
}

static int read_manifest(const char *path, sh_manifest *m, char *err,
                         size_t errlen)
{
    memset(m, 0, sizeof *m);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? 0 : -1;
    }
    json_error_t je;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    fclose(f);
    if (!root) {
        snprintf(err, errlen, "%s: not JSON (line %d: %s)", path, je.line,
                 je.text);
        return -1;
    }
    int rc = -1;
    const json_t *fmt = json_object_get(root, "fcn_shard"),
                 *part = json_object_get(root, "part"),
                 *job = json_object_get(root, "job"),
                 *parts = json_object_get(job, "parts"),
                 *done = json_object_get(root, "complete"),
                 *ents = json_object_get(root, "entries");
    if (!json_is_integer(fmt) || json_integer_value(fmt) != SH_FORMAT)
        snprintf(err, errlen, "%s: not a manifest of fcn's sharded runs "
                 "(\"fcn_shard\": %d)", path, SH_FORMAT);
    else if (!json_is_object(job) || !json_is_integer(parts) ||
             json_integer_value(parts) < 1 ||
             json_integer_value(parts) > SH_MAX_PARTS)
        snprintf(err, errlen, "%s: \"job\" is not an object with \"parts\" "
                 "1..%d", path, SH_MAX_PARTS);
    else if (!json_is_integer(part) || json_integer_value(part) < 0 ||
             json_integer_value(part) >= json_integer_value(parts))
        snprintf(err, errlen, "%s: \"part\" is not 0..parts-1", path);
    else if (!json_is_boolean(done) || !json_is_array(ents))
        snprintf(err, errlen, "%s: \"complete\" or \"entries\" missing",
                 path);
    else
        rc = 1;
    if (rc == 1) {
        m->job = json_incref((json_t *)job);
        m->part = (int)json_integer_value(part);
        m->parts = (int)json_integer_value(parts);
        m->complete = json_is_true(done);
        for (size_t k = 0; k < json_array_size(ents) && rc == 1; k++) {
            char where[4200];
            sh_entry e;
            snprintf(where, sizeof where, "%s: entry %zu", path, k);
            if (!entry_parse(json_array_get(ents, k), &e, where, err,
                             errlen))
                rc = -1;
            else if (!sh_entry_add(m, &e)) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
            }
            sh_entry_free(&e);
        }
        if (rc != 1)
            sh_manifest_free(m);
    }
    json_decref(root);
    return rc;
}

int sh_manifest_write(const char *dir, const sh_manifest *m, char *err,
                      size_t errlen)
{
    char path[4200];
    if (!sh_manifest_path(dir, m->part, m->parts, path, sizeof path)) {
        snprintf(err, errlen, "%s: the directory's name is too long", dir);
        return 0;
    }
    json_t *ents = json_array();
    for (int k = 0; k < m->n && ents; k++)
        if (json_array_append_new(ents, entry_json(&m->e[k])))
            ents = (json_decref(ents), NULL);
    json_t *root = ents ? json_pack("{s:i, s:O, s:i, s:b, s:o}", "fcn_shard",
                                    SH_FORMAT, "job", m->job, "part", m->part,
                                    "complete", m->complete, "entries", ents)
                        : NULL;
    char *s = root ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER)
                   : NULL;
    json_decref(root);
    cli_file f;
    int ok = s && cli_file_open(&f, path);
    if (ok) {
        fputs(s, f.f);
        fputc('\n', f.f);
        ok = cli_file_commit(&f);
    }
    if (!ok)
        snprintf(err, errlen, "%s", s ? fcn_last_error() : "out of memory");
    free(s);
    return ok;
}

static char *dup_or(const char *s, int *bad)
{
    char *d = strdup(s ? s : "");
    *bad |= !d;
    return d;
}

int sh_entry_add(sh_manifest *m, const sh_entry *e)
{
    int bad = 0;
    sh_entry c = *e;
    c.input = dup_or(e->input, &bad);
    c.output = dup_or(e->output, &bad);
    c.kernels = dup_or(e->kernels, &bad);
    sh_entry *old = (sh_entry *)sh_entry_find(m, e->output);
    if (!bad && !old && m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 8;
        sh_entry *v = realloc(m->e, sizeof *v * (size_t)cap);
        if (!v)
            bad = 1;
        else
            m->e = v, m->cap = cap;
    }
    if (bad) {
        sh_entry_free(&c);
        return 0;
    }
    if (old) {
        sh_entry_free(old);
        *old = c;
    } else {
        m->e[m->n++] = c;
    }
    return 1;
}

const sh_entry *sh_entry_find(const sh_manifest *m, const char *output)
{
    for (int k = 0; k < m->n; k++)
        if (!strcmp(m->e[k].output, output))
            return &m->e[k];
    return NULL;
}

int sh_entry_check(const char *dir, const sh_entry *e, char *err,
                   size_t errlen)
{
    char path[4200], hex[65];
    int64_t bytes;
    if (snprintf(path, sizeof path, "%s/%s", dir, e->output) >=
        (int)sizeof path) {
        snprintf(err, errlen, "%s/%s: name too long", dir, e->output);
        return 0;
    }
    if (!sh_sha256_file(path, hex, &bytes, err, errlen))
        return 0;
    if (bytes != e->bytes)
        snprintf(err, errlen, "%s: %lld bytes, its manifest says %lld", path,
                 (long long)bytes, (long long)e->bytes);
    else if (strcmp(hex, e->sha256))
        snprintf(err, errlen, "%s: its SHA-256 is not its manifest's "
                 "(changed or damaged)", path);
    else
        return 1;
    return 0;
}

void sh_entry_free(sh_entry *e)
{
    free(e->input);
    free(e->output);
    free(e->kernels);
    e->input = e->output = e->kernels = NULL;
}

void sh_manifest_free(sh_manifest *m)
{
    for (int k = 0; k < m->n; k++)
        sh_entry_free(&m->e[k]);
    free(m->e);
    json_decref(m->job);
    memset(m, 0, sizeof *m);
}
