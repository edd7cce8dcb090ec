-- Stop after N responses (the first script argument): bounds a wrk run by count.
-- thread:stop() would leave wrk waiting for -d to pass, so the script exits wrk itself
-- once N answers are in, after saying so (wrk.py checks for that line).
-- Run with one thread (-t1) so N is the total, not a per-thread figure.
local limit, seen, failed = 0, 0, 0

function init(args)
  limit = tonumber(args[1])
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
