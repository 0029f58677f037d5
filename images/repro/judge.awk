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
# {field} replaced by the result line's top-level field and {truth.quantity} by the truth's.
# It is the lab's rule (lab/scenarios/counts-judge.ts, defs/getifaddrs.ts) written again in awk;
# tests/unit/repro-judge.test.ts holds the two to the same answers.

# Guest text reaches a terminal (run.sh prints verdict.txt): C0 controls but tab, DEL, and C1
# (UTF-8 \302\200-\302\237) are shown as \xNN, never sent. Bytes only, so any locale's awk agrees.
function visible(s,   i, c) {
	for (i = 1; i < 32; i++) if (i != 9) { c = sprintf("%c", i); if (index(s, c)) gsub(c, sprintf("\\\\x%02x", i), s) }
	if (index(s, "\177")) gsub("\177", "\\\\x7f", s)
	if (!index(s, "\302")) return s
	for (i = 0; i < 32; i++) { c = substr(C1, 2 * i + 1, 2); if (index(s, c)) gsub(c, sprintf("\\\\x%02x", 128 + i), s) }
	return s
}
BEGIN { C1 = "\302\200\302\201\302\202\302\203\302\204\302\205\302\206\302\207\302\210\302\211\302\212\302\213\302\214\302\215\302\216\302\217\302\220\302\221\302\222\302\223\302\224\302\225\302\226\302\227\302\230\302\231\302\232\302\233\302\234\302\235\302\236\302\237" }
function count(s, pat,   n, i) {
	n = 0
	while ((i = index(s, pat)) > 0) { n++; s = substr(s, i + length(pat)) }
	return n
}
# Reads the probe's result line as JSON.parse would (whitespace allowed; no NaN, no trailing comma,
# brackets of the right kind) and returns its top level with nested values emptied ({} []) and
# whitespace dropped; "" when it is not one valid JSON object or repeats a top-level key.
# Sets ENT_FROM..ENT_TO (the top-level "entries" array in json) and ENT_NESTED (an entry that is not a flat object).
function toplevel(json,   n, i, j, c, c2, stack, depth, expect, out, tok, key, keys, lastkey, top) {
	n = length(json); i = 1; stack = ""; expect = "value"; out = ""; lastkey = ""
	ENT_FROM = 0; ENT_TO = 0; ENT_NESTED = 0
	while (i <= n) {
		c = substr(json, i, 1)
		if (c == " " || c == "\t" || c == "\n" || c == "\r") { i++; continue }
		depth = length(stack)
		if (expect == "end") return ""
		if (c == "\"") {
			for (j = i + 1; j <= n; j++) { c2 = substr(json, j, 1); if (c2 == "\\") { j++; continue } if (c2 == "\"") break }
			if (j > n) return ""
			tok = substr(json, i, j - i + 1)
			if (expect == "key" || expect == "key1") {
				if (depth == 1) { key = substr(tok, 2, length(tok) - 2); if (key in keys) return ""; keys[key] = 1; lastkey = key }
				expect = "colon"
			} else if (expect == "value" || expect == "value1") expect = "next"
			else return ""
			if (depth <= 1) out = out tok
			i = j + 1
			continue
		}
		if (c == "{" || c == "[") {
			if (expect != "value" && expect != "value1") return ""
			if (depth == 0 && c != "{") return ""
			if (depth == 1 && c == "[" && lastkey == "entries") ENT_FROM = i
			if (ENT_FROM && !ENT_TO && (depth >= 3 || (depth == 2 && c == "["))) ENT_NESTED = 1
			if (depth <= 1) out = out c
			stack = stack c
			expect = c == "{" ? "key1" : "value1"
			i++
			continue
		}
		if (c == "}" || c == "]") {
			top = substr(stack, depth, 1)
			if (depth == 0 || (c == "}" && top != "{") || (c == "]" && top != "[")) return ""
			if (!(expect == "next" || (expect == "key1" && c == "}") || (expect == "value1" && c == "]"))) return ""
			if (depth <= 2) out = out c
			if (depth == 2 && c == "]" && ENT_FROM && !ENT_TO) ENT_TO = i
			stack = substr(stack, 1, depth - 1)
			expect = length(stack) ? "next" : "end"
			i++
			continue
		}
		if (c == ",") {
			if (expect != "next" || depth == 0) return ""
			expect = substr(stack, depth, 1) == "{" ? "key" : "value"
			if (depth <= 1) out = out c
			i++
			continue
		}
		if (c == ":") {
			if (expect != "colon") return ""
			expect = "value"
			if (depth <= 1) out = out c
			i++
			continue
		}
		if (expect != "value" && expect != "value1") return ""
		if (substr(json, i, 4) == "true" || substr(json, i, 4) == "null") tok = substr(json, i, 4)
		else if (substr(json, i, 5) == "false") tok = "false"
		else {
			for (j = i; j <= n && index("+-0123456789.eE", substr(json, j, 1)); j++) ;
			tok = substr(json, i, j - i)
			if (tok !~ /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/) return ""
		}
		if (depth <= 1) out = out tok
		expect = "next"
		i += length(tok)
	}
	return expect == "end" ? out : ""
}
# A whole number top-level field of a flattened line ("" when absent or not a whole number >= 0).
function num(flat, f,   re) {
	re = "[{,]\"" f "\":[0-9]+[,}]"
	if (!match(flat, re)) return ""
	return substr(flat, RSTART + length(f) + 4, RLENGTH - length(f) - 5)
}
function str(flat, f,   re) {
	re = "[{,]\"" f "\":\"[^\"]*\""
	if (!match(flat, re)) return ""
	return substr(flat, RSTART + length(f) + 5, RLENGTH - length(f) - 6)
}
function okv(flat) {
	if (index(flat, ",\"ok\":true") || index(flat, "{\"ok\":true")) return "true"
	if (index(flat, ",\"ok\":false") || index(flat, "{\"ok\":false")) return "false"
	return ""
}
# The error by name: a probe names it; a bare errno is decoded for the guest's architecture.
function errname(flat,   e, n) {
	e = str(flat, "error"); n = num(flat, "errno")
	if ((e == "" || e == "EOTHER") && n != "") return (n in ERRNO) ? ERRNO[n] : "errno " n
	return e
}
function raw(flat, f,   v) {
	if (f == "error") { v = errname(flat); return v == "" ? "?" : v }
	v = str(flat, f); if (v != "") return v
	v = num(flat, f); if (v != "") return v
	v = okv(flat); if (f == "ok" && v != "") return v
	return "?"
}
function fill(t, flat,   out, name, start, len) {
	out = ""
	while (match(t, /\{[A-Za-z][A-Za-z0-9_.]*\}/)) {
		# raw() matches too: keep this match's place before calling it.
		start = RSTART; len = RLENGTH
		name = substr(t, start + 1, len - 2)
		out = out substr(t, 1, start - 1) (substr(name, 1, 6) == "truth." ? Q[substr(name, 7)] + 0 : raw(flat, name))
		t = substr(t, start + len)
	}
	return out t
}
# The quantities of the lab's netlink dump line (REPROLAB-FABRIC {...,"links":[...],"addrs":[...]}) into Q.
function netq(line,   a, b, links, addrs) {
	a = index(line, "\"links\":["); b = index(line, "],\"addrs\":[")
	if (!a || !b || !index(line, "\"ok\":true")) return 0
	links = substr(line, a + 9, b - a - 9); addrs = substr(line, b + 11)
	Q["links"] = count(links, "\"index\":"); Q["addrs"] = count(addrs, "\"index\":")
	Q["inet"] = count(addrs, "\"family\":\"inet\""); Q["inet6"] = count(addrs, "\"family\":\"inet6\"")
	return 1
}
function truthq(rep, phase,   k, n, i, parts) {
	for (k in Q) delete Q[k]
	if (TRUTH == "net") return ((rep SUBSEP phase) in truth) ? netq(truth[rep, phase]) : 0
	if (!((rep SUBSEP phase) in sockets)) return 0
	n = split(sockets[rep, phase], parts, " ")
	for (i = 1; i + 1 <= n; i += 2) Q[parts[i]] = parts[i + 1]
	return 1
}
# The counts rule: PASS needs a non-empty truth and every field a whole number equal to it.
function counts_judge(flat,   n, i, pair, f, q, shown, bad, diff, v, failed) {
	n = split(EQUAL, pairs, ";")
	for (i = 1; i <= n; i++) {
		split(pairs[i], pair, "=")
		if (!(Q[pair[2]] > 0)) { SYM = "cannot judge: the ground truth (" TRUTH ") is empty: " pair[2] "=" (Q[pair[2]] + 0) ": nothing to compare with"; return "ERROR" }
	}
	failed = okv(flat) != "true"
	if (failed && !COUNTSONFAIL) { SYM = fill(ENVIRON["REPRO_FAILSYM"], flat); return "FAIL" }
	shown = ""; bad = ""; diff = 0
	for (i = 1; i <= n; i++) {
		split(pairs[i], pair, "="); f = pair[1]; q = pair[2]; v = num(flat, f)
		if (v == "") { bad = bad (bad == "" ? "" : ", ") f; continue }
		shown = shown (shown == "" ? "" : ", ") f " " v "/" Q[q]
		if (v + 0 != Q[q] + 0) diff = 1
	}
	if (bad != "") { SYM = "cannot judge: the result line has no whole-number " bad; return "ERROR" }
	if (failed) { SYM = fill(ENVIRON["REPRO_FAILSYM"], flat); return "FAIL" }
	if (diff) { SYM = "incomplete: " shown (index(flat, ",\"complete\":false") ? " (no NLMSG_DONE)" : ""); return "FAIL" }
	SYM = shown
	return "PASS"
}
# B1's rule: every link has an entry and every inet/inet6 address the kernel lists was returned.
function ifaddrs_judge(line, flat, dump,   a, b, links, addrs, s, o, idx, nlinks, naddrs, fam, k, e, seen, missing, nm, got, want, linksSeen, shownMissing, err) {
	a = index(dump, "\"links\":["); b = index(dump, "],\"addrs\":[")
	links = substr(dump, a + 9, b - a - 9); addrs = substr(dump, b + 11)
	nlinks = 0; naddrs = 0
	s = links
	while (match(s, /\{[^}]*\}/)) { o = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH); nm[num(o, "index")] = str(o, "name"); names[++nlinks] = str(o, "name") }
	s = addrs
	while (match(s, /\{[^}]*\}/)) {
		o = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH); naddrs++
		fam = str(o, "family"); idx = num(o, "index")
		if (fam == "inet" || fam == "inet6") want[((idx in nm) ? nm[idx] : idx) " " fam " " str(o, "address")] = 1
	}
	if (!a || !b || nlinks == 0 || naddrs == 0) { SYM = "cannot judge: the ground truth read in the guest is empty (" nlinks " links, " naddrs " addresses): nothing to compare with"; for (k in names) delete names[k]; return "ERROR" }
	if (okv(flat) != "true") { err = errname(flat); SYM = "errno=" (err == "" ? "unknown" : err); for (k in names) delete names[k]; return "FAIL" }
	# The entry list is the top-level "entries" array, each entry a flat object (toplevel() found where it is).
	if (!ENT_FROM || !ENT_TO) { SYM = "cannot judge: the result line has no \"entries\" list"; for (k in names) delete names[k]; return "ERROR" }
	if (ENT_NESTED) { SYM = "cannot judge: an entry of the \"entries\" list is not a flat object"; for (k in names) delete names[k]; return "ERROR" }
	s = substr(line, 16 + ENT_FROM, ENT_TO - ENT_FROM + 1)
	while (match(s, /\{[^}]*\}/)) {
		o = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH)
		seen[str(o, "name")] = 1; fam = str(o, "family")
		if (fam == "inet" || fam == "inet6") got[str(o, "name") " " fam " " str(o, "address")] = 1
	}
	missing = 0; shownMissing = ""
	for (k in want) if (!(k in got)) { missing++; if (missing <= 3) shownMissing = shownMissing (missing > 1 ? "; " : "") k }
	linksSeen = 0
	for (k = 1; k <= nlinks; k++) if (names[k] in seen) linksSeen++
	for (k in names) delete names[k]
	if (missing || linksSeen != nlinks) { SYM = "incomplete: " linksSeen "/" nlinks " links, " missing " addresses missing (" shownMissing ")"; return "FAIL" }
	SYM = nlinks " links, " naddrs " addresses, all present"
	return "PASS"
}
function judge_with(rep, phase, line, flat) {
	if (!truthq(rep, phase)) { SYM = "cannot judge: no ground truth was read (" phase ")"; return "ERROR" }
	if (RULE == "getifaddrs") return ifaddrs_judge(line, flat, truth[rep, phase])
	return counts_judge(flat)
}
function judge(rep, role,   line, flat, o1, s1, o2, q, n, i, pair, moved, after) {
	if (FABRIC_ERR != "") { SYM = "cannot judge: " FABRIC_ERR; return "ERROR" }
	if (!((rep SUBSEP role) in results)) { SYM = "cannot judge: the probe printed no REPROLAB-RESULT line (exit " ((rep SUBSEP role) in exitc ? exitc[rep, role] : "unknown") ")"; return "ERROR" }
	if (nresults[rep, role] != 1) { SYM = "cannot judge: expected one REPROLAB-RESULT line, got " nresults[rep, role]; return "ERROR" }
	if (exitc[rep, role] + 0 > 1) { SYM = "cannot judge: the probe exited " exitc[rep, role]; return "ERROR" }
	line = results[rep, role]
	# As the lab's parser: one whole JSON object with a "probe" name and a true/false "ok", else no verdict.
	flat = toplevel(substr(line, 17))
	if (flat == "" || str(flat, "probe") == "" || okv(flat) == "") { SYM = "cannot judge: broken result line (not one JSON object with \"probe\" and \"ok\"; cut off on the console?)"; return "ERROR" }
	# Both truth reads must have happened (the lab's run stops at a failed read).
	for (i = 1; i <= 2; i++) if (!truthq(rep, i == 1 ? "before" : "after")) { SYM = "cannot judge: no ground truth was read (" (i == 1 ? "before" : "after") " the probes)"; return "ERROR" }
	if (TRUTH == "sockets" && RULE == "counts") {
		# The held sockets may not move during the run (the lab's rule): else there is no stable truth.
		truthq(rep, "after"); for (q in Q) after[q] = Q[q]
		n = split(EQUAL, pairs, ";"); moved = ""
		truthq(rep, "before")
		for (i = 1; i <= n; i++) { split(pairs[i], pair, "="); if (Q[pair[2]] != after[pair[2]]) moved = moved " " pair[2] " " Q[pair[2]] " -> " after[pair[2]] }
		if (moved != "") { SYM = "cannot judge: the guest's socket counts moved during the run:" moved; return "ERROR" }
		return judge_with(rep, "before", line, flat)
	}
	o1 = judge_with(rep, "before", line, flat); s1 = SYM
	if (o1 == "PASS") return o1
	o2 = judge_with(rep, "after", line, flat)
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
	n = split(ERRNOS, a, " ")
	for (i = 1; i < n; i += 2) ERRNO[a[i]] = a[i + 1]
	nfab = split(FABRIC, fab_list, " ")
	FABRIC_ERR = ""
}
{ sub(/\r$/, "") }
/^REPROLAB-PACK-REPEAT / { rep = $2; next }
/^REPROLAB-PACK-FABRIC / { want_fabric = $2; next }
/^REPROLAB-PACK-TRUTH / { want_truth = $2; next }
/^REPROLAB-FABRIC / {
	if (want_fabric != "") { fabric_seen[want_fabric] = 1; fabric_check(want_fabric, $0); want_fabric = "" }
	else if (want_truth != "") { truth[rep, want_truth] = $0; want_truth = "" }
	next
}
/^REPROLAB-PACK-SOCKETS / { sock_phase = $2; sockets[rep, sock_phase] = ""; next }
/^ *[0-9]+ \/proc\/net\/(tcp6?|udp6?|unix)$/ {
	if (sock_phase != "") { n = $1 - 1; if (n < 0) n = 0; t = $2; sub(/^\/proc\/net\//, "", t); sockets[rep, sock_phase] = sockets[rep, sock_phase] " " t " " n }
	next
}
/^REPROLAB-PACK-RUN / { role = $2; sock_phase = ""; next }
/^REPROLAB-RESULT / { results[rep, role] = $0; nresults[rep, role]++; print visible("  r" rep " " role ": " (length($0) > 400 ? substr($0, 1, 400) "… (whole line in console.log)" : $0)); next }
/^REPROLAB-PACK-EXIT / { exitc[rep, role] = $2; next }
/^REPROLAB-PACK-DONE/ { done = 1; next }
/^REPROLAB-PACK-ERROR / { if (FABRIC_ERR == "") FABRIC_ERR = substr($0, 21); next }
/^REPROLAB-PACK-/ { sock_phase = "" }

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
