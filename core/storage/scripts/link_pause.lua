-- KEYS: the link's pause record.
-- ARGV: the command's id, the record to write (JSON), its TTL in seconds (0: none).
-- Returns the record now in force: the one written, or, when this same command wrote one
-- before (its task run again), that one, unchanged (so its notices say the same time).
local current = redis.call('GET', KEYS[1])
if current then
  local ok, found = pcall(cjson.decode, current)
  if ok and type(found) == 'table' and found['command'] == ARGV[1] then return current end
end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return ARGV[2]
