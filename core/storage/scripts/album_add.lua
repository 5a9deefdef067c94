-- Add one part to an album being gathered (bridge/telegram/albums.py).
-- KEYS: [1] the album's parts (hash), [2] the albums due (sorted set), [3] the album's done record (hash)
-- ARGV: [1] the part's message id, [2] its event (JSON), [3] due time (ms), [4] ttl of the parts (s),
--       [5] the album's member in the due set ("chat key|group"), [6] ttl of the due set (s)
-- Returns 'added', 'duplicate' (this part was accepted with its album) or 'late' (the album
-- was accepted without it).
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 'duplicate' end
if redis.call('EXISTS', KEYS[3]) == 1 then return 'late' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('ZADD', KEYS[2], tonumber(ARGV[3]), ARGV[5])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
return 'added'
