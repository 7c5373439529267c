/* A tiny JIT: machine code in anonymous executable memory, named in
 * /tmp/perf-<pid>.map with the kinds of names JITs write (spaces, <>, ::, *),
 * and one stretch of code no map line covers. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* xor rax,rax; 1: inc rax; cmp rax, 0x08000000; jne 1b; ret */
static const unsigned char loop[] = {0x48, 0x31, 0xc0, 0x48, 0xff, 0xc0, 0x48, 0x3d,
				     0x00, 0x00, 0x00, 0x08, 0x75, 0xf5, 0xc3};

int main(void)
{
	unsigned char *p = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	for (int i = 0; i < 3; i++)
		memcpy(p + 64 * i, loop, sizeof loop);
	char path[64];
	snprintf(path, sizeof path, "/tmp/perf-%d.map", getpid());
	FILE *f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "%lx 40 py::fib:<script> (hot loop)\n", (unsigned long)p);
	fprintf(f, "%lx 40 LazyCompile:*kernel file.js:12\n", (unsigned long)(p + 64));
	/* p + 128 is left out: [unknown] (/tmp/perf-<pid>.map) */
	fclose(f);
	for (int r = 0; r < 4; r++)
		for (int i = 0; i < 3; i++)
			((void (*)(void))(p + 64 * i))();
	return 0;
}
