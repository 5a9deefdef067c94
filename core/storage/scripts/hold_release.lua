-- KEYS: the hold, then one outbox stream per post. ARGV: (post, its TTL) per post.
-- The hold is removed and its posts queued together, or nothing (decided before): -1.
if redis.call('DEL', KEYS[1]) == 0 then return -1 end
for i = 2, #KEYS do
  redis.call('XADD', KEYS[i], '*', 'post', ARGV[2 * i - 3])
  redis.call('EXPIRE', KEYS[i], ARGV[2 * i - 2])
end
return #KEYS - 1
