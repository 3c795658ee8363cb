-- wrk script shared by the benchmarks.
--
-- Adds "Authorization: Bearer $WP_BENCH_KEY" when that variable is set, so
-- the authenticated run and its static baseline go through the same script;
-- when WP_BENCH_BODY_FILE names a file, every request is a POST of that file
-- as application/json (the same bytes each time: the benchmark's body must
-- be one that can be created again and again, e.g. without a serial number).
-- WP_BENCH_KEYS_FILE spreads the requests over several keys (below).
-- Prints one machine-readable line that tests/bench/lib/bench.sh parses
-- (latencies in microseconds).
local key = os.getenv("WP_BENCH_KEY")
if key and key ~= "" then
   wrk.headers["Authorization"] = "Bearer " .. key
end
local body_file = os.getenv("WP_BENCH_BODY_FILE")
if body_file and body_file ~= "" then
   local f = assert(io.open(body_file, "rb"))
   wrk.method = "POST"
   wrk.body = f:read("*a")
   f:close()
   wrk.headers["Content-Type"] = "application/json"
end

-- WP_BENCH_KEYS_FILE: one API key a line; each request carries the next one
-- in turn (instead of WP_BENCH_KEY), so the load is spread over the accounts.
local keys_file = os.getenv("WP_BENCH_KEYS_FILE")
if keys_file and keys_file ~= "" then
   local keys = {}
   for line in io.lines(keys_file) do
      if line ~= "" then keys[#keys + 1] = line end
   end
   assert(#keys > 0, "no key in " .. keys_file)
   local next_key = 0
   function request()
      next_key = next_key % #keys + 1
      wrk.headers["Authorization"] = "Bearer " .. keys[next_key]
      return wrk.format()
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WPBENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d" ..
      " errors_status=%d errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d\n",
      summary.requests, summary.duration,
      math.floor(latency:percentile(50)), math.floor(latency:percentile(90)),
      math.floor(latency:percentile(99)), math.floor(latency.max),
      e.status, e.connect, e.read, e.write, e.timeout))
end
