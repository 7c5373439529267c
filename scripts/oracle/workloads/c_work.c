/* C workload for the perfold oracle: several named functions, recursion, qsort with a
 * callback, and 3 pthreads with their own thread names. Run time is set by SCALE
 * (argv[1], default 1.0): about 0.5 s of CPU at 1.0 on the reference machine. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static double scale = 1.0;
static volatile uint64_t sink;

NOINLINE static uint64_t fib(unsigned n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

NOINLINE static uint64_t deep_recurse(unsigned depth, uint64_t acc) {
    if (depth == 0) {
        for (int i = 0; i < 2000; i++)
            acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
        return acc;
    }
    return deep_recurse(depth - 1, acc ^ depth) + 1;
}

/* Always-inlined helpers: DWARF call graphs show them as `(inlined)` frames. */
static inline __attribute__((always_inline)) uint32_t xorshift32(uint32_t x) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    return x;
}

static inline __attribute__((always_inline)) uint64_t fnv_step(uint64_t h, uint32_t v) {
    return (h ^ v) * 1099511628211ULL;
}

/* Recursion deeper than perf's 8 KiB stack copy: each frame holds 96 bytes of locals. */
NOINLINE static uint64_t wide_recurse(unsigned depth, uint64_t acc) {
    volatile uint64_t pad[12];
    for (int i = 0; i < 12; i++) pad[i] = acc + (uint64_t)i;
    if (depth == 0) {
        for (int i = 0; i < 3000; i++)
            acc = acc * 6364136223846793005ULL + pad[i % 12];
        return acc;
    }
    return wide_recurse(depth - 1, acc ^ pad[depth % 12]) + 1;
}

NOINLINE static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

NOINLINE static void fill_random(uint32_t *v, size_t n, uint32_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = xorshift32(seed);
        v[i] = seed;
    }
}

NOINLINE static uint64_t checksum(const uint32_t *v, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = fnv_step(h, v[i]);
    return h;
}

NOINLINE static void *fib_worker(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "c-fib");
    int rounds = (int)(55 * scale) + 1;
    for (int r = 0; r < rounds; r++) sink += fib(30);
    return NULL;
}

NOINLINE static void *sort_worker(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "c-sort");
    size_t n = 60000;
    uint32_t *v = malloc(n * sizeof *v);
    int rounds = (int)(22 * scale) + 1;
    for (int r = 0; r < rounds; r++) {
        fill_random(v, n, 12345u + (uint32_t)r);
        qsort(v, n, sizeof *v, cmp_u32);
        sink += checksum(v, n);
    }
    free(v);
    return NULL;
}

NOINLINE static void *deep_worker(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "c-deep");
    int rounds = (int)(48000 * scale) + 1;
    for (int r = 0; r < rounds; r++) {
        sink += deep_recurse(40, (uint64_t)r);
        if (r % 16 == 0) sink += wide_recurse(150, (uint64_t)r);
    }
    return NULL;
}

NOINLINE static void string_work(void) {
    char buf[256];
    int rounds = (int)(1200000 * scale) + 1;
    for (int r = 0; r < rounds; r++) {
        snprintf(buf, sizeof buf, "round %d value %llu", r, (unsigned long long)sink);
        sink += strlen(buf);
    }
}

int main(int argc, char **argv) {
    if (argc > 1) scale = atof(argv[1]);
    pthread_t t[3];
    void *(*fns[3])(void *) = {fib_worker, sort_worker, deep_worker};
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, fns[i], NULL);
    string_work();
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    printf("%llu\n", (unsigned long long)(sink & 0xff));
    return 0;
}
