-- KEYS[1]: the bucket; ARGV[1]: how long to block it (us). Never shortens a pause or a TTL.
local paused, sends = read_bucket(KEYS[1])
local untl = math.max(paused, now + tonumber(ARGV[1]))
local ttl = math.max(redis.call('PTTL', KEYS[1]) * 1000, untl - now + 1000000)
write_bucket(KEYS[1], untl, sends, ttl)
return 1
