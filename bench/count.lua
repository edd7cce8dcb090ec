-- Stop after N responses (the first script argument): bounds a wrk run by count.
-- Run with one thread (-t1) so N is the total, not a per-thread figure.
local limit, seen = 0, 0

function init(args)
  limit = tonumber(args[1])
end

function response(status, headers, body)
  seen = seen + 1
  if seen >= limit then
    wrk.thread:stop()
  end
end
