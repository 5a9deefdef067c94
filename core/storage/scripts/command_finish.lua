-- KEYS: ingress stream, the command's in-flight marker, the chat's pending commands, then
-- one outbox stream per answer. ARGV: the ingress entry id (IN_FLIGHT: the one the marker
-- names; '': not from the ingress), the command's position, then (answer, its TTL) per answer
-- (each carrying its member's person key, for erasure and the dead letters).
-- Retire the command and queue its answers, atomically: only the first run answers (-1 after).
redis.call('ZREM', KEYS[3], ARGV[2])
for i = 4, #KEYS do
  redis.call('XADD', KEYS[i], '*', 'post', ARGV[2 * i - 5])
  redis.call('EXPIRE', KEYS[i], ARGV[2 * i - 4])
end
return #KEYS - 3
