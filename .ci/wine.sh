#!/usr/bin/env bash
# The Windows build under Wine: the Windows test binaries of storage,
# credentials and refresh (and internal/cli's tests of Windows code paths),
# `tokenkeeper.exe demo`, the profile lock held by one
# Windows process and met by tokenkeeper.exe (exit 75 naming the holder), and a
# stampede of tokenkeeper.exe token processes that must send one request.
#
# Needs Debian's wine64 (Wine 8.0) and gcc-mingw-w64-x86-64-win32, installed
# here with apt-get when missing and allowed (root). Without them it says so
# and exits 0: .ci/run prints that the step was skipped.
#
# The Wine prefix and the shim DLL are kept under ~/.cache/tokenkeeper-wine, so
# that a warm run only builds and runs the programs.
set -euo pipefail
cd "$(dirname "$0")/.."

WINE=/usr/lib/wine/wine64
if [ ! -x "$WINE" ] || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      wine64 gcc-mingw-w64-x86-64-win32 >/dev/null || true
  fi
fi
if [ ! -x "$WINE" ] || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
  echo "SKIPPED: Wine ($WINE) or mingw-w64 not available; the Windows build was not run"
  exit 0
fi
WINESERVER=$(dirname "$WINE")/wineserver

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/tokenkeeper-wine
export WINEPREFIX=$CACHE/prefix WINEARCH=win64 WINEDEBUG=-all
mkdir -p "$CACHE"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  echo "creating the Wine prefix $WINEPREFIX (once)"
  # No Mono or Gecko: nothing here needs .NET or a browser engine.
  env -u DISPLAY WINEDLLOVERRIDES="mscoree,mshtml=" "$WINE" wineboot -i >/dev/null 2>&1 || true
  "$WINESERVER" -w
fi
# Go's Windows runtime needs ProcessPrng (bcryptprimitives.dll), which Wine
# 8.0 lacks: .ci/wine/bcryptprimitives.c supplies it.
shim=$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll
sum=$(cat .ci/wine/bcryptprimitives.c .ci/wine/bcryptprimitives.def | sha256sum | cut -c1-16)
if [ "$(cat "$CACHE/shim.sum" 2>/dev/null)" != "$sum" ] || [ ! -f "$shim" ]; then
  x86_64-w64-mingw32-gcc -shared -O2 -o "$CACHE/bcryptprimitives.dll" \
    .ci/wine/bcryptprimitives.c .ci/wine/bcryptprimitives.def -lbcrypt
  cp "$CACHE/bcryptprimitives.dll" "$shim"
  echo "$sum" >"$CACHE/shim.sum"
fi
"$WINE" --version
# One Wine server for the whole script: one that lingers after its last client
# and exits just as the next program starts ends that program with "wine
# client error: recvmsg: Connection reset by peer". The cleanup stops it.
"$WINESERVER" -p
# What tests under Wine could not remove (Wine lacks what os.RemoveAll uses):
# cleared here, from the Linux side.
rm -rf "$WINEPREFIX/drive_c/users/$(id -un)/Temp/"*

W=$(mktemp -d)
fe_pid=""
holder_pid=""
keeper_pid=""
services=()
# cleanup keeps the script's own exit status: what it stops and removes may
# fail (a service already gone, a file a Wine process still writes) without
# turning a passing run into a failed one, or a failing one into a pass.
cleanup() {
  local rc=$?
  set +e # a kill of a process already gone must not end the cleanup (set -e)
  for s in "${services[@]}"; do "$WINE" sc stop "$s" >/dev/null 2>&1; "$WINE" sc delete "$s" >/dev/null 2>&1; done
  [ -n "$keeper_pid" ] && kill "$keeper_pid" 2>/dev/null
  [ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null
  [ -n "$fe_pid" ] && kill "$fe_pid" 2>/dev/null
  "$WINESERVER" -k 2>/dev/null
  wait 2>/dev/null
  rm -rf "$W" 2>/dev/null
  exit "$rc"
}
trap cleanup EXIT
# winpath turns a Linux path into the one Windows programs see (drive Z: is /).
winpath() { printf 'Z:%s' "${1//\//\\}"; }

export GOOS=windows GOARCH=amd64 CGO_ENABLED=0
go build -o "$W/tokenkeeper.exe" .
for p in storage credentials refresh internal/cli; do go test -c -o "$W/${p##*/}.test.exe" "./$p"; done
unset GOOS GOARCH
go build -o "$W/fakeendpoint" ./bench/fakeendpoint
go build -o "$W/fleet" ./bench/fleet

fails=0
# wintests runs the Windows test binary of package $1 (further arguments go to
# it) and counts what passed and what skipped, with each skip's reason.
wintests() {
  local p=$1 out="$W/${1##*/}.out"
  shift
  echo "-- $p (Windows test binary)"
  # Tests read their testdata relative to the package directory.
  if (cd "$p" && "$WINE" "$W/${p##*/}.test.exe" -test.count=1 -test.v "$@" >"$out" 2>&1); then
    echo "ok: $(grep -c -- '^--- PASS' "$out" || true) passed, $(grep -c -- '^--- SKIP' "$out" || true) skipped, each saying why:"
    grep -h -B1 -- '--- SKIP' "$out" | grep -v -e '--- SKIP' -e '--- PASS' -e '=== RUN' -e '^--$' |
      sed 's/^ *[A-Za-z_]*\.go:[0-9]*: /   /' | sort | uniq -c | sort -rn
  else
    cat "$out"; fails=$((fails + 1))
  fi
}
for p in storage credentials refresh; do wintests "$p"; done
# internal/cli's tests of Windows code paths, and of what Windows output and
# children depend on (git's CRLF input, PowerShell quoting, the scheduler line,
# the child's environment, whose names Windows compares without case). Its
# other tests are not run here: most drive the binary, which they build with
# the go command (none in Wine), and under Wine t.TempDir's clean-up fails them
# too (os.RemoveAll: "Invalid function"); others run sh, or check Unix modes.
wintests internal/cli -test.run '^(TestLstatIDPinsTheFile|TestListenUnix|TestServiceControls|TestNotAService|TestReadGitCredential|TestPowerShellFormat|TestShellQuote|TestNextLine|TestChildEnvDropsSecretVariables|TestChildEnvDropsStorePassword|TestKubeconfigWindowsPaths)$'

echo "-- tokenkeeper.exe demo"
if ! (cd "$W" && "$WINE" "$W/tokenkeeper.exe" demo >"$W/demo.out" 2>&1); then
  cat "$W/demo.out"; fails=$((fails + 1))
elif ! grep -q 'schtasks /Create /SC MINUTE /MO 30' "$W/demo.out"; then
  echo "FAIL: the demo's closing advice is not the Task Scheduler's:"; tail -n 3 "$W/demo.out"; fails=$((fails + 1))
else
  tail -n 3 "$W/demo.out"
fi

"$W/fakeendpoint" -url-file "$W/url" >/dev/null &
fe_pid=$!
for _ in $(seq 1200); do [ -s "$W/url" ] && break; sleep 0.05; done
base=$(cat "$W/url")
profile() {
  mkdir -p "$1"
  cat >"$1/credentials.json" <<EOF
{"tokenURL": "$base/oauth2/v0/token", "grantType": "password", "appID": "bench-app-id",
 "clientSecret": "bench-client-secret", "companyUUID": "bench-company-uuid",
 "companyRequestToken": "bench-request-token", "credentialType": "authtoken"}
EOF
  chmod 600 "$1/credentials.json"
}

echo "-- the profile lock between two Windows processes"
# storage's test binary, switched into a lock holder, holds the profile's lock
# until its stdin closes; tokenkeeper.exe must wait, give up with exit 75 and
# name the holder, then succeed once the holder has gone.
profile "$W/locked"
mkfifo "$W/hold"
TOKENKEEPER_STORAGE_TEST_LOCK_CHILD=$(winpath "$W/locked/refreshTokenObjectFile.json.lock") \
  "$WINE" "$W/storage.test.exe" '-test.run=^$' <"$W/hold" >"$W/holder.out" 2>&1 &
holder_pid=$!
exec 9>"$W/hold"
for _ in $(seq 400); do grep -q locked "$W/holder.out" 2>/dev/null && break; sleep 0.05; done
set +e
"$WINE" "$W/tokenkeeper.exe" --dir "$(winpath "$W/locked")" token --lock-timeout 300ms >/dev/null 2>"$W/busy.err"
code=$?
set -e
if [ "$code" != 75 ] || ! grep -q 'storage-test-child' "$W/busy.err"; then
  echo "FAIL: token while another process held the lock: exit $code, want 75 naming the holder:"; cat "$W/busy.err"
  fails=$((fails + 1))
else
  echo "ok: exit 75: $(grep -m1 'lock busy' "$W/busy.err")"
fi
exec 9>&-
wait "$holder_pid" || { echo "FAIL: the lock holder:"; cat "$W/holder.out"; fails=$((fails + 1)); }
holder_pid=""
if ! "$WINE" "$W/tokenkeeper.exe" --dir "$(winpath "$W/locked")" token >/dev/null 2>"$W/after.err"; then
  echo "FAIL: token after the holder left:"; cat "$W/after.err"; fails=$((fails + 1))
fi

echo "-- exec passes the child's exit code; serve --socket where Wine has no unix sockets"
set +e
"$WINE" "$W/tokenkeeper.exe" --dir "$(winpath "$W/locked")" exec -- cmd /c 'if defined TOKENKEEPER_ACCESS_TOKEN exit 3' >/dev/null 2>"$W/exec.err"
code=$?
timeout 30 "$WINE" "$W/tokenkeeper.exe" --dir "$(winpath "$W/locked")" serve --socket "$(winpath "$W/sockets/t.sock")" >/dev/null 2>"$W/serve.err"
scode=$?
set -e
if [ "$code" != 3 ]; then
  echo "FAIL: exec -- cmd /c exit 3 (with the token in its environment): exit $code, want 3"; cat "$W/exec.err"; fails=$((fails + 1))
else
  echo "ok: exec exit 3"
fi
# Wine 8 has no AF_UNIX (socket() fails with WSAEAFNOSUPPORT), as Windows
# before 10 version 1803: serve must say so, exit 2 and make no directory.
# Serving on a socket is tested by internal/cli's TestListenUnix, which skips
# here saying so, and runs on a Windows (or a Wine) that has unix sockets.
if [ "$scode" = 2 ] && grep -q 'has no unix sockets' "$W/serve.err" && [ ! -e "$W/sockets" ]; then
  echo "SKIPPED: serving on a unix socket: Wine has none; exit 2: $(head -n 1 "$W/serve.err")"
else
  echo "FAIL: serve --socket: exit $scode, want 2 saying this Windows has no unix sockets, and no directory made"; cat "$W/serve.err"; fails=$((fails + 1))
fi

echo "-- git-credential: a request with CRLF line ends (Git for Windows), and the helper line for PowerShell"
host=${base#http://}
printf 'protocol=https\r\nhost=%s\r\n\r\n' "$host" |
  "$WINE" "$W/tokenkeeper.exe" --dir "$(winpath "$W/locked")" git-credential get >"$W/git.out" 2>"$W/git.err" || true
set +e
"$WINE" "$W/tokenkeeper.exe" --dir "$(winpath "$W/locked")" git-credential >/dev/null 2>"$W/githint.err"
code=$?
set -e
# PowerShell's quotes around the value, sh's (doubled for PowerShell) around the path.
want="helper '!tokenkeeper --dir ''$(winpath "$W/locked")'' git-credential'"
if ! grep -q '^password=.' "$W/git.out" || ! grep -q '^password_expiry_utc=' "$W/git.out"; then
  echo "FAIL: git-credential get with CRLF lines answered no password:"; cat "$W/git.out" "$W/git.err"; fails=$((fails + 1))
elif [ "$code" != 2 ] || ! tr -d '\r' <"$W/githint.err" | grep -qF -- "$want"; then
  echo "FAIL: git-credential without an action: exit $code, want 2 and a hint with $want:"; cat "$W/githint.err"; fails=$((fails + 1))
else
  echo "ok: git-credential get answered a CRLF request; the hint: $(tr -d '\r' <"$W/githint.err" | grep -o 'git config.*')"
fi

echo "-- status reports a credentials file others can read, by its access list"
# Wine shows a file's Unix mode as its DACL: 0644 grants Everyone reading. The
# token file tokenkeeper.exe wrote (a DACL of the user only) is not reported.
# Likewise a directory of mode 0777 lets Everyone put files in it.
chmod 644 "$W/locked/credentials.json"
chmod 777 "$W/locked"
"$WINE" "$W/tokenkeeper.exe" --dir "$(winpath "$W/locked")" status >"$W/status.out" 2>&1 || true
chmod 600 "$W/locked/credentials.json"
chmod 755 "$W/locked"
"$WINE" "$W/tokenkeeper.exe" --dir "$(winpath "$W/locked")" status >"$W/status600.out" 2>&1 || true
if ! grep -q 'credentials.json is readable by Everyone' "$W/status.out" || ! grep -q 'locked is writable by Everyone' "$W/status.out" ||
  grep -q 'readable by\|writable by' "$W/status600.out"; then
  echo "FAIL: status, credentials 0644 in a 0777 directory, then 0600 in 0755:"; cat "$W/status.out" "$W/status600.out"; fails=$((fails + 1))
else
  grep 'readable by\|writable by' "$W/status.out" | sed 's/^ */ok: /'
fi

echo "-- a token file of another user is refused (exit 78), not read"
# Wine shows a file of another Unix uid as owned by another SID (ANONYMOUS).
profile "$W/theirs"
"$WINE" "$W/tokenkeeper.exe" --dir "$(winpath "$W/theirs")" token >/dev/null 2>&1 || true
chown 65534:65534 "$W/theirs/refreshTokenObjectFile.json"
set +e
"$WINE" "$W/tokenkeeper.exe" --dir "$(winpath "$W/theirs")" token >/dev/null 2>"$W/theirs.err"
code=$?
set -e
if [ "$code" != 78 ] || ! grep -q 'belongs to another user' "$W/theirs.err"; then
  echo "FAIL: token with a token file of another owner: exit $code, want 78:"; cat "$W/theirs.err"; fails=$((fails + 1))
else
  echo "ok: exit 78: $(grep -m1 'belongs to' "$W/theirs.err")"
fi

echo "-- Ctrl-C stops serve as SIGINT does"
# Wine delivers a SIGINT to a Windows program as the console's Ctrl-C event,
# which Go turns into os.Interrupt: serve must finish, remove its secret file
# and exit 0.
"$WINE" "$W/tokenkeeper.exe" --dir "$(winpath "$W/locked")" serve --listen 127.0.0.1:0 \
  --secret-file "$(winpath "$W/ctrlc.secret")" >/dev/null 2>"$W/ctrlc.err" &
ctrlc_pid=$!
# Until serve says it serves (its signal handling is in by then): a loaded
# machine can take Wine more than ten seconds to start it, and a Ctrl-C
# before that stops a program that has not begun.
for _ in $(seq 1200); do grep -q 'serving access tokens' "$W/ctrlc.err" 2>/dev/null && break; sleep 0.05; done
# The wine loader becomes the Windows process (the same pid).
kill -INT "$ctrlc_pid"
set +e
wait "$ctrlc_pid"
code=$?
set -e
if [ "$code" != 0 ] || [ -e "$W/ctrlc.secret" ] || ! grep -q 'stopped serving' "$W/ctrlc.err"; then
  echo "FAIL: serve after Ctrl-C: exit $code, want 0, the secret file removed and 'stopped serving':"; cat "$W/ctrlc.err"; fails=$((fails + 1))
else
  echo "ok: exit 0 after Ctrl-C: $(grep -m1 'stopped serving' "$W/ctrlc.err")"
fi

echo "-- watch and serve as Windows services: stop, a failure's exit code, paramchange"
# The service manager stops the services when the last program of the Wine
# session ends: a waiting cmd keeps the session open.
mkfifo "$W/keep"
"$WINE" cmd /c 'set /p x=' <"$W/keep" >/dev/null 2>&1 &
keeper_pid=$!
exec 8>"$W/keep"
svcname() { printf 'tokenkeeper-test-%s-%s' "$1" "$$"; }
svcstate() { "$WINE" sc query "$1" 2>/dev/null | tr -d '\r' | awk -v k="$2" '$1 == k { print $3 }'; }
# serve as a service: sc stop must end it as SIGTERM does (the secret file
# removed, the service stopped with exit code 0).
s=$(svcname serve)
services+=("$s")
"$WINE" sc create "$s" binPath= "$(winpath "$W/tokenkeeper.exe") --dir $(winpath "$W/locked") serve --listen 127.0.0.1:0 --secret-file $(winpath "$W/svc.secret")" >/dev/null
"$WINE" sc start "$s" >/dev/null || true
for _ in $(seq 1200); do [ -s "$W/svc.secret" ] && break; sleep 0.05; done
started=$([ -s "$W/svc.secret" ] && echo yes || echo no)
"$WINE" sc stop "$s" >/dev/null || true
for _ in $(seq 1200); do [ "$(svcstate "$s" STATE)" = 1 ] && break; sleep 0.05; done
if [ "$started" != yes ] || [ -e "$W/svc.secret" ] || [ "$(svcstate "$s" STATE)" != 1 ] || [ "$(svcstate "$s" WIN32_EXIT_CODE)" != 0 ]; then
  echo "FAIL: serve as a service: started $started; after sc stop:"; "$WINE" sc query "$s"; ls "$W"; fails=$((fails + 1))
else
  echo "ok: serve as a service: running, then stopped by sc stop with exit code 0, its secret file removed"
fi
# A service that fails at start (no such profile) reports tokenkeeper's exit
# code as its own (78), not the service manager's timeout.
s=$(svcname missing)
services+=("$s")
"$WINE" sc create "$s" binPath= "$(winpath "$W/tokenkeeper.exe") --dir $(winpath "$W/nothere") serve --listen 127.0.0.1:0" >/dev/null
"$WINE" sc start "$s" >/dev/null 2>&1 || true
for _ in $(seq 1200); do [ "$(svcstate "$s" STATE)" = 1 ] && break; sleep 0.05; done
if [ "$(svcstate "$s" SERVICE_EXIT_CODE)" != 78 ]; then
  echo "FAIL: serve of a missing profile as a service: want the service's exit code 78:"; "$WINE" sc query "$s"; fails=$((fails + 1))
else
  echo "ok: a service that failed at start: service exit code 78"
fi
# watch --all as a service: a ParamChange reads the list of profiles again
# (what SIGHUP does on Unix); its metrics show the profile added.
mkdir -p "$W/fleet-config" "$W/fleet-state"
profile "$W/fleet-config/one"
port=""
for _ in $(seq 50); do
  p=$((20000 + RANDOM % 20000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
s=$(svcname watch)
services+=("$s")
"$WINE" sc create "$s" binPath= "$(winpath "$W/tokenkeeper.exe") --config-dir $(winpath "$W/fleet-config") --state-dir $(winpath "$W/fleet-state") watch --all --metrics 127.0.0.1:$port" >/dev/null
"$WINE" sc start "$s" >/dev/null || true
metrics() { curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null || true; }
for _ in $(seq 1200); do metrics | grep -q 'profile="one"' && break; sleep 0.05; done
profile "$W/fleet-config/two"
TOKENKEEPER_TEST_SERVICE_CONTROL=$s "$WINE" "$W/cli.test.exe" >"$W/control.out" 2>&1 || cat "$W/control.out"
for _ in $(seq 1200); do metrics | grep -q 'profile="two"' && break; sleep 0.05; done
if ! metrics | grep -q 'profile="two"'; then
  echo "FAIL: watch --all as a service: the profile added is not watched after a ParamChange; metrics:"; metrics | grep grant_state; fails=$((fails + 1))
else
  echo "ok: watch --all as a service: a ParamChange added the new profile"
fi
"$WINE" sc stop "$s" >/dev/null || true
for _ in $(seq 1200); do [ "$(svcstate "$s" STATE)" = 1 ] && break; sleep 0.05; done
if [ "$(svcstate "$s" STATE)" != 1 ] || [ "$(svcstate "$s" WIN32_EXIT_CODE)" != 0 ]; then
  echo "FAIL: watch as a service after sc stop:"; "$WINE" sc query "$s"; fails=$((fails + 1))
else
  echo "ok: watch as a service: stopped by sc stop with exit code 0"
fi
# The prefix is kept between runs: the services go with the run.
for s in "${services[@]}"; do "$WINE" sc delete "$s" >/dev/null 2>&1 || true; done
services=()
exec 8>&-

echo "-- a stampede of tokenkeeper.exe token on one new profile"
profile "$W/stampede"
before=$("$W/fleet" counts -url "$base")
n=8
pids=()
for i in $(seq "$n"); do
  "$WINE" "$W/tokenkeeper.exe" --dir "$(winpath "$W/stampede")" token >"$W/tok.$i" 2>"$W/tok.$i.err" &
  pids+=($!)
done
for i in $(seq "$n"); do
  wait "${pids[$((i - 1))]}" || { echo "FAIL: token #$i:"; cat "$W/tok.$i.err"; fails=$((fails + 1)); }
done
requests=$(($("$W/fleet" counts -url "$base") - before))
distinct=$(cat "$W"/tok.? | sort -u | wc -l)
if [ "$requests" != 1 ] || [ "$distinct" != 1 ]; then
  echo "FAIL: $n concurrent token processes sent $requests requests and printed $distinct distinct tokens; want 1 and 1"
  fails=$((fails + 1))
else
  echo "ok: $n processes, 1 request, 1 token"
fi

"$WINESERVER" -k 2>/dev/null || true
if [ "$fails" != 0 ]; then
  echo "$fails Windows check(s) failed under Wine"
  exit 1
fi
echo "all Windows checks passed under Wine"
