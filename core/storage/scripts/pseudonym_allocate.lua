-- KEYS: the member's pseudonym, then the claim marker of each candidate name.
-- ARGV: TTL, the owner tag (a keyed hash of the member), then the candidate names.
-- The member's name if they have one (its expiry renewed), else the first free candidate.
local mine = redis.call('GET', KEYS[1])
if mine then
  for i = 2, #KEYS do
    if ARGV[i + 1] == mine then redis.call('EXPIRE', KEYS[i], ARGV[1]) end
  end
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  return mine
end
for i = 2, #KEYS do
  local owner = redis.call('GET', KEYS[i])
  if (not owner) or owner == ARGV[2] then
    redis.call('SET', KEYS[i], ARGV[2], 'EX', ARGV[1])
    redis.call('SET', KEYS[1], ARGV[i + 1], 'EX', ARGV[1])
    return ARGV[i + 1]
  end
end
redis.call('SET', KEYS[1], ARGV[#ARGV], 'EX', ARGV[1])
return ARGV[#ARGV]
