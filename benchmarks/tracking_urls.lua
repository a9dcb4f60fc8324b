-- wrk script for benchmarks/tracking_page.py: GET pre-signed app-proxy URLs read from a file.
--
-- The app-proxy signature is an HMAC over the query string, so the URLs are signed in Python just
-- before each run (their timestamps must be within 90 s) and written one per line; every wrk thread
-- walks the list from its own starting point. Each request carries its own X-Forwarded-For, so the
-- app's per-client lookup limit (10/min) never triggers; the per-shop limit is avoided by spreading
-- the URLs over many shops.
--
-- Script arguments (after `--`): url_file

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  urls = {}
  for line in io.lines(args[1]) do
    if #line > 0 then
      urls[#urls + 1] = line
    end
  end
  count = #urls
  assert(count > 0, "no URLs in " .. args[1])
  index = ((tid - 1) * 7919) % count
  sent, ok200, s429, other = 0, 0, 0, 0
  headers = {}
end

function request()
  sent = sent + 1
  index = index % count + 1
  local n = sent
  headers["X-Forwarded-For"] = string.format(
    "10.%d.%d.%d", (tid * 16 + math.floor(n / 65536)) % 256, math.floor(n / 256) % 256, n % 256)
  return wrk.format("GET", urls[index], headers)
end

function response(status, hdrs, body)
  if status == 200 then
    ok200 = ok200 + 1
  elseif status == 429 then
    s429 = s429 + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local t_sent, t_200, t_429, t_other = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    t_sent = t_sent + thread:get("sent")
    t_200 = t_200 + thread:get("ok200")
    t_429 = t_429 + thread:get("s429")
    t_other = t_other + thread:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT sent=%d responses=%d ok200=%d s429=%d other=%d duration_us=%d " ..
    "p50_us=%d p95_us=%d p99_us=%d max_us=%d mean_us=%.1f " ..
    "err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
    t_sent - 1, summary.requests, t_200, t_429, t_other, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.timeout))
end
