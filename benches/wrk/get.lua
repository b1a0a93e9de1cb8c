-- GET of the URL given to wrk (discovery, JWKS, the bare baseline).
dofile(os.getenv("WRK_LUA_DIR") .. "/report.lua")
