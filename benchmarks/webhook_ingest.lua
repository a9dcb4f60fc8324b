-- wrk script for benchmarks/webhook_ingest.py: signed Shopify webhooks, a unique id per delivery.
--
-- The body (and so its HMAC) is the same for every request; X-Shopify-Webhook-Id and
-- X-Shopify-Event-Id change on every request, so each one is a new delivery for the app.
-- After `duration` seconds no new request is sent (delay() parks every connection) while the
-- ones in flight still get their answers: wrk's own run lasts a little longer than `duration`,
-- so no request the server may have stored is cut off unanswered, and rows can equal 200s.
--
-- Script arguments (after `--`): body_file hmac shop topic api_version run_id duration_s

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_usec; } bench_timeval;
int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")

local function now()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) + tonumber(tv.tv_usec) / 1e6
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  body = f:read("*a")
  f:close()
  run_id = args[6]
  started = now()
  deadline = started + tonumber(args[7])
  headers = {
    ["Content-Type"] = "application/json",
    ["X-Shopify-Hmac-Sha256"] = args[2],
    ["X-Shopify-Shop-Domain"] = args[3],
    ["X-Shopify-Topic"] = args[4],
    ["X-Shopify-API-Version"] = args[5],
    ["X-Shopify-Triggered-At"] = "2026-11-22T10:00:00.000000Z",
  }
  prefix = run_id .. "-" .. tid .. "-"
  sent, ok200, ok2xx, non2xx, last_response = 0, 0, 0, 0, 0
end

function request()
  sent = sent + 1
  local id = prefix .. sent
  headers["X-Shopify-Webhook-Id"] = id
  headers["X-Shopify-Event-Id"] = "evt-" .. id
  return wrk.format("POST", wrk.path, headers, body)
end

function delay()
  if now() >= deadline then
    return 3600000 -- park the connection: the measured window is over
  end
  return 0
end

function response(status, hdrs, resp_body)
  if status == 200 then
    ok200 = ok200 + 1
  end
  if status >= 200 and status < 300 then
    ok2xx = ok2xx + 1
  else
    non2xx = non2xx + 1
  end
  last_response = now()
end

function done(summary, latency, requests)
  local t_sent, t_200, t_2xx, t_non, first, last = 0, 0, 0, 0, math.huge, 0
  for _, thread in ipairs(threads) do
    t_sent = t_sent + thread:get("sent")
    t_200 = t_200 + thread:get("ok200")
    t_2xx = t_2xx + thread:get("ok2xx")
    t_non = t_non + thread:get("non2xx")
    first = math.min(first, thread:get("started"))
    last = math.max(last, thread:get("last_response"))
  end
  -- wrk calls request() once in the first thread before connecting, to check the script; that
  -- request is never sent.
  t_sent = t_sent - 1
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT sent=%d ok200=%d ok2xx=%d non2xx=%d responses=%d window_s=%.6f " ..
    "p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.1f " ..
    "err_connect=%d err_read=%d err_write=%d err_timeout=%d err_status=%d\n",
    t_sent, t_200, t_2xx, t_non, summary.requests, math.max(last - first, 0),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.timeout, e.status))
end
