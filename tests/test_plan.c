/*
** test_plan.c: the invariants of session plans (src/core/plan.h), on the
** fixture models at several input sizes, thread counts, forced tilings and
** memory limits:
**   - tensors whose lifetimes overlap never share arena floats, and every
**     buffer lies inside the activation part of the arena;
**   - every tensor's window in every band and strip fits its buffer
**     (rows, columns, channels), and lies inside its map;
**   - every node's kernel plan, for every window size it meets, needs no
**     more workspace than the session has, and is the plan for that size;
**   - the strips and bands compute every score-map cell exactly once;
**   - the arena the session reports is what the plan needs;
**   - the memory limit holds the score map beside the activations and one
**     thread's workspace, and a limit below the score map alone is
**     refused.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/session.h"

static int plans_checked;

static void check_arena(const plan *p, const char *what)
{
    int ok = 1;
    for (int t = 0; t < p->n_tensors; t++) {
        ok &= p->offset[t] + p->cap[t] <= p->arena_floats;
        for (int u = t + 1; u < p->n_tensors; u++) {
            int live = p->first[t] <= p->last[u] && p->first[u] <= p->last[t];
            int apart = p->offset[t] + p->cap[t] <= p->offset[u] ||
                        p->offset[u] + p->cap[u] <= p->offset[t] ||
                        !p->cap[t] || !p->cap[u];
            if (live && !apart) {
                CHECK(0, "%s: tensors %d and %d live together and overlap in "
                      "the arena", what, t, u);
                ok = 0;
            }
        }
    }
    CHECK(ok, "%s: a buffer outside the arena, or overlapping", what);
}

/* Every window of every band and strip; cells counts score-map cells. */
static void check_windows(const fcn_model *m, const plan *p, int threads,
                          const char *what)
{
    const int out = m->out_tensor;
    /* the workspace behind the activations: one thread's, rounded to 16
    ** floats, and the other threads' */
    const size_t ws = ((p->ws_floats + 15) & ~(size_t)15) +
                      (size_t)(threads - 1) * p->ws_floats;
    long long cells = 0;
    int bad_fit = 0, bad_plan = 0;
    for (int tx = 0; tx < p->tiles_x; tx++) {
        const plan_col *band = plan_band(p, tx);
        for (int ty = 0; ty < p->tiles_y; ty++) {
            const plan_row *rows = plan_strip(p, tx, ty);
            for (int t = 0; t < p->n_tensors; t++) {
                const plan_row *r = &rows[t];
                const plan_col *c = &band[t];
                const shape s = p->shapes[t];
                if (r->h <= 0 || c->w <= 0)
                    continue;
                bad_fit += r->h > p->buf_rows[t] || c->w > p->wmax[t] ||
                           (size_t)s.c * p->buf_rows[t] * c->w > p->cap[t] ||
                           r->y0 < 0 || r->y0 + r->h > s.h || c->x0 < 0 ||
                           c->x0 + c->w > s.w || r->from < r->y0 ||
                           r->from > r->y0 + r->h;
                if (t == 0 || r->from >= r->y0 + r->h)
                    continue;
                const int i = t - 1, nr = r->y0 + r->h - r->from;
                if (t == out)
                    cells += (long long)nr * c->w;
                if (!op_get(m->nodes[i].op)->plan)
                    continue;
                const op_plan *op = plan_node(p, i, band, rows);
                bad_plan += p->node_h[i][r->hcls] != nr ||
                            p->node_w[i][c->wcls] != c->w ||
                            op->ws_floats > ws;
            }
        }
    }
    const shape os = p->shapes[out];
    CHECK(!bad_fit, "%s: %d windows do not fit their buffers or maps", what,
          bad_fit);
    CHECK(!bad_plan, "%s: %d windows without their kernel plan, or needing "
          "more workspace than the %zu floats there are", what, bad_plan, ws);
    CHECK(cells == (long long)os.h * os.w,
          "%s: the strips compute %lld score-map cells, the map has %lld",
          what, cells, (long long)os.h * os.w);
}

static void check_session(const fcn_model *m, int h, int w,
                          fcn_session_options so, const char *name)
{
    fcn_session *s = NULL;
    char what[300];
    snprintf(what, sizeof what, "%s at %dx%d, %d threads, tile %d, limit "
             "%zu", name, w, h, so.threads, so.tile, so.mem_limit);
    fcn_status st = fcn_session_create(m, h, w, &so, &s);
    if (st == FCN_ERR_NOMEM && so.mem_limit)
        return;  /* the limit is too small for this model: fine */
    CHECK(st == FCN_OK, "%s: %s", what, fcn_last_error());
    if (st)
        return;
    const plan *p = session_get_plan(s);
    check_arena(p, what);
    check_windows(m, p, so.threads, what);
    CHECK(fcn_session_arena_bytes(s) == plan_arena_bytes(p, so.threads) &&
          session_arena_floats(s) * sizeof(float) ==
              plan_arena_bytes(p, so.threads),
          "%s: the arena reported is not the plan's", what);
    /* the limit holds the score map with the activations and one
    ** thread's workspace (a forced tile ignores the limit) */
    fcn_scores sc;
    fcn_session_shape(s, &sc);
    const size_t score = sizeof(float) * (size_t)sc.classes * sc.out_h *
                         sc.out_w,
                 limit = so.mem_limit ? so.mem_limit : (size_t)512 << 20;
    CHECK(so.tile || plan_arena_bytes(p, 1) + score <= limit,
          "%s: arena %zu + score map %zu bytes exceed the limit", what,
          plan_arena_bytes(p, 1), score);
    plans_checked++;
    fcn_session_free(s);
}

static void check_model(const char *path, const char *name)
{
    fcn_model *m = NULL;
    fcn_status st = fcn_model_load(path, NULL, &m);
    CHECK(st == FCN_OK, "%s: %s", path, fcn_last_error());
    if (st)
        return;
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    const int sizes[][2] = {{info.in_h, info.in_w},
                            {info.in_h * 2 + 3, info.in_w * 3 + 1},
                            {info.min_h, info.min_w + 5}};
    const fcn_session_options cfg[] = {
#define SO(t, m_, k_) {.threads = t, .mem_limit = m_, .tile = k_}
        SO(1, 0, 0), SO(3, 0, 0), SO(2, 0, 1), SO(1, 0, 2), SO(3, 0, 3),
        SO(2, 64 << 10, 0), SO(1, 256 << 10, 0), SO(3, 1 << 20, 0)};
#undef SO
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++)
            check_session(m, sizes[k][0], sizes[k][1], cfg[c], name);
    /* a limit one byte short of the score map alone is refused at once */
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        const int h = sizes[k][0], w = sizes[k][1];
        fcn_session *s = NULL;
        fcn_scores sc;
        if (fcn_session_create(m, h, w, NULL, &s) != FCN_OK)
            continue;
        fcn_session_shape(s, &sc);
        fcn_session_free(s);
        s = NULL;
        const fcn_session_options so = {
            .threads = 1,
            .mem_limit = sizeof(float) * (size_t)sc.classes * sc.out_h *
                         sc.out_w - 1};
        fcn_status st = fcn_session_create(m, h, w, &so, &s);
        CHECK(st == FCN_ERR_NOMEM && !s &&
                  strstr(fcn_last_error(), "score map"),
              "%s at %dx%d: limit %zu, one byte short of the score map: %s",
              name, w, h, so.mem_limit, fcn_last_error());
        fcn_session_free(s);
    }
    fcn_model_free(m);
}

int main(int argc, char **argv)
{
    for (int a = 1; a < argc; a++) {
        char path[1024], line[2048], last[256] = "";
        snprintf(path, sizeof path, "%s/manifest.txt", argv[a]);
        FILE *f = fopen(path, "r");
        CHECK(f != NULL, "cannot open %s", path);
        while (f && fgets(line, sizeof line, f)) {
            char name[256], model[256];
            if (line[0] == '#' || sscanf(line, "%255s %255s", name, model) != 2
                || !strcmp(model, last))
                continue;
            snprintf(last, sizeof last, "%s", model);
            snprintf(path, sizeof path, "%s/%s", argv[a], model);
            check_model(path, name);
        }
        if (f)
            fclose(f);
    }
    CHECK(plans_checked >= 100, "only %d plans checked", plans_checked);
    printf("%d plans checked\n", plans_checked);
    return check_done();
}
