-- BATCH unique voluntary payments per request through POST .../payments/batch (Mekong Wallet,
-- THB into VN-VSS voluntary SI): the payments of payment.lua, gathered as a channel gathers its
-- workers' taps. Worker and month walk the same grid, every payment has its own channel
-- reference, all use one quote's locked rate. Driven by bench/bench_http.py
-- (--only payment-batch --batch N). A batch answered with anything but 200 (207: some payment
-- failed) is written to stderr, and bench_http counts the booked payments in the database.
-- Environment: WORKERS, TOKEN (the channel's), QUOTE, PAID (satang), CONTRIBUTION (dong),
-- INCOME (dong), MONTH0 (YYYY-MM, the first month payable), THREADS (wrk -t), RUN, BATCH.
local workers = tonumber(os.getenv("WORKERS") or "10000")
local token = os.getenv("TOKEN")
local quote = os.getenv("QUOTE")
local paid = os.getenv("PAID")
local contribution = os.getenv("CONTRIBUTION")
local income = os.getenv("INCOME")
local threads = tonumber(os.getenv("THREADS") or "2")
local run = os.getenv("RUN") or "0"
local batch = tonumber(os.getenv("BATCH") or "50")
-- Several wrk processes at once (bench_http --balanced): process LANE of STRIDE takes every
-- STRIDE-th payment number, so that no two processes pay the same worker's month.
local stride = tonumber(os.getenv("STRIDE") or "1")
local lane = tonumber(os.getenv("LANE") or "0")
local year0, month0 = string.match(os.getenv("MONTH0") or "2027-01", "(%d+)-(%d+)")
year0, month0 = tonumber(year0), tonumber(month0)
counter = 0
thread_id = 0

function setup(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end

local function month_of(offset)
  local index = year0 * 12 + (month0 - 1) + offset
  return string.format("%04d-%02d", math.floor(index / 12), index % 12 + 1)
end

local function one_payment(n)
  n = n * stride + lane
  local worker = n % workers
  local month = month_of(math.floor(n / workers) % 60)
  return string.format(
    '{"channel_ref":"wrk-%s-%d","worker_id":"wkr_bench%08d","fund":"VN-VSS",' ..
    '"scheme":"voluntary-si","months":["%s"],' ..
    '"declared_income":{"amount_minor":"%s","currency":"VND"},' ..
    '"contribution":{"amount_minor":"%s","currency":"VND"},' ..
    '"paid":{"amount_minor":"%s","currency":"THB"},"quote_id":"%s"}',
    run, n, worker, month, income, contribution, paid, quote)
end

function request()
  counter = counter + 1
  local first = (thread_id + threads * counter) * batch -- unique across threads and requests
  local items = {}
  for i = 0, batch - 1 do items[#items + 1] = one_payment(first + i) end
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", "/v1/channels/mekong-wallet-th/payments/batch", headers,
                    '{"payments":[' .. table.concat(items, ",") .. ']}')
end

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 200 and (statuses[status] or 0) <= 3 then io.stderr:write(body:sub(1, 600) .. "\n") end
end

function done(summary, latency, requests)
  io.write(string.format(
    "JSON {\"requests\":%d,\"seconds\":%.3f,\"errors_status\":%d,\"p50_ms\":%.2f," ..
    "\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f}\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
