-- wrk -s test/bench/tokens.lua URL: a different path per request, for
-- single-use link tokens (POST verify). From the environment:
--   ML_TOKENS   file with one token a line; each wrk thread takes every
--               ML_THREADS-th line from its own offset, so no token is sent
--               twice unless the list runs out (then it starts over, and
--               the server answers 410: wrk counts those as non-2xx/3xx)
--   ML_THREADS  wrk's -t
--   ML_PREFIX   the path before the token, e.g. /magic/verify/
--   ML_METHOD, ML_BODY, ML_CTYPE, ML_COOKIE   as in request.lua
local next_id = 0

function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
end

function init(args)
   local nthreads = tonumber(os.getenv("ML_THREADS") or "1")
   local i = 0
   toks = {}
   for line in io.lines(os.getenv("ML_TOKENS")) do
      if i % nthreads == tid then
         toks[#toks + 1] = line
      end
      i = i + 1
   end
   pos = 0
   prefix = os.getenv("ML_PREFIX") or "/"
   method = os.getenv("ML_METHOD") or "POST"
   body = os.getenv("ML_BODY")
   if body == "" then
      body = nil
   end
   hdrs = {}
   local ctype, cookie = os.getenv("ML_CTYPE"), os.getenv("ML_COOKIE")
   if ctype and ctype ~= "" then
      hdrs["Content-Type"] = ctype
   end
   if cookie and cookie ~= "" then
      hdrs["Cookie"] = cookie
   end
end

function request()
   pos = pos + 1
   if pos > #toks then
      pos = 1
   end
   return wrk.format(method, prefix .. toks[pos], hdrs, body)
end
