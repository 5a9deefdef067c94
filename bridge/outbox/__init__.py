"""Outbox consumption: the adapter side of delivery.

Workers append one entry per destination post to the platform's outbox stream.
The platform's adapter reads them with a consumer group (what it had in hand
when it stopped is read again after a restart; consumer.py) and hands each to the
*lane* of its destination chat (lane.py):

- one lane per destination, so a chat that is rate limited or failing never
  holds up the others;
- inside a lane, a source chat's posts go out in the order they were written
  (their ``seq``), whatever order the workers finished them in; a missing
  position is waited for while it is still in flight (at most ``gap_timeout``
  seconds), otherwise only briefly;
- each post is rate limited (shared limiter in Redis), retried on 429 (after
  ``retry_after``) and on 5xx/network errors (backoff with jitter), and after
  ``max_attempts`` parked in the dead letters with its reason (delivery.py);
  consecutive deletes go out in batches where the platform allows (deletes.py);
- before a NEW post is sent its *intent* is recorded (core/intents.py); a post read
  again with an intent left over (a crash, an error that may have posted it) is looked
  for on the platform before it is sent again;
- the id map records the copies (and drops the intent); then the entry is acknowledged
  and deleted (message text lives in Redis only while in flight);
- for erasure (workers/erasure.py): a post whose author was erased after writing
  it is not sent (their tombstone, core/persons.py); the bot's notices showing a
  member's data and the relayed replies quoting a message are indexed, so erasure
  can delete the notices and drop the quotes (erasure.py).

What is read from and written to Redis is the storage layer's (core/storage/outbox.py,
core/storage/deliveries.py).
"""

from .consumer import OutboxConsumer

__all__ = ["OutboxConsumer"]
