/* Unwinding edge cases for --call-graph dwarf, each one a place where perf's libunwind
 * does something framehop alone would not:
 * - a SIGPROF handler that burns CPU, so samples unwind through the kernel's signal
 *   trampoline (__restore_rt: CFI expressions, the interrupted frame not decremented);
 * - many libc functions called for the first time through lazily bound PLT entries
 *   (_dl_runtime_resolve: CFA on rbx) and libc's own PLT stubs (CFA expressions);
 * - the process maps libc.so.6 a second time as plain data, below its code, so perf's
 *   module base for libc comes from that mapping (libunwind's cached states still work
 *   for addresses it already knows);
 * - a frame whose CFI framehop makes no rule of (odd_frame: CFA = rbp + 24, rbp saved
 *   at CFA - 24), which framehop evaluates itself.
 * Built with -O2 -g -fomit-frame-pointer -Wl,-z,lazy. argv[1] scales the run time. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static volatile uint64_t sink;
static volatile sig_atomic_t in_handler;

NOINLINE static void handler_work(void) {
    for (int i = 0; i < 200000; i++) sink = sink * 2862933555777941757ULL + 3037000493ULL;
}

static void on_prof(int sig) {
    (void)sig;
    in_handler = 1;
    handler_work();
    in_handler = 0;
}

NOINLINE static double libc_calls(int round) {
    char buf[64];
    double acc = 0;
    snprintf(buf, sizeof buf, "%d.%d", round, round * 7);
    acc += strtod(buf, NULL);
    acc += atof(buf);
    acc += sqrt((double)round) + floor(acc) + fmod(acc, 3.0);
    acc += (double)strlen(buf) + (double)(strchr(buf, '.') - buf);
    return acc;
}

NOINLINE static uint64_t busy(unsigned n) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned i = 0; i < n; i++) h = (h ^ i) * 1099511628211ULL;
    return h;
}

NOINLINE static void map_libc_as_data(void) {
    int fd = open("/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY);
    if (fd < 0) return;
    struct stat st;
    if (fstat(fd, &st) == 0) {
        /* Ask for a low address so this mapping is libc's lowest one. */
        void *want = (void *)0x10000000;
        void *p = mmap(want, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) sink += ((volatile unsigned char *)p)[64];
    }
    close(fd);
}

/* Called from odd_frame, so samples here unwind through its row. */
NOINLINE uint64_t odd_callee(uint64_t n) {
    uint64_t s = 0;
    for (uint64_t i = 0; i < n; i++) s = s * 6364136223846793005ULL + i;
    return s;
}

/* rbx and rbp pushed, then rbp = rsp: the CFA is rbp + 24, not the rbp + 16 of a
 * frame-pointer prologue. */
uint64_t odd_frame(uint64_t n);
__asm__(".text\n"
        ".globl odd_frame\n"
        ".type odd_frame, @function\n"
        "odd_frame:\n"
        ".cfi_startproc\n"
        "push %rbx\n"
        ".cfi_def_cfa_offset 16\n"
        ".cfi_offset rbx, -16\n"
        "push %rbp\n"
        ".cfi_def_cfa_offset 24\n"
        ".cfi_offset rbp, -24\n"
        "mov %rsp, %rbp\n"
        ".cfi_def_cfa_register rbp\n"
        "sub $8, %rsp\n"
        "mov %rdi, %rbx\n"
        "call odd_callee\n"
        "add %rbx, %rax\n"
        "mov %rbp, %rsp\n"
        "pop %rbp\n"
        ".cfi_def_cfa rsp, 16\n"
        "pop %rbx\n"
        ".cfi_def_cfa_offset 8\n"
        "ret\n"
        ".cfi_endproc\n"
        ".size odd_frame, .-odd_frame\n");

int main(int argc, char **argv) {
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_prof;
    sigaction(SIGPROF, &sa, NULL);
    struct itimerval it = {{0, 2000}, {0, 2000}};
    setitimer(ITIMER_PROF, &it, NULL);
    int rounds = (int)(300 * scale) + 1;
    double acc = 0;
    for (int r = 0; r < rounds; r++) {
        acc += libc_calls(r);
        sink += busy(1000000);
        sink += odd_frame(1000000);
        if (r == rounds / 2) map_libc_as_data();
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, NULL);
    printf("%d\n", (int)acc & 0xff);
    return 0;
}
