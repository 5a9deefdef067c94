-- KEYS: the firing marker of WHAT, the announcement, its published posts (a hash), then one
-- outbox stream per post. ARGV: WHAT, the kept posts' TTL when the announcement has none,
-- then (post, its TTL, its field in the published posts or '' not to keep it) per post: the
-- announcement's own copies are kept (the RSVP refresh edits them), a reminder's are not.
-- Publishes one firing of an announcement once: only while its firing marker is there (set
-- when it was handed to the fire task, removed by a cancellation), which it retires with
-- publishing, as the publishing script retires an event's in-flight marker. The first
-- firing makes a scheduled announcement sent. -1 when published before or cancelled.
if redis.call('DEL', KEYS[1]) == 0 then return -1 end
if ARGV[1] == 'fire' and redis.call('HGET', KEYS[2], 'state') == 'scheduled' then
  redis.call('HSET', KEYS[2], 'state', 'sent')
end
local kept = 0
for i = 4, #KEYS do
  local post, field = ARGV[3 * i - 9], ARGV[3 * i - 7]
  redis.call('XADD', KEYS[i], '*', 'post', post)
  redis.call('EXPIRE', KEYS[i], ARGV[3 * i - 8])
  if field ~= '' then
    redis.call('HSET', KEYS[3], field, post)
    kept = kept + 1
  end
end
if kept > 0 then
  local ttl = redis.call('TTL', KEYS[2])
  if ttl < 1 then ttl = tonumber(ARGV[2]) end
  redis.call('EXPIRE', KEYS[3], ttl)
end
return #KEYS - 3
