-- wrk script of tests/bench/rss.sh: a mixed load on one gateway, request after
-- request in a fixed cycle (each connection walks it from its own offset):
--   GET /api/v1/account, GET /api/v1/passes/:id, GET /api/v1/passes,
--   POST /api/v1/passes (a new pass), PATCH-like PUT /api/v1/passes/:id of a
--   second pass (a new version, an event), GET pkpass_url (cached bundle),
--   GET /apple/v1/passes/... with ApplePass (cached), GET /healthz.
-- Environment: WP_MIX_KEY, WP_MIX_PASS (id of the downloaded pass),
-- WP_MIX_UPDATE (id of the pass that is updated), WP_MIX_PKPASS (path and
-- query of its pkpass_url), WP_MIX_APPLE (path of the Apple route),
-- WP_MIX_TOKEN (its ApplePass token), WP_MIX_BODY (JSON of a new pass).
-- Prints the same WPBENCH summary line as wrk.lua.
local e = os.getenv
local bearer = { ["Authorization"] = "Bearer " .. e("WP_MIX_KEY") }
local json = { ["Authorization"] = "Bearer " .. e("WP_MIX_KEY"), ["Content-Type"] = "application/json" }
local apple = { ["Authorization"] = "ApplePass " .. e("WP_MIX_TOKEN") }
local body = e("WP_MIX_BODY")
local cycle
local n = 0

function init(args)
   cycle = {
      wrk.format("GET", "/api/v1/account", bearer),
      wrk.format("GET", "/api/v1/passes/" .. e("WP_MIX_PASS"), bearer),
      wrk.format("GET", "/api/v1/passes", bearer),
      wrk.format("POST", "/api/v1/passes", json, body),
      wrk.format("GET", e("WP_MIX_PKPASS"), {}),
      wrk.format("GET", e("WP_MIX_APPLE"), apple),
      wrk.format("PUT", "/api/v1/passes/" .. e("WP_MIX_UPDATE"), json,
                 '{"primary_fields":[{"key":"points","label":"Points","value":"1"}]}'),
      wrk.format("GET", "/healthz", {}),
   }
   n = math.random(#cycle)
end

function request()
   n = n % #cycle + 1
   return cycle[n]
end

function done(summary, latency, requests)
   local x = summary.errors
   io.write(string.format(
      "WPBENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d" ..
      " errors_status=%d errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d\n",
      summary.requests, summary.duration,
      math.floor(latency:percentile(50)), math.floor(latency:percentile(90)),
      math.floor(latency:percentile(99)), math.floor(latency.max),
      x.status, x.connect, x.read, x.write, x.timeout))
end
