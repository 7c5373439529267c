/* Process-state cases: a thread renamed with prctl (a comm with a space) part way
 * through, and a binary that deletes itself while it runs (perf prints
 * `[unknown] (<path>)` for it). Run without arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/prctl.h>

static volatile long sink;

__attribute__((noinline)) void spin(long n)
{
	for (long i = 0; i < n; i++)
		sink += i;
}

static void *worker(void *arg)
{
	(void)arg;
	spin(30000000);
	prctl(PR_SET_NAME, "renamed worker");
	spin(30000000);
	return 0;
}

int main(int argc, char **argv)
{
	char cmd[4200];

	if (argc > 1) {
		unlink(argv[0]); /* the copy: runs deleted */
		spin(60000000);
		return 0;
	}
	pthread_t t;
	pthread_create(&t, 0, worker, 0);
	spin(40000000);
	pthread_join(t, 0);
	snprintf(cmd, sizeof cmd, "cp %s %s-copy && %s-copy deleted", argv[0], argv[0], argv[0]);
	return system(cmd) == 0 ? 0 : 1;
}
