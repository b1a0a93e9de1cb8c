-- GET /userinfo with a user's access token (OpenID Connect Core §5.3.1).
dofile(os.getenv("WRK_LUA_DIR") .. "/report.lua")
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ACCESS_TOKEN")
