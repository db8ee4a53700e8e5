/*
** heatmap_ascii.c: the best class of every cell as a character map, for
** fcn-run's summary (heatmap.h): the 35 classes that win the most cells
** get 1-9 and a-z, the others '+', a class labelled "background" '.'.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heatmap.h"

#define N_SYMBOLS 35

static const char symbols[N_SYMBOLS + 1] =
    "123456789abcdefghijklmnopqrstuvwxyz";

/* The first best class of cell p. */
static int best_class(const fcn_scores *sc, size_t p)
{
    const size_t HW = (size_t)sc->out_h * sc->out_w;
    int bc = 0;
    for (int c = 1; c < sc->classes; c++)
        if (sc->data[(size_t)c * HW + p] > sc->data[(size_t)bc * HW + p])
            bc = c;
    return bc;
}

typedef struct ascii_ctx {
    const char *(*label)(void *ud, int cls);
    void *ud;
    char buf[32];
} ascii_ctx;

static const char *label_of(ascii_ctx *a, int c)
{
    const char *l = a->label ? a->label(a->ud, c) : NULL;
    if (l)
        return l;
    snprintf(a->buf, sizeof a->buf, "class %d", c);
    return a->buf;
}

/* The rule fcn-run and the detector share: a class labelled exactly
** "background". */
static int is_background(ascii_ctx *a, int c)
{
    const char *l = a->label ? a->label(a->ud, c) : NULL;
    return l && !strcmp(l, "background");
}

typedef struct ranked {
    size_t cells;
    int cls;
} ranked;

/* more cells first; equals by class index */
static int by_cells(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    if (a->cells != b->cells)
        return a->cells < b->cells ? 1 : -1;
    return a->cls < b->cls ? -1 : a->cls > b->cls;
}

/* Legend entries, wrapped at about `width` characters. */
typedef struct wrap {
    FILE *f;
    int col, width;
} wrap;

static void entry(wrap *w, char sym, const char *label, size_t cells)
{
    char e[160];
    int n = snprintf(e, sizeof e, "%c=%s (%zu)", sym, label, cells);
    if (n < 0)
        return;
    if (w->col > 4 && w->col + 1 + n > w->width) {
        fputs("\n   ", w->f);
        w->col = 3;
    }
    fprintf(w->f, " %s", e);
    w->col += 1 + n;
}

/* Cell index k of n shown over an axis of m cells, evenly. */
static size_t pick(int k, int n, int m)
{
    return (size_t)(((2 * (int64_t)k + 1) * m) / (2 * (int64_t)n));
}

static void print_map(FILE *f, const fcn_scores *sc, const char *sym,
                      int rows, int cols)
{
    for (int i = 0; i < rows; i++) {
        size_t y = pick(i, rows, sc->out_h);
        fputs("  ", f);
        for (int j = 0; j < cols; j++)
            fputc(sym[best_class(sc, y * sc->out_w + pick(j, cols,
                                                          sc->out_w))], f);
        fputc('\n', f);
    }
}

void heat_ascii_labels(FILE *f, const fcn_scores *sc,
                       const char *(*label)(void *ud, int cls), void *ud,
                       int width)
{
    ascii_ctx a = {label, ud, {0}};
    const int C = sc->classes;
    const size_t HW = (size_t)sc->out_h * sc->out_w;
    if (C < 1 || HW == 0 || !sc->data)
        return;
    width = width < 8 ? 8 : width;
    size_t *cells = calloc((size_t)C, sizeof *cells);
    ranked *order = malloc(sizeof *order * (size_t)C);
    char *sym = malloc((size_t)C);
    if (!cells || !order || !sym) {
        fprintf(f, "best class per cell: out of memory for the map\n");
        goto done;
    }
    for (size_t p = 0; p < HW; p++)
        cells[best_class(sc, p)]++;
    int n = 0;
    size_t bg_cells = 0, other_cells = 0;
    int n_bg = 0;
    for (int c = 0; c < C; c++) {
        sym[c] = '+';
        if (is_background(&a, c)) {
            sym[c] = '.';
            n_bg += cells[c] > 0;
            bg_cells += cells[c];
        } else if (cells[c]) {
            order[n++] = (ranked){cells[c], c};
        }
    }
    qsort(order, (size_t)n, sizeof *order, by_cells);
    for (int k = 0; k < n; k++)
        if (k < N_SYMBOLS)
            sym[order[k].cls] = symbols[k];
        else
            other_cells += order[k].cells;
    int rows = sc->out_h < width ? sc->out_h : width;
    int cols = sc->out_w < width ? sc->out_w : width;
    fprintf(f, "best class per cell (%d x %d cells, HxW", sc->out_h,
            sc->out_w);
    if (rows < sc->out_h || cols < sc->out_w)
        fprintf(f, "; %d x %d of them shown, evenly spaced", rows, cols);
    fprintf(f, "):\n");
    print_map(f, sc, sym, rows, cols);
    wrap w = {f, 8, width + 2 > 60 ? width + 2 : 60};
    fputs("  legend:", f);
    for (int k = 0; k < n && k < N_SYMBOLS; k++)
        entry(&w, symbols[k], label_of(&a, order[k].cls), order[k].cells);
    if (n > N_SYMBOLS) {
        char e[64];
        snprintf(e, sizeof e, "%d other classes", n - N_SYMBOLS);
        entry(&w, '+', e, other_cells);
    }
    if (n_bg)
        entry(&w, '.', "background", bg_cells);
    fputs("\n  (cells won in parentheses)\n", f);
done:
    free(cells);
    free(order);
    free(sym);
}

static const char *model_label(void *ud, int cls)
{
    return fcn_model_label((const fcn_model *)ud, cls);
}

void heat_ascii(FILE *f, const fcn_scores *sc, const fcn_model *m, int width)
{
    heat_ascii_labels(f, sc, model_label, (void *)(uintptr_t)m, width);
}
