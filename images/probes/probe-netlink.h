/* Netlink pieces the probes share. The *reading strategies* under test are
 * written out in each probe; only socket setup and chunk sizing live here. */
#ifndef REPROLAB_PROBE_NETLINK_H
#define REPROLAB_PROBE_NETLINK_H

#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef NLM_F_DUMP_INTR
#define NLM_F_DUMP_INTR 0x10
#endif

/* A netlink socket bound to a kernel-assigned port id; returns the fd or -1 (errno set). */
static inline int probe_nl_open(int protocol, unsigned groups, unsigned *port_id)
{
	struct sockaddr_nl sa;
	socklen_t len = sizeof sa;
	int fd = socket(AF_NETLINK, SOCK_RAW, protocol);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = groups;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (port_id)
		*port_id = sa.nl_pid;
	return fd;
}

/* The length of the next queued message without consuming it (MSG_PEEK|MSG_TRUNC, as iproute2). */
static inline ssize_t probe_nl_peek_len(int fd)
{
	ssize_t n;
	do
		n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	return n;
}

/* The fixed readers' receive: sizes the next message first and grows the
 * malloc'd *buf to a power of two that holds it, so nothing is ever truncated.
 * Returns the message length, or -1 with errno set. */
static inline ssize_t probe_nl_recv_whole(int fd, char **buf, size_t *size)
{
	ssize_t need = probe_nl_peek_len(fd), n;
	if (need < 0)
		return -1;
	if ((size_t)need > *size) {
		size_t grown = *size;
		char *bigger;
		while (grown < (size_t)need)
			grown *= 2;
		bigger = realloc(*buf, grown);
		if (!bigger) {
			errno = ENOMEM;
			return -1;
		}
		*buf = bigger;
		*size = grown;
	}
	do
		n = recv(fd, *buf, *size, 0);
	while (n < 0 && errno == EINTR);
	return n;
}

#endif
