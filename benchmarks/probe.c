/* Deterministic work for the harness self-benchmarks: a CPU spin or a memory touch. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    long n = atol(argv[2]);
    if (strcmp(argv[1], "spin") == 0) {
        volatile unsigned long x = 0;
        for (long i = 0; i < n * 1000000L; i++) x += (unsigned long)i ^ (x >> 3);
        return (int)(x & 0);
    }
    if (strcmp(argv[1], "alloc") == 0) {
        size_t bytes = (size_t)n << 20;
        char *p = malloc(bytes);
        if (!p) return 3;
        for (size_t i = 0; i < bytes; i += 4096) p[i] = (char)i;
        struct timespec pause = {0, 200000000L};  /* hold it 200 ms so sampling sees it too */
        nanosleep(&pause, NULL);
        free(p);
        return 0;
    }
    return 2;
}
