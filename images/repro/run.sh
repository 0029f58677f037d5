#!/bin/sh
# run.sh of a reprolab repro pack: boots the image under QEMU, builds the same conditions the lab
# built, runs both variants' probes, prints their result lines and the verdict.
# Needs only qemu-system-* and a POSIX shell with its utilities (awk, sed, grep, tr, cat, mkdir, mkfifo,
# sleep, rm, dirname, and sha256sum, shasum or openssl to check the files); no Node, no lab.
# The pack is checked before QEMU starts: every file listed in SHA256SUMS with its digest (manifest.json
# too, whose list must be the same), nothing else, no symbolic link. The run writes only into a fresh
# directory beside the pack (<pack>-run1, -run2, …; or REPRO_OUT, which must not exist yet):
# console.log and verdict.txt. Exit 0 when the verdict is the one the lab recorded, 1 when it is
# another verdict, 2 when the run could not be made or judged (a pack that fails its check, QEMU
# missing, the guest did not boot or finish, an ERROR verdict).
# Environment: REPRO_BOOT_TIMEOUT (s, default 600), REPRO_RUN_TIMEOUT (s, default 900), REPRO_OUT.
set -u
# REPRO_OUT is relative to where run.sh was started, not to the pack.
case ${REPRO_OUT:-} in '' | /*) ;; *) REPRO_OUT=$(pwd)/$REPRO_OUT ;; esac
here=$(CDPATH= cd -P -- "$(dirname -- "$0")" && pwd) || exit 2
cd "$here" || exit 2
qemu=@QEMU_BINARY@
expected=@EXPECTED@
boot_timeout=${REPRO_BOOT_TIMEOUT:-600}
run_timeout=${REPRO_RUN_TIMEOUT:-900}

# refuse WHY: the pack is not as reprolab made it; nothing has been written or started.
refuse() {
	echo "run.sh: refusing this pack: $1 (fix: unpack the tar.gz again, after checking its sha256 against the one reprolab repro pack printed)" >&2
	exit 2
}

# digest FILE: its sha256 in hex, by whichever tool the host has.
digest() {
	case $sumtool in
	sha256sum) sha256sum < "$1" ;;
	shasum) shasum -a 256 < "$1" ;;
	openssl) openssl dgst -sha256 < "$1" ;;
	esac | sed 's/.*= //; s/ .*//'
}

# files DIR: every file under DIR, one per line, without ./; a link, a special file or a name the
# pack does not make (a newline, a space…) is refused. Positional parameters are per call: recursion is safe.
files() {
	for e in "$1"/* "$1"/.[!.]* "$1"/..?*; do
		[ -e "$e" ] || [ -L "$e" ] || continue
		f=${e#./}
		case $f in *[!A-Za-z0-9._+/-]*) refuse "a file name the pack does not make: $f" ;; esac
		if [ -L "$e" ]; then refuse "$f is a symbolic link"
		elif [ -d "$e" ]; then files "$e"
		elif [ -f "$e" ]; then printf '%s\n' "$f"
		else refuse "$f is not a regular file"
		fi
	done
}

# inlist NAME LIST: NAME is a line of LIST.
inlist() {
	case "
$2
" in *"
$1
"*) return 0 ;; esac
	return 1
}

sumtool=
for t in sha256sum shasum openssl; do
	if command -v "$t" >/dev/null 2>&1; then sumtool=$t; break; fi
done
if [ -z "$sumtool" ]; then
	echo "run.sh: cannot check the pack's files: none of sha256sum, shasum or openssl is installed (Debian: apt-get install coreutils)" >&2
	exit 2
fi
[ -f SHA256SUMS ] && [ ! -L SHA256SUMS ] || refuse "SHA256SUMS is missing"
# Each line a digest, two spaces and a relative name as the pack writes them (no "..": it is not found below).
bad=$(grep -cv '^[0-9a-f]\{64\}  [A-Za-z0-9_+][A-Za-z0-9._+/-]*$' SHA256SUMS)
[ "$bad" = 0 ] || refuse "SHA256SUMS has a line that is not a digest and a file of the pack"
listed=$(sed 's/^[0-9a-f]*  //' SHA256SUMS)
found=$(files .) || exit 2
for f in $found; do
	[ "$f" = SHA256SUMS ] || inlist "$f" "$listed" || refuse "$f is not one of the pack's files (SHA256SUMS)"
done
for f in $listed; do
	inlist "$f" "$found" || refuse "$f is listed in SHA256SUMS but missing"
done
for f in run.sh guest.sh judge.awk manifest.json; do
	inlist "$f" "$listed" || refuse "$f is not listed in SHA256SUMS"
done
while read -r sum f; do
	[ "$(digest "$f")" = "$sum" ] || refuse "$f does not match its sha256 in SHA256SUMS"
done < SHA256SUMS
# manifest.json's file list (as reprolab writes it, one field a line) is SHA256SUMS without manifest.json.
inmanifest=$(awk '
	/^  "files": \[$/ { on = 1; next }
	on && /^  \]/ { on = 0 }
	on && /^      "path": "/ { p = $0; sub(/^ *"path": "/, "", p); sub(/",?$/, "", p) }
	on && /^      "sha256": "/ { s = $0; sub(/^ *"sha256": "/, "", s); sub(/",?$/, "", s); print s "  " p }
' manifest.json)
[ "$inmanifest" = "$(grep -v '  manifest\.json$' SHA256SUMS)" ] || refuse "manifest.json and SHA256SUMS do not list the same files"

if ! command -v "$qemu" >/dev/null 2>&1; then
	echo "run.sh: $qemu is not installed (Debian: apt-get install qemu-system-arm or qemu-system-mips)" >&2
	exit 2
fi

# Everything this run writes goes into a directory it creates: mkdir fails on anything already
# there, a symbolic link included, so nothing planted is followed.
if [ -n "${REPRO_OUT:-}" ]; then
	out=$REPRO_OUT
	mkdir -m 700 -- "$out" || { echo "run.sh: cannot create REPRO_OUT=$out (it must not exist yet)" >&2; exit 2; }
else
	n=1
	until mkdir -m 700 -- "$here-run$n" 2>/dev/null; do
		n=$((n + 1))
		if [ "$n" -gt 100 ]; then
			echo "run.sh: cannot create a run directory beside $here; set REPRO_OUT=DIR (a directory that does not exist yet)" >&2
			exit 2
		fi
	done
	out=$here-run$n
fi
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	rm -f "$out/console-in"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# A write to the console after QEMU has gone must not kill this script before its cleanup.
trap '' PIPE
mkfifo "$out/console-in" || exit 2
log=$out/console.log
: > "$log"

# The serial console is QEMU's stdin and stdout; the guest keeps a shell on it.
"$qemu" @QEMU_ARGS@ < "$out/console-in" > "$log" 2>&1 &
qpid=$!
exec 3> "$out/console-in"

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

echo "booting @TARGET@ (console: $log)"
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

tr -d '\r' < "$log" | REPRO_FAILSYM=@FAILSYM@ LC_ALL=C awk @JUDGE_VARS@ -f judge.awk > "$out/verdict.txt"
cat "$out/verdict.txt"
got=$(sed -n 's/^VERDICT \([A-Z_]*\).*/\1/p' "$out/verdict.txt")
if [ "$got" = "$expected" ]; then
	echo "as the lab recorded: $expected"
	exit 0
fi
echo "the lab recorded $expected; this run gave ${got:-no verdict}"
[ "$got" = ERROR ] || [ -z "$got" ] && exit 2
exit 1
