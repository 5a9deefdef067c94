-- KEYS: the due refreshes of one platform (zset).
-- ARGV: now, when a claimed refresh is due again if its claimer dies (a lease), how many.
-- The refreshes due by now, each pushed back to the lease's end: another process does not
-- take them meanwhile, and one whose adapter dies before finishing runs again later.
local found = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(found) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], member) end
return found
