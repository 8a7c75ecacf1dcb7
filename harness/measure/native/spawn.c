/*
 * gorust-spawn: run a command, report its exact rusage, and leave nothing of it behind.
 *
 * Why this exists: Linux carries a process's peak RSS (ru_maxrss) across fork and exec, so any
 * program forked straight from the harness (a Python process of 100+ MiB) reports at least the
 * harness's own peak. This tiny launcher is forked instead; the measured program is forked from
 * it and so starts from a peak of a few hundred KiB. GNU time works the same way.
 *
 * Why it is a child subreaper: the harness can kill a process group, but a descendant that calls
 * setsid() (or double-forks, as daemons do) leaves the group and would be reparented to init and
 * outlive the run. With PR_SET_CHILD_SUBREAPER such orphans are reparented to this launcher
 * instead, so once the program has been reaped every process still below the launcher is one the
 * program left behind: they are counted, killed with SIGKILL and reaped (no zombies) before the
 * launcher writes its report. The program's own figures come from wait4 on its pid, as before, so
 * they do not include the leftovers.
 *
 * SIGTERM, SIGINT or SIGHUP (the harness's timeout or Ctrl-C, or the harness dying: PDEATHSIG)
 * abort the run: the program is killed at once, then its leftovers as above.
 *
 * Usage: gorust-spawn [--announce-pid] [--start-at=UNIX_NS] RESULT_FILE PROGRAM [ARG...]
 * Once PROGRAM has been reaped and its leftovers killed, writes one line to RESULT_FILE:
 *   pid=N status=RAW_WAIT_STATUS wall_ns=N utime_us=N stime_us=N maxrss_kib=N leftover=N
 *   started_unix_ns=N
 * --start-at waits until the system clock (CLOCK_REALTIME) reaches UNIX_NS before it starts
 * PROGRAM: load generators on several hosts start at one agreed instant (each host's clock
 * offset applied by the harness), and started_unix_ns says when this one did, on this host's clock.
 * and exits 0; exits 127 if PROGRAM could not be started (errno text on stderr). With
 * --announce-pid it first writes `pid=N` as soon as PROGRAM is forked: servers need the pid while
 * they run. Batch runs go without, because that write, on the program's CPU while it starts, added
 * some 25 us to the wall time of /bin/true.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t program = 0; /* > 0 only while the program may be alive and unreaped */

static void on_abort(int sig) {
    (void)sig;
    if (program > 0) {
        kill(program, SIGKILL);
    }
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct pids {
    pid_t *items;
    size_t len, cap;
};

static int pids_has(const struct pids *set, pid_t pid) {
    for (size_t i = 0; i < set->len; i++) {
        if (set->items[i] == pid) {
            return 1;
        }
    }
    return 0;
}

static void pids_add(struct pids *set, pid_t pid) {
    if (set->len == set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 64;
        pid_t *items = realloc(set->items, cap * sizeof *items);
        if (items == NULL) {
            perror("gorust-spawn: realloc");
            exit(2);
        }
        set->items = items;
        set->cap = cap;
    }
    set->items[set->len++] = pid;
}

/* The live (not zombie) descendants of this process, from the ppid field of /proc/<pid>/stat.
 * Returns -1 if /proc cannot be read. */
static int live_descendants(struct pids *out) {
    struct pids all = {0}, parents = {0};
    out->len = 0;
    DIR *proc = opendir("/proc");
    if (proc == NULL) {
        perror("gorust-spawn: /proc");
        return -1;
    }
    struct dirent *entry;
    while ((entry = readdir(proc)) != NULL) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (!isdigit((unsigned char)entry->d_name[0]) || *end != '\0') {
            continue;
        }
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            continue; /* it has just exited */
        }
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) {
            continue;
        }
        buf[n] = '\0';
        char *after = strrchr(buf, ')'); /* the command name may itself contain ") " */
        char state;
        int ppid;
        if (after == NULL || sscanf(after + 1, " %c %d", &state, &ppid) != 2) {
            continue;
        }
        if (state == 'Z' || state == 'X') {
            continue; /* already dead: a zombie is reaped, not killed */
        }
        pids_add(&all, (pid_t)pid);
        pids_add(&parents, (pid_t)ppid);
    }
    closedir(proc);
    /* Walk down from this process until no new descendant turns up (trees here are shallow). */
    pid_t self = getpid();
    for (int grew = 1; grew;) {
        grew = 0;
        for (size_t i = 0; i < all.len; i++) {
            if ((parents.items[i] == self || pids_has(out, parents.items[i])) &&
                !pids_has(out, all.items[i])) {
                pids_add(out, all.items[i]);
                grew = 1;
            }
        }
    }
    free(all.items);
    free(parents.items);
    return (int)out->len;
}

/* SIGKILL every descendant, again and again until none is left, reaping each (orphans are ours,
 * being a subreaper). Returns how many distinct processes were killed. */
static int kill_descendants(void) {
    struct pids killed = {0}, live = {0};
    for (;;) {
        if (live_descendants(&live) < 0) {
            break;
        }
        for (size_t i = 0; i < live.len; i++) {
            kill(live.items[i], SIGKILL);
            if (!pids_has(&killed, live.items[i])) {
                pids_add(&killed, live.items[i]);
            }
        }
        if (waitpid(-1, NULL, __WALL) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break; /* ECHILD: no child left, so no descendant either */
        }
        while (waitpid(-1, NULL, WNOHANG | __WALL) > 0) {
        }
    }
    free(live.items);
    free(killed.items);
    return (int)killed.len;
}

static long long realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    int announce = 0;
    long long start_at = 0;
    while (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
        if (strcmp(argv[1], "--announce-pid") == 0) {
            announce = 1;
        } else if (strncmp(argv[1], "--start-at=", 11) == 0) {
            char *end = NULL;
            start_at = strtoll(argv[1] + 11, &end, 10);
            if (end == argv[1] + 11 || *end != '\0' || start_at <= 0) {
                fprintf(stderr, "gorust-spawn: --start-at needs nanoseconds since the epoch\n");
                return 2;
            }
        } else {
            break;
        }
        argv++;
        argc--;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: gorust-spawn [--announce-pid] [--start-at=UNIX_NS] RESULT_FILE "
                        "PROGRAM [ARG...]\n");
        return 2;
    }
    /* Abort signals are blocked until the program's pid is known, so none is lost in between. */
    sigset_t abort_signals, previous_mask;
    sigemptyset(&abort_signals);
    sigaddset(&abort_signals, SIGTERM);
    sigaddset(&abort_signals, SIGINT);
    sigaddset(&abort_signals, SIGHUP);
    sigprocmask(SIG_BLOCK, &abort_signals, &previous_mask);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_abort; /* no SA_RESTART: a blocked wait4 returns EINTR */
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
    signal(SIGCHLD, SIG_DFL); /* an inherited SIG_IGN would auto-reap and lose the rusage */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0 || prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
        perror("gorust-spawn: prctl");
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
    if (start_at > 0) {
        struct timespec at = {.tv_sec = start_at / 1000000000LL, .tv_nsec = start_at % 1000000000LL};
        while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL) == EINTR) {
        }
    }
    long long started_unix = realtime_ns();
    long long start = now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        perror("gorust-spawn: fork");
        return 2;
    }
    if (pid == 0) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGTERM, &dfl, NULL);
        sigaction(SIGINT, &dfl, NULL);
        sigaction(SIGHUP, &dfl, NULL);
        sigprocmask(SIG_SETMASK, &previous_mask, NULL);
        close(exec_pipe[0]);
        execvp(argv[2], &argv[2]);
        int err = errno;
        ssize_t ignored = write(exec_pipe[1], &err, sizeof err);
        (void)ignored;
        _exit(127);
    }
    program = pid;
    sigprocmask(SIG_SETMASK, &previous_mask, NULL);
    close(exec_pipe[1]);
    if (announce) {
        fprintf(out, "pid=%d\n", (int)pid);
        fflush(out);
    }
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
    program = 0;
    if (got == (ssize_t)sizeof exec_errno) {
        fprintf(stderr, "gorust-spawn: cannot execute %s: %s\n", argv[2], strerror(exec_errno));
        return 127;
    }
    int leftover = kill_descendants();
    fprintf(out,
            "pid=%d status=%d wall_ns=%lld utime_us=%lld stime_us=%lld maxrss_kib=%ld "
            "leftover=%d started_unix_ns=%lld\n",
            (int)pid, status, wall,
            (long long)usage.ru_utime.tv_sec * 1000000LL + usage.ru_utime.tv_usec,
            (long long)usage.ru_stime.tv_sec * 1000000LL + usage.ru_stime.tv_usec, usage.ru_maxrss,
            leftover, started_unix);
    fclose(out);
    return 0;
}
