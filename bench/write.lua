-- Timed write load for section 1 (bench/wrk.py runs it with -t1 and -d).
-- Arguments: a method, a JSON body, then optionally ids. With ids, each request's path ends
-- in the next id in turn (the URL's own path up to its last "/", then the id), so many
-- connections updating items spread over many rows instead of queueing on one row's lock.
-- Every status is tallied and printed at the end as "statuses: 201=1234", which wrk.py
-- checks: wrk itself only counts answers of 400 and above as errors.
local threads = {}
local method, body, prefix, headers = nil, nil, nil, {}
local ids, turn = {}, 0
statuses = {} -- global: done() reads it from each thread's state

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  method, body = args[1], args[2]
  for i = 3, #args do
    ids[#ids + 1] = args[i]
  end
  prefix = wrk.path:match("^(.*/)")
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
  headers["Content-Type"] = "application/json"
end

function request()
  local path = nil -- the URL's path
  if #ids > 0 then
    turn = turn % #ids + 1
    path = prefix .. ids[turn]
  end
  return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    parts[#parts + 1] = string.format("%d=%d", status, count)
  end
  table.sort(parts)
  io.write("statuses: " .. table.concat(parts, " ") .. "\n")
end
