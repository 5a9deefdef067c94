-- KEYS: the notice's choices, its counts, the member's index of notices answered.
-- ARGV: the member's person key, the choice, their community, now, the TTL (seconds),
-- the index entry's expiry (Unix seconds), the announcement id.
-- A member has one answer per notice: a changed mind moves their count (and their
-- community's), the same answer again changes nothing, and an answer given before the
-- one recorded (two presses handled out of order) is not recorded. 1 when the counts
-- changed, else 0.
local old = redis.call('HGET', KEYS[1], ARGV[1])
local changed = 1
if old then
  local was, where, at = string.match(old, '^([^|]*)|([^|]*)|(.*)')
  if (tonumber(at) or 0) > tonumber(ARGV[4]) or (was == ARGV[2] and where == ARGV[3]) then
    changed = 0
  elseif was then
    local field = where .. '|' .. was
    if redis.call('HINCRBY', KEYS[2], field, -1) <= 0 then redis.call('HDEL', KEYS[2], field) end
  end
end
if changed == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[4])
  redis.call('HINCRBY', KEYS[2], ARGV[3] .. '|' .. ARGV[2], 1)
  redis.call('HINCRBY', KEYS[2], '~version', 1)
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[7])
if redis.call('TTL', KEYS[3]) < tonumber(ARGV[5]) then redis.call('EXPIRE', KEYS[3], ARGV[5]) end
return changed
