#!/usr/bin/env bash
# `tokenkeeper.exe token` on a valid cached token under Wine, against a Windows
# floor program (bench/floor built for Windows: reads the file, parses the JSON,
# prints one field; and bench/httpfloor, the same with an HTTPS client linked in,
# whose DLLs Wine loads at start-up too), run by run in turn (bench/interleave), so that the ratio
# says what the Windows build adds to its start-up, Wine's own cost being the
# same for both (docs/contract.md §6).
#
# Needs the Wine prefix that .ci/wine.sh makes (run it once first).
# Usage: bash bench/wine.sh [RUNS]     (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-200}
WINE=/usr/lib/wine/wine64
WINESERVER=$(dirname "$WINE")/wineserver
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/tokenkeeper-wine
export WINEPREFIX=$CACHE/prefix WINEARCH=win64 WINEDEBUG=-all
if [ ! -x "$WINE" ] || [ ! -f "$WINEPREFIX/system.reg" ]; then
  echo "bench/wine.sh: no Wine prefix at $WINEPREFIX; run bash .ci/wine.sh first" >&2
  exit 1
fi
export CGO_ENABLED=0

W=$(mktemp -d)
fe_pid=""
cleanup() {
  local rc=$?
  set +e # a kill of a process already gone must not end the cleanup (set -e)
  [ -n "$fe_pid" ] && kill "$fe_pid" 2>/dev/null
  "$WINESERVER" -k 2>/dev/null || true
  rm -rf "$W"
  exit "$rc"
}
trap cleanup EXIT

go build -trimpath -o "$W/interleave" ./bench/interleave
go build -trimpath -o "$W/fakeendpoint" ./bench/fakeendpoint
GOOS=windows GOARCH=amd64 go build -trimpath -o "$W/tokenkeeper.exe" .
GOOS=windows GOARCH=amd64 go build -trimpath -o "$W/floor.exe" ./bench/floor
GOOS=windows GOARCH=amd64 go build -trimpath -o "$W/httpfloor.exe" ./bench/httpfloor

"$W/fakeendpoint" -url-file "$W/url" >/dev/null &
fe_pid=$!
for _ in $(seq 100); do [ -s "$W/url" ] && break; sleep 0.05; done
token_url=$(cat "$W/url")/oauth2/v0/token

# One profile in a directory of its own (the tutorial's layout), bootstrapped
# by the Windows build itself; Wine shows the Unix directory as drive Z:.
D=$W/one
mkdir -p "$D"
cat >"$D/credentials.json" <<EOF
{"tokenURL": "$token_url", "grantType": "password", "appID": "bench-app-id",
 "clientSecret": "bench-client-secret", "companyUUID": "bench-company-uuid",
 "companyRequestToken": "bench-request-token", "credentialType": "authtoken"}
EOF
chmod 600 "$D/credentials.json"
winpath() { echo "Z:${1//\//\\}"; }
"$WINESERVER" -p # one server for every run, as on Windows there is no such start-up
"$WINE" "$W/tokenkeeper.exe" --dir "$(winpath "$D")" refresh --quiet
file=$(winpath "$D/refreshTokenObjectFile.json")
[ "$("$WINE" "$W/floor.exe" "$file" | tr -d '\r')" = "$("$WINE" "$W/tokenkeeper.exe" --dir "$(winpath "$D")" token | tr -d '\r')" ] ||
  { echo "bench/wine.sh: floor.exe and tokenkeeper.exe do not print the same token" >&2; exit 1; }

"$W/interleave" -warmup 10 -runs "$runs" -json "$W/wine.json" \
  "floor.exe=$WINE $W/floor.exe $file" \
  "httpfloor.exe=$WINE $W/httpfloor.exe $file" \
  "tokenkeeper.exe=$WINE $W/tokenkeeper.exe --dir $(winpath "$D") token"

med() { python3 -c "import json,sys; r={x['command']:x for x in json.load(open(sys.argv[1]))['results']}; print(r[sys.argv[2]]['median'])" "$W/wine.json" "$1"; }
f=$(med floor.exe)
h=$(med httpfloor.exe)
t=$(med tokenkeeper.exe)
echo "## tokenkeeper.exe token under Wine ($runs runs each, interleaved)"
echo
echo "- $("$WINE" --version), $(go version | cut -d' ' -f3), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v f="$f" -v h="$h" -v t="$t" 'BEGIN { printf "- floor.exe %.2f ms, httpfloor.exe %.2f ms (%.2f×), tokenkeeper.exe %.2f ms: %.2f× the floor, %.2f× httpfloor\n", f * 1000, h * 1000, h / f, t * 1000, t / f, t / h }'
