-- wrk -s test/bench/request.lua URL: one fixed request, from the environment
-- (so one script serves every endpoint and peer):
--   ML_METHOD  GET (default) or POST
--   ML_BODY    the request body (POST)
--   ML_CTYPE   its Content-Type
--   ML_COOKIE  the Cookie header
-- wrk builds the request once and sends the same bytes on every request.
wrk.method = os.getenv("ML_METHOD") or "GET"
local body = os.getenv("ML_BODY")
if body and body ~= "" then
   wrk.body = body
end
local ctype = os.getenv("ML_CTYPE")
if ctype and ctype ~= "" then
   wrk.headers["Content-Type"] = ctype
end
local cookie = os.getenv("ML_COOKIE")
if cookie and cookie ~= "" then
   wrk.headers["Cookie"] = cookie
end
