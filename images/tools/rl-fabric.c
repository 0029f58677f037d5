/* rl-fabric: the lab's own in-guest helper for building the fabric and reading
 * ground truth. It is linked statically against the host toolchain's glibc,
 * never against the libc under test, so its answers are independent of it.
 *
 *   rl-fabric links-add            spec lines on stdin: KIND NAME [parent=DEV] [id=N] [peer=NAME] [addr=A/P]...
 *   rl-fabric links-del PREFIX     delete every link whose name starts with PREFIX
 *   rl-fabric dump                 every link and address, read to NLMSG_DONE
 *   rl-fabric sockets KIND:M...    hold M sockets of each kind in a daemon (kinds: tcp tcp-est udp unix-stream unix-dgram)
 *   rl-fabric churn SOCKETS LINKS PERIOD_MS   a daemon that opens/closes sockets and adds/deletes links forever;
 *                                  what it has done so far is in /tmp/rl-churn-PID (one REPROLAB-FABRIC line)
 *
 * Each command prints one line: REPROLAB-FABRIC {json}. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe-common.h"

#ifndef IFA_F_NODAD
#define IFA_F_NODAD 0x02
#endif
#ifndef MACVLAN_MODE_BRIDGE
#define MACVLAN_MODE_BRIDGE 4
#endif

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* ---- netlink request building ---- */

/* Requests are built in one buffer; the header pointer covers all of it (GCC object-size checks). */
#define HDR(r) ((struct nlmsghdr *)(void *)(r))

struct req {
	struct nlmsghdr h;
	char buf[1024];
};

static struct rtattr *tail_of(struct nlmsghdr *h)
{
	return (struct rtattr *)(void *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
}

static struct rtattr *add_attr(struct nlmsghdr *h, unsigned short type, const void *data, size_t len)
{
	struct rtattr *rta = tail_of(h);
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(rta->rta_len);
	return rta;
}

static void end_nest(struct nlmsghdr *h, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)tail_of(h) - (char *)nest);
}

static int nl_open(int proto)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
	struct sockaddr_nl sa;
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.nl_family = AF_NETLINK;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static unsigned seq_counter = 1;

/* Sends a request with NLM_F_ACK and returns 0 or the negative errno the kernel acked. */
static int nl_talk(int fd, struct nlmsghdr *h)
{
	char buf[8192];
	h->nlmsg_seq = ++seq_counter;
	h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (send(fd, h, h->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		struct nlmsghdr *m;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (m = (struct nlmsghdr *)(void *)buf; NLMSG_OK(m, (size_t)n); m = NLMSG_NEXT(m, n)) {
			if (m->nlmsg_seq != h->nlmsg_seq)
				continue;
			if (m->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(m))->error;
		}
	}
}

/* A fresh RTM_*LINK request for one interface (index 0 when it goes by name). */
static struct ifinfomsg *link_req(struct req *r, unsigned short type, unsigned short flags, int index)
{
	struct ifinfomsg *ifi;
	memset(r, 0, sizeof *r);
	HDR(r)->nlmsg_len = NLMSG_LENGTH(sizeof *ifi);
	HDR(r)->nlmsg_type = type;
	HDR(r)->nlmsg_flags = flags;
	ifi = NLMSG_DATA(HDR(r));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	return ifi;
}

/* ---- links-add ---- */

static int set_up(int fd, int ifindex)
{
	struct req r;
	struct ifinfomsg *ifi;
	ifi = link_req(&r, RTM_NEWLINK, 0, ifindex);
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return nl_talk(fd, HDR(&r));
}

static int add_link(int fd, const char *kind, const char *name, int parent, int vlan_id, const char *peer)
{
	struct req r;
	struct rtattr *linkinfo, *data;
	link_req(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	add_attr(HDR(&r), IFLA_IFNAME, name, strlen(name) + 1);
	if (parent > 0)
		add_attr(HDR(&r), IFLA_LINK, &parent, sizeof parent);
	linkinfo = add_attr(HDR(&r), IFLA_LINKINFO, NULL, 0);
	add_attr(HDR(&r), IFLA_INFO_KIND, kind, strlen(kind));
	if (strcmp(kind, "vlan") == 0) {
		uint16_t id = (uint16_t)vlan_id;
		data = add_attr(HDR(&r), IFLA_INFO_DATA, NULL, 0);
		add_attr(HDR(&r), IFLA_VLAN_ID, &id, sizeof id);
		end_nest(HDR(&r), data);
	} else if (strcmp(kind, "macvlan") == 0) {
		uint32_t mode = MACVLAN_MODE_BRIDGE;
		data = add_attr(HDR(&r), IFLA_INFO_DATA, NULL, 0);
		add_attr(HDR(&r), IFLA_MACVLAN_MODE, &mode, sizeof mode);
		end_nest(HDR(&r), data);
	} else if (strcmp(kind, "veth") == 0 && peer) {
		struct rtattr *peer_attr;
		struct ifinfomsg peer_ifi;
		data = add_attr(HDR(&r), IFLA_INFO_DATA, NULL, 0);
		memset(&peer_ifi, 0, sizeof peer_ifi);
		peer_attr = add_attr(HDR(&r), VETH_INFO_PEER, &peer_ifi, sizeof peer_ifi);
		add_attr(HDR(&r), IFLA_IFNAME, peer, strlen(peer) + 1);
		end_nest(HDR(&r), peer_attr);
		end_nest(HDR(&r), data);
	}
	end_nest(HDR(&r), linkinfo);
	return nl_talk(fd, HDR(&r));
}

static int add_addr(int fd, int ifindex, const char *cidr)
{
	struct req r;
	struct ifaddrmsg *ifa;
	char host[64];
	const char *slash = strchr(cidr, '/');
	unsigned char bin[16];
	int family, len;
	if (!slash || (size_t)(slash - cidr) >= sizeof host)
		return -EINVAL;
	memcpy(host, cidr, (size_t)(slash - cidr));
	host[slash - cidr] = '\0';
	if (inet_pton(AF_INET, host, bin) == 1) {
		family = AF_INET;
		len = 4;
	} else if (inet_pton(AF_INET6, host, bin) == 1) {
		family = AF_INET6;
		len = 16;
	} else {
		return -EINVAL;
	}
	memset(&r, 0, sizeof r);
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof *ifa);
	r.h.nlmsg_type = RTM_NEWADDR;
	r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	ifa = NLMSG_DATA(HDR(&r));
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)atoi(slash + 1);
	ifa->ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
	ifa->ifa_index = (unsigned)ifindex;
	add_attr(HDR(&r), IFA_LOCAL, bin, (size_t)len);
	add_attr(HDR(&r), IFA_ADDRESS, bin, (size_t)len);
	return nl_talk(fd, HDR(&r));
}

static int cmd_links_add(void)
{
	char line[512];
	int fd = nl_open(NETLINK_ROUTE);
	int created = 0, existed = 0, failed = 0, addrs = 0, addr_failed = 0, first_fail = 1;
	double t0 = now_ms();
	if (fd < 0) {
		printf("REPROLAB-FABRIC {\"ok\":false,\"error\":\"%s\"}\n", probe_errno_name(errno));
		return 1;
	}
	printf("REPROLAB-FABRIC {\"ok\":true,\"failures\":[");
	while (fgets(line, sizeof line, stdin)) {
		char *save = NULL, *tok, *kind, *name;
		const char *peer = NULL;
		char *addr_list[16];
		int naddr = 0, parent = 0, vlan_id = 0, rc, i, idx;
		kind = strtok_r(line, " \t\n", &save);
		name = strtok_r(NULL, " \t\n", &save);
		if (!kind || kind[0] == '#' || !name)
			continue;
		while ((tok = strtok_r(NULL, " \t\n", &save))) {
			if (strncmp(tok, "parent=", 7) == 0)
				parent = (int)if_nametoindex(tok + 7);
			else if (strncmp(tok, "id=", 3) == 0)
				vlan_id = atoi(tok + 3);
			else if (strncmp(tok, "peer=", 5) == 0)
				peer = tok + 5;
			else if (strncmp(tok, "addr=", 5) == 0 && naddr < 16)
				addr_list[naddr++] = tok + 5;
		}
		rc = add_link(fd, kind, name, parent, vlan_id, peer);
		if (rc == -EEXIST) {
			existed++;
		} else if (rc < 0) {
			failed++;
			printf("%s{\"name\":\"%s\",\"kind\":\"%s\",\"step\":\"link\",\"error\":\"%s\"}", first_fail ? "" : ",", name, kind, probe_errno_name(-rc));
			first_fail = 0;
			continue;
		} else {
			created++;
		}
		idx = (int)if_nametoindex(name);
		set_up(fd, idx);
		if (peer)
			set_up(fd, (int)if_nametoindex(peer));
		for (i = 0; i < naddr; i++) {
			rc = add_addr(fd, idx, addr_list[i]);
			if (rc < 0 && rc != -EEXIST) {
				addr_failed++;
				printf("%s{\"name\":\"%s\",\"kind\":\"%s\",\"step\":\"addr %s\",\"error\":\"%s\"}", first_fail ? "" : ",", name, kind, addr_list[i], probe_errno_name(-rc));
				first_fail = 0;
			} else {
				addrs++;
			}
		}
	}
	printf("],\"created\":%d,\"existed\":%d,\"failed\":%d,\"addrs\":%d,\"addrFailed\":%d,\"ms\":%.1f}\n", created, existed, failed, addrs, addr_failed, now_ms() - t0);
	close(fd);
	return 0;
}

/* ---- dump: read to NLMSG_DONE, sizing every chunk with MSG_PEEK|MSG_TRUNC ---- */

typedef void (*msg_fn)(struct nlmsghdr *m, void *ctx);

/* Returns 0, a negative errno, or 1 when the kernel flagged the dump as interrupted. */
static int dump(int fd, int type, msg_fn fn, void *ctx, unsigned *chunks, size_t *first_chunk)
{
	struct {
		struct nlmsghdr h;
		struct rtgenmsg g;
	} rq;
	static char *buf;
	static size_t cap;
	int interrupted = 0;
	memset(&rq, 0, sizeof rq);
	rq.h.nlmsg_len = sizeof rq;
	rq.h.nlmsg_type = (unsigned short)type;
	rq.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rq.h.nlmsg_seq = ++seq_counter;
	rq.g.rtgen_family = AF_UNSPEC;
	if (send(fd, &rq, sizeof rq, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t need = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC), n;
		struct nlmsghdr *m;
		if (need < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if ((size_t)need > cap) {
			free(buf);
			cap = (size_t)need + 4096;
			buf = malloc(cap);
			if (!buf)
				return -ENOMEM;
		}
		n = recv(fd, buf, cap, 0);
		if (n < 0)
			return -errno;
		if (*chunks == 0 && first_chunk)
			*first_chunk = (size_t)n;
		(*chunks)++;
		for (m = (struct nlmsghdr *)(void *)buf; NLMSG_OK(m, (size_t)n); m = NLMSG_NEXT(m, n)) {
			if (m->nlmsg_seq != rq.h.nlmsg_seq)
				continue;
			if (m->nlmsg_flags & NLM_F_DUMP_INTR)
				interrupted = 1;
			if (m->nlmsg_type == NLMSG_DONE)
				return interrupted;
			if (m->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(m))->error;
			fn(m, ctx);
		}
	}
}

struct out {
	int first;
	unsigned count;
	/* The same entries as flat lines (REPROLAB-LINK, REPROLAB-ADDR), for readers without a JSON parser. */
	FILE *flat;
};

/* One flat line, probe-common.h's way: index=N (a number), then the text fields. */
static void flat_line(FILE *f, const char *marker, unsigned index, const char *const *kv, int n)
{
	char number[16];
	int i;
	probe_flat_reset();
	snprintf(number, sizeof number, "%u", index);
	probe_flat_add("index", number, 0);
	for (i = 0; i + 1 < n; i += 2)
		probe_flat_add(kv[i], kv[i + 1], 1);
	fprintf(f, "%s%s\n", marker, probe_flat);
}

static void print_link(struct nlmsghdr *m, void *ctx)
{
	struct out *o = ctx;
	struct ifinfomsg *ifi = NLMSG_DATA(m);
	int len = (int)IFLA_PAYLOAD(m);
	struct rtattr *a;
	const char *name = "", *kind = "";
	if (m->nlmsg_type != RTM_NEWLINK)
		return;
	for (a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_IFNAME)
			name = RTA_DATA(a);
		else if (a->rta_type == IFLA_LINKINFO) {
			int ilen = (int)RTA_PAYLOAD(a);
			struct rtattr *i;
			for (i = RTA_DATA(a); RTA_OK(i, ilen); i = RTA_NEXT(i, ilen))
				if (i->rta_type == IFLA_INFO_KIND)
					kind = RTA_DATA(i);
		}
	}
	printf("%s{\"index\":%d,\"name\":\"%s\",\"kind\":\"%.15s\",\"up\":%s}", o->first ? "" : ",", ifi->ifi_index, name, kind,
	       (ifi->ifi_flags & IFF_UP) ? "true" : "false");
	{
		const char *kv[] = { "name", name };
		flat_line(o->flat, "REPROLAB-LINK", (unsigned)ifi->ifi_index, kv, 2);
	}
	o->first = 0;
	o->count++;
}

static void print_addr(struct nlmsghdr *m, void *ctx)
{
	struct out *o = ctx;
	struct ifaddrmsg *ifa = NLMSG_DATA(m);
	int len = (int)IFA_PAYLOAD(m);
	struct rtattr *a;
	char text[INET6_ADDRSTRLEN] = "";
	const void *local = NULL, *address = NULL;
	if (m->nlmsg_type != RTM_NEWADDR)
		return;
	for (a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFA_LOCAL)
			local = RTA_DATA(a);
		else if (a->rta_type == IFA_ADDRESS)
			address = RTA_DATA(a);
	}
	if (ifa->ifa_family == AF_INET && (local || address))
		inet_ntop(AF_INET, local ? local : address, text, sizeof text);
	else if (ifa->ifa_family == AF_INET6 && address)
		inet_ntop(AF_INET6, address, text, sizeof text);
	printf("%s{\"index\":%u,\"family\":\"%s\",\"address\":\"%s\",\"prefix\":%u}", o->first ? "" : ",", ifa->ifa_index,
	       ifa->ifa_family == AF_INET ? "inet" : ifa->ifa_family == AF_INET6 ? "inet6" : "other", text, ifa->ifa_prefixlen);
	{
		const char *kv[] = { "family", ifa->ifa_family == AF_INET ? "inet" : ifa->ifa_family == AF_INET6 ? "inet6" : "other", "address", text };
		flat_line(o->flat, "REPROLAB-ADDR", ifa->ifa_index, kv, 4);
	}
	o->first = 0;
	o->count++;
}

/* Copies what a scratch stream holds to stdout. */
static void copy_stream(FILE *from)
{
	char buf[4096];
	size_t n;
	fflush(from);
	rewind(from);
	while ((n = fread(buf, 1, sizeof buf, from)) > 0)
		fwrite(buf, 1, n, stdout);
}

/* The dump as one REPROLAB-FABRIC JSON line (the lab reads it), then as REPROLAB-LINK and REPROLAB-ADDR
 * lines closed by "REPROLAB-DUMP ok=true links=N addrs=M" (a reader without a JSON parser trusts the
 * lines above only when that closing line is there). */
static int cmd_dump(void)
{
	int fd = nl_open(NETLINK_ROUTE), rc = 0, attempt;
	unsigned chunks = 0;
	size_t first_chunk = 0;
	struct out links = { 1, 0, NULL }, addrs = { 1, 0, NULL };
	if (fd < 0) {
		printf("REPROLAB-FABRIC {\"ok\":false,\"error\":\"%s\"}\n", probe_errno_name(errno));
		return 1;
	}
	/* An interrupted dump (the set changed under it) is retried: ground truth must be a consistent snapshot.
	 * Output goes to a scratch stream first so a retried attempt leaves nothing behind (tmpfile, not
	 * open_memstream: uClibc 0.9.33.2 has that only with UCLIBC_HAS_GLIBC_CUSTOM_STREAMS). */
	for (attempt = 0; attempt < 5; attempt++) {
		char *text = NULL;
		long size = 0;
		FILE *saved = stdout;
		FILE *mem = tmpfile(), *flat = tmpfile();
		if (!mem || !flat) {
			printf("REPROLAB-FABRIC {\"ok\":false,\"error\":\"%s\"}\n", probe_errno_name(errno));
			if (mem)
				fclose(mem);
			if (flat)
				fclose(flat);
			close(fd);
			return 1;
		}
		stdout = mem;
		links = (struct out){ 1, 0, flat };
		addrs = (struct out){ 1, 0, flat };
		chunks = 0;
		printf("\"links\":[");
		rc = dump(fd, RTM_GETLINK, print_link, &links, &chunks, &first_chunk);
		printf("],\"addrs\":[");
		if (rc == 0) {
			unsigned addr_chunks = 0;
			rc = dump(fd, RTM_GETADDR, print_addr, &addrs, &addr_chunks, NULL);
		}
		printf("]");
		fflush(mem);
		size = ftell(mem);
		text = size >= 0 ? malloc((size_t)size + 1) : NULL;
		rewind(mem);
		if (!text || fread(text, 1, (size_t)size, mem) != (size_t)size) {
			fclose(mem);
			stdout = saved;
			printf("REPROLAB-FABRIC {\"ok\":false,\"error\":\"SCRATCH_READ\"}\n");
			free(text);
			fclose(flat);
			close(fd);
			return 1;
		}
		text[size] = '\0';
		fclose(mem);
		stdout = saved;
		if (rc != 1) {
			if (rc < 0)
				printf("REPROLAB-FABRIC {\"ok\":false,\"error\":\"%s\"}\n", probe_errno_name(-rc));
			else {
				printf("REPROLAB-FABRIC {\"ok\":true,\"attempts\":%d,\"linkChunks\":%u,\"firstLinkChunkBytes\":%zu,%s}\n", attempt + 1, chunks,
				       first_chunk, text);
				copy_stream(flat);
				printf("REPROLAB-DUMP ok=true links=%u addrs=%u\n", links.count, addrs.count);
			}
			free(text);
			fclose(flat);
			break;
		}
		free(text);
		fclose(flat);
	}
	if (rc == 1)
		printf("REPROLAB-FABRIC {\"ok\":false,\"error\":\"DUMP_INTR\"}\n");
	close(fd);
	return rc == 0 ? 0 : 1;
}

/* ---- links-del ---- */

struct victims {
	const char *prefix;
	int index[4096];
	int n;
};

static void collect(struct nlmsghdr *m, void *ctx)
{
	struct victims *v = ctx;
	struct ifinfomsg *ifi = NLMSG_DATA(m);
	int len = (int)IFLA_PAYLOAD(m);
	struct rtattr *a;
	if (m->nlmsg_type != RTM_NEWLINK)
		return;
	for (a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_IFNAME && strncmp(RTA_DATA(a), v->prefix, strlen(v->prefix)) == 0 && v->n < 4096)
			v->index[v->n++] = ifi->ifi_index;
}

static int del_link(int fd, int index)
{
	struct req r;
	link_req(&r, RTM_DELLINK, 0, index);
	return nl_talk(fd, HDR(&r));
}

static int delete_prefixed(int fd, const char *prefix, int *deleted, int *failed)
{
	static struct victims v;
	unsigned chunks = 0;
	int rc, i, pass;
	v.prefix = prefix;
	*deleted = *failed = 0;
	/* Repeat: deleting a parent or a veth end also removes its VLANs, macvlans or peer. */
	for (pass = 0; pass < 3; pass++) {
		v.n = 0;
		rc = dump(fd, RTM_GETLINK, collect, &v, &chunks, NULL);
		if (rc < 0)
			return rc;
		if (v.n == 0)
			return 0;
		for (i = 0; i < v.n; i++) {
			rc = del_link(fd, v.index[i]);
			if (rc == 0)
				(*deleted)++;
			else if (rc != -ENODEV)
				(*failed)++;
		}
	}
	return 0;
}

static int cmd_links_del(const char *prefix)
{
	int fd = nl_open(NETLINK_ROUTE), deleted, failed, rc;
	double t0 = now_ms();
	if (fd < 0 || !prefix || !*prefix) {
		printf("REPROLAB-FABRIC {\"ok\":false,\"error\":\"%s\"}\n", fd < 0 ? probe_errno_name(errno) : "EINVAL");
		return 1;
	}
	rc = delete_prefixed(fd, prefix, &deleted, &failed);
	printf("REPROLAB-FABRIC {\"ok\":%s,\"deleted\":%d,\"failed\":%d,\"error\":\"%s\",\"ms\":%.1f}\n", rc == 0 && failed == 0 ? "true" : "false",
	       deleted, failed, probe_errno_name(rc < 0 ? -rc : 0), now_ms() - t0);
	close(fd);
	return rc == 0 && failed == 0 ? 0 : 1;
}

/* ---- sockets and churn daemons ---- */

static void raise_fd_limit(rlim_t want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (rl.rlim_max < want)
			rl.rlim_max = want;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int tcp_listener(void)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1024) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Opens `count` sockets of one kind; returns how many are open. */
static int open_kind(const char *kind, int count)
{
	int opened = 0, i;
	if (strcmp(kind, "tcp") == 0) {
		for (i = 0; i < count; i++)
			opened += tcp_listener() >= 0;
	} else if (strcmp(kind, "tcp-est") == 0) {
		/* count/2 connections: each is a client and an accepted socket; the listener is closed after. */
		int l = tcp_listener();
		struct sockaddr_in sa;
		socklen_t sl = sizeof sa;
		if (l < 0 || getsockname(l, (struct sockaddr *)&sa, &sl) < 0)
			return 0;
		for (i = 0; i < count / 2; i++) {
			int c = socket(AF_INET, SOCK_STREAM, 0), a;
			if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof sa) < 0)
				break;
			a = accept(l, NULL, NULL);
			if (a < 0)
				break;
			opened += 2;
		}
		close(l);
	} else if (strcmp(kind, "udp") == 0) {
		for (i = 0; i < count; i++) {
			struct sockaddr_in sa;
			int fd = socket(AF_INET, SOCK_DGRAM, 0);
			if (fd < 0)
				break;
			memset(&sa, 0, sizeof sa);
			sa.sin_family = AF_INET;
			sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
				opened++;
		}
	} else if (strcmp(kind, "unix-stream") == 0 || strcmp(kind, "unix-dgram") == 0) {
		int type = strcmp(kind, "unix-stream") == 0 ? SOCK_STREAM : SOCK_DGRAM;
		for (i = 0; i < count; i++) {
			struct sockaddr_un sa;
			int fd = socket(AF_UNIX, type, 0);
			if (fd < 0)
				break;
			memset(&sa, 0, sizeof sa);
			sa.sun_family = AF_UNIX;
			/* abstract names: nothing to clean up on disk */
			snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "rl-farm-%d-%d", (int)getpid(), i);
			if (bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1))) == 0 &&
			    (type == SOCK_DGRAM || listen(fd, 16) == 0))
				opened++;
		}
	}
	return opened;
}

/* Forks a daemon that reports through a pipe, then lets the SSH command finish. */
static int daemonize(int *report_fd)
{
	int p[2];
	pid_t pid;
	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		char buf[4096];
		ssize_t n;
		close(p[1]);
		n = read(p[0], buf, sizeof buf - 1);
		if (n <= 0) {
			printf("REPROLAB-FABRIC {\"ok\":false,\"error\":\"daemon died\"}\n");
			exit(1);
		}
		buf[n] = '\0';
		fputs(buf, stdout);
		exit(0);
	}
	close(p[0]);
	setsid();
	{
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	*report_fd = p[1];
	return 0;
}

static int cmd_sockets(int argc, char **argv)
{
	char report[4096];
	int report_fd, i, total = 0, len;
	rlim_t want = 64;
	for (i = 0; i < argc; i++) {
		const char *colon = strchr(argv[i], ':');
		if (!colon || atoi(colon + 1) <= 0) {
			printf("REPROLAB-FABRIC {\"ok\":false,\"error\":\"bad socket spec\"}\n");
			return 2;
		}
		want += (rlim_t)atoi(colon + 1) + 1;
	}
	raise_fd_limit(want);
	if (daemonize(&report_fd) < 0)
		return 1;
	len = snprintf(report, sizeof report, "REPROLAB-FABRIC {\"ok\":true,\"pid\":%d,\"held\":{", (int)getpid());
	for (i = 0; i < argc; i++) {
		char kind[32];
		const char *colon = strchr(argv[i], ':');
		int want_n = atoi(colon + 1), got;
		snprintf(kind, sizeof kind, "%.*s", (int)(colon - argv[i]), argv[i]);
		got = open_kind(kind, want_n);
		total += got;
		len += snprintf(report + len, sizeof report - (size_t)len, "%s\"%s\":{\"wanted\":%d,\"open\":%d}", i ? "," : "", kind, want_n, got);
	}
	len += snprintf(report + len, sizeof report - (size_t)len, "},\"total\":%d}\n", total);
	if (write(report_fd, report, (size_t)len) < 0)
		return 1;
	close(report_fd);
	for (;;)
		pause();
}

/* What a churn daemon has done so far, for the lab to prove the churn took effect. The two loops
 * (sockets, links) each count their own fields of one shared page. */
struct churn_stats {
	long rounds, sockets_opened, socket_failures, link_rounds, links_added, link_failures, links_deleted;
};

static pid_t churn_links_pid = -1;

/* The lab stops the daemon with SIGTERM and then removes the links: the link loop must be gone first. */
static void churn_stop(int sig)
{
	(void)sig;
	if (churn_links_pid > 0) {
		kill(churn_links_pid, SIGKILL);
		waitpid(churn_links_pid, NULL, 0);
	}
	_exit(0);
}

/* The counters as one REPROLAB-FABRIC line in /tmp/rl-churn-PID, replaced whole (rename) each round. */
static void churn_report(const volatile struct churn_stats *c)
{
	char tmp[64], path[64], line[320];
	int fd, len;
	snprintf(path, sizeof path, "/tmp/rl-churn-%d", (int)getpid());
	snprintf(tmp, sizeof tmp, "/tmp/rl-churn-%d.tmp", (int)getpid());
	len = snprintf(line, sizeof line,
		       "REPROLAB-FABRIC {\"ok\":true,\"rounds\":%ld,\"socketsOpened\":%ld,\"socketFailures\":%ld,"
		       "\"linkRounds\":%ld,\"linksAdded\":%ld,\"linkFailures\":%ld,\"linksDeleted\":%ld}\n",
		       c->rounds, c->sockets_opened, c->socket_failures, c->link_rounds, c->links_added, c->link_failures, c->links_deleted);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)len) == len)
		rename(tmp, path);
	close(fd);
}

/* Deletes and re-adds the rlc* dummy links forever. Link operations wait for the kernel (RCU, rtnl)
 * and are slow on an emulated CPU: in their own process they never hold back the socket churn. */
static void churn_links(volatile struct churn_stats *c, int links, const struct timespec *period)
{
	int nl = nl_open(NETLINK_ROUTE), i;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (nl < 0)
		_exit(1);
	for (;; c->link_rounds++) {
		int deleted, failed;
		if (delete_prefixed(nl, "rlc", &deleted, &failed) < 0)
			failed++;
		c->links_deleted += deleted;
		c->link_failures += failed;
		for (i = 0; i < links; i++) {
			char name[16];
			snprintf(name, sizeof name, "rlc%d", i);
			if (add_link(nl, "dummy", name, 0, 0, NULL) == 0)
				c->links_added++;
			else
				c->link_failures++;
		}
		nanosleep(period, NULL);
	}
}

static int cmd_churn(int sockets, int links, int period_ms)
{
	char report[256];
	int report_fd, len, *fds, i;
	volatile struct churn_stats *c;
	struct timespec period = { period_ms / 1000, (long)(period_ms % 1000) * 1000000L };
	if (sockets < 0 || links < 0 || period_ms <= 0 || sockets > 4096) {
		printf("REPROLAB-FABRIC {\"ok\":false,\"error\":\"bad churn spec\"}\n");
		return 2;
	}
	raise_fd_limit((rlim_t)sockets + 64);
	if (daemonize(&report_fd) < 0)
		return 1;
	fds = calloc((size_t)sockets + 1, sizeof *fds);
	c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c != MAP_FAILED) {
		memset((void *)c, 0, sizeof *c);
		churn_report(c);
		signal(SIGTERM, churn_stop);
		if (links > 0 && (churn_links_pid = fork()) == 0)
			churn_links(c, links, &period);
	}
	len = snprintf(report, sizeof report, "REPROLAB-FABRIC {\"ok\":%s,\"pid\":%d}\n", fds && c != MAP_FAILED && (links == 0 || churn_links_pid > 0) ? "true" : "false", (int)getpid());
	if (write(report_fd, report, (size_t)len) < 0 || !fds || c == MAP_FAILED || (links > 0 && churn_links_pid <= 0))
		return 1;
	close(report_fd);
	for (i = 0; i < sockets; i++)
		fds[i] = -1;
	/* Each round closes and reopens half the sockets, so every dump in flight sees the set change under it. */
	for (;; c->rounds++) {
		for (i = (int)(c->rounds % 2); i < sockets; i += 2) {
			if (fds[i] >= 0)
				close(fds[i]);
			fds[i] = tcp_listener();
			if (fds[i] >= 0)
				c->sockets_opened++;
			else
				c->socket_failures++;
		}
		churn_report(c);
		nanosleep(&period, NULL);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "links-add") == 0)
		return cmd_links_add();
	if (argc >= 3 && strcmp(argv[1], "links-del") == 0)
		return cmd_links_del(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "dump") == 0)
		return cmd_dump();
	if (argc >= 3 && strcmp(argv[1], "sockets") == 0)
		return cmd_sockets(argc - 2, argv + 2);
	if (argc >= 5 && strcmp(argv[1], "churn") == 0)
		return cmd_churn(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: rl-fabric links-add | links-del PREFIX | dump | sockets KIND:M... | churn SOCKETS LINKS PERIOD_MS\n");
	return 2;
}
