-- KEYS: the buckets; ARGV: count, period (us), spacing (us) for each bucket, then optionally the slot
-- (us of Redis time) of an earlier booking of these buckets to move: it is taken out of
-- every bucket before the new one is made (a send that woke too late to keep its slot).
-- Returns {the wait, the slot, Redis time now} in us.
local b = {}
local candidates = {now}
local moving = tonumber(ARGV[3 * #KEYS + 1])
for i = 1, #KEYS do
  local count, period, spacing = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  local paused, sends = read_bucket(KEYS[i])
  local live = {}  -- a send at or before now - period cannot share a window with t >= now
  local dropped = moving == nil
  for _, s in ipairs(sends) do
    if not dropped and s == moving then
      dropped = true
    elseif s > now - period then
      live[#live + 1] = s
      candidates[#candidates + 1] = s + period
      if spacing > 0 then candidates[#candidates + 1] = s + spacing end
    end
  end
  candidates[#candidates + 1] = paused
  b[i] = {count = count, period = period, spacing = spacing, paused = paused, sends = live}
end

-- t is free in a bucket unless paused, closer than `spacing` to a booking, or unless
-- some `count` consecutive bookings would share a window shorter than `period` with t
-- (count + 1 sends in one window).
local function free(x, t)
  if t < x.paused then return false end
  local s, n = x.sends, x.count
  if x.spacing > 0 then
    for i = 1, #s do
      if t > s[i] - x.spacing and t < s[i] + x.spacing then return false end
    end
  end
  for i = 1, #s - n + 1 do
    if s[i + n - 1] - x.period < t and t < s[i] + x.period then return false end
  end
  return true
end

-- The busy times are open intervals (and [now, paused)), so the earliest free
-- instant is now or one of their right ends.
table.sort(candidates)
local at
for _, c in ipairs(candidates) do
  if c >= now then
    local ok = true
    for i = 1, #b do
      if not free(b[i], c) then ok = false; break end
    end
    if ok then at = c; break end
  end
end

for i = 1, #KEYS do
  local x = b[i]
  local pos = #x.sends + 1
  while pos > 1 and x.sends[pos - 1] > at do pos = pos - 1 end
  table.insert(x.sends, pos, at)
  local horizon = math.max(x.paused, x.sends[#x.sends] + x.period)
  write_bucket(KEYS[i], x.paused, x.sends, horizon - now + x.period)
end
return {at - now, at, now}
