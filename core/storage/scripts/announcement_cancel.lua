-- KEYS: the announcement, the schedule, then the firing markers of each of its WHATs.
-- ARGV: its schedule entries ("ID|WHAT"), one per marker.
-- Cancels it: nothing more is scheduled, and what was handed to the fire task but not yet
-- published is not published (its marker goes). Returns the state it had ('' when gone).
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return '' end
if state ~= 'cancelled' then
  redis.call('HSET', KEYS[1], 'state', 'cancelled')
  for i = 1, #ARGV do
    redis.call('ZREM', KEYS[2], ARGV[i])
    redis.call('DEL', KEYS[i + 2])
  end
end
return state
