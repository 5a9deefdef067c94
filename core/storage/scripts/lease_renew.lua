-- Renew; or take it again if it expired while nobody else took it (a Redis restart or
-- a stall longer than the TTL: no one else ran the adapter meanwhile).
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
