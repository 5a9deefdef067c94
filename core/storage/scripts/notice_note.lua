-- KEYS: the member's tombstone, their notices index, the notice's id-map hash, then the
-- origin key of each copy. ARGV: written_at, index entry, its expiry (score), TTL, id-map
-- field, the copies (JSON), origin value. 0 (nothing written) when erased meanwhile.
local mark = redis.call('GET', KEYS[1])
if mark and tonumber(ARGV[1]) <= tonumber(mark) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[4]) then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
redis.call('EXPIRE', KEYS[3], ARGV[4])
for i = 4, #KEYS do redis.call('SET', KEYS[i], ARGV[7], 'EX', ARGV[4]) end
return 1
