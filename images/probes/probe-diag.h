/* The sock_diag dump request the B3-B5 probes send: every IPv4 TCP socket in any state. */
#ifndef REPROLAB_PROBE_DIAG_H
#define REPROLAB_PROBE_DIAG_H

#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include "probe-netlink.h"

static inline int probe_diag_request(int fd, unsigned seq)
{
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} req;
	struct sockaddr_nl to;
	memset(&req, 0, sizeof req);
	memset(&to, 0, sizeof to);
	to.nl_family = AF_NETLINK;
	req.h.nlmsg_len = sizeof req;
	req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = seq;
	req.r.sdiag_family = AF_INET;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = ~0U; /* every TCP state, as /proc/net/tcp lists them */
	return sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&to, sizeof to) < 0 ? -1 : 0;
}

#endif
