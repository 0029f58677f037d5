#!/bin/sh
# run.sh of a reprolab repro pack: boots the image under QEMU, builds the same conditions the lab
# built, runs both variants' probes, prints their result lines and the verdict.
# Needs only qemu-system-* and a POSIX shell with its utilities (awk, sed, grep, tr, cat, mkdir, mkfifo,
# sleep, rm, dirname; sha256sum to check the files, when present); no Node, no lab. Exit 0 when the
# verdict is the one the lab recorded, 1 when it is another verdict, 2 when the run could not be
# made or judged (QEMU missing, the guest did not boot or finish, an ERROR verdict).
# Environment: REPRO_BOOT_TIMEOUT (s, default 600), REPRO_RUN_TIMEOUT (s, default 900).
set -u
here=$(CDPATH= cd -P -- "$(dirname -- "$0")" && pwd)
cd "$here" || exit 2
qemu=@QEMU_BINARY@
expected=@EXPECTED@
boot_timeout=${REPRO_BOOT_TIMEOUT:-600}
run_timeout=${REPRO_RUN_TIMEOUT:-900}

if ! command -v "$qemu" >/dev/null 2>&1; then
	echo "run.sh: $qemu is not installed (Debian: apt-get install qemu-system-arm or qemu-system-mips)" >&2
	exit 2
fi
if command -v sha256sum >/dev/null 2>&1 && ! sha256sum -c SHA256SUMS >/dev/null; then
	echo "run.sh: a file of the pack does not match SHA256SUMS" >&2
	exit 2
fi

work=${TMPDIR:-/tmp}/repro.$$
mkdir -m 700 "$work" || exit 2
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# A write to the console after QEMU has gone must not kill this script before its cleanup.
trap '' PIPE
mkfifo "$work/console-in" || exit 2
log=console.log
: > "$log"

# The serial console is QEMU's stdin and stdout; the guest keeps a shell on it.
"$qemu" @QEMU_ARGS@ < "$work/console-in" > "$log" 2>&1 &
qpid=$!
exec 3> "$work/console-in"

# send TEXT: one line to the guest's console, if QEMU is still there.
send() {
	kill -0 "$qpid" 2>/dev/null && printf '%s\n' "$1" >&3
}

# wait_for PATTERN SECONDS: a line of the console log matching PATTERN (a grep regular expression).
wait_for() {
	i=0
	while [ "$i" -lt "$2" ]; do
		tr -d '\r' < "$log" 2>/dev/null | grep -q "$1" && return 0
		kill -0 "$qpid" 2>/dev/null || return 1
		sleep 1
		i=$((i + 1))
	done
	return 1
}

echo "booting @TARGET@ (console: $here/$log)"
if ! wait_for '^REPROLAB-READY' "$boot_timeout"; then
	echo "run.sh: the guest did not boot within ${boot_timeout} s; see $log" >&2
	exit 2
fi
# The script goes in over the console: no echo, read by cat up to Ctrl-D, then run.
send 'stty -echo; echo REPROLAB""-PACK-ARMED; cat > /tmp/repro.sh; sh /tmp/repro.sh 2>&1'
if ! wait_for '^REPROLAB-PACK-ARMED' 60; then
	echo "run.sh: the guest's console shell did not answer; see $log" >&2
	exit 2
fi
kill -0 "$qpid" 2>/dev/null && cat guest.sh >&3 && printf '\004' >&3
echo "running @SCENARIO@ (this takes a while under TCG)"
if ! wait_for '^REPROLAB-PACK-DONE' "$run_timeout"; then
	echo "run.sh: the guest did not finish within ${run_timeout} s; judging what it printed" >&2
fi
send 'reboot -f'
i=0
while kill -0 "$qpid" 2>/dev/null && [ "$i" -lt 30 ]; do sleep 1; i=$((i + 1)); done
kill "$qpid" 2>/dev/null
qpid=

tr -d '\r' < "$log" | REPRO_FAILSYM=@FAILSYM@ awk @JUDGE_VARS@ -f judge.awk > verdict.txt
cat verdict.txt
got=$(sed -n 's/^VERDICT \([A-Z_]*\).*/\1/p' verdict.txt)
if [ "$got" = "$expected" ]; then
	echo "as the lab recorded: $expected"
	exit 0
fi
echo "the lab recorded $expected; this run gave ${got:-no verdict}"
[ "$got" = ERROR ] || [ -z "$got" ] && exit 2
exit 1
