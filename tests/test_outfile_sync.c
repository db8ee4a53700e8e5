/*
** test_outfile_sync.c: fcn_output_commit syncs the target's directory
** after the rename (include/fcn.h). This program defines fsync itself, so
** that the library's calls come here: each is recorded (what the
** descriptor is, and whether the target's name exists at that moment)
** and passed on to the system call, or failed with EIO on request.
**
** usage: test_outfile_sync TMPDIR
*/
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "fcn.h"

static struct stat dir_st;
static const char *target;
static int dir_syncs, file_syncs, dir_synced_after_rename, fail_dir;

int fsync(int fd)
{
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        if (sb.st_dev == dir_st.st_dev && sb.st_ino == dir_st.st_ino) {
            dir_syncs++;
            dir_synced_after_rename += target && access(target, F_OK) == 0;
        }
        if (fail_dir) {
            errno = EIO;
            return -1;
        }
    } else {
        file_syncs++;
    }
    return (int)syscall(SYS_fsync, fd);
}

/* Write "hello\n" to path through fcn_output_*: the commit's status. */
static fcn_status write_one(const char *path)
{
    fcn_output *o = NULL;
    FILE *f = NULL;
    fcn_status st = fcn_output_open(path, &o, &f);
    if (st)
        return st;
    fputs("hello\n", f);
    return fcn_output_commit(o);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_outfile_sync TMPDIR\n");
        return 2;
    }
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/outsync.%ld", argv[1], (long)getpid());
    snprintf(path, sizeof path, "%s/out.txt", dir);
    CHECK(mkdir(dir, 0700) == 0 && stat(dir, &dir_st) == 0, "mkdir %s: %s",
          dir, strerror(errno));
    target = path;
    fcn_status st = write_one(path);
    struct stat sb;
    CHECK(st == FCN_OK && stat(path, &sb) == 0 && sb.st_size == 6,
          "commit: %s", fcn_last_error());
    CHECK(file_syncs == 1, "the temporary synced once (%d)", file_syncs);
    CHECK(dir_syncs == 1 && dir_synced_after_rename == 1, "the directory "
          "synced once, after the rename (%d, %d after)", dir_syncs,
          dir_synced_after_rename);
    /* a failing directory sync: an error, the new file in place */
    fail_dir = 1;
    remove(path);
    st = write_one(path);
    CHECK(st == FCN_ERR_IO && strstr(fcn_last_error(), path) &&
          strstr(fcn_last_error(), "syncing its directory") &&
          stat(path, &sb) == 0 && sb.st_size == 6, "failing directory sync: "
          "%d %s", st, fcn_last_error());
    fail_dir = 0;
    remove(path);
    rmdir(dir);
    return check_done();
}
