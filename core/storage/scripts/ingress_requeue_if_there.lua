-- KEYS: ingress stream, Celery queue. ARGV: entry id, task message.
-- Enqueue the entry's task again only while the entry is there: an erasure (or a worker
-- publishing it) may have removed it since the sweep read it.
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
return 1
