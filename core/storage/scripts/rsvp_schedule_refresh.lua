-- KEYS: the notice's refresh gate, the Celery queue of the refresh task.
-- ARGV: the gate's TTL (seconds), the task message (due a few seconds from now).
-- The first answer since the last refresh began sets the gate and pushes the task, in
-- one script (no gate without its task); the answers after it, while the gate stands,
-- leave it to that task, which reads the counts when it runs. 1 when pushed, else 0.
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
return 1
