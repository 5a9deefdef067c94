-- The first lines of every script that retires an ingress entry (KEYS[1]: the ingress
-- stream, KEYS[2]: the in-flight marker; ARGV[1]: the entry id, IN_FLIGHT for "the one the
-- in-flight marker names" (the adapters enqueue the task in the same script that creates
-- the entry, before its id is known), '' for none (an approved held message)). Only the
-- first run gets past them: a task run again after a worker died returns -1.
local id = ARGV[1]
if id == '$IN_FLIGHT' then
  id = redis.call('GET', KEYS[2])
  if not id then return -1 end
end
if id ~= '' and redis.call('XDEL', KEYS[1], id) == 0 then return -1 end
redis.call('DEL', KEYS[2])  -- the in-flight marker: the lanes may stop waiting for it
