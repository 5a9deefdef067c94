-- KEYS: the due refreshes of the original's platform (zset), the original's counts (hash).
-- ARGV: the original's key (the member), the version of the counts just shown, when the
-- next refresh is due if they changed meanwhile.
-- A refresh finished: done when nothing changed since it read the counts (or they
-- expired); else the next one stays scheduled (a reaction during the refresh found the
-- member there and left it). 1 when done.
local version = redis.call('HGET', KEYS[2], '~version')
if (not version) or version == ARGV[2] then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
return 0
