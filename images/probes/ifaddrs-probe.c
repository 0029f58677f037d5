/* getifaddrs() probe (bug B1): calls the libc's getifaddrs() once and reports
 * either the errno it failed with or what it returned, per address family.
 * Usage: ifaddrs-probe [--list]   (--list adds every entry's name/family/address) */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "probe-common.h"

#ifndef AF_PACKET
#define AF_PACKET 17
#endif

static const char *family_name(int family)
{
	switch (family) {
	case AF_INET: return "inet";
	case AF_INET6: return "inet6";
	case AF_PACKET: return "packet";
	default: return "other";
	}
}

static void print_entries(const struct ifaddrs *list)
{
	const struct ifaddrs *ifa;
	int first = 1;
	char addr[INET6_ADDRSTRLEN];

	printf(",\"entries\":[");
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		int family = ifa->ifa_addr ? ifa->ifa_addr->sa_family : -1;
		addr[0] = '\0';
		if (family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ifa->ifa_addr)->sin_addr, addr, sizeof addr);
		else if (family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ifa->ifa_addr)->sin6_addr, addr, sizeof addr);
		printf("%s{\"name\":\"", first ? "" : ",");
		probe_json_string(ifa->ifa_name ? ifa->ifa_name : "");
		printf("\",\"family\":\"%s\",\"address\":\"%s\"}", family_name(family), addr);
		first = 0;
	}
	printf("]");
}

int main(int argc, char **argv)
{
	struct ifaddrs *list = NULL;
	const struct ifaddrs *ifa;
	int list_entries = argc > 1 && strcmp(argv[1], "--list") == 0;
	unsigned total = 0, inet = 0, inet6 = 0, packet = 0, other = 0;
	int rc, err;

	errno = 0;
	rc = getifaddrs(&list);
	err = errno;
	printf("REPROLAB-RESULT {\"probe\":\"ifaddrs\",\"libc\":\"%s %s\"", PROBE_LIBC_NAME, PROBE_LIBC_VERSION);
	if (rc != 0) {
		printf(",\"ok\":false,\"errno\":%d,\"error\":\"%s\"}\n", err, probe_errno_name(err));
		return 1;
	}
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		int family = ifa->ifa_addr ? ifa->ifa_addr->sa_family : -1;
		total++;
		if (family == AF_INET)
			inet++;
		else if (family == AF_INET6)
			inet6++;
		else if (family == AF_PACKET)
			packet++;
		else
			other++;
	}
	printf(",\"ok\":true,\"total\":%u,\"packet\":%u,\"inet\":%u,\"inet6\":%u,\"other\":%u", total, packet, inet, inet6, other);
	if (list_entries)
		print_entries(list);
	printf("}\n");
	freeifaddrs(list);
	return 0;
}
