/*
 * gorust-spawn: run a command and report its exact rusage.
 *
 * Why this exists: Linux carries a process's peak RSS (ru_maxrss) across fork and exec, so any
 * program forked straight from the harness (a Python process of 100+ MiB) reports at least the
 * harness's own peak. This tiny launcher is forked instead; the measured program is forked from
 * it and so starts from a peak of a few hundred KiB. GNU time works the same way.
 *
 * Usage: gorust-spawn RESULT_FILE PROGRAM [ARG...]
 * Writes one line to RESULT_FILE once PROGRAM has been reaped:
 *   pid=N status=RAW_WAIT_STATUS wall_ns=N utime_us=N stime_us=N maxrss_kib=N
 * and exits 0; exits 127 if PROGRAM could not be started (errno text on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: gorust-spawn RESULT_FILE PROGRAM [ARG...]\n");
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    if (out == NULL) {
        fprintf(stderr, "gorust-spawn: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    int exec_pipe[2];
    if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
        perror("gorust-spawn: pipe");
        return 2;
    }
    long long start = now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        perror("gorust-spawn: fork");
        return 2;
    }
    if (pid == 0) {
        close(exec_pipe[0]);
        execvp(argv[2], &argv[2]);
        int err = errno;
        ssize_t ignored = write(exec_pipe[1], &err, sizeof err);
        (void)ignored;
        _exit(127);
    }
    close(exec_pipe[1]);
    int exec_errno = 0;
    ssize_t got = read(exec_pipe[0], &exec_errno, sizeof exec_errno);
    close(exec_pipe[0]);

    int status = 0;
    struct rusage usage;
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) {
            perror("gorust-spawn: wait4");
            return 2;
        }
    }
    long long wall = now_ns() - start;
    if (got == (ssize_t)sizeof exec_errno) {
        fprintf(stderr, "gorust-spawn: cannot execute %s: %s\n", argv[2], strerror(exec_errno));
        return 127;
    }
    fprintf(out, "pid=%d status=%d wall_ns=%lld utime_us=%lld stime_us=%lld maxrss_kib=%ld\n",
            (int)pid, status, wall,
            (long long)usage.ru_utime.tv_sec * 1000000LL + usage.ru_utime.tv_usec,
            (long long)usage.ru_stime.tv_sec * 1000000LL + usage.ru_stime.tv_usec,
            usage.ru_maxrss);
    fclose(out);
    return 0;
}
