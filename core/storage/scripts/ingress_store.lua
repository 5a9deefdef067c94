-- KEYS: ingress stream, in-flight marker, seen, Celery queue, counters[, pending commands].
-- ARGV: event JSON, TTL, task message, counter name, counters' TTL, the task's id, this
-- process's PENDING token[, the command's seq]. Nothing is stored (nil) when the seen marker
-- no longer holds the token: another process took the accept over (see ingress_begin.lua) and stores it.
-- Entry (naming its task, so the sweeper can tell a lost task from a waiting one),
-- in-flight marker (holding the entry id), seen marker, task and counter (and a
-- group command's pending mark): all or nothing.
if redis.call('GET', KEYS[3]) ~= ARGV[7] then return false end
local id = redis.call('XADD', KEYS[1], '*', 'event', ARGV[1], 'task', ARGV[6])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], id, 'EX', ARGV[2])
redis.call('SET', KEYS[3], '1', 'EX', ARGV[2])
redis.call('LPUSH', KEYS[4], ARGV[3])
redis.call('HINCRBY', KEYS[5], ARGV[4], 1)
redis.call('EXPIRE', KEYS[5], ARGV[5])
if KEYS[6] then
  redis.call('ZADD', KEYS[6], ARGV[8], ARGV[8])
  redis.call('EXPIRE', KEYS[6], ARGV[2])
end
return id
