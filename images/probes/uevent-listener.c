/* B2: a NETLINK_KOBJECT_UEVENT listener that records every SEQNUM it sees.
 *
 *   uevent-listener legacy|fixed READY_FILE [DELAY_US]
 *
 * legacy: SO_RCVBUF 1024 (copied from many netlink examples; the kernel makes it
 *         ~2.2 KB, one or two events), a consumer that spends DELAY_US per event.
 * fixed:  the same consumer with a buffer sized for a burst (SO_RCVBUFFORCE 4 MiB,
 *         else SO_RCVBUF), and ENOBUFS counted as "events were lost", not fatal.
 * Both keep reading after ENOBUFS so the lab can count exactly what was lost.
 * Creates READY_FILE once subscribed; runs until SIGTERM/SIGINT, then prints
 *   REPROLAB-RESULT {"probe":"uevent","mode":..,"rcvbuf":..,"events":..,"enobufs":..,
 *                    "seqnums":"516-540,545","firstError":..}                       */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>

#include "probe-common.h"
#include "probe-netlink.h"

#ifndef SO_RCVBUFFORCE
#define SO_RCVBUFFORCE 33
#endif
#ifndef NETLINK_KOBJECT_UEVENT
#define NETLINK_KOBJECT_UEVENT 15
#endif

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Seen SEQNUMs as sorted ranges, appended in arrival order and merged when printed. */
static unsigned long *seen;
static size_t nseen, capseen;

static void record(unsigned long seq)
{
	if (nseen == capseen) {
		unsigned long *bigger;
		capseen = capseen ? capseen * 2 : 1024;
		bigger = realloc(seen, capseen * sizeof *seen);
		if (!bigger)
			return;
		seen = bigger;
	}
	seen[nseen++] = seq;
}

static int cmp_ul(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
	return x < y ? -1 : x > y;
}

/* The seen sequence numbers as ranges ("1-40,42"), whole: the lab parses every range (the text
 * grows as needed; "" if memory runs out, which the lab reads as no list). */
static const char *seen_ranges(void)
{
	static char *text;
	size_t i = 0, at = 0, size = 256;
	free(text);
	text = malloc(size);
	if (!text)
		return "";
	qsort(seen, nseen, sizeof *seen, cmp_ul);
	text[0] = '\0';
	while (i < nseen) {
		size_t j = i;
		while (j + 1 < nseen && seen[j + 1] <= seen[j] + 1)
			j++;
		if (size - at < 48) {
			char *bigger = realloc(text, size * 2);
			if (!bigger)
				return "";
			text = bigger;
			size *= 2;
		}
		if (seen[j] == seen[i])
			at += (size_t)snprintf(text + at, size - at, "%s%lu", at ? "," : "", seen[i]);
		else
			at += (size_t)snprintf(text + at, size - at, "%s%lu-%lu", at ? "," : "", seen[i], seen[j]);
		i = j + 1;
	}
	return text;
}

int main(int argc, char **argv)
{
	static char buf[16384];
	struct sigaction sa;
	int legacy, fd, rcvbuf = 0, enobufs = 0, other_errors = 0, first_error = 0;
	socklen_t len = sizeof rcvbuf;
	unsigned long events = 0;
	long delay_us;
	if (argc < 3 || (strcmp(argv[1], "legacy") != 0 && strcmp(argv[1], "fixed") != 0)) {
		fprintf(stderr, "usage: uevent-listener legacy|fixed READY_FILE [DELAY_US]\n");
		return 2;
	}
	legacy = strcmp(argv[1], "legacy") == 0;
	delay_us = argc > 3 ? atol(argv[3]) : 2000;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: a blocked recv returns EINTR on SIGTERM */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	fd = probe_nl_open(NETLINK_KOBJECT_UEVENT, 1, NULL);
	if (fd < 0) {
		int e = errno;
		probe_begin("uevent");
		probe_str("mode", argv[1]);
		probe_bool("ok", 0);
		probe_error(e);
		probe_end();
		return 1;
	}
	if (legacy) {
		int small = 1024;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	} else {
		int big = 4 * 1024 * 1024;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	}
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len);
	{
		int ready = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (ready >= 0)
			close(ready);
	}

	while (!stop) {
		ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
		char *p;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (!first_error)
				first_error = errno;
			if (errno == ENOBUFS) {
				/* The kernel dropped broadcasts that did not fit: events were lost. */
				enobufs++;
				continue;
			}
			other_errors++;
			if (other_errors > 100)
				break;
			continue;
		}
		buf[n] = '\0';
		events++;
		for (p = buf; p < buf + n; p += strlen(p) + 1) {
			if (strncmp(p, "SEQNUM=", 7) == 0)
				record(strtoul(p + 7, NULL, 10));
		}
		if (delay_us > 0)
			probe_sleep_us(delay_us);
	}

	probe_begin("uevent");
	probe_str("mode", argv[1]);
	probe_str("libc", PROBE_LIBC_NAME " " PROBE_LIBC_VERSION);
	probe_bool("ok", !first_error);
	probe_long("rcvbuf", rcvbuf);
	probe_long("delayUs", delay_us);
	probe_ulong("events", events);
	probe_long("enobufs", enobufs);
	probe_long("otherErrors", other_errors);
	probe_str("firstError", probe_errno_name(first_error));
	probe_str("seqnums", seen_ranges());
	probe_end();
	return 0;
}
