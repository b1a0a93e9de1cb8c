-- POST /token, grant_type=client_credentials (RFC 6749 §4.4), authenticated
-- with client_secret_basic; CLIENT_BASIC is base64(client_id:secret).
dofile(os.getenv("WRK_LUA_DIR") .. "/report.lua")
wrk.method = "POST"
wrk.headers["Authorization"] = "Basic " .. os.getenv("CLIENT_BASIC")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials"
