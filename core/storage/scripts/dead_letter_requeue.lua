-- KEYS: ingress stream, in-flight marker, Celery queue. ARGV: event JSON, TTL, task message, task id.
local id = redis.call('XADD', KEYS[1], '*', 'event', ARGV[1], 'task', ARGV[4])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
redis.call('SET', KEYS[2], id, 'EX', ARGV[2])
redis.call('LPUSH', KEYS[3], ARGV[3])
return id
