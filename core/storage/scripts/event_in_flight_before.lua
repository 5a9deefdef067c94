-- ARGV: the command's position, the in-flight key prefix of its chat, the lookback.
-- The highest earlier position still in flight, or 0.
local seq = tonumber(ARGV[1])
for s = seq - 1, math.max(1, seq - tonumber(ARGV[3])), -1 do
  if redis.call('EXISTS', ARGV[2] .. s) == 1 then return s end
end
return 0
