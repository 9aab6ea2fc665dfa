-- One unique Thai contribution per request: worker and month walk a grid, keys never repeat.
-- Environment: WORKERS (how many bench workers exist), TOKEN, BATCH (0 = single endpoint).
local workers = tonumber(os.getenv("WORKERS") or "10000")
local token = os.getenv("TOKEN")
local batch = tonumber(os.getenv("BATCH") or "0")
counter = 0
thread_id = 0

function setup(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end

local function month_of(n)
  local m = n % 240
  return string.format("%04d-%02d", 2005 + math.floor(m / 12), m % 12 + 1)
end

local function contribution(n)
  local w = math.floor(n / 240) % workers
  return string.format(
    '{"worker_id":"wkr_bench%08d","fund":"TH-SSO","scheme":"s33-old-age","month":"%s",' ..
    '"wage_base":{"amount_minor":"1500000","currency":"THB"},"shares":[' ..
    '{"payer":"employee","amount":{"amount_minor":"45000","currency":"THB"}},' ..
    '{"payer":"employer","amount":{"amount_minor":"45000","currency":"THB"}},' ..
    '{"payer":"government","amount":{"amount_minor":"15050","currency":"THB"}}]}',
    w, month_of(n))
end

function request()
  counter = counter + 1
  local base = (thread_id * 100000000) + counter * math.max(batch, 1)
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("wrk-%s-%d-%d", os.getenv("RUN") or "0", thread_id, counter),
  }
  if batch == 0 then
    return wrk.format("POST", "/v1/contributions", headers, contribution(base))
  end
  local items = {}
  for i = 0, batch - 1 do items[#items + 1] = contribution(base + i) end
  return wrk.format("POST", "/v1/contributions/batch", headers,
                    '{"contributions":[' .. table.concat(items, ",") .. ']}')
end

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 400 and (statuses[status] or 0) <= 3 then io.stderr:write(body .. "\n") end
end

function done(summary, latency, requests)
  io.write(string.format(
    "JSON {\"requests\":%d,\"seconds\":%.3f,\"errors_status\":%d,\"p50_ms\":%.2f," ..
    "\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f}\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
