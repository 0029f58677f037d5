# judge.awk: the verdict of a reprolab repro pack, read from the guest's serial console log.
# POSIX awk only (the tests run it with mawk, Debian's awk). The pack sets, with -v:
#   RULE     counts | getifaddrs   (the scenario's judge)
#   TRUTH    net | sockets          (what the counts rule compares with)
#   EQUAL    field=quantity;...     (counts: each result-line field must equal that truth quantity)
#   ROLES    "unpatched patched" (or "unpatched" alone: one libc as shipped)
#   REPEATS  how many repetitions the guest ran
#   ERRNOS   "number NAME number NAME ..." for the guest's architecture (images/probes/errno-table.h:
#            a probe names its errors, this decodes a bare number)
#   FABRIC   the fabric steps guest.sh runs ("links", "sockets"), each of which must report success
#   COUNTSONFAIL  1: the compared fields must be whole numbers even when the probe says ok=false
# and in the environment (no escape processing): REPRO_FAILSYM, the symptom of ok=false,
# {field} replaced by the result's field and {truth.quantity} by the truth's.
# It is the lab's rule (lab/scenarios/counts-judge.ts, scenarios/judges/getifaddrs.ts) written again
# in awk; tests/unit/workflows/repro-judge.test.ts holds the two to the same answers.
# It reads the flat lines the lab's C programs print beside their JSON (images/probes/probe-common.h):
#   REPROLAB-FLAT probe="NAME" ok=true key=value ...     a probe's result (text in quotes, %XX-escaped)
#   REPROLAB-ENTRY name=".." family=".." address=".."  getifaddrs() entries, after the result
#   REPROLAB-LINK index=N name=".."                    the lab's netlink dump (rl-fabric dump), closed by
#   REPROLAB-ADDR index=N family=".." address=".."       REPROLAB-DUMP ok=true links=N addrs=M
# so it needs no JSON parser.

# Guest text reaches a terminal (run.sh prints verdict.txt): C0 controls but tab, DEL, and C1
# (UTF-8 \302\200-\302\237) are shown as \xNN, never sent. Bytes only, so any locale's awk agrees.
function visible(s,   i, c) {
	for (i = 1; i < 32; i++) if (i != 9) { c = sprintf("%c", i); if (index(s, c)) s = swap(s, c, sprintf("\\x%02x", i)) }
	if (index(s, "\177")) s = swap(s, "\177", "\\x7f")
	if (!index(s, "\302")) return s
	for (i = 0; i < 32; i++) { c = substr(C1, 2 * i + 1, 2); if (index(s, c)) s = swap(s, c, sprintf("\\x%02x", 128 + i)) }
	return s
}
# Every c in s replaced by r, without gsub: awks differ in what a backslash means in gsub's replacement.
function swap(s, c, r,   out, k) {
	out = ""
	while ((k = index(s, c)) > 0) { out = out substr(s, 1, k - 1) r; s = substr(s, k + length(c)) }
	return out s
}
BEGIN { C1 = "\302\200\302\201\302\202\302\203\302\204\302\205\302\206\302\207\302\210\302\211\302\212\302\213\302\214\302\215\302\216\302\217\302\220\302\221\302\222\302\223\302\224\302\225\302\226\302\227\302\230\302\231\302\232\302\233\302\234\302\235\302\236\302\237" }
# %XX → the byte.
function unesc(s,   out, h) {
	out = ""
	while (match(s, /%[0-9A-F][0-9A-F]/)) {
		h = substr(s, RSTART + 1, 2)
		out = out substr(s, 1, RSTART - 1) sprintf("%c", (index(HEX, substr(h, 1, 1)) - 1) * 16 + index(HEX, substr(h, 2, 1)) - 1)
		s = substr(s, RSTART + 3)
	}
	return out s
}
# A flat line's fields into F (text decoded, its quotes off) and their kinds into FT ("text" or
# "bare": a number or true/false); the number of fields, or -1 when one is not key=value, a text is
# not closed, or a key repeats.
function flat_fields(line, F,   n, i, parts, k, eq, v) {
	for (k in F) delete F[k]
	for (k in FT) delete FT[k]
	n = split(line, parts, " ")
	for (i = 2; i <= n; i++) {
		eq = index(parts[i], "=")
		if (eq < 2) return -1
		k = substr(parts[i], 1, eq - 1); v = substr(parts[i], eq + 1)
		if (k in F) return -1
		if (substr(v, 1, 1) == "\"") {
			if (length(v) < 2 || substr(v, length(v), 1) != "\"" || index(substr(v, 2, length(v) - 2), "\"")) return -1
			F[k] = unesc(substr(v, 2, length(v) - 2)); FT[k] = "text"
		} else { F[k] = v; FT[k] = "bare" }
	}
	return n - 1
}
# A whole number field as a probe prints one (%lu); "" when absent, text, or anything else.
function num(F, f) { return ((f in F) && FT[f] == "bare" && F[f] ~ /^(0|[1-9][0-9]*)$/) ? F[f] : "" }
function okv(F) { return (FT["ok"] == "bare" && (F["ok"] == "true" || F["ok"] == "false")) ? F["ok"] : "" }
# The error by name: a probe names it; a bare errno is decoded for the guest's architecture.
function errname(F,   e, n) {
	e = FT["error"] == "text" ? F["error"] : ""; n = num(F, "errno")
	if ((e == "" || e == "EOTHER") && n != "") return (n in ERRNAME) ? ERRNAME[n] : "errno " n
	return e
}
function raw(F, f,   v) {
	if (f == "error") { v = errname(F); return v == "" ? "?" : v }
	return (f in F) ? F[f] : "?"
}
function fill(t, F,   out, name, start, len) {
	out = ""
	while (match(t, /\{[A-Za-z][A-Za-z0-9_.]*\}/)) {
		# raw() matches too: keep this match's place before calling it.
		start = RSTART; len = RLENGTH
		name = substr(t, start + 1, len - 2)
		out = out substr(t, 1, start - 1) (substr(name, 1, 6) == "truth." ? Q[substr(name, 7)] + 0 : raw(F, name))
		t = substr(t, start + len)
	}
	return out t
}
# The truth of one read into Q: the lab's netlink dump (closed by its REPROLAB-DUMP line) or /proc/net's counts.
function truthq(rep, phase,   k, n, i, parts) {
	for (k in Q) delete Q[k]
	if (TRUTH == "net") {
		if (!((rep SUBSEP phase) in dumped)) return 0
		Q["links"] = nlink[rep, phase] + 0; Q["addrs"] = naddr[rep, phase] + 0
		Q["inet"] = ninet[rep, phase] + 0; Q["inet6"] = ninet6[rep, phase] + 0
		return 1
	}
	if (!((rep SUBSEP phase) in sockets)) return 0
	n = split(sockets[rep, phase], parts, " ")
	for (i = 1; i + 1 <= n; i += 2) Q[parts[i]] = parts[i + 1]
	return 1
}
# The counts rule: PASS needs a non-empty truth and every field a whole number equal to it.
function counts_judge(F,   n, i, pair, f, q, shown, bad, diff, v, failed) {
	n = split(EQUAL, pairs, ";")
	for (i = 1; i <= n; i++) {
		split(pairs[i], pair, "=")
		if (!(Q[pair[2]] > 0)) { SYM = "cannot judge: the ground truth (" TRUTH ") is empty: " pair[2] "=" (Q[pair[2]] + 0) ": nothing to compare with"; return "ERROR" }
	}
	failed = okv(F) != "true"
	if (failed && !COUNTSONFAIL) { SYM = fill(ENVIRON["REPRO_FAILSYM"], F); return "FAIL" }
	shown = ""; bad = ""; diff = 0
	for (i = 1; i <= n; i++) {
		split(pairs[i], pair, "="); f = pair[1]; q = pair[2]; v = num(F, f)
		if (v == "") { bad = bad (bad == "" ? "" : ", ") f; continue }
		shown = shown (shown == "" ? "" : ", ") f " " v "/" Q[q]
		if (v + 0 != Q[q] + 0) diff = 1
	}
	if (bad != "") { SYM = "cannot judge: the result line has no whole-number " bad; return "ERROR" }
	if (failed) { SYM = fill(ENVIRON["REPRO_FAILSYM"], F); return "FAIL" }
	if (diff) { SYM = "incomplete: " shown (F["complete"] == "false" ? " (no NLMSG_DONE)" : ""); return "FAIL" }
	SYM = shown
	return "PASS"
}
# B1's rule: every link has an entry and every inet/inet6 address the kernel lists was returned.
function ifaddrs_judge(F, rep, role, phase,   i, k, want, got, seen, missing, shownMissing, linksSeen, nl, na, err, parts) {
	nl = nlink[rep, phase] + 0; na = naddr[rep, phase] + 0
	if (nl == 0 || na == 0) { SYM = "cannot judge: the ground truth read in the guest is empty (" nl " links, " na " addresses): nothing to compare with"; return "ERROR" }
	if (okv(F) != "true") { err = errname(F); SYM = "errno=" (err == "" ? "unknown" : err); return "FAIL" }
	# The entries follow the result, one REPROLAB-ENTRY line each: all of them, or no verdict.
	if (!((rep SUBSEP role) in nentry) || num(F, "total") == "") { SYM = "cannot judge: the result has no entry list (was the probe run with --list?)"; return "ERROR" }
	if (nentry[rep, role] != F["total"]) { SYM = "cannot judge: " nentry[rep, role] " REPROLAB-ENTRY lines for " F["total"] " entries (cut off on the console?)"; return "ERROR" }
	for (i = 1; i <= na; i++) {
		split(taddr[rep, phase, i], parts, SUBSEP)
		if (parts[2] == "inet" || parts[2] == "inet6") want[(((rep SUBSEP phase SUBSEP parts[1]) in lname) ? lname[rep, phase, parts[1]] : parts[1]) " " parts[2] " " parts[3]] = 1
	}
	for (i = 1; i <= nentry[rep, role]; i++) {
		split(entry[rep, role, i], parts, SUBSEP)
		seen[parts[1]] = 1
		if (parts[2] == "inet" || parts[2] == "inet6") got[parts[1] " " parts[2] " " parts[3]] = 1
	}
	missing = 0; shownMissing = ""
	for (k in want) if (!(k in got)) { missing++; if (missing <= 3) shownMissing = shownMissing (missing > 1 ? "; " : "") k }
	linksSeen = 0
	for (i = 1; i <= nl; i++) if (tlink[rep, phase, i] in seen) linksSeen++
	if (missing || linksSeen != nl) { SYM = "incomplete: " linksSeen "/" nl " links, " missing " addresses missing (" shownMissing ")"; return "FAIL" }
	SYM = nl " links, " na " addresses, all present"
	return "PASS"
}
function judge_with(rep, role, phase, F) {
	if (!truthq(rep, phase)) { SYM = "cannot judge: no ground truth was read (" phase ")"; return "ERROR" }
	if (RULE == "getifaddrs") return ifaddrs_judge(F, rep, role, phase)
	return counts_judge(F)
}
function judge(rep, role,   F, o1, s1, o2, q, n, i, pair, moved, after) {
	if (FABRIC_ERR != "") { SYM = "cannot judge: " FABRIC_ERR; return "ERROR" }
	if (!((rep SUBSEP role) in results)) { SYM = "cannot judge: the probe printed no REPROLAB-FLAT line (exit " ((rep SUBSEP role) in exitc ? exitc[rep, role] : "unknown") ")"; return "ERROR" }
	if (nresults[rep, role] != 1) { SYM = "cannot judge: expected one REPROLAB-FLAT line, got " nresults[rep, role]; return "ERROR" }
	if (exitc[rep, role] + 0 > 1) { SYM = "cannot judge: the probe exited " exitc[rep, role]; return "ERROR" }
	# As the lab's parser: a "probe" name and a true/false "ok", else no verdict.
	if (flat_fields(results[rep, role], F) < 0 || FT["probe"] != "text" || F["probe"] == "" || okv(F) == "") { SYM = "cannot judge: broken result line (not key=value fields with \"probe\" and \"ok\"; cut off on the console?)"; return "ERROR" }
	# Both truth reads must have happened (the lab's run stops at a failed read).
	for (i = 1; i <= 2; i++) if (!truthq(rep, i == 1 ? "before" : "after")) { SYM = "cannot judge: no ground truth was read (" (i == 1 ? "before" : "after") " the probes)"; return "ERROR" }
	if (TRUTH == "sockets" && RULE == "counts") {
		# The held sockets may not move during the run (the lab's rule): else there is no stable truth.
		truthq(rep, "after"); for (q in Q) after[q] = Q[q]
		n = split(EQUAL, pairs, ";"); moved = ""
		truthq(rep, "before")
		for (i = 1; i <= n; i++) { split(pairs[i], pair, "="); if (Q[pair[2]] != after[pair[2]]) moved = moved " " pair[2] " " Q[pair[2]] " -> " after[pair[2]] }
		if (moved != "") { SYM = "cannot judge: the guest's socket counts moved during the run:" moved; return "ERROR" }
		return judge_with(rep, role, "before", F)
	}
	o1 = judge_with(rep, role, "before", F); s1 = SYM
	if (o1 == "PASS") return o1
	o2 = judge_with(rep, role, "after", F)
	if (o2 == "PASS") return o2
	SYM = s1
	return o1
}
# What a fabric step of the lab's helper reported: it must have succeeded, with every socket asked for.
function fabric_check(step, line,   s, w, o) {
	if (!index(line, "\"ok\":true")) { FABRIC_ERR = "the fabric's " step " step failed in the guest: " substr(line, 17, 200); return }
	s = line
	while (match(s, /"wanted":[0-9]+,"open":[0-9]+/)) {
		w = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH)
		split(w, o, /[:,]/)
		if (o[2] != o[4]) FABRIC_ERR = "the guest opened fewer sockets than asked (" o[4] " of " o[2] ")"
	}
}

BEGIN {
	HEX = "0123456789ABCDEF"
	n = split(ERRNOS, a, " ")
	for (i = 1; i < n; i += 2) ERRNAME[a[i]] = a[i + 1]
	nfab = split(FABRIC, fab_list, " ")
	FABRIC_ERR = ""
}
{ sub(/\r$/, "") }
/^REPROLAB-PACK-REPEAT / { rep = $2; want_fabric = ""; next }
/^REPROLAB-PACK-FABRIC / { want_fabric = $2; next }
/^REPROLAB-PACK-TRUTH / { want_fabric = ""; tphase = $2; nlink[rep, tphase] = 0; naddr[rep, tphase] = 0; ninet[rep, tphase] = 0; ninet6[rep, tphase] = 0; delete dumped[rep, tphase]; next }
# A fabric step's report is the line right after its marker, never a truth read's dump (a step that printed nothing stays unseen).
/^REPROLAB-FABRIC / { if (want_fabric != "" && tphase == "") { fabric_seen[want_fabric] = 1; fabric_check(want_fabric, $0) } want_fabric = ""; next }
/^REPROLAB-LINK / {
	if (tphase != "" && flat_fields($0, L) >= 0) { tlink[rep, tphase, ++nlink[rep, tphase]] = L["name"]; lname[rep, tphase, L["index"]] = L["name"] }
	next
}
/^REPROLAB-ADDR / {
	if (tphase != "" && flat_fields($0, L) >= 0) {
		taddr[rep, tphase, ++naddr[rep, tphase]] = L["index"] SUBSEP L["family"] SUBSEP L["address"]
		if (L["family"] == "inet") ninet[rep, tphase]++
		if (L["family"] == "inet6") ninet6[rep, tphase]++
	}
	next
}
# The dump's own count closes it: lines lost on the console leave the read unusable.
/^REPROLAB-DUMP / {
	if (tphase != "" && flat_fields($0, L) >= 0 && L["ok"] == "true" && num(L, "links") == nlink[rep, tphase] "" && num(L, "addrs") == naddr[rep, tphase] "") dumped[rep, tphase] = 1
	tphase = ""
	next
}
/^REPROLAB-PACK-SOCKETS / { sock_phase = $2; sockets[rep, sock_phase] = ""; next }
/^ *[0-9]+ \/proc\/net\/(tcp6?|udp6?|unix)$/ {
	if (sock_phase != "") { n = $1 - 1; if (n < 0) n = 0; t = $2; sub(/^\/proc\/net\//, "", t); sockets[rep, sock_phase] = sockets[rep, sock_phase] " " t " " n }
	next
}
/^REPROLAB-PACK-RUN / { role = $2; sock_phase = ""; tphase = ""; next }
/^REPROLAB-FLAT / { results[rep, role] = $0; nresults[rep, role]++; print visible("  r" rep " " role ": " (length($0) > 400 ? substr($0, 1, 400) "… (whole line in console.log)" : $0)); next }
/^REPROLAB-ENTRY / {
	if (flat_fields($0, L) >= 0) entry[rep, role, ++nentry[rep, role]] = L["name"] SUBSEP L["family"] SUBSEP L["address"]
	next
}
/^REPROLAB-PACK-EXIT / { exitc[rep, role] = $2; next }
/^REPROLAB-PACK-DONE/ { done = 1; next }
/^REPROLAB-PACK-ERROR / { if (FABRIC_ERR == "") FABRIC_ERR = substr($0, 21); next }
/^REPROLAB-PACK-/ { sock_phase = ""; tphase = "" }

END {
	for (i = 1; i <= nfab; i++) if (!(fab_list[i] in fabric_seen) && FABRIC_ERR == "") FABRIC_ERR = "the fabric's " fab_list[i] " step reported nothing"
	nroles = split(ROLES, role_list, " ")
	errors = 0; reproduced = 0; patched_failed = 0
	for (r = 1; r <= REPEATS; r++) {
		for (i = 1; i <= nroles; i++) {
			ro = role_list[i]
			if (!done) { out = "ERROR"; SYM = "cannot judge: the guest did not finish the run (no REPROLAB-PACK-DONE on the console)" }
			else out = judge(r, ro)
			printf "%s\n", visible("REPROLAB-PACK-JUDGED r" r " " ro " " out " " SYM)
			oc[r, ro] = out
		}
		if (oc[r, "unpatched"] == "ERROR" || (nroles > 1 && oc[r, "patched"] == "ERROR")) errors++
		if (oc[r, "unpatched"] == "FAIL") reproduced++
		if (nroles > 1 && oc[r, "patched"] == "FAIL") patched_failed++
	}
	if (REPEATS < 1 || errors > 0) verdict = "ERROR"
	else if (nroles < 2) verdict = reproduced > 0 ? "REPRODUCED" : "NOT_REPRODUCED"
	else if (patched_failed > 0) verdict = reproduced > 0 ? "FIX_INEFFECTIVE" : "PATCH_REGRESSION"
	else verdict = reproduced > 0 ? "CONFIRMED" : "NOT_REPRODUCED"
	printf "VERDICT %s (unpatched showed the symptom in %d/%d repeats)\n", verdict, reproduced, REPEATS
}
