-- KEYS: the schedule, the announcement, its fired set. ARGV: the announcement's expiry
-- (Unix seconds), then pairs of schedule entry ("ID|WHAT") and when it is due.
-- Adds the entries (what was fired already is left out); nothing for an announcement that
-- is gone or cancelled (0). The schedule expires with the latest announcement in it.
local state = redis.call('HGET', KEYS[2], 'state')
if not state or state == 'cancelled' then return 0 end
local added = 0
for i = 2, #ARGV, 2 do
  local what = string.sub(ARGV[i], string.find(ARGV[i], '|', 1, true) + 1)
  if redis.call('SISMEMBER', KEYS[3], what) == 0 then
    redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
    added = added + 1
  end
end
local expiry = redis.call('EXPIRETIME', KEYS[1])
if added > 0 and expiry < tonumber(ARGV[1]) then redis.call('EXPIREAT', KEYS[1], ARGV[1]) end
return added
