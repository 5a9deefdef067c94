-- KEYS: the member's index of notices answered, then (choices, counts) per notice.
-- ARGV: the member's person key, then the announcement id of each pair of KEYS.
-- Takes the member's answer back from each notice (its count drops, its version moves)
-- and the notices from the index; the index goes once empty. The ids whose counts changed.
local touched = {}
for i = 2, #ARGV do
  local choices, counts = KEYS[2 * i - 2], KEYS[2 * i - 1]
  local old = redis.call('HGET', choices, ARGV[1])
  if old then
    redis.call('HDEL', choices, ARGV[1])
    local was, where = string.match(old, '^([^|]*)|([^|]*)|')
    if was then
      local field = where .. '|' .. was
      if redis.call('HINCRBY', counts, field, -1) <= 0 then redis.call('HDEL', counts, field) end
      redis.call('HINCRBY', counts, '~version', 1)
    end
    table.insert(touched, ARGV[i])
  end
  redis.call('ZREM', KEYS[1], ARGV[i])
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return touched
