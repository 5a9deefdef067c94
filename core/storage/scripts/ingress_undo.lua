-- KEYS: seen, in-flight marker. ARGV: this process's PENDING token, the TTL.
-- After a failed or unanswered store: if the script ran (its in-flight marker exists) the
-- event is accepted; otherwise the marker is dropped, unless another process took it over.
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('SET', KEYS[1], '1', 'EX', ARGV[2])
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
