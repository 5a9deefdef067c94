-- KEYS: seen, seq[, the platform's adapter lease, the counters]. ARGV: this process's PENDING token, its
-- TTL, the retention TTL. The event's position, or (when it was accepted before or is being
-- accepted) the seen marker. A PENDING marker of another process is taken over at once when
-- this process holds the platform's adapter lease: the other process no longer runs the
-- adapter (it was killed, or lost the lease), so its accept will never finish; without that,
-- the platform's redelivery (and its chat behind it) waited out the marker's whole TTL.
local current = redis.call('GET', KEYS[1])
if current and KEYS[3] and current ~= ARGV[1] and string.sub(current, 1, 8) == 'pending:' then
  local holder = redis.call('GET', KEYS[3])
  if holder and 'pending:' .. holder == ARGV[1] then
    current = nil
    redis.call('HINCRBY', KEYS[4], 'ingress.pending_taken_over', 1)
  end
end
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  local seq = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  return seq
end
return current
