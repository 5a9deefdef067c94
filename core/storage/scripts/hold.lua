-- KEYS: the event's hold reference, the new hold, then one outbox stream per notice.
-- ARGV: the new ID, the record, its TTL, then (notice, its TTL) per notice (each tagged with
-- the author's person key: it quotes them).
-- {ID, 1} when held now (the notices queued with it), {ID, 0} when the event was
-- held before, {'', 0} when the random ID is taken (the caller draws another).
local existing = redis.call('GET', KEYS[1])
if existing then return {existing, 0} end
if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', ARGV[3]) then return {'', 0} end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
for i = 3, #KEYS do
  redis.call('XADD', KEYS[i], '*', 'post', ARGV[2 * i - 2])
  redis.call('EXPIRE', KEYS[i], ARGV[2 * i - 1])
end
return {ARGV[1], 1}
