/* if_nameindex() with many interfaces: every link the kernel has, by name and index.
 * Result (probe-common.h's probe_begin … probe_end: a JSON line and a flat one):
 *   REPROLAB-RESULT {"probe":"if-nameindex","libc":"..","ok":true,"count":N,"names":["lo",..]}
 *   REPROLAB-FLAT probe=if-nameindex libc=.. ok=true count=N
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
	probe_begin("if-nameindex");
	probe_str("libc", PROBE_LIBC_NAME " " PROBE_LIBC_VERSION);
	if (!list) {
		probe_bool("ok", 0);
		probe_error(err);
		probe_end();
		return 1;
	}
	for (p = list; p->if_index != 0; p++)
		count++;
	probe_bool("ok", 1);
	probe_ulong("count", count);
	/* The names as a JSON list (the lab's evidence); the flat line carries the count only. */
	printf(",\"names\":[");
	for (p = list; p->if_index != 0; p++) {
		printf("%s\"", p == list ? "" : ",");
		probe_json_string(p->if_name);
		printf("\"");
	}
	printf("]");
	probe_end();
	if_freenameindex(list);
	return 0;
}
