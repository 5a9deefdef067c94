-- KEYS: the notice's shown version, then one outbox stream per post.
-- ARGV: the counts' version the posts show, the shown version's TTL, then (post, its TTL)
-- per post. Queues the edits only when no refresh queued this version or a newer one
-- (two refreshes finishing out of order never put older counts over newer ones):
-- 1 when queued, 0 when not.
local shown = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= shown then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
for i = 2, #KEYS do
  redis.call('XADD', KEYS[i], '*', 'post', ARGV[2 * i - 1])
  redis.call('EXPIRE', KEYS[i], ARGV[2 * i])
end
return 1
