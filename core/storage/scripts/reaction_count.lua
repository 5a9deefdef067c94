-- KEYS: the original's reaction counts (hash), the due refreshes of its platform (zset).
-- ARGV: the counts' TTL, the mode ("add": each value is a change, +1/-1; "set": the values
-- are the copy's whole counts, anything else of that copy goes), the copy's chat key, when
-- a refresh would be due, the original's key (the zset's member), the zset's TTL, then
-- pairs of emoji and value. Counts never go below zero (a removal of a reaction made
-- before the bridge saw it). A change bumps the version and schedules one refresh unless
-- one is waiting (ZADD NX): a burst of reactions makes one refresh. 1 when changed.
local counts, due = KEYS[1], KEYS[2]
-- An erased or deleted original (core/storage/reactions.py forget_into): nothing is counted.
if redis.call('HEXISTS', counts, '~gone') == 1 then return 0 end
local prefix = ARGV[3] .. '|'
local changed = false
if ARGV[2] == 'set' then
  local wanted = {}
  for i = 7, #ARGV, 2 do wanted[prefix .. ARGV[i]] = tonumber(ARGV[i + 1]) end
  for _, field in ipairs(redis.call('HKEYS', counts)) do
    if string.sub(field, 1, #prefix) == prefix and not wanted[field] then
      redis.call('HDEL', counts, field)
      changed = true
    end
  end
  for field, n in pairs(wanted) do
    local had = tonumber(redis.call('HGET', counts, field) or '0')
    if n > 0 and n ~= had then
      redis.call('HSET', counts, field, n)
      changed = true
    elseif n <= 0 and had > 0 then
      redis.call('HDEL', counts, field)
      changed = true
    end
  end
else
  for i = 7, #ARGV, 2 do
    local field = prefix .. ARGV[i]
    local had = tonumber(redis.call('HGET', counts, field) or '0')
    local n = math.max(0, had + tonumber(ARGV[i + 1]))
    if n ~= had then
      if n > 0 then redis.call('HSET', counts, field, n) else redis.call('HDEL', counts, field) end
      changed = true
    end
  end
end
if not changed then return 0 end
redis.call('HINCRBY', counts, '~version', 1)
redis.call('HSET', counts, '~ttl', ARGV[1])
redis.call('EXPIRE', counts, ARGV[1])
redis.call('ZADD', due, 'NX', ARGV[4], ARGV[5])
redis.call('EXPIRE', due, ARGV[6])
return 1
