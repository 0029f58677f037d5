/* B5: many thousands of sock_diag dumps, each watched by a watchdog.
 *
 *   dump-hang blocking|poll ITERATIONS BUDGET_MS [WATCHDOG_MS] [POLL_MS] [FAULT]
 *
 * blocking: the agent's reader — blocking recv until NLMSG_DONE. A SIGALRM
 *           watchdog (WATCHDOG_MS, default 5000) interrupts a recv that never
 *           returns: that iteration counts as a hang and the socket is replaced.
 * poll:     the mitigated reader — poll() with POLL_MS (default 1000) before every
 *           recv; on timeout it closes, reopens and re-requests (counted as a
 *           recovery), so it cannot stall. The same watchdog still watches it.
 * Both readers read on after ENOBUFS, as a netlink reader does that takes it for "messages
 * were lost" (counted in "enobufs").
 * FAULT none (default) | continuation: with continuation, every dump's first recv runs with
 *           the kernel's failslab armed for this task (/proc/self/make-it-fail), so the
 *           allocation of the dump's next chunk, made inside that recv, fails. B5's hypothesis:
 *           the kernel reports ENOBUFS once and leaves the dump open with nothing queued.
 *           "armed" counts those dumps; "faultReady":false (and "faultError") when failslab
 *           could not be set up (a kernel without CONFIG_FAILSLAB), and then no dump runs.
 * Stops after ITERATIONS dumps or BUDGET_MS, whichever comes first (or when no
 * socket can be opened), says which in "stoppedBy" so a short run is never read
 * as a full one, and prints
 *   REPROLAB-RESULT {"probe":"dump-hang","mode":..,"ok":..,"asked":..,"iterations":..,"hangs":..,
 *                    "recoveries":..,"errors":..,"stoppedBy":"iterations|budget|socket",
 *                    "maxIterationMs":..,"elapsedMs":..,"minSockets":..,"maxSockets":..,"setChanges":..,
 *                    "enobufs":..,"fault":"none|continuation","armed":..,"faultReady":..}
 * setChanges counts the dumps whose socket set (by inode) differed from the dump before.
 * "ok" is true only when no dump hung or failed. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe-common.h"
#include "probe-diag.h"

static volatile sig_atomic_t fired;

static void on_alarm(int sig)
{
	(void)sig;
	fired = 1;
}

static char buf[65536];

/* failslab: the fd of /proc/self/make-it-fail (-1: no fault injection), whether the next
 * recv is to run armed, and what went wrong setting it up. */
static int fault_fd = -1;
static int arm_next;
static long armed, enobufs;
static char fault_error[96];

#define FAILSLAB "/sys/kernel/debug/failslab/"

static int write_knob(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY), ok;
	if (fd < 0)
		return -1;
	ok = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
	close(fd);
	return ok ? 0 : -1;
}

/* Every slab allocation of a task whose make-it-fail is 1 fails, GFP_KERNEL ones included;
 * no other task is touched (task-filter). Opened before any dump: opening it armed would fail. */
static int fault_setup(void)
{
	static const char *const knobs[][2] = {
		{ FAILSLAB "task-filter", "Y" }, { FAILSLAB "ignore-gfp-wait", "N" }, { FAILSLAB "probability", "100" },
		{ FAILSLAB "interval", "1" }, { FAILSLAB "times", "-1" }, { FAILSLAB "space", "0" }, { FAILSLAB "verbose", "0" },
	};
	size_t i;
	struct stat st;
	if (stat(FAILSLAB, &st) != 0 && mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL) != 0 && errno != EBUSY) {
		snprintf(fault_error, sizeof fault_error, "mount debugfs: %s", probe_errno_name(errno));
		return -1;
	}
	for (i = 0; i < sizeof knobs / sizeof knobs[0]; i++) {
		if (write_knob(knobs[i][0], knobs[i][1]) != 0) {
			snprintf(fault_error, sizeof fault_error, "%s: %s", knobs[i][0], probe_errno_name(errno));
			return -1;
		}
	}
	fault_fd = open("/proc/self/make-it-fail", O_WRONLY);
	if (fault_fd < 0)
		snprintf(fault_error, sizeof fault_error, "/proc/self/make-it-fail: %s", probe_errno_name(errno));
	return fault_fd < 0 ? -1 : 0;
}

/* recv, with this task's slab allocations failing during it when the dump is armed. */
static ssize_t recv_maybe_armed(int fd)
{
	ssize_t n;
	int e;
	if (!arm_next)
		return recv(fd, buf, sizeof buf, 0);
	arm_next = 0;
	if (write(fault_fd, "1", 1) != 1)
		return -1;
	armed++;
	n = recv(fd, buf, sizeof buf, 0);
	e = errno;
	if (write(fault_fd, "0", 1) != 1)
		abort(); /* armed for good: nothing this process reports could be trusted */
	errno = e;
	return n;
}

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
		n = recv_maybe_armed(fd);
		if (n < 0 && errno == ENOBUFS) {
			enobufs++;
			continue;
		}
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

/* One iteration: a dump, and for the poll reader a re-request on a fresh socket when poll
 * timed out (its mitigation), which counts as a recovery. The watchdog covers both. */
static int one_iteration(int *fd, unsigned *seq, int use_poll, int poll_ms, unsigned long *set, long *recoveries)
{
	int r;
	arm_next = fault_fd >= 0;
	r = one_dump(*fd, ++*seq, use_poll, poll_ms, set);
	if (r != -3)
		return r;
	++*recoveries;
	arm_next = 0; /* the re-request runs unarmed even if the timed-out dump never reached its recv */
	close(*fd);
	*fd = probe_nl_open(NETLINK_SOCK_DIAG, 0, NULL);
	if (*fd < 0)
		return -1;
	r = one_dump(*fd, ++*seq, use_poll, poll_ms, set);
	return r == -3 ? -1 : r; /* timed out again: the re-request failed too */
}

struct tally {
	long done, hangs, recoveries, errors, set_changes;
	int min_sockets, max_sockets;
	double max_iter;
};

static void print_result(const char *mode, const char *fault, long iterations, const struct tally *t,
			 const char *stopped_by, int socket_ok, double elapsed)
{
	probe_begin("dump-hang");
	probe_str("mode", mode);
	probe_str("libc", PROBE_LIBC_NAME " " PROBE_LIBC_VERSION);
	probe_bool("ok", socket_ok && t->hangs == 0 && t->errors == 0 && !fault_error[0]);
	probe_long("asked", iterations);
	probe_long("iterations", t->done);
	probe_long("hangs", t->hangs);
	probe_long("recoveries", t->recoveries);
	probe_long("errors", t->errors);
	probe_str("stoppedBy", stopped_by);
	probe_double("maxIterationMs", t->max_iter, 1);
	probe_double("elapsedMs", elapsed, 0);
	probe_long("minSockets", t->min_sockets);
	probe_long("maxSockets", t->max_sockets);
	probe_long("setChanges", t->set_changes);
	probe_long("enobufs", enobufs);
	probe_str("fault", fault);
	probe_long("armed", armed);
	probe_bool("faultReady", !fault_error[0]);
	if (fault_error[0])
		probe_str("faultError", fault_error);
	probe_end();
}

static void arm_watchdog(long ms)
{
	struct itimerval wd;
	memset(&wd, 0, sizeof wd);
	wd.it_value.tv_sec = ms / 1000;
	wd.it_value.tv_usec = (ms % 1000) * 1000;
	fired = 0;
	setitimer(ITIMER_REAL, &wd, NULL);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	const char *mode = argc > 1 ? argv[1] : "", *fault = argc > 6 ? argv[6] : "none";
	int use_poll = strcmp(mode, "poll") == 0, inject = strcmp(fault, "continuation") == 0;
	long iterations = argc > 2 ? atol(argv[2]) : 0, budget_ms = argc > 3 ? atol(argv[3]) : 0;
	long watchdog_ms = argc > 4 ? atol(argv[4]) : 5000, poll_ms = argc > 5 ? atol(argv[5]) : 1000;
	struct tally t = { 0, 0, 0, 0, 0, -1, 0, 0 };
	unsigned long set = 0, last_set = 0;
	int fd;
	double start;
	unsigned seq = 1;
	if ((!use_poll && strcmp(mode, "blocking") != 0) || (!inject && strcmp(fault, "none") != 0) || iterations <= 0 ||
	    budget_ms <= 0 || watchdog_ms <= 0 || poll_ms <= 0) {
		fprintf(stderr, "usage: dump-hang blocking|poll ITERATIONS BUDGET_MS [WATCHDOG_MS] [POLL_MS] [none|continuation]\n");
		return 2;
	}
	memset(buf, 0, sizeof buf); /* its pages are present before any recv runs armed */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm; /* no SA_RESTART: the stuck recv must return EINTR */
	sigaction(SIGALRM, &sa, NULL);
	fd = probe_nl_open(NETLINK_SOCK_DIAG, 0, NULL);
	start = probe_now_ms();
	if (inject && fault_setup() != 0) {
		print_result(mode, fault, iterations, &t, "fault", fd >= 0, 0);
		return 0;
	}
	while (fd >= 0 && t.done < iterations && probe_now_ms() - start < budget_ms) {
		double t0 = probe_now_ms(), took;
		int r;
		arm_watchdog(watchdog_ms);
		r = one_iteration(&fd, &seq, use_poll, (int)poll_ms, &set, &t.recoveries);
		arm_watchdog(0);
		took = probe_now_ms() - t0;
		if (took > t.max_iter)
			t.max_iter = took;
		t.done++;
		if (r >= 0) {
			if (t.min_sockets >= 0 && set != last_set)
				t.set_changes++;
			last_set = set;
			if (t.min_sockets < 0 || r < t.min_sockets)
				t.min_sockets = r;
			if (r > t.max_sockets)
				t.max_sockets = r;
			continue;
		}
		if (r == -2)
			t.hangs++;
		else
			t.errors++;
		/* Whatever is left of that dump is unusable: start over on a fresh socket. */
		if (fd >= 0)
			close(fd);
		fd = probe_nl_open(NETLINK_SOCK_DIAG, 0, NULL);
	}
	if (inject)
		write_knob(FAILSLAB "probability", "0");
	print_result(mode, fault, iterations, &t, fd < 0 ? "socket" : t.done >= iterations ? "iterations" : "budget", fd >= 0,
		     probe_now_ms() - start);
	return 0;
}
