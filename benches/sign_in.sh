# Sourced by benches/load.sh and scripts/order-symbols: the hosted login as
# a browser walks it, with curl and a cookie jar. Uses CONSOLE_SECRET (of the
# `console` client), REDIRECT_URI, PASSWORD, WORK (a scratch directory) and
# `die`.

# Signs USERNAME in at BASE_URL for `console` (scope openid profile email
# offline_access); prints the token response.
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
