-- Stop after N responses (the first script argument): bounds a wrk run by count.
-- thread:stop() would leave wrk waiting for -d to pass, so the script exits wrk itself
-- once N answers are in, after saying so (wrk.py checks for that line).
-- Run with one thread (-t1) so N is the total, not a per-thread figure.
-- Optional arguments 2 and 3: a method and a JSON body to send instead of a GET.
local limit, seen, failed = 0, 0, 0
local method, body = nil, nil

function init(args)
  limit = tonumber(args[1])
  method, body = args[2], args[3]
end

function request()
  if method == nil then
    return wrk.format()
  end
  local headers = {}
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
  headers["Content-Type"] = "application/json"
  return wrk.format(method, nil, headers, body)
end

function response(status, headers, body)
  seen = seen + 1
  if status < 200 or status > 299 then
    failed = failed + 1
  end
  if seen >= limit then
    io.write(string.format("count reached: %d responses, %d not 2xx\n", seen, failed))
    io.stdout:flush()
    os.exit(0)
  end
end
