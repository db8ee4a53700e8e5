/*
** session.h: what the library's own modules (detection) use of sessions
** beyond the public API: sessions whose memory is bound by the caller, so
** that several sessions run one after another on one arena.
*/
#ifndef FCN_CORE_SESSION_H
#define FCN_CORE_SESSION_H

#include "core/plan.h"

/* fcn_session_create, but with no memory: session_bind gives it its arena
** and score map before it runs (a run without them fails). */
fcn_status session_plan(const fcn_model *m, int height, int width,
                        const fcn_session_options *opt, fcn_session **out);
/* Floats of arena and of score map the session needs. */
size_t session_arena_floats(const fcn_session *s);
size_t session_scores_floats(const fcn_session *s);
/* Memory for a session from session_plan (not owned; 64-byte aligned). */
void session_bind(fcn_session *s, float *arena, float *scores);
const plan *session_get_plan(const fcn_session *s);

#endif
