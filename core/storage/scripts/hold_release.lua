-- KEYS: the hold, its release mark, the translation queue. ARGV: the mark's TTL, the
-- translation task's message (core/task_queue.py builds it as Celery would).
-- The hold is removed and its approved drafts handed to the translation stage together,
-- or nothing (decided before): -1. The mark (empty: ids only) is what publishing retires
-- instead of an ingress entry, so the translation task publishes the message once.
if redis.call('DEL', KEYS[1]) == 0 then return -1 end
redis.call('SET', KEYS[2], '', 'EX', ARGV[1])
redis.call('LPUSH', KEYS[3], ARGV[2])
return 1
