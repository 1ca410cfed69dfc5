-- wrk script for one Connect unary RPC with JSON over HTTP/1.1:
--   WRK_PATH  the procedure, e.g. /verkosto.networks.v1.NetworksService/GetNetwork
--             (default: the echo handler of `verkosto-load echo`)
--   WRK_BODY  the request message as JSON (default: "hello", a StringValue)
--   WRK_TOKEN a bearer secret, sent as Authorization (optional)
-- Usage: WRK_PATH=... WRK_BODY='{"id":"..."}' WRK_TOKEN=vk_... \
--        wrk -t2 -c16 -d20s --latency -s bench/connect-json.lua http://127.0.0.1:8080
wrk.method = "POST"
wrk.path = os.getenv("WRK_PATH") or "/verkosto.bench.v1.EchoService/Echo"
wrk.body = os.getenv("WRK_BODY") or '"hello"'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Connect-Protocol-Version"] = "1"
local token = os.getenv("WRK_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

-- Any answer other than 200 is a failed RPC: count them, and show the first.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  failed = 0
  first = ""
end

function response(status, headers, body)
  if status ~= 200 then
    failed = failed + 1
    if first == "" then first = status .. " " .. body end
  end
end

function done(summary, latency, requests)
  local failures = 0
  for _, t in ipairs(threads) do
    failures = failures + t:get("failed")
    local f = t:get("first")
    if f and f ~= "" then io.write("first failure: " .. f .. "\n") end
  end
  io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f failed=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    failures + summary.errors.status))
end
