-- KEYS: the firing marker of WHAT, the moderation queue. ARGV: the fire task's id (the
-- marker's value), its message (the same id: core/task_queue.py builds it).
-- Pushes the fire task again only while its marker still names that task (not published,
-- not cancelled, not handed over anew): 1 when pushed, else 0.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
return 1
