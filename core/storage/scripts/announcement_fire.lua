-- KEYS: the announcement, its fired set, the firing marker of WHAT, the moderation queue,
-- the schedule. ARGV: WHAT ("fire", "remind:SECONDS"), the fire task's message (built as
-- Celery would: core/task_queue.py), its task id, the schedule entry ("ID|WHAT"), "claim"
-- when the scheduler takes a due entry (else "").
-- Hands WHAT to the fire task once: the fired mark, the firing marker (which publishing
-- retires) and the task, together. A claim first takes the entry off the schedule, and
-- does nothing when another scheduler took it (false). Returns 1 when handed over; 0 when
-- handed over before; -1 when the announcement is gone; -2 when
-- it is cancelled (a claimed entry of either is dropped).
if ARGV[5] == 'claim' then
  if redis.call('ZREM', KEYS[5], ARGV[4]) == 0 then return false end
else
  redis.call('ZREM', KEYS[5], ARGV[4])
end
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return -1 end
if state == 'cancelled' then return -2 end
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 1 then ttl = 86400 end
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('SET', KEYS[3], ARGV[3], 'EX', ttl)
redis.call('LPUSH', KEYS[4], ARGV[2])
return 1
