-- Retire the ingress entry and publish the posts (one outbox stream per KEYS[3…], the
-- post and its TTL per pair of ARGV[2…]), atomically.
for i = 3, #KEYS do
  redis.call('XADD', KEYS[i], '*', 'post', ARGV[2 * i - 4])
  redis.call('EXPIRE', KEYS[i], ARGV[2 * i - 3])
end
return #KEYS - 2
