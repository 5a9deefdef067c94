-- Take or renew an adapter's lease: KEYS (the platform's under the prefix and, when
-- given, its bot token's) all name ARGV[1] for ARGV[2] ms afterwards, or none changes
-- when another process holds any of them. Taking it again when it expired while nobody
-- else took it is the same (a Redis restart or a stall longer than the TTL: no one else
-- ran the adapter meanwhile).
for i = 1, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= ARGV[1] then return 0 end
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
end
return 1
