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

static const char *entry_address(const struct ifaddrs *ifa, char *addr, size_t size)
{
	int family = ifa->ifa_addr ? ifa->ifa_addr->sa_family : -1;
	addr[0] = '\0';
	if (family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ifa->ifa_addr)->sin_addr, addr, (socklen_t)size);
	else if (family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ifa->ifa_addr)->sin6_addr, addr, (socklen_t)size);
	return addr;
}

/* The entries inside the JSON result line, as a list of flat objects. */
static void print_entries(const struct ifaddrs *list)
{
	const struct ifaddrs *ifa;
	int first = 1;
	char addr[INET6_ADDRSTRLEN];

	printf(",\"entries\":[");
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		printf("%s{\"name\":\"", first ? "" : ",");
		probe_json_string(ifa->ifa_name ? ifa->ifa_name : "");
		printf("\",\"family\":\"%s\",\"address\":\"%s\"}", family_name(ifa->ifa_addr ? ifa->ifa_addr->sa_family : -1), entry_address(ifa, addr, sizeof addr));
		first = 0;
	}
	printf("]");
}

/* The same entries for readers without a JSON parser: one REPROLAB-ENTRY line each, after the result. */
static void print_flat_entries(const struct ifaddrs *list)
{
	const struct ifaddrs *ifa;
	char addr[INET6_ADDRSTRLEN];

	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		probe_flat_reset();
		probe_flat_add("name", ifa->ifa_name ? ifa->ifa_name : "", 1);
		probe_flat_add("family", family_name(ifa->ifa_addr ? ifa->ifa_addr->sa_family : -1), 1);
		probe_flat_add("address", entry_address(ifa, addr, sizeof addr), 1);
		printf("REPROLAB-ENTRY%s\n", probe_flat);
	}
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
	probe_begin("ifaddrs");
	probe_str("libc", PROBE_LIBC_NAME " " PROBE_LIBC_VERSION);
	if (rc != 0) {
		probe_bool("ok", 0);
		probe_error(err);
		probe_end();
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
	probe_bool("ok", 1);
	probe_ulong("total", total);
	probe_ulong("packet", packet);
	probe_ulong("inet", inet);
	probe_ulong("inet6", inet6);
	probe_ulong("other", other);
	if (list_entries)
		print_entries(list);
	probe_end();
	if (list_entries)
		print_flat_entries(list);
	freeifaddrs(list);
	return 0;
}
