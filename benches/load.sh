#!/usr/bin/env bash
# Load benchmark of a release build of Gatehouse, printed as a Markdown table.
#
#   benches/load.sh                 # wrk -t2 -c32 -d10s per endpoint
#   DURATION=30s CONNECTIONS=64 benches/load.sh
#
# What it does:
#  1. installs wrk with apt when missing (as root), builds `gatehouse`, the
#     load client and the bare axum baseline with --release;
#  2. starts `gatehouse serve` in a temporary directory (SQLite file, memory
#     store, a free loopback port, log level warn) after seeding it with the
#     CLI: users, a client_credentials client, a first-party confidential
#     code-flow client with refresh_token, an opaque-token client; and a
#     helper instance (same issuer and database, another port) for the
#     sign-ins that only fetch tokens;
#  3. gets tokens with curl (client_credentials; a user's access and refresh
#     tokens by walking the hosted login with a cookie jar) and checks them;
#  4. measures RSS right after start-up (the helper, before it serves) and
#     idle after the checks (the measured server), then per endpoint: requests/s, p50/p99 latency
#     (wrk --latency, via benches/wrk/*.lua), the server's CPU time per
#     request (utime+stime from /proc/<pid>/stat: wrk shares the cores, so
#     wall time says little) and its peak RSS during the run (VmHWM, reset
#     before each run through /proc/<pid>/clear_refs); then discovery and
#     JWKS again, in runs alternating with the bare handler (step 6);
#  5. refresh-token rotation and the complete code flow need the previous
#     answer for the next request: benches/load_client.rs drives them;
#  6. runs the bare axum baseline (benches/bare_axum/) on the discovery and
#     JWKS bytes Gatehouse served, with the same wrk settings; then the same
#     inside Gatehouse's router layers, to split the difference; the
#     client_credentials floor: a bare handler that checks the Basic
#     credentials and signs one fresh ES256 token, the least any provider
#     issuing ES256 JWTs can spend per token request here; and the code-flow
#     floor: the load client's five requests answered from fixed bytes but
#     for one argon2 verification (Gatehouse's hasher, default cost) and two
#     ES256 signatures, split like Gatehouse's code flow.
#
# Settings (environment): BUILD_FLAGS (unset; more `cargo build` options for
# the measured server, e.g. `--no-default-features` for glibc's malloc),
# DURATION (10s; whole seconds), THREADS (2), CONNECTIONS (32),
# FLOW_CONCURRENCY (concurrent code flows and refresh chains; CONNECTIONS),
# PAIRS (3; alternating runs of discovery and JWKS against the bare handler),
# PROFILE_DIR (unset; when set, `perf record` samples the server during each
# run and a flat profile per run lands there — the sampling perturbs the
# figures, so keep profiled and measured runs apart).
set -euo pipefail

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
FLOW_CONCURRENCY=${FLOW_CONCURRENCY:-$CONNECTIONS}
PAIRS=${PAIRS:-3}
PROFILE_DIR=${PROFILE_DIR:-}
BUILD_FLAGS=${BUILD_FLAGS:-}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export WRK_LUA_DIR="$ROOT/benches/wrk"
CLK_TCK=$(getconf CLK_TCK)

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# --- 1. tools and build -----------------------------------------------------
if [ -n "$PROFILE_DIR" ]; then
  command -v perf >/dev/null || die "PROFILE_DIR needs perf (apt-get install linux-perf)"
  PROFILE_DIR=$(mkdir -p "$PROFILE_DIR" && cd "$PROFILE_DIR" && pwd)
fi
if ! command -v wrk >/dev/null; then
  [ "$(id -u)" = 0 ] || die "wrk is missing; install it (apt-get install wrk) or run as root"
  say "installing wrk"
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
command -v curl >/dev/null || die "curl is missing"

# shellcheck source=benches/common.sh
source "$ROOT/benches/common.sh"

say "building (release)…"
# The server on its own, after the benchmark binaries: built with them, its
# dependencies get the features of the benchmarks' dev-dependencies too, so
# it is not the binary `scripts/serve` runs, and its function names differ
# from those link/symbol-order.txt lays out (see build.rs).
bench_log=$(cd "$ROOT" && cargo build --release -p gatehouse --bench load_client --bench bare_axum \
  --message-format=json-render-diagnostics)
# shellcheck disable=SC2086 # BUILD_FLAGS holds several options
build_log=$(cd "$ROOT" && cargo build --release -p gatehouse --bin gatehouse $BUILD_FLAGS \
  --message-format=json-render-diagnostics)
GATEHOUSE=$(executable gatehouse "$build_log")
LOAD_CLIENT=$(executable load_client- "$bench_log")
BARE_AXUM=$(executable bare_axum- "$bench_log")
[ -x "$GATEHOUSE" ] && [ -x "$LOAD_CLIENT" ] && [ -x "$BARE_AXUM" ] || die "build produced no binaries"
# How many of the functions link/symbol-order.txt lays out first (build.rs)
# this binary has: few means the list is stale and idle memory larger
# (scripts/order-symbols rewrites it).
SYMBOL_ORDER="$(grep -v '^#' "$ROOT/link/symbol-order.txt" | sort -u |
  comm -12 - <(defined_functions "$GATEHOUSE" | sort -u) | wc -l) of \
$(grep -vc '^#' "$ROOT/link/symbol-order.txt")"
say "symbol order: the binary has $SYMBOL_ORDER listed functions"

# --- helpers ----------------------------------------------------------------
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cpu_ticks() { # PID: utime + stime, fields 14 and 15 (after the parenthesised name)
  local rest
  rest=$(sed 's/^.*) //' "/proc/$1/stat")
  awk '{ print $12 + $13 }' <<<"$rest"
}
rss_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
reset_peak() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || say "note: cannot reset VmHWM of $1"; }
field() { grep -o "$1=[^ ]*" <<<"$2" | head -1 | cut -d= -f2; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

PERF_PID=
profile_start() { # PID NAME
  [ -n "$PROFILE_DIR" ] || return 0
  mkdir -p "$PROFILE_DIR"
  PERF_OUT="$PROFILE_DIR/$(tr -cs 'a-zA-Z0-9' '-' <<<"$2" | sed 's/-$//')"
  perf record -q -e cpu-clock -F 999 -p "$1" -o "$PERF_OUT.data" 2>/dev/null &
  PERF_PID=$!
  sleep 0.5
}
profile_stop() {
  [ -n "$PERF_PID" ] || return 0
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" 2>/dev/null || true
  PERF_PID=
  perf report -i "$PERF_OUT.data" --stdio --no-children --sort dso,symbol --percent-limit 0.5 \
    >"$PERF_OUT.txt" 2>/dev/null || say "note: perf report failed for $PERF_OUT"
  perf report -i "$PERF_OUT.data" --stdio --no-children --sort dso \
    >"$PERF_OUT.dso.txt" 2>/dev/null || true
}

# Gatehouse keeps every latency sample until /metrics is scraped (see the
# README); scrape before each run, as Prometheus would, so a run's peak RSS
# is not its predecessors' samples.
drain_metrics() { # URL
  case $1 in "$ISSUER"/*) curl -fsS -o /dev/null "$ISSUER/metrics" ;; esac
}

ROWS=()
row() { # NAME RESULT-LINE [SERVER_CPU_US PEAK_KIB] (the last two when the load client did not measure them)
  local name=$1 line=$2
  local requests errors seconds p50 p99 cpu peak
  requests=$(field requests "$line"); errors=$(field errors "$line"); seconds=$(field seconds "$line")
  p50=$(field p50_us "$line"); p99=$(field p99_us "$line")
  cpu=${3:-$(field server_cpu_us "$line")}; peak=${4:-$(field peak_rss_kib "$line")}
  ROWS+=("$(awk -v n="$name" -v r="$requests" -v e="$errors" -v s="$seconds" -v a="$p50" -v b="$p99" -v c="$cpu" -v m="$peak" \
    'BEGIN { printf "| %s | %.0f | %.2f ms | %.2f ms | %s µs | %.1f MiB | %d |", n, r / s, a / 1000, b / 1000, c, m / 1024, e }')")
  say "${ROWS[-1]}"
}

# One wrk run against the server PID: its RESULT line in WRK_LINE and the
# server's CPU µs per request in WRK_CPU_US.
wrk_measure() { # PID SCRIPT URL [wrk args…]
  local pid=$1 script=$2 url=$3; shift 3
  local before after requests
  before=$(cpu_ticks "$pid")
  WRK_LINE=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WRK_LUA_DIR/$script" "$@" "$url" | grep '^RESULT')
  after=$(cpu_ticks "$pid")
  requests=$(field requests "$WRK_LINE")
  [ "${requests:-0}" -gt 0 ] || die "$url: wrk completed no request"
  WRK_CPU_US=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$requests" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
}

run_wrk() { # NAME PID SCRIPT URL [wrk args…]
  local name=$1 pid=$2
  drain_metrics "$4"
  profile_start "$pid" "$name"
  reset_peak "$pid"
  wrk_measure "${@:2}"
  profile_stop
  row "$name" "$WRK_LINE" "$WRK_CPU_US" "$(rss_kib "$pid" VmHWM)"
}

# Starts `bare_axum serve` on a free port with the JWKS Gatehouse served and
# ARGS; sets BARE_URL and BARE_PID.
start_bare() { # [bare_axum serve options…]
  local port
  port=$(free_port)
  "$BARE_AXUM" serve --listen "127.0.0.1:$port" --route "/jwks.json=$WORK/jwks.json" "$@" &
  BARE_PID=$!
  PIDS+=("$BARE_PID")
  BARE_URL="http://127.0.0.1:$port"
  wait_for "$BARE_URL/jwks.json"
}

# --- 2. seed and start ------------------------------------------------------
PORT=$(free_port)
export GATEHOUSE__ISSUER="http://127.0.0.1:$PORT"
export GATEHOUSE__LISTEN="127.0.0.1:$PORT"
export GATEHOUSE__DATABASE__URL="sqlite://$WORK/gatehouse.db"
export GATEHOUSE__STORE__URL="memory://"
export GATEHOUSE__LOG__LEVEL="warn"
# Every sign-in of the load comes from 127.0.0.1, thousands a minute: lift
# the per-address budget of new sign-ins (300 a minute by default).
export GATEHOUSE__SESSION__STARTS_PER_ADDRESS_PER_MINUTE=100000000
ISSUER=$GATEHOUSE__ISSUER
cd "$WORK" # no config/gatehouse.toml here: defaults plus the variables above

say "seeding ($((2 * FLOW_CONCURRENCY + 1)) users, 4 clients)…"
seed "$GATEHOUSE" "$FLOW_CONCURRENCY"

"$GATEHOUSE" serve --no-migrate >"$WORK/serve.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
wait_for "$ISSUER/readyz"
# A second instance with the same issuer and database serves the sign-ins
# that only fetch tokens (curl checks, the refresh chains' first tokens), so
# their password hashing never runs in the measured process.
HELPER_PORT=$(free_port)
GATEHOUSE__LISTEN="127.0.0.1:$HELPER_PORT" "$GATEHOUSE" serve --no-migrate >"$WORK/helper.log" 2>&1 &
HELPER=$!
PIDS+=("$HELPER")
SIGN_IN_URL="http://127.0.0.1:$HELPER_PORT"
wait_for "$SIGN_IN_URL/readyz"
# The helper started on a database whose signing keys already exist (the
# measured server made them), as any restarted instance does: its memory now
# is an idle server's right after start-up.
sleep 2
STARTUP_RSS=$(rss_kib "$HELPER" VmRSS)
say "RSS right after start-up: $(mib "$STARTUP_RSS")"

# --- 3. tokens --------------------------------------------------------------
basic() { printf '%s' "$1:$2" | base64 -w0; }
client_token() { # CLIENT_ID SECRET
  curl -fsS -u "$1:$2" -d grant_type=client_credentials "$ISSUER/token" | token_field access_token
}

say "checking the flows with curl…"
[ -n "$(client_token cc-client "$CC_SECRET")" ] || die "client_credentials gave no token"
OPAQUE_TOKEN=$(client_token gateway "$GATEWAY_SECRET")
curl -fsS -u "gateway:$GATEWAY_SECRET" -d "token=$OPAQUE_TOKEN" "$ISSUER/introspect" | grep -q '"active":true' \
  || die "the opaque token is not active at /introspect"
tokens=$(sign_in "$SIGN_IN_URL" bench)
ACCESS_TOKEN=$(token_field access_token <<<"$tokens")
REFRESH_TOKEN=$(token_field refresh_token <<<"$tokens")
[ -n "$ACCESS_TOKEN" ] && [ -n "$REFRESH_TOKEN" ] || die "the code flow gave no access or refresh token: $tokens"
curl -fsS -H "Authorization: Bearer $ACCESS_TOKEN" "$ISSUER/userinfo" | grep -q '"sub"' || die "userinfo refused the token"
rotated=$(curl -fsS -u "console:$CONSOLE_SECRET" -d grant_type=refresh_token -d "refresh_token=$REFRESH_TOKEN" "$ISSUER/token" | token_field refresh_token)
[ -n "$rotated" ] && [ "$rotated" != "$REFRESH_TOKEN" ] || die "the refresh token was not rotated"

# --- 4. idle, then each endpoint ---------------------------------------------
sleep 2
IDLE_RSS=$(rss_kib "$SERVER" VmRSS)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "idle RSS: $(mib "$IDLE_RSS"); load average before: $LOAD_BEFORE"
say "measuring: wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $FLOW_CONCURRENCY concurrent flows…"

run_wrk "discovery" "$SERVER" get.lua "$ISSUER/.well-known/openid-configuration"
run_wrk "JWKS" "$SERVER" get.lua "$ISSUER/jwks.json"

# Discovery and JWKS against the bare handler in alternating runs of the
# same minutes: the VM's speed drifts by 10-40 % within an hour, more than
# the 20 % the comparison allows, so single runs minutes apart compare the
# hours as much as the servers. The median of the pairs' ratios counts.
PAIR_SUMMARIES=()
paired() { # NAME GATEHOUSE_URL BARE_URL
  local ours bare median all_ours=() all_bare=() ratios=()
  for _ in $(seq "$PAIRS"); do
    drain_metrics "$2"
    wrk_measure "$SERVER" get.lua "$2"
    ours=$WRK_CPU_US
    wrk_measure "$BARE_PID" get.lua "$3"
    bare=$WRK_CPU_US
    all_ours+=("$ours"); all_bare+=("$bare")
    ratios+=("$(awk -v a="$ours" -v b="$bare" 'BEGIN { printf "%+.0f", (a / b - 1) * 100 }')")
  done
  median=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }')
  PAIR_SUMMARIES+=("$1 against the bare handler, $PAIRS alternating pairs: Gatehouse ${all_ours[*]} µs, bare ${all_bare[*]} µs per request (${ratios[*]} %); the median pair $median %.")
  say "${PAIR_SUMMARIES[-1]}"
}
curl -fsS -o "$WORK/discovery.json" "$ISSUER/.well-known/openid-configuration"
curl -fsS -o "$WORK/jwks.json" "$ISSUER/jwks.json"
start_bare --route "/.well-known/openid-configuration=$WORK/discovery.json"
paired discovery "$ISSUER/.well-known/openid-configuration" "$BARE_URL/.well-known/openid-configuration"
paired JWKS "$ISSUER/jwks.json" "$BARE_URL/jwks.json"
kill "$BARE_PID"
CLIENT_BASIC=$(basic cc-client "$CC_SECRET") run_wrk "client_credentials (JWT)" "$SERVER" client_credentials.lua "$ISSUER/token"
CLIENT_BASIC=$(basic gateway "$GATEWAY_SECRET") INTROSPECTED_TOKEN=$OPAQUE_TOKEN \
  run_wrk "introspection (opaque)" "$SERVER" introspect.lua "$ISSUER/introspect"
ACCESS_TOKEN=$(sign_in "$SIGN_IN_URL" bench | token_field access_token) run_wrk "userinfo (JWT)" "$SERVER" userinfo.lua "$ISSUER/userinfo"

# TARGET and TARGET_PID (the measured Gatehouse by default), CLIENT and
# SECRET (console) say whom load_client and hash_cpu talk to.
load_client() { # FLOW NAME [load_client options…]
  local line
  drain_metrics "${TARGET:-$ISSUER}/"
  profile_start "${TARGET_PID:-$SERVER}" "$2"
  line=$("$LOAD_CLIENT" "$1" "${@:3}" --issuer "${TARGET:-$ISSUER}" --client-id "${CLIENT:-console}" \
    --client-secret "${SECRET:-$CONSOLE_SECRET}" --redirect-uri "$REDIRECT_URI" --user-prefix "${USERS:-load}" \
    --password "$PASSWORD" --concurrency "$FLOW_CONCURRENCY" --seconds "${DURATION%s}" \
    --pid "${TARGET_PID:-$SERVER}" --clock-ticks "$CLK_TCK" | grep '^RESULT')
  profile_stop
  row "$2" "$line"
  LAST_LINE=$line
}
# The server's password-hash CPU so far, from its metrics: "SECONDS COUNT".
hash_cpu() {
  curl -fsS "${TARGET:-$ISSUER}/metrics" | awk '$1 == "password_hash_cpu_seconds_sum" { s = $2 }
    $1 == "password_hash_cpu_seconds_count" { c = $2 } END { printf "%s %s", s + 0, c + 0 }'
}
load_client refresh "refresh with rotation (RS256 ID token)" --sign-in-url "$SIGN_IN_URL"
# The helper's last sign-ins are this run's first moments.
HELPER_LAST_USE=$SECONDS
CLIENT=console-es256 load_client refresh "refresh with rotation (ES256 ID token)" --sign-in-url "$SIGN_IN_URL"
# A complete code flow, its CPU split into the password hash (the thread CPU
# time the server records per hash) and everything else.
code_flow() { # NAME; CLIENT as for load_client
  local seconds_before hashes_before seconds_after hashes_after split
  read -r seconds_before hashes_before <<<"$(hash_cpu)"
  load_client code-flow "$1"
  read -r seconds_after hashes_after <<<"$(hash_cpu)"
  split=$(awk -v cpu="$(field server_cpu_us "$LAST_LINE")" -v flows="$(field requests "$LAST_LINE")" \
    -v s0="$seconds_before" -v s1="$seconds_after" -v c0="$hashes_before" -v c1="$hashes_after" \
    'BEGIN { hash = (s1 - s0) * 1e6 / flows
             printf "%d flows, %d password hashes: %.0f µs of server CPU per flow, of which the hash %.0f µs and the rest %.0f µs",
               flows, c1 - c0, cpu, hash, cpu - hash }')
  say "$1: $split"
  FLOW_SPLITS+=("$1: $split.")
}
FLOW_SPLITS=()
code_flow "complete code flow (RS256 ID token)"
CLIENT=console-es256 code_flow "complete code flow (ES256 ID token)"
USERS=light CLIENT=console-es256 code_flow "complete code flow (ES256 ID token), passwords hashed at argon2's least cost"
AFTER_RSS=$(rss_kib "$SERVER" VmRSS)
LIFETIME_PEAK=$(rss_kib "$SERVER" VmHWM)
# The helper hashed a password for every sign-in it served, then idled: what
# an instance that signs people in holds between bursts (argon2's working
# memory is given back 30-35 s after the last hash).
HELPER_IDLE_AFTER=45
idle_wait=$((HELPER_LAST_USE + ${DURATION%s} + HELPER_IDLE_AFTER - SECONDS))
[ "$idle_wait" -le 0 ] || sleep "$idle_wait"
HELPER_IDLE_RSS=$(rss_kib "$HELPER" VmRSS)

# --- 6. the bare baseline ------------------------------------------------------
kill "$SERVER" "$HELPER"
baseline() { # LABEL [--gatehouse-layers]
  start_bare --route "/.well-known/openid-configuration=$WORK/discovery.json" --token-floor "$FLOOR_BASIC" "${@:2}"
  run_wrk "$1, discovery bytes" "$BARE_PID" get.lua "$BARE_URL/.well-known/openid-configuration"
  run_wrk "$1, JWKS bytes" "$BARE_PID" get.lua "$BARE_URL/jwks.json"
  if [ "$#" -eq 1 ]; then
    CLIENT_BASIC=$FLOOR_BASIC run_wrk "$1, client_credentials floor (one ES256 signature)" "$BARE_PID" \
      client_credentials.lua "$BARE_URL/token"
  fi
  kill "$BARE_PID"
}
# Its own instance: the floor hashes the password when it starts, and the
# 19 MiB of argon2 memory would count in the rows above.
flow_floor() { # LABEL
  start_bare --token-floor "$FLOOR_BASIC" --flow-floor "$REDIRECT_URI" --flow-password "$PASSWORD"
  TARGET=$BARE_URL TARGET_PID=$BARE_PID CLIENT=cc-client SECRET=$CC_SECRET code_flow "$1"
  kill "$BARE_PID"
}
FLOOR_BASIC=$(basic cc-client "$CC_SECRET")
baseline "bare axum"
flow_floor "bare axum, code-flow floor (five requests, one argon2 verification, two ES256 signatures)"
baseline "bare axum + Gatehouse's stateless layers" --gatehouse-layers
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the table ------------------------------------------------------------------
revision() { # read-only: GIT_OPTIONAL_LOCKS=0 keeps `git status` from touching the index
  local commit
  commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) || { echo "(not a git checkout)"; return; }
  if GIT_OPTIONAL_LOCKS=0 git -C "$ROOT" status --porcelain --untracked-files=no | grep -q .; then
    echo "$commit with local changes"
  else
    echo "$commit"
  fi
}
cat <<EOF

Gatehouse $(revision)${BUILD_FLAGS:+ built with $BUILD_FLAGS}, $(date -u '+%Y-%m-%d %H:%M UTC'); \
$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), \
$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM.
wrk -t$THREADS -c$CONNECTIONS -d$DURATION on the same machine; $FLOW_CONCURRENCY concurrent refresh chains / code flows.
Load average (1, 5, 15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER.

| endpoint | requests/s | p50 | p99 | server CPU / request | peak RSS | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
EOF
printf '%s\n' "${ROWS[@]}"
cat <<EOF

$(printf '%s\n' "${FLOW_SPLITS[@]}")

$(printf '%s\n' "${PAIR_SUMMARIES[@]}")

Gatehouse RSS: $(mib "$STARTUP_RSS") right after start-up (an instance started on stored keys), \
idle $(mib "$IDLE_RSS") after one request of each kind (the curl checks, among them an RS256 ID token), \
$(mib "$AFTER_RSS") after the runs, peak $(mib "$LIFETIME_PEAK") over its life; the helper, which hashed the password of every sign-in it served, $(mib "$HELPER_IDLE_RSS") idle ${HELPER_IDLE_AFTER} s after its last.
Symbol order: the binary has $SYMBOL_ORDER functions link/symbol-order.txt lists.
EOF
