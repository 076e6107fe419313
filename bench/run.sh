#!/usr/bin/env bash
# tokenkeeper's performance figures (docs/contract.md §6). Each comparison is a ratio taken
# in one run, on one machine, against a yardstick built here:
#
#   1. `tokenkeeper token` on a valid cached token vs bench/floor (reads the file,
#      parses the JSON, prints one field), vs bench/httpfloor (the same with an
#      HTTPS client linked in, never called) and vs `jq -r .access_token FILE`
#   2. 50 concurrent `tokenkeeper token` on an expired token: requests that reach
#      the token endpoint (bench/fakeendpoint, another process), and wall time
#      vs one call
#   3. `refresh --all --force` over 1,000 and 10,000 profiles vs a floor that
#      only does the atomic writes (bench/fleet writefloor), and peak RSS
#   4. the in-process check path: go test -bench in refresh/
#   5. which package inits cost most at start-up (GODEBUG=inittrace=1)
#
# Usage: bash bench/run.sh [--quick]     --quick: 1,000 profiles only, fewer runs
# bench/interleave times section 1 run by run in turn, so that a busy machine
# weighs on both programs alike.
# Needs Go, hyperfine, jq and GNU time (Debian: apt-get install -y hyperfine jq time).
# BENCH_DIR sets where the files go (default $TMPDIR): fsync costs depend on the
# file system, which is printed. CGO_ENABLED=0 (the default here) is how release
# binaries are built; a cgo build is measured alongside when a C compiler exists.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1
for tool in go hyperfine jq; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed (Debian: apt-get install -y hyperfine jq time)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench: GNU time is needed at /usr/bin/time (Debian: apt-get install -y time)" >&2; exit 1; }

W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/tokenkeeper-bench.XXXXXX")
fe_pid=""
cleanup() {
  [ -n "$fe_pid" ] && kill "$fe_pid" 2>/dev/null || true
  [ "${BENCH_KEEP:-0}" = 1 ] && echo "bench: files kept in $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT

runs=300 stampedes=20 reps=3 sizes="1000 10000"
[ "$quick" = 1 ] && runs=100 stampedes=5 reps=1 sizes="1000"
nproc_=$(nproc)
conc=${CONCURRENCY:-$(( nproc_ * 4 > 8 ? nproc_ * 4 : 8 ))} # tokenkeeper's default

export CGO_ENABLED=${CGO_ENABLED:-0}
B=$W/bin
go build -trimpath -o "$B/tokenkeeper" .
cgo=""
if CGO_ENABLED=1 go build -trimpath -o "$B/tokenkeeper-cgo" . 2>/dev/null && file "$B/tokenkeeper-cgo" 2>/dev/null | grep -q dynamic; then
  cgo=1
fi
go build -trimpath -o "$B/floor" ./bench/floor
go build -trimpath -o "$B/httpfloor" ./bench/httpfloor
go build -trimpath -o "$B/fakeendpoint" ./bench/fakeendpoint
go build -trimpath -o "$B/fleet" ./bench/fleet
go build -trimpath -o "$B/interleave" ./bench/interleave
TK=$B/tokenkeeper

"$B/fakeendpoint" -url-file "$W/url" >/dev/null &
fe_pid=$!
for _ in $(seq 100); do [ -s "$W/url" ] && break; sleep 0.05; done
base=$(cat "$W/url")
token_url=$base/oauth2/v0/token
counts() { "$B/fleet" counts -url "$base"; }

# one profile in DIR (the tutorial's layout), bootstrapped
profile() {
  mkdir -p "$1"
  cat >"$1/credentials.json" <<EOF
{"tokenURL": "$token_url", "grantType": "password", "appID": "bench-app-id",
 "clientSecret": "bench-client-secret", "companyUUID": "bench-company-uuid",
 "companyRequestToken": "bench-request-token", "credentialType": "authtoken"}
EOF
  chmod 600 "$1/credentials.json"
  "$TK" --dir "$1" refresh --quiet
}
hmedian() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .median' "$1"; }
hmin() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .min' "$1"; }
hmax() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .max' "$1"; }
ms() { awk -v s="$1" 'BEGIN { printf "%.2f", s * 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "# tokenkeeper benchmarks"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "- machine: $nproc_ CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "- $(go version), CGO_ENABLED=$CGO_ENABLED"
echo "- files in $W: $(stat -f -c %T "$W") file system"
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. token on a valid cached token ------------------------------------------
D=$W/one
profile "$D"
file=$D/refreshTokenObjectFile.json
cmds=("floor=$B/floor $file" "httpfloor=$B/httpfloor $file" "tokenkeeper=$TK --dir $D token")
[ -n "$cgo" ] && cmds+=("tokenkeeper-cgo=$B/tokenkeeper-cgo --dir $D token")
# In turn, run by run (bench/interleave), so that the machine's load weighs on
# each program alike: the ratio is what matters.
"$B/interleave" -warmup 30 -runs "$runs" -json "$W/token.json" "${cmds[@]}"
hyperfine -N --style none --warmup 5 --runs $((runs / 5)) --export-json "$W/jq.json" \
  -n jq "jq -r .access_token $file" >/dev/null 2>&1
f=$(hmedian "$W/token.json" floor)
echo
echo "## 1. tokenkeeper token, valid cached token ($runs runs each, interleaved; jq: hyperfine)"
echo
fmin=$(hmin "$W/token.json" floor)
echo "| program | median | min–max | median vs floor | min vs floor |"
echo "| --- | --- | --- | --- | --- |"
for n in floor httpfloor tokenkeeper ${cgo:+tokenkeeper-cgo}; do
  echo "| $n | $(ms "$(hmedian "$W/token.json" $n)") ms | $(ms "$(hmin "$W/token.json" $n)")–$(ms "$(hmax "$W/token.json" $n)") ms | $(ratio "$(hmedian "$W/token.json" $n)" "$f")× | $(ratio "$(hmin "$W/token.json" $n)" "$fmin")× |"
done
echo "| jq -r .access_token | $(ms "$(hmedian "$W/jq.json" jq)") ms | $(ms "$(hmin "$W/jq.json" jq)")–$(ms "$(hmax "$W/jq.json" jq)") ms | $(ratio "$(hmedian "$W/jq.json" jq)" "$f")× | $(ratio "$(hmin "$W/jq.json" jq)" "$fmin")× |"

# 2. stampede on an expired token -------------------------------------------
S=$W/stampede
profile "$S"
jq '.expires_at = "2000-01-01T00:00:00Z"' "$S/refreshTokenObjectFile.json" >"$W/expired.json"
cp "$S/refreshTokenObjectFile.json" "$W/valid.json"
cat >"$W/stampede.sh" <<EOF
# 50 concurrent token calls; all must print the same, non-empty token
rm -f "$W"/out.*
for i in \$(seq 50); do "$TK" --dir "$S" token >"$W/out.\$i" & done
wait
[ "\$(cat "$W"/out.* | sort -u | grep -c .)" = 1 ]
EOF
before=$(counts)
hyperfine -N --style none --runs "$stampedes" --prepare "cp $W/expired.json $S/refreshTokenObjectFile.json" \
  --export-json "$W/stampede.json" -n stampede "bash $W/stampede.sh" -n single "$TK --dir $S token" >/dev/null 2>&1
requests=$(( $(counts) - before ))
hyperfine -N --style none --runs "$stampedes" --prepare "cp $W/valid.json $S/refreshTokenObjectFile.json" \
  --export-json "$W/stampede-valid.json" -n valid "bash $W/stampede.sh" >/dev/null 2>&1
echo
echo "## 2. 50 concurrent tokenkeeper token on an expired token ($stampedes stampedes, $stampedes single calls)"
echo
echo "- token requests that reached the endpoint: $requests for $((stampedes * 2)) expired-token runs ($stampedes stampedes of 50 + $stampedes single calls): $(ratio "$requests" $((stampedes * 2))) per run"
echo "- one call on an expired token: median $(ms "$(hmedian "$W/stampede.json" single)") ms"
echo "- 50 concurrent calls on an expired token: median $(ms "$(hmedian "$W/stampede.json" stampede)") ms ($(ratio "$(hmedian "$W/stampede.json" stampede)" "$(hmedian "$W/stampede.json" single)")× one call)"
echo "- 50 concurrent calls on a valid token (process start-up alone): median $(ms "$(hmedian "$W/stampede-valid.json" valid)") ms"

# 3. refresh --all ------------------------------------------------------------
echo
echo "## 3. refresh --all --force over many profiles (concurrency $conc, median of $reps)"
echo
echo "| profiles | tokenkeeper | floor (atomic writes only) | ratio | all valid (no writes) | peak RSS |"
echo "| --- | --- | --- | --- | --- | --- |"
for n in $sizes; do
  R=$W/fleet$n
  "$B/fleet" make -root "$R" -n "$n" -url "$token_url"
  all=("$TK" --config-dir "$R/config" --state-dir "$R/state" refresh --all --quiet --concurrency "$conc")
  "${all[@]}" # bootstrap every profile; not measured
  "$B/fleet" writefloor -root "$R" -n "$n" -concurrency "$conc" >/dev/null # create the floor's directories
  : >"$W/tk.$n" ; : >"$W/floor.$n" ; : >"$W/valid.$n" ; : >"$W/rss.$n"
  for _ in $(seq "$reps"); do
    /usr/bin/time -o "$W/t" -f "%e %M" "${all[@]}" --force
    read -r secs rss <"$W/t"
    awk -v n="$n" -v s="$secs" 'BEGIN { print n / s }' >>"$W/tk.$n"; echo "$rss" >>"$W/rss.$n"
    /usr/bin/time -o "$W/t" -f "%e %M" "$B/fleet" writefloor -root "$R" -n "$n" -concurrency "$conc" >/dev/null
    read -r secs _ <"$W/t"
    awk -v n="$n" -v s="$secs" 'BEGIN { print n / s }' >>"$W/floor.$n"
    /usr/bin/time -o "$W/t" -f "%e %M" "${all[@]}"
    read -r secs rss <"$W/t"
    awk -v n="$n" -v s="$secs" 'BEGIN { print n / s }' >>"$W/valid.$n"; echo "$rss" >>"$W/rss.$n"
  done
  tk=$(median <"$W/tk.$n") fl=$(median <"$W/floor.$n") va=$(median <"$W/valid.$n")
  printf '| %s | %.0f profiles/s (%s–%s) | %.0f files/s | %s× | %.0f profiles/s | %s MB (max of runs) |\n' "$n" "$tk" \
    "$(sort -g "$W/tk.$n" | sed -n 1p | xargs printf %.0f)" "$(sort -g "$W/tk.$n" | tail -1 | xargs printf %.0f)" \
    "$fl" "$(ratio "$fl" "$tk")" "$va" "$(sort -g "$W/rss.$n" | tail -1 | awk '{ printf "%.1f", $1 / 1024 }')"
  rm -rf "$R"
done
echo
echo "requests at the endpoint in all: $(counts)"

# 4. the in-process check path ----------------------------------------------
echo
echo "## 4. in-process check path (go test -bench, refresh/, median of 5)"
echo
go test -run '^$' -bench . -benchtime 20000x -count 5 ./refresh/ 2>/dev/null >"$W/gobench.txt"
for name in $(awk '/^Benchmark/ { sub(/-[0-9]+$/, "", $1); print $1 }' "$W/gobench.txt" | sort -u); do
  ns=$(awk -v n="$name" '{ b = $1; sub(/-[0-9]+$/, "", b) } b == n { print $3 }' "$W/gobench.txt" | median)
  allocs=$(awk -v n="$name" '{ b = $1; sub(/-[0-9]+$/, "", b) } b == n { print $7 }' "$W/gobench.txt" | median)
  echo "- $name: $ns ns/op, $allocs allocs/op"
done

# 5. start-up: package inits -------------------------------------------------
echo
echo "## 5. package inits of tokenkeeper token (GODEBUG=inittrace=1, mean of 50 runs, top 8)"
echo
for _ in $(seq 50); do GODEBUG=inittrace=1 "$TK" --dir "$D" token 2>&1 >/dev/null; done | awk '
  /^init / { t[$2] += $5; n[$2]++; total += $5 } END {
    for (p in t) printf "%.4f %s\n", t[p] / n[p], p; printf "%.4f ALL\n", total / 50 }' | sort -g -r | sed -n 1,9p |
  awk '{ if ($2 == "ALL") printf "- all inits together: %.3f ms\n", $1; else printf "- %s: %.3f ms\n", $2, $1 }'

# 6. the etcd store (docs/contract.md §8) ------------------------------------
echo
echo "## 6. --store etcd://… (Debian's etcd-server, one member on loopback)"
echo
if ! command -v etcd >/dev/null; then
  echo "- skipped: etcd not found (apt-get install -y etcd-server)"
  exit 0
fi
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cp_=$(port) pp_=$(port)
etcd --data-dir "$W/etcd" --listen-client-urls "http://127.0.0.1:$cp_" --advertise-client-urls "http://127.0.0.1:$cp_" \
  --listen-peer-urls "http://127.0.0.1:$pp_" --initial-advertise-peer-urls "http://127.0.0.1:$pp_" \
  --initial-cluster "default=http://127.0.0.1:$pp_" >"$W/etcd.log" 2>&1 &
etcd_pid=$!
trap 'kill $etcd_pid 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$cp_/health" >/dev/null 2>&1 && break; sleep 0.1; done
E=$W/store
mkdir -p "$E" && cp "$D/credentials.json" "$E/" && cp "$D/refreshTokenObjectFile.json" "$E/"
store="etcd://127.0.0.1:$cp_/bench"
"$TK" --dir "$E" --store "$store" store push >/dev/null 2>&1
"$TK" --dir "$E" --store "$store" token >/dev/null # the host's read copy
# k8s: the Kubernetes store on the same read copy (its own file name): a
# valid token needs no API server, and none runs here.
cp "$E/store-copy.json" "$E/store-copy.k8s.bench.tokenkeeper.json"
"$B/interleave" -warmup 30 -runs "$runs" -json "$W/store.json" \
  "file=$TK --dir $D token" "store=$TK --dir $E --store $store token" "k8s=$TK --dir $E --store k8s://bench token"
echo "| program | median | min–max | median vs file store |"
echo "| --- | --- | --- | --- |"
fs_=$(hmedian "$W/store.json" file)
for n in file store k8s; do
  echo "| tokenkeeper token ($n) | $(ms "$(hmedian "$W/store.json" $n)") ms | $(ms "$(hmin "$W/store.json" $n)")–$(ms "$(hmax "$W/store.json" $n)") ms | $(ratio "$(hmedian "$W/store.json" $n)" "$fs_")× |"
done
echo
go test -run '^$' -bench 'RenewalRoundTrips|ReadCopy' -benchtime 200x ./storage/etcd/ 2>/dev/null | awk '/^Benchmark/ { sub(/-[0-9]+$/, "", $1); printf "- %s: %s ns/op%s\n", $1, $3, ($5 != "" ? ", " $5 " " $6 : "") }'
