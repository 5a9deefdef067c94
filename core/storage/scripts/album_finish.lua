-- An album was accepted as one event: note its parts as done, map each other part to the
-- album's source message, forget the parts' events (bridge/telegram/albums.py).
-- KEYS: [1] the album's parts (hash), [2] the albums due (sorted set), [3] the album's done
--       record (hash), [4..] the album_of key of each part other than the first
-- ARGV: [1] ttl (s), [2] the album's member in the due set, [3] the source message id,
--       [4] the source message key, [5..] the message ids of the parts accepted
local ttl = tonumber(ARGV[1])
redis.call('HSET', KEYS[3], 'source', ARGV[3])
for i = 5, #ARGV do
  redis.call('HSET', KEYS[3], ARGV[i], '1')
  redis.call('HDEL', KEYS[1], ARGV[i])
end
redis.call('EXPIRE', KEYS[3], ttl)
for k = 4, #KEYS do
  redis.call('SET', KEYS[k], ARGV[4], 'EX', ttl)
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[2])
end
return 1
