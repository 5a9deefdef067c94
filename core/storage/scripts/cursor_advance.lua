-- KEYS: the cursor, its source chat's sequence counter. ARGV: the position delivered, a TTL.
-- The cursor expires when the counter does (never later: a cursor outliving its counter
-- would say 57 to a counter that restarted at 1); a cursor whose counter is gone is dropped.
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
local left = redis.call('PTTL', KEYS[2])
if left > 0 then
  redis.call('PEXPIRE', KEYS[1], left)
elseif left == -2 then
  redis.call('DEL', KEYS[1])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
