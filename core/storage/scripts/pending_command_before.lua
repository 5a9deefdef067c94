-- KEYS: the chat's pending commands. ARGV: the event's position, the in-flight key
-- prefix of its chat. The lowest pending command before it whose in-flight marker still
-- exists, or 0; commands handled or retired elsewhere (dead-lettered, expired) are dropped.
local found = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
for _, s in ipairs(found) do
  if redis.call('EXISTS', ARGV[2] .. s) == 1 then return tonumber(s) end
  redis.call('ZREM', KEYS[1], s)
end
return 0
