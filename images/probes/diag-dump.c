/* B3 and B4: readers of a sock_diag dump of every IPv4 TCP socket.
 *
 *   diag-dump once [BUF]          B3 legacy: request, sleep 100 ms, ONE recvfrom with a
 *                                 BUF-byte buffer (default 10000); counts what it got
 *   diag-dump loop                B3/B4 fixed: size every chunk with MSG_PEEK|MSG_TRUNC,
 *                                 read to NLMSG_DONE, handle NLMSG_ERROR, re-dump on NLM_F_DUMP_INTR
 *   diag-dump fixed-buffer [BUF [PEEK]]
 *                                 B4 legacy (the CRIU shape): a static BUF-byte buffer
 *                                 (default 16384), read to NLMSG_DONE, fail on MSG_TRUNC;
 *                                 with PEEK, first one MSG_PEEK of PEEK bytes on the socket
 *                                 (a library sizing the answer), then the same fixed loop
 *
 * Prints: REPROLAB-RESULT {"probe":"diag-dump","mode":..,"ok":..,"sockets":N,"chunks":..,
 *         "firstChunkBytes":..,"maxChunkBytes":..,"bufferBytes":..,"peekBytes":..,"complete":..[,"error":..]} */
#include <stdlib.h>

#include "probe-common.h"
#include "probe-diag.h"

struct tally {
	unsigned sockets, chunks, retries;
	unsigned long first_chunk, max_chunk, buffer, peek;
	int complete, interrupted;
};

static void note_chunk(struct tally *t, unsigned long bytes)
{
	if (t->chunks++ == 0)
		t->first_chunk = bytes;
	if (bytes > t->max_chunk)
		t->max_chunk = bytes;
}

/* Counts the sockets in one chunk; returns 1 at NLMSG_DONE, -1 on NLMSG_ERROR (errno set), else 0. */
static int walk(struct tally *t, char *buf, size_t len, unsigned seq)
{
	struct nlmsghdr *m;
	for (m = (struct nlmsghdr *)(void *)buf; NLMSG_OK(m, len); m = NLMSG_NEXT(m, len)) {
		if (m->nlmsg_seq != seq)
			continue;
		if (m->nlmsg_flags & NLM_F_DUMP_INTR)
			t->interrupted = 1;
		if (m->nlmsg_type == NLMSG_DONE) {
			t->complete = 1;
			return 1;
		}
		if (m->nlmsg_type == NLMSG_ERROR) {
			errno = -((struct nlmsgerr *)NLMSG_DATA(m))->error;
			return -1;
		}
		if (m->nlmsg_type == SOCK_DIAG_BY_FAMILY)
			t->sockets++;
	}
	return 0;
}

static int read_once(int fd, unsigned seq, size_t size, struct tally *t)
{
	char *buf = malloc(size);
	ssize_t n;
	if (!buf)
		return -1;
	t->buffer = size;
	probe_sleep_us(100000); /* the field tool slept between request and read */
	n = recvfrom(fd, buf, size, MSG_TRUNC, NULL, NULL);
	if (n < 0) {
		free(buf);
		return -1;
	}
	note_chunk(t, (unsigned long)n);
	/* The field tool took this as the whole answer. */
	n = walk(t, buf, (size_t)n < size ? (size_t)n : size, seq);
	free(buf);
	return n < 0 ? -1 : 0;
}

static int read_loop(int fd, unsigned seq, struct tally *t)
{
	size_t size = 4096;
	char *buf = malloc(size);
	for (;;) {
		ssize_t n = buf ? probe_nl_recv_whole(fd, &buf, &size) : -1;
		int rc;
		if (n < 0)
			goto fail;
		if (size > t->buffer)
			t->buffer = size;
		note_chunk(t, (unsigned long)n);
		rc = walk(t, buf, (size_t)n, seq);
		if (rc < 0)
			goto fail;
		if (rc > 0)
			break;
	}
	free(buf);
	return 0;
fail:
	free(buf);
	return -1;
}

static char static_buf[1 << 20];

static int read_fixed(int fd, unsigned seq, size_t size, size_t peek, struct tally *t)
{
	t->buffer = size;
	t->peek = peek;
	/* Kernels since 3.15 remember the largest length a socket ever passed to recvmsg
	 * (a peek too) and size the dump's later chunks from it. */
	if (peek && recv(fd, static_buf, peek, MSG_PEEK | MSG_TRUNC) < 0)
		return -1;
	for (;;) {
		ssize_t n = recv(fd, static_buf, size, MSG_TRUNC);
		int rc;
		if (n < 0)
			return -1;
		note_chunk(t, (unsigned long)n);
		if ((size_t)n > size) {
			/* CRIU: "Message truncated" — the rest of this chunk is gone. */
			errno = EMSGSIZE;
			return -1;
		}
		rc = walk(t, static_buf, (size_t)n, seq);
		if (rc < 0)
			return -1;
		if (rc > 0)
			return 0;
	}
}

int main(int argc, char **argv)
{
	struct tally t;
	const char *mode = argc > 1 ? argv[1] : "";
	unsigned seq = 4242;
	int fd, rc, err = 0, once = strcmp(mode, "once") == 0, fixed = strcmp(mode, "fixed-buffer") == 0;
	size_t size = argc > 2 ? (size_t)atol(argv[2]) : (once ? 10000 : 16384);
	size_t peek = fixed && argc > 3 ? (size_t)atol(argv[3]) : 0;
	if ((!once && !fixed && strcmp(mode, "loop") != 0) || size < 64 || size > sizeof static_buf || peek > sizeof static_buf) {
		fprintf(stderr, "usage: diag-dump once [BUF] | loop | fixed-buffer [BUF [PEEK]]   (64 <= BUF, PEEK <= %lu)\n", (unsigned long)sizeof static_buf);
		return 2;
	}
	memset(&t, 0, sizeof t);
	fd = probe_nl_open(NETLINK_SOCK_DIAG, 0, NULL);
	rc = fd < 0 || probe_diag_request(fd, seq) < 0 ? -1 : 0;
	if (rc == 0)
		rc = once ? read_once(fd, seq, size, &t) : fixed ? read_fixed(fd, seq, size, peek, &t) : read_loop(fd, seq, &t);
	/* The fixed reader does not trust a dump the kernel flagged as interrupted
	 * (the socket set changed under it): it asks again, up to three times. */
	while (rc == 0 && !once && !fixed && t.interrupted && t.retries < 3) {
		unsigned retries = t.retries + 1;
		memset(&t, 0, sizeof t);
		t.retries = retries;
		rc = probe_diag_request(fd, ++seq) < 0 ? -1 : read_loop(fd, seq, &t);
	}
	if (rc != 0)
		err = errno;
	probe_begin("diag-dump");
	probe_str("mode", mode);
	probe_str("libc", PROBE_LIBC_NAME " " PROBE_LIBC_VERSION);
	probe_bool("ok", rc == 0);
	probe_ulong("sockets", t.sockets);
	probe_ulong("chunks", t.chunks);
	probe_ulong("firstChunkBytes", t.first_chunk);
	probe_ulong("maxChunkBytes", t.max_chunk);
	probe_ulong("bufferBytes", t.buffer);
	probe_ulong("peekBytes", t.peek);
	probe_bool("complete", t.complete);
	probe_bool("interrupted", t.interrupted);
	probe_ulong("retries", t.retries);
	if (rc != 0)
		probe_error(err);
	probe_end();
	return rc == 0 ? 0 : 1;
}
