local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local function read_bucket(key)
  local nums = {}
  local raw = redis.call('GET', key)
  if raw then
    for word in string.gmatch(raw, '%d+') do nums[#nums + 1] = tonumber(word) end
  end
  local paused = table.remove(nums, 1) or 0
  return paused, nums
end

local function write_bucket(key, paused, sends, ttl_us)
  local parts = {string.format('%.0f', paused > now and paused or 0)}
  for i = 1, #sends do parts[#parts + 1] = string.format('%.0f', sends[i]) end
  redis.call('SET', key, table.concat(parts, ' '), 'PX', math.max(1, math.ceil(ttl_us / 1000)))
end
