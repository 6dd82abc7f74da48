-- Replays requests from a file, one per line: METHOD <tab> PATH <tab> HEADER: VALUE <tab> BODY.
-- Every thread walks the whole list from its own starting point, so tokens rotate across users.
local requests = {}
local position = 0

function init(args)
  for line in io.lines(args[1]) do
    local method, path, header, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    table.insert(requests, { method = method, path = path, header = header, body = body })
  end
  position = (wrk.thread:get("id") or 0) * 7919 % #requests
end

function setup(thread)
  thread:set("id", #(wrk_threads or {}))
  wrk_threads = wrk_threads or {}
  table.insert(wrk_threads, thread)
end

function request()
  position = position % #requests + 1
  local r = requests[position]
  local headers = {}
  if r.header ~= "" then
    local name, value = r.header:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  local body = nil
  if r.body ~= "" then
    headers["Content-Type"] = "application/json"
    body = r.body
  end
  return wrk.format(r.method, r.path, headers, body)
end

function done(summary, latency, _)
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean
  ))
end
