-- KEYS: the link's pause record.
-- ARGV: the command's id, the "resumed" record to write (JSON), its TTL in seconds.
-- 1 when the link was paused and is resumed now, or this same command resumed it before
-- (its task run again); 0 when it was not paused.
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local ok, found = pcall(cjson.decode, current)
if not ok or type(found) ~= 'table' then found = {state = 'paused'} end
if found['state'] == 'resumed' then
  if found['command'] == ARGV[1] then return 1 end
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
