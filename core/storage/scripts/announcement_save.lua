-- KEYS: the announcement, its link's index[, the request that made it (Keys.announcement_request)].
-- ARGV: id, its JSON, its state, when it expires (Unix seconds), now[, the request's TTL].
-- Stores a new announcement and files it under its link; returns its id. A request seen
-- before returns the id it made (nothing new is stored); an id already taken by another
-- announcement returns false (the caller draws another).
if KEYS[3] then
  local earlier = redis.call('GET', KEYS[3])
  if earlier then return earlier end
end
local stored = redis.call('HGET', KEYS[1], 'data')
if stored and stored ~= ARGV[2] then return false end
redis.call('HSET', KEYS[1], 'data', ARGV[2])
redis.call('HSETNX', KEYS[1], 'state', ARGV[3])
redis.call('EXPIREAT', KEYS[1], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('EXPIREAT', KEYS[2], last[2])
if KEYS[3] then redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[6]) end
return ARGV[1]
