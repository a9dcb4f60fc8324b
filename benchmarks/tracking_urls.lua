-- wrk script for the benchmarks: requests read from a file, one per line, each a pre-signed URL (a GET) or
-- METHOD<TAB>path<TAB>body (the body, may be empty, is sent as an urlencoded form with a POST).
--
-- Signed links carry their signature in the URL (an app-proxy signature is an HMAC over the query string
-- whose timestamp must be within 90 s; survey answers and review submissions carry their own signed link),
-- so the file is written in Python just before each run and every wrk thread walks it from its own starting
-- point (a review link is used once: a replay is a 409, counted as "other"). Each request carries its own
-- X-Forwarded-For, so the app's per-client lookup limit (10/min) never triggers; the per-shop limit is
-- avoided by spreading the URLs over many shops.
--
-- Script arguments (after `--`): request_file [more_ok_statuses], e.g. "303" when the survey's redirect to
-- its follow-up page is a success as well as a 200 (counted as ok200).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  lines = {}
  for line in io.lines(args[1]) do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    if method then
      lines[#lines + 1] = { method, path, body }
    elseif #line > 0 then
      lines[#lines + 1] = { "GET", line, "" }
    end
  end
  count = #lines
  assert(count > 0, "no requests in " .. args[1])
  ok_status = { [200] = true }
  for status in string.gmatch(args[2] or "", "%d+") do
    ok_status[tonumber(status)] = true
  end
  index = ((tid - 1) * 7919) % count
  sent, ok200, s429, other = 0, 0, 0, 0
end

function request()
  sent = sent + 1
  index = index % count + 1
  local method, path, body = lines[index][1], lines[index][2], lines[index][3]
  local headers = {}
  headers["X-Forwarded-For"] = string.format(
    "10.%d.%d.%d", (tid * 16 + math.floor(sent / 65536)) % 256, math.floor(sent / 256) % 256, sent % 256)
  if method == "POST" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", path, headers, body)
  end
  return wrk.format(method, path, headers)
end

function response(status, hdrs, body)
  if ok_status[status] then
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
