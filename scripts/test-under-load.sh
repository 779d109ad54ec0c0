#!/usr/bin/env bash
# npm test N times in a row (default 5) in a fresh clone of this repository's
# HEAD, each beside two CPU-burning processes: the suite must not depend on an
# idle machine. Prints one line per run (exit code, seconds, the test count).
#   scripts/test-under-load.sh [RUNS]
set -uo pipefail
runs=${1:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/mewld-loaded.XXXX)
git clone -q "$repo" "$dir/main"
[ -d "$repo/../shared" ] && cp -r "$repo/../shared" "$dir/"
cd "$dir/main" && npm ci --no-audit --no-fund >"$dir/npm-ci.log" 2>&1
echo "$(git log --oneline -1), in $dir"
for i in $(seq "$runs"); do
  node -e 'for (;;) {}' & burner1=$!
  node -e 'for (;;) {}' & burner2=$!
  start=$(date +%s)
  npm test >"$dir/run$i.log" 2>&1
  code=$?
  kill "$burner1" "$burner2"
  tests=$(sed 's/\x1b\[[0-9;]*m//g' "$dir/run$i.log" | grep -E '^ +Tests ' | tr -s ' ')
  echo "run $i: exit $code, $(($(date +%s) - start)) s,$tests"
done
