/* Shared helpers for reprolab guest probes.
 * Every probe prints exactly one result line on stdout:
 *   REPROLAB-RESULT {"probe":"<name>", ...}
 * so the lab can parse it regardless of what else a probe logs on stderr. */
#ifndef REPROLAB_PROBE_COMMON_H
#define REPROLAB_PROBE_COMMON_H

#include <errno.h>
#include <stdio.h>

#if defined(__UCLIBC__)
/* uClibc headers carry major.minor.sublevel only ("0.9.33" for 0.9.33.2); the
 * exact release is in the bundle manifest. */
#define PROBE_LIBC_NAME "uClibc"
#define PROBE_STR2(x) #x
#define PROBE_STR(x) PROBE_STR2(x)
#define PROBE_LIBC_VERSION PROBE_STR(__UCLIBC_MAJOR__) "." PROBE_STR(__UCLIBC_MINOR__) "." PROBE_STR(__UCLIBC_SUBLEVEL__)
#elif defined(__GLIBC__)
#define PROBE_LIBC_NAME "glibc"
#define PROBE_STR2(x) #x
#define PROBE_STR(x) PROBE_STR2(x)
#define PROBE_LIBC_VERSION PROBE_STR(__GLIBC__) "." PROBE_STR(__GLIBC_MINOR__)
#else
#define PROBE_LIBC_NAME "unknown"
#define PROBE_LIBC_VERSION "0"
#endif

/* errno numbers differ between ARM and MIPS (ENOBUFS is 105 vs 132):
 * verdicts compare names, never numbers. The names are errno-table.h's. */
static inline const char *probe_errno_name(int err)
{
	switch (err) {
	case 0: return "OK";
#define ERRNO(name, arm, mips) case name: return #name;
#include "errno-table.h"
#undef ERRNO
	default: return "EOTHER";
	}
}

/* The table's numbers are this libc's: a wrong one stops the build here. */
#if defined(__mips__)
#define ERRNO(name, arm, mips) _Static_assert((name) == (mips), #name " is not " #mips " on MIPS (errno-table.h)");
#elif defined(__arm__)
#define ERRNO(name, arm, mips) _Static_assert((name) == (arm), #name " is not " #arm " on ARM (errno-table.h)");
#else
#define ERRNO(name, arm, mips)
#endif
#include "errno-table.h"
#undef ERRNO

/* Writes s as the body of a JSON string (no quotes). Interface names are
 * plain ASCII in practice, but a probe must never emit broken JSON. */
static inline void probe_json_string(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
}

#include <sys/time.h>
#include <time.h>

/* Milliseconds for durations (gettimeofday: no librt needed on uClibc). */
static inline double probe_now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

/* usleep() is SUSv3-legacy and absent from some uClibc configurations. */
static inline void probe_sleep_us(long us)
{
	struct timespec ts;
	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

#endif
