-- POST /introspect (RFC 7662 §2.1) of an opaque access token by the
-- confidential client it was issued to; CLIENT_BASIC is base64(id:secret).
dofile(os.getenv("WRK_LUA_DIR") .. "/report.lua")
wrk.method = "POST"
wrk.headers["Authorization"] = "Basic " .. os.getenv("CLIENT_BASIC")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "token=" .. os.getenv("INTROSPECTED_TOKEN") .. "&token_type_hint=access_token"
