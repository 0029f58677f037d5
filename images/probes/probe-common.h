/* Shared helpers for reprolab guest probes.
 * Every probe prints one result on stdout through probe_begin() ... probe_end()
 * (below): a REPROLAB-RESULT JSON line and the same fields as a REPROLAB-FLAT
 * line, so the lab can parse it regardless of what else a probe logs on stderr. */
#ifndef REPROLAB_PROBE_COMMON_H
#define REPROLAB_PROBE_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

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

/* The result, printed twice by probe_begin() ... probe_end():
 *   REPROLAB-RESULT {"probe":"<name>","key":value,...}   the lab reads this (JSON)
 *   REPROLAB-FLAT probe="<name>" key=value ...           readers without a JSON parser
 *                                                        (a repro pack's judge.awk, a LAVA test shell)
 * Only the fields given through probe_str/_int/_uint/_double/_bool are in the flat line; nested
 * JSON a probe prints itself between them (a list) is not. A flat value is a number, true/false,
 * or text in double quotes whose bytes outside '!'..'~', '%', '=' and '"' are written as %XX (so a
 * text "3" never reads as the number 3). A field that would not fit the flat line's 1 KiB is left
 * out of it. */
static char probe_flat[1024];
static size_t probe_flat_len;

/* Adds " key=value" (text: " key=\"value\"") to the flat line; a field that does not fit whole is
 * left out (a reader that needs it finds it missing: no verdict), never cut. */
static inline void probe_flat_add(const char *key, const char *value, int text)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t need = strlen(key) + 2 + (text ? 2 : 0), at;
	const unsigned char *v;
	for (v = (const unsigned char *)value; *v; v++)
		need += (*v > ' ' && *v < 0x7f && *v != '%' && *v != '=' && *v != '"') ? 1 : 3;
	if (probe_flat_len + need >= sizeof probe_flat)
		return;
	at = probe_flat_len + (size_t)sprintf(probe_flat + probe_flat_len, " %s=%s", key, text ? "\"" : "");
	for (v = (const unsigned char *)value; *v; v++) {
		if (*v > ' ' && *v < 0x7f && *v != '%' && *v != '=' && *v != '"') {
			probe_flat[at++] = (char)*v;
		} else {
			probe_flat[at++] = '%';
			probe_flat[at++] = hex[*v >> 4];
			probe_flat[at++] = hex[*v & 15];
		}
	}
	if (text)
		probe_flat[at++] = '"';
	probe_flat[at] = '\0';
	probe_flat_len = at;
}

/* Starts another flat line (probe_begin does; a probe printing lines of its own, e.g. entries, too). */
static inline void probe_flat_reset(void)
{
	probe_flat_len = 0;
	probe_flat[0] = '\0';
}

static inline void probe_begin(const char *probe)
{
	probe_flat_reset();
	printf("REPROLAB-RESULT {\"probe\":\"");
	probe_json_string(probe);
	putchar('"');
	probe_flat_add("probe", probe, 1);
}

static inline void probe_str(const char *key, const char *value)
{
	printf(",\"%s\":\"", key);
	probe_json_string(value);
	putchar('"');
	probe_flat_add(key, value, 1);
}

static inline void probe_number(const char *key, const char *text)
{
	printf(",\"%s\":%s", key, text);
	probe_flat_add(key, text, 0);
}

static inline void probe_long(const char *key, long value)
{
	char text[32];
	snprintf(text, sizeof text, "%ld", value);
	probe_number(key, text);
}

static inline void probe_ulong(const char *key, unsigned long value)
{
	char text[32];
	snprintf(text, sizeof text, "%lu", value);
	probe_number(key, text);
}

static inline void probe_double(const char *key, double value, int decimals)
{
	char text[48];
	snprintf(text, sizeof text, "%.*f", decimals, value);
	probe_number(key, text);
}

static inline void probe_bool(const char *key, int value)
{
	probe_number(key, value ? "true" : "false");
}

/* An error as the lab names it: "errno" (the number) and "error" (the name, errno-table.h). */
static inline void probe_error(int err)
{
	probe_long("errno", err);
	probe_str("error", probe_errno_name(err));
}

static inline void probe_end(void)
{
	printf("}\nREPROLAB-FLAT%s\n", probe_flat);
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
