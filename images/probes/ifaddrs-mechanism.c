/* B1 as application code: the netlink algorithm of uClibc 0.9.33.2's
 * __netlink_request (getifaddrs), beside a fixed one, so the mechanism is
 * checked on every libc and kernel, including the glibc targets.
 *
 *   ifaddrs-mechanism legacy   4096-byte start; on MSG_TRUNC drop the partial result,
 *                              double the buffer, bump the sequence number and send
 *                              the dump request again on the same socket
 *   ifaddrs-mechanism fixed    size every chunk with MSG_PEEK|MSG_TRUNC, read to NLMSG_DONE
 *
 * Prints: REPROLAB-RESULT {"probe":"ifaddrs-mechanism","mode":..,"ok":..,"links":..,"addrs":..,
 *         "firstChunkBytes":..,"requests":..,"bufferBytes":..[,"error":"EBUSY","errno":16]} */
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <time.h>

#include "probe-common.h"
#include "probe-netlink.h"

struct tally {
	unsigned links, addrs, requests;
	size_t first_chunk;
	size_t buffer;
};

static int send_dump(int fd, int type, unsigned seq, unsigned flags)
{
	struct {
		struct nlmsghdr h;
		struct rtgenmsg g;
	} req;
	struct sockaddr_nl to;
	memset(&req, 0, sizeof req);
	memset(&to, 0, sizeof to);
	to.nl_family = AF_NETLINK;
	req.h.nlmsg_len = sizeof req;
	req.h.nlmsg_type = (unsigned short)type;
	req.h.nlmsg_flags = (unsigned short)flags;
	req.h.nlmsg_seq = seq;
	req.g.rtgen_family = AF_UNSPEC;
	return sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&to, sizeof to) < 0 ? -1 : 0;
}

static void count(struct tally *t, const struct nlmsghdr *m)
{
	if (m->nlmsg_type == RTM_NEWLINK)
		t->links++;
	else if (m->nlmsg_type == RTM_NEWADDR)
		t->addrs++;
}

/* The old uClibc algorithm. MSG_TRUNC is also passed in the recvmsg flags only so the
 * return value tells the chunk's real size for the report: the data copied, msg_flags
 * and every decision below are the same as with flags 0. */
static int legacy_request(int fd, unsigned port, int type, unsigned *seq, struct tally *t)
{
	static size_t buf_size = 4096; /* static, as in uClibc: it survives between calls */
	size_t this_size = buf_size;
	char *buf = malloc(this_size);
	unsigned got_links = 0, got_addrs = 0;
	int done = 0;
	if (!buf || send_dump(fd, type, *seq, NLM_F_ROOT | NLM_F_MATCH | NLM_F_REQUEST) < 0)
		return -1;
	t->requests++;
	while (!done) {
		struct sockaddr_nl from;
		struct iovec iov = { buf, this_size };
		struct msghdr msg;
		struct nlmsghdr *m;
		ssize_t len;
		size_t left;
		memset(&msg, 0, sizeof msg);
		msg.msg_name = &from;
		msg.msg_namelen = sizeof from;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		do
			len = recvmsg(fd, &msg, MSG_TRUNC);
		while (len < 0 && errno == EINTR);
		if (len < 0)
			goto fail;
		if (t->first_chunk == 0)
			t->first_chunk = (size_t)len;
		if (from.nl_pid != 0)
			continue;
		if (msg.msg_flags & MSG_TRUNC) {
			char *bigger;
			got_links = got_addrs = 0; /* the partial result is thrown away */
			this_size *= 2;
			bigger = realloc(buf, this_size);
			if (!bigger)
				goto fail;
			buf = bigger;
			buf_size = this_size;
			(*seq)++;
			if (send_dump(fd, type, *seq, NLM_F_ROOT | NLM_F_MATCH | NLM_F_REQUEST) < 0)
				goto fail;
			t->requests++;
			continue;
		}
		left = (size_t)len;
		for (m = (struct nlmsghdr *)(void *)buf; NLMSG_OK(m, left); m = NLMSG_NEXT(m, left)) {
			if (m->nlmsg_pid != port || m->nlmsg_seq != *seq)
				continue;
			if (m->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (m->nlmsg_type == NLMSG_ERROR) {
				errno = -((struct nlmsgerr *)NLMSG_DATA(m))->error;
				goto fail;
			}
			if (m->nlmsg_type == RTM_NEWLINK)
				got_links++;
			else if (m->nlmsg_type == RTM_NEWADDR)
				got_addrs++;
		}
	}
	t->links += got_links;
	t->addrs += got_addrs;
	t->buffer = this_size;
	free(buf);
	return 0;
fail:
	t->buffer = this_size;
	free(buf);
	return -1;
}

/* The fix: one request per dump, every chunk read whole. */
static int fixed_request(int fd, unsigned port, int type, unsigned seq, struct tally *t)
{
	size_t size = 4096;
	char *buf = malloc(size);
	if (!buf || send_dump(fd, type, seq, NLM_F_DUMP | NLM_F_REQUEST) < 0)
		return -1;
	t->requests++;
	for (;;) {
		ssize_t len = probe_nl_recv_whole(fd, &buf, &size);
		struct nlmsghdr *m;
		size_t left;
		if (len < 0)
			goto fail;
		if (t->first_chunk == 0)
			t->first_chunk = (size_t)len;
		if (size > t->buffer)
			t->buffer = size;
		left = (size_t)len;
		for (m = (struct nlmsghdr *)(void *)buf; NLMSG_OK(m, left); m = NLMSG_NEXT(m, left)) {
			if (m->nlmsg_pid != port || m->nlmsg_seq != seq)
				continue;
			if (m->nlmsg_type == NLMSG_DONE) {
				free(buf);
				return 0;
			}
			if (m->nlmsg_type == NLMSG_ERROR) {
				errno = -((struct nlmsgerr *)NLMSG_DATA(m))->error;
				goto fail;
			}
			count(t, m);
		}
	}
fail:
	free(buf);
	return -1;
}

int main(int argc, char **argv)
{
	struct tally t;
	unsigned port = 0, seq = (unsigned)time(NULL);
	int legacy = argc > 1 && strcmp(argv[1], "legacy") == 0;
	int fd, rc, err = 0;
	if (argc < 2 || (!legacy && strcmp(argv[1], "fixed") != 0)) {
		fprintf(stderr, "usage: ifaddrs-mechanism legacy|fixed\n");
		return 2;
	}
	memset(&t, 0, sizeof t);
	fd = probe_nl_open(NETLINK_ROUTE, 0, &port);
	rc = fd < 0 ? -1 : 0;
	if (rc == 0)
		rc = legacy ? legacy_request(fd, port, RTM_GETLINK, &seq, &t) : fixed_request(fd, port, RTM_GETLINK, seq, &t);
	if (rc == 0) {
		seq++;
		rc = legacy ? legacy_request(fd, port, RTM_GETADDR, &seq, &t) : fixed_request(fd, port, RTM_GETADDR, seq, &t);
	}
	if (rc != 0)
		err = errno;
	probe_begin("ifaddrs-mechanism");
	probe_str("mode", argv[1]);
	probe_str("libc", PROBE_LIBC_NAME " " PROBE_LIBC_VERSION);
	probe_bool("ok", rc == 0);
	probe_ulong("links", t.links);
	probe_ulong("addrs", t.addrs);
	probe_ulong("firstChunkBytes", (unsigned long)t.first_chunk);
	probe_ulong("requests", t.requests);
	probe_ulong("bufferBytes", (unsigned long)t.buffer);
	if (rc != 0)
		probe_error(err);
	probe_end();
	return rc == 0 ? 0 : 1;
}
