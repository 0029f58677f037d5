# cases.awk: one scenario's judgement (judge.awk's output) as LAVA test cases, for the guest's sh.
# Runs in the guest (busybox awk); prints lava-test-case command lines, one per variant and one for
# the paired verdict. Set with -v:
#   ROLES     "unpatched patched" (or "unpatched"): every role gets a case, judged or not
#   EXPECTED  the verdict the lab's expect.json records for this target ("" when none)
#   REPEATS   how many repetitions the guest ran (a case of its own: a server's results have no log)
#   KEYS      "name=role.field ..." the scenario's key numbers a variant's result line carries: each
#             becomes a case of its own, result pass, measurement the field in the last repetition
# A variant's case: pass when it passed every repeat, fail when it showed the symptom in one and
# errored in none, unknown when the lab could not judge a repeat (ERROR, or no judgement at all).
# Its measurement is the number of repeats with the symptom. The verdict's case: pass when the verdict
# is the expected one (any judged verdict when none is recorded), fail when it differs, unknown on ERROR;
# its measurement is how many repeats reproduced the symptom.
/^REPROLAB-PACK-JUDGED / {
	role = $3; out = $4
	if (!(role in worst)) worst[role] = "PASS"
	if (out == "ERROR") worst[role] = "ERROR"
	else if (out == "FAIL") { symptom[role]++; if (worst[role] != "ERROR") worst[role] = "FAIL" }
	else if (out != "PASS") worst[role] = "ERROR"
	next
}
# judge.awk echoes each result line as "  r<N> <role>: REPROLAB-FLAT k=v ..." (cut at 400 bytes).
/^  r[0-9]+ [a-z]+: REPROLAB-FLAT / {
	r = $2; sub(/:$/, "", r)
	for (i = 4; i <= NF; i++) { eq = index($i, "="); if (eq > 1) flat[r, substr($i, 1, eq - 1)] = substr($i, eq + 1) }
	next
}
/^VERDICT / {
	verdict = $2
	if (match($0, /symptom in [0-9]+\//)) reproduced = substr($0, RSTART + 11, RLENGTH - 12) + 0
	next
}
END {
	n = split(ROLES, roles, " ")
	for (i = 1; i <= n; i++) {
		r = roles[i]
		w = (r in worst) ? worst[r] : "ERROR"
		res = w == "PASS" ? "pass" : w == "FAIL" ? "fail" : "unknown"
		printf "lava-test-case %s --result %s --measurement %d --units repeats-with-symptom\n", r, res, symptom[r] + 0
	}
	if (verdict == "" || verdict == "ERROR") v = "unknown"
	else if (EXPECTED == "") v = "pass"
	else v = (verdict == EXPECTED) ? "pass" : "fail"
	printf "lava-test-case verdict --result %s --measurement %d --units repeats-reproduced\n", v, reproduced + 0
	# The verdict's own name, so a dashboard (and a server's results, which have no log) shows it.
	if (verdict != "") { vn = tolower(verdict); gsub(/_/, "-", vn); printf "lava-test-case verdict-%s --result pass\n", vn }
	if (REPEATS != "") printf "lava-test-case repeats --result pass --measurement %d --units repeats\n", REPEATS
	nk = split(KEYS, keys, " ")
	for (i = 1; i <= nk; i++) {
		eq = index(keys[i], "="); dot = index(keys[i], ".")
		if (eq < 2 || dot < eq) continue
		name = substr(keys[i], 1, eq - 1); role = substr(keys[i], eq + 1, dot - eq - 1); field = substr(keys[i], dot + 1)
		val = flat[role, field]
		if (val !~ /^-?[0-9]+(\.[0-9]+)?$/) continue
		printf "lava-test-case %s --result pass --measurement %s --units %s\n", name, val, (field ~ /Bytes$/ ? "bytes" : "count")
	}
}
