#!/usr/bin/env bash
# Extracts KernelCI's KCIDB v5.3 JSON Schema (draft-07) from a kcidb-io source into the lab's cache,
# where the KCIDB tests look for it: <cache>/kcidb/kcidb-v05_03.schema.json
# (cache = $REPROLAB_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/reprolab, as lab/util/paths.ts says).
#
#   tests/kcidb/extract-schema.sh KCIDB_IO
#
# KCIDB_IO is a kcidb-io checkout (a directory holding kcidb_io/) or a git repository of it, bare
# or not (its HEAD is read with git archive). kcidb-io is GPL: the schema stays in the cache and is
# never committed here. Its module builds the schema as a Python object (kcidb_io.schema.V5_3.json);
# this runs it with a python3 that has jsonschema (kcidb-io imports it), i.e. Debian's
# python3-jsonschema for /usr/bin/python3 (reprolab doctor --tests installs it).
set -euo pipefail
src=${1:?usage: $0 KCIDB_IO (a kcidb-io checkout or git repository)}
cache=${REPROLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/reprolab}
out=$cache/kcidb/kcidb-v05_03.schema.json

python=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import jsonschema' 2>/dev/null; then python=$p; break; fi
done
[ -n "$python" ] || { echo "$0: no python3 with jsonschema (install python3-jsonschema: reprolab doctor --tests --install)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -f "$src/kcidb_io/schema/v05_03.py" ]; then
  module_dir=$src
elif git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$src" archive HEAD kcidb_io | tar -x -C "$tmp"
  module_dir=$tmp
else
  echo "$0: $src is neither a kcidb-io checkout (no kcidb_io/schema/v05_03.py) nor a git repository" >&2
  exit 1
fi
[ -f "$module_dir/kcidb_io/schema/v05_03.py" ] || { echo "$0: $src has no kcidb_io/schema/v05_03.py (a kcidb-io older than v5.3?)" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
# Written beside the target and renamed: a reader never sees half a schema.
PYTHONPATH=$module_dir PYTHONDONTWRITEBYTECODE=1 "$python" - "$out.tmp" <<'PY'
import json, sys
from kcidb_io.schema import V5_3 as v
assert (v.major, v.minor) == (5, 3), f"kcidb_io.schema.V5_3 is v{v.major}.{v.minor}"
doc = {"$schema": "http://json-schema.org/draft-07/schema#", **v.json}
with open(sys.argv[1], "w") as f:
    json.dump(doc, f, indent=2, sort_keys=True)
    f.write("\n")
PY
mv "$out.tmp" "$out"
echo "KCIDB v5.3 schema: $out"
