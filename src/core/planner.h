/*
** planner.h: what plan.c and plan_window.c share: the planner's scratch
** and the windows each tensor needs for a band and a strip.
*/
#ifndef FCN_CORE_PLANNER_H
#define FCN_CORE_PLANNER_H

#include "core/plan.h"

typedef struct rect {
    int y0, x0, h, w;
} rect;

/* The search's scratch, and (record) the tables of the final choice. */
typedef struct planner {
    const fcn_model *m;
    plan *p;
    int threads;
    rect *cols;           /* per tensor: the current band's columns */
    rect *req;            /* per tensor: its window for the current strip */
    rect *prev;           /* per tensor: the previous strip's */
    int record;           /* this pass fills the plan's tables */
    char *masks;          /* record: tensors needed, per row schedule */
    char *sets;           /* any pass: the same, to count row schedules */
    int sets_cap;         /* row schedules sets has room for */
    int oom;              /* an allocation failed during the search */
} planner;

/* Window of each tensor in band tx of tw score-map columns of the cells
** planned (w == 0: not needed in this band). */
void plan_band_cols(const planner *pl, int tw, int tx, rect *cols);
/* Window of each tensor that output cells `cells` need (w == 0: none). */
void plan_need(const planner *pl, rect cells, rect *req);
/* The rows each tensor needs for the strip that brings the input rows to
** y, given the previous strip's windows (plan_window.c). */
void plan_strip_rects(const planner *pl, int y, const rect *cols,
                      const rect *prev, rect *req);

#endif
