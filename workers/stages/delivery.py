"""The delivery stage's queue (`delivery`, run by `twinbridge worker --role delivery`).

Delivery itself is not a Celery task: the adapters' outbox lanes deliver every post
(bridge/outbox/), in order per source chat, paced by the platforms' limits, and
that is the only place that can (it needs the platform's client and its rate limits).
No worker-side delivery work exists today that needs neither text nor a policy secret:
the records after publishing are written by the stage that publishes (one task fewer
per message), taking back what an erased member published needs the moderation worker
(erasure reads the queued events), and a dead letter is retried by the command line
straight into the moderation queue or an outbox. This queue is where such work goes
when it comes (e.g. delivery bookkeeping moved off the adapters): routed to it in
workers/app.py, its tasks in this module. The role is accepted and consumes the queue,
so a deployment can run it from now on; `twinbridge worker` (all roles) consumes it too.
"""

from __future__ import annotations
