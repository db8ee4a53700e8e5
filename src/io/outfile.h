/*
** outfile.h: files written whole or not at all, for every writer of the
** library and the front ends (include/fcn.h: fcn_output_*, the public face
** of these). A temporary file is created beside the target with
** O_CREAT|O_EXCL, written through a stdio stream whose every write error
** is kept, then flushed, fsynced and renamed over the target; a target
** that exists and is not a regular file is refused. The temporaries still
** open are listed in a fixed registry that a signal handler can clear.
*/
#ifndef FCN_IO_OUTFILE_H
#define FCN_IO_OUTFILE_H

#include <stdio.h>

#include "fcn.h"

/* The most outputs open at once, over all threads. */
#define OUTF_MAX 16

typedef struct fcn_output outf;

/* A temporary beside path and a stream to write it with (*f). */
fcn_status outf_open(const char *path, outf **o, FILE **f);
/* Checks every write, flush, fsync, close; renames over the target. On
** failure the temporary is removed ("PATH: No space left on device"). */
fcn_status outf_commit(outf *o);
/* Closes and removes the temporary; NULL is allowed. */
void outf_abort(outf *o);
/* The temporary's descriptor, for writers that place their bytes
** (pwrite, ftruncate) rather than stream them; such a writer leaves the
** stream unused. */
int outf_fd(const outf *o);
/* Unlinks every temporary still open; async-signal-safe. */
void outf_remove_all(void);

#endif
