-- wrk script for bench/checkin.py: every request scans a different valid ticket.
-- Arguments after "--": <codes file> <event id> <token> <run label> <threads> <path>.
-- Thread i sends the codes i, i+T, i+2T, ... so no ticket is scanned twice within a run.
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  table.insert(threads, thread)
end

function init(args)
  local path, nthreads = args[1], tonumber(args[5])
  event_id, token, label, url_path = args[2], args[3], args[4], args[6]
  codes = {}
  local line_number = 0
  for line in io.lines(path) do
    line_number = line_number + 1
    if (line_number - index) % nthreads == 0 then
      codes[#codes + 1] = line
    end
  end
  position = 0
  not_ok = 0
  http_errors = 0
  exhausted = 0
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Token " .. token }
end

function request()
  position = position + 1
  local code = codes[position]
  if code == nil then
    exhausted = exhausted + 1
    code = codes[1 + position % #codes]
  end
  local body = string.format(
    '{"code":"%s","event_id":%s,"nonce":"%s-%d-%d"}', code, event_id, label, index, position
  )
  return wrk.format("POST", url_path, headers, body)
end

function response(status, response_headers, body)
  if status ~= 200 then
    http_errors = http_errors + 1
  elseif not string.find(body, '"status":"ok"', 1, true) then
    not_ok = not_ok + 1
  end
end

function done(summary, latency, requests)
  local total_not_ok, total_http, total_exhausted = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_not_ok = total_not_ok + thread:get("not_ok")
    total_http = total_http + thread:get("http_errors")
    total_exhausted = total_exhausted + thread:get("exhausted")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d not_ok=%d http_errors=%d exhausted=%d socket_errors=%d\n",
    summary.requests, summary.duration, total_not_ok, total_http, total_exhausted,
    e.connect + e.read + e.write + e.timeout
  ))
  io.write(string.format(
    "LATENCY_US p50=%d p90=%d p99=%d p999=%d max=%d mean=%.0f\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean
  ))
end
