# Sourced by benches/load.sh and scripts/order-symbols: finding the built
# binaries, free ports, seeding a server, and the hosted login as a browser
# walks it. The caller defines `die` and WORK (a scratch directory).

PASSWORD='Correct-h0rse'
REDIRECT_URI='https://console.example.com/callback'
CC_SECRET=cc-client-secret-0123456789abcdefghij
CONSOLE_SECRET=console-secret-0123456789abcdefghijkl
GATEWAY_SECRET=gateway-secret-0123456789abcdefghijkl

# The path of the binary NAME in the JSON messages of a cargo build.
executable() { # NAME LOG
  grep -o "\"executable\":\"[^\"]*/$1[^\"/]*\"" <<<"$2" | tail -1 | cut -d'"' -f4
}

# The functions BINARY defines, by their (mangled) symbol names: what
# link/symbol-order.txt lists.
defined_functions() { # BINARY
  nm --defined-only "$1" | awk '$2 ~ /^[tTwW]$/ { print $3 }'
}

# A port nothing listens on, below the kernel's ephemeral range: a port in
# that range may be the local end of one of wrk's or the load client's
# connections, which nothing can then listen on (a run once died so).
EPHEMERAL_LOW=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "$EPHEMERAL_LOW" -gt 11024 ] || EPHEMERAL_LOW=32768
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((EPHEMERAL_LOW - 1 - RANDOM % 10000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  die "no free port found"
}

wait_for() { # URL [TENTHS_OF_A_SECOND, 100]
  for _ in $(seq "${2:-100}"); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return
    sleep 0.1
  done
  die "$1 did not answer"
}

# Seeds the database of the GATEHOUSE__* environment with the CLI of
# BINARY: the user `bench`, COUNT users `load<i>` and as many `light<i>`,
# and four clients: `cc-client` (client_credentials), `console` and
# `console-es256` (first-party code flow with refresh tokens; RS256 and
# ES256 ID tokens), `gateway` (client_credentials, opaque access tokens).
seed() { # BINARY COUNT
  local bin=$1 i
  cli() { "$bin" "$@" >/dev/null; }
  cli migrate
  cli user create --username bench --email bench@example.com --password "$PASSWORD"
  for i in $(seq 0 $(($2 - 1))); do
    cli user create --username "load$i" --email "load$i@example.com" --password "$PASSWORD"
    # The same people with their passwords hashed at argon2's least cost
    # (8 KiB, one pass: ~25 µs), which a hash keeps when verified: a code flow
    # of theirs shows what the flow costs without 19 MiB of argon2 crowding
    # the caches and cores.
    GATEHOUSE__PASSWORD__MEMORY_KIB=8 GATEHOUSE__PASSWORD__ITERATIONS=1 \
      cli user create --username "light$i" --email "light$i@example.com" --password "$PASSWORD"
  done
  cli client create --client-id cc-client --secret "$CC_SECRET" --grant-type client_credentials
  cli client create --client-id console --secret "$CONSOLE_SECRET" --redirect-uri "$REDIRECT_URI" \
    --grant-type authorization_code refresh_token --first-party
  # The same with ES256 ID tokens: an RS256 signature alone costs ~210 µs.
  cli client create --client-id console-es256 --secret "$CONSOLE_SECRET" --redirect-uri "$REDIRECT_URI" \
    --grant-type authorization_code refresh_token --first-party --id-token-signed-response-alg ES256
  cli client create --client-id gateway --secret "$GATEWAY_SECRET" --grant-type client_credentials \
    --access-token-format opaque
}

# Signs USERNAME in at BASE_URL for `console` (scope openid profile email
# offline_access), walking the hosted login with curl and a cookie jar;
# prints the token response.
sign_in() { # BASE_URL USERNAME
  local base=$1 jar=$WORK/cookies location tx csrf code
  rm -f "$jar"
  location=$(curl -fsS -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" -G "$base/authorize" \
    --data-urlencode response_type=code --data-urlencode client_id=console \
    --data-urlencode "redirect_uri=$REDIRECT_URI" \
    --data-urlencode "scope=openid profile email offline_access" \
    --data-urlencode state=s1 --data-urlencode nonce=n1)
  tx=$(grep -o 'tx=[^&]*' <<<"$location" | cut -d= -f2)
  csrf=$(curl -fsS -c "$jar" -b "$jar" "$location" | grep -o 'name="csrf" value="[^"]*"' | head -1 | cut -d'"' -f4)
  [ -n "$tx" ] && [ -n "$csrf" ] || die "the login page did not give a tx and a csrf token"
  curl -fsS -o /dev/null -c "$jar" -b "$jar" "$base/login/username" \
    -d "tx=$tx" -d "csrf=$csrf" -d "username=$2"
  location=$(curl -fsS -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" "$base/login/password" \
    -d "tx=$tx" -d "csrf=$csrf" -d "username=$2" --data-urlencode "password=$PASSWORD")
  code=$(grep -o '[?&]code=[^&]*' <<<"$location" | cut -d= -f2)
  [ -n "$code" ] || die "no code after the password step (Location: $location)"
  curl -fsS -u "console:$CONSOLE_SECRET" "$base/token" -d grant_type=authorization_code \
    -d "code=$code" --data-urlencode "redirect_uri=$REDIRECT_URI"
}

# One field of a JSON token response on stdin.
token_field() { grep -o "\"$1\":\"[^\"]*\"" | cut -d'"' -f4; }
