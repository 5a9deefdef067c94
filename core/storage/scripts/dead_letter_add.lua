-- KEYS: entry, index, link index, author index, counters, ingress stream, in-flight marker.
-- ARGV: now, expiry, ttl, link cap, author cap, entry id, retire ('1'/'0'), ingress id,
--       has author ('1'/'0'), counters' TTL, then the entry's field/value pairs.
-- Returns -1 (retire asked, but the event was published or parked already: nothing
-- stored), 0 (refused by a cap; counted) or 1 (stored).
if ARGV[7] == '1' then
  local id = ARGV[8]
  if id == '$IN_FLIGHT' then
    id = redis.call('GET', KEYS[7])
    if not id then return -1 end
  end
  if id ~= '' and redis.call('XDEL', KEYS[6], id) == 0 then return -1 end
  redis.call('DEL', KEYS[7])  -- the lanes stop waiting for this position
end
local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[3])
local function refuse(what)
  redis.call('HINCRBY', KEYS[5], 'dead_letters.refused.' .. what, 1)
  redis.call('EXPIRE', KEYS[5], ARGV[10])
  return 0
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then return refuse('link_full') end
local indexes = {KEYS[2], KEYS[3]}
if ARGV[9] == '1' then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
  if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[5]) then return refuse('sender_full') end
  indexes[3] = KEYS[4]
end
redis.call('HSET', KEYS[1], unpack(ARGV, 11))
redis.call('EXPIRE', KEYS[1], ttl)
for _, key in ipairs(indexes) do
  redis.call('ZADD', key, ARGV[2], ARGV[6])
  if redis.call('TTL', key) < ttl then redis.call('EXPIRE', key, ttl) end
end
redis.call('HINCRBY', KEYS[5], 'dead_letters.stored', 1)
redis.call('EXPIRE', KEYS[5], ARGV[10])
return 1
