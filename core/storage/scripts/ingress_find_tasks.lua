-- KEYS: the Celery queues (lists: the first stage's, then the later stages'), kombu's
-- unacknowledged messages (hash, last). ARGV: task ids.
-- Which of the tasks are still somewhere a worker will run them from: waiting in a
-- queue, or held by a worker (alive, or dead and about to be restored by kombu).
-- Each message's first "id" is its task id (the body before it is base64, without quotes).
local wanted = {}
for i = 1, #ARGV do wanted[ARGV[i]] = true end
local found = {}
local function look(message)
  local id = string.match(message, '"id":%s*"([^"]+)"')
  if id and wanted[id] then
    found[#found + 1] = id
    wanted[id] = nil
  end
end
for k = 1, #KEYS - 1 do
  for _, message in ipairs(redis.call('LRANGE', KEYS[k], 0, -1)) do look(message) end
end
if #found < #ARGV then
  for _, message in ipairs(redis.call('HVALS', KEYS[#KEYS])) do look(message) end
end
return found
