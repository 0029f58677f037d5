/* if_nameindex() with many interfaces: every link the kernel has, by name and index.
 * Result line:
 *   REPROLAB-RESULT {"probe":"if-nameindex","libc":"..","ok":true,"count":N,"names":["lo",..]}
 *   REPROLAB-RESULT {"probe":"if-nameindex","libc":"..","ok":false,"errno":N,"error":"EBUSY"} */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>

#include "probe-common.h"

int main(void)
{
	struct if_nameindex *list, *p;
	unsigned count = 0;
	int err;

	errno = 0;
	list = if_nameindex();
	err = errno;
	printf("REPROLAB-RESULT {\"probe\":\"if-nameindex\",\"libc\":\"%s %s\"", PROBE_LIBC_NAME, PROBE_LIBC_VERSION);
	if (!list) {
		printf(",\"ok\":false,\"errno\":%d,\"error\":\"%s\"}\n", err, probe_errno_name(err));
		return 1;
	}
	for (p = list; p->if_index != 0; p++)
		count++;
	printf(",\"ok\":true,\"count\":%u,\"names\":[", count);
	for (p = list; p->if_index != 0; p++) {
		printf("%s\"", p == list ? "" : ",");
		probe_json_string(p->if_name);
		printf("\"");
	}
	printf("]}\n");
	if_freenameindex(list);
	return 0;
}
