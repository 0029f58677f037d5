/* B5: many thousands of sock_diag dumps, each watched by a watchdog.
 *
 *   dump-hang blocking|poll ITERATIONS BUDGET_MS [WATCHDOG_MS] [POLL_MS]
 *
 * blocking: the agent's reader — blocking recv until NLMSG_DONE. A SIGALRM
 *           watchdog (WATCHDOG_MS, default 5000) interrupts a recv that never
 *           returns: that iteration counts as a hang and the socket is replaced.
 * poll:     the mitigated reader — poll() with POLL_MS (default 1000) before every
 *           recv; on timeout it closes, reopens and re-requests (counted as a
 *           recovery), so it cannot stall. The same watchdog still watches it.
 * Stops after ITERATIONS dumps or BUDGET_MS, whichever comes first (or when no
 * socket can be opened), says which in "stoppedBy" so a short run is never read
 * as a full one, and prints
 *   REPROLAB-RESULT {"probe":"dump-hang","mode":..,"ok":..,"asked":..,"iterations":..,"hangs":..,
 *                    "recoveries":..,"errors":..,"stoppedBy":"iterations|budget|socket",
 *                    "maxIterationMs":..,"elapsedMs":..,"minSockets":..,"maxSockets":..,"setChanges":..}
 * setChanges counts the dumps whose socket set (by inode) differed from the dump before.
 * "ok" is true only when no dump hung or failed. */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>

#include "probe-common.h"
#include "probe-diag.h"

static volatile sig_atomic_t fired;

static void on_alarm(int sig)
{
	(void)sig;
	fired = 1;
}

static char buf[65536];

/* One dump; returns sockets counted, -1 on error, -2 on a hang (watchdog), -3 on a poll timeout.
 * *set becomes an order-free fingerprint of the sockets' inodes: a socket closed and another
 * opened leave the count alone but change the set, which is what "under churn" must show. */
static int one_dump(int fd, unsigned seq, int use_poll, int poll_ms, unsigned long *set)
{
	int sockets = 0;
	*set = 0;
	if (probe_diag_request(fd, seq) < 0)
		return -1;
	for (;;) {
		struct nlmsghdr *m;
		ssize_t n;
		size_t len;
		if (use_poll) {
			struct pollfd p = { fd, POLLIN, 0 };
			int r = poll(&p, 1, poll_ms);
			if (r == 0)
				return -3;
			if (r < 0)
				return fired ? -2 : -1;
		}
		n = recv(fd, buf, sizeof buf, 0);
		if (n < 0)
			return (errno == EINTR && fired) ? -2 : -1;
		len = (size_t)n;
		for (m = (struct nlmsghdr *)(void *)buf; NLMSG_OK(m, len); m = NLMSG_NEXT(m, len)) {
			if (m->nlmsg_seq != seq)
				continue;
			if (m->nlmsg_type == NLMSG_DONE)
				return sockets;
			if (m->nlmsg_type == NLMSG_ERROR)
				return -1;
			if (m->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
				const struct inet_diag_msg *d = NLMSG_DATA(m);
				sockets++;
				*set += (unsigned long)d->idiag_inode * 2654435761UL + 1;
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	const char *mode = argc > 1 ? argv[1] : "";
	int use_poll = strcmp(mode, "poll") == 0;
	long iterations = argc > 2 ? atol(argv[2]) : 0, budget_ms = argc > 3 ? atol(argv[3]) : 0;
	long watchdog_ms = argc > 4 ? atol(argv[4]) : 5000, poll_ms = argc > 5 ? atol(argv[5]) : 1000;
	long done = 0, hangs = 0, recoveries = 0, errors = 0, set_changes = 0;
	unsigned long set = 0, last_set = 0;
	int min_sockets = -1, max_sockets = 0, fd;
	double start, max_iter = 0;
	unsigned seq = 1;
	const char *stopped_by;
	if ((!use_poll && strcmp(mode, "blocking") != 0) || iterations <= 0 || budget_ms <= 0 || watchdog_ms <= 0 || poll_ms <= 0) {
		fprintf(stderr, "usage: dump-hang blocking|poll ITERATIONS BUDGET_MS [WATCHDOG_MS] [POLL_MS]\n");
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm; /* no SA_RESTART: the stuck recv must return EINTR */
	sigaction(SIGALRM, &sa, NULL);
	fd = probe_nl_open(NETLINK_SOCK_DIAG, 0, NULL);
	start = probe_now_ms();
	while (fd >= 0 && done < iterations && probe_now_ms() - start < budget_ms) {
		struct itimerval wd;
		double t0 = probe_now_ms(), took;
		int r;
		memset(&wd, 0, sizeof wd);
		wd.it_value.tv_sec = watchdog_ms / 1000;
		wd.it_value.tv_usec = (watchdog_ms % 1000) * 1000;
		fired = 0;
		setitimer(ITIMER_REAL, &wd, NULL);
		r = one_dump(fd, ++seq, use_poll, (int)poll_ms, &set);
		memset(&wd, 0, sizeof wd);
		setitimer(ITIMER_REAL, &wd, NULL);
		took = probe_now_ms() - t0;
		if (took > max_iter)
			max_iter = took;
		done++;
		if (r >= 0) {
			if (min_sockets >= 0 && set != last_set)
				set_changes++;
			last_set = set;
			if (min_sockets < 0 || r < min_sockets)
				min_sockets = r;
			if (r > max_sockets)
				max_sockets = r;
			continue;
		}
		if (r == -2)
			hangs++;
		else if (r == -3)
			recoveries++;
		else
			errors++;
		/* Whatever is left of that dump is unusable: start over on a fresh socket. */
		close(fd);
		fd = probe_nl_open(NETLINK_SOCK_DIAG, 0, NULL);
	}
	stopped_by = fd < 0 ? "socket" : done >= iterations ? "iterations" : "budget";
	probe_begin("dump-hang");
	probe_str("mode", mode);
	probe_str("libc", PROBE_LIBC_NAME " " PROBE_LIBC_VERSION);
	probe_bool("ok", fd >= 0 && hangs == 0 && errors == 0);
	probe_long("asked", iterations);
	probe_long("iterations", done);
	probe_long("hangs", hangs);
	probe_long("recoveries", recoveries);
	probe_long("errors", errors);
	probe_str("stoppedBy", stopped_by);
	probe_double("maxIterationMs", max_iter, 1);
	probe_double("elapsedMs", probe_now_ms() - start, 0);
	probe_long("minSockets", min_sockets);
	probe_long("maxSockets", max_sockets);
	probe_long("setChanges", set_changes);
	probe_end();
	return 0;
}
