"""A worker's heartbeat (core/liveness.py): `twinbridge status` lists the running
workers and their stage, `twinbridge health --role worker` checks this host's."""

from __future__ import annotations

from celery import bootsteps

from core.storage.connection import redis_client
from core.liveness import Heartbeat
from core.storage import heartbeats
from core.storage.keys import Keys


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Worker bootstep: a thread renews this worker's heartbeat from start to stop (a
    thread, so that a long task in a ``--pool solo`` worker does not stop it)."""

    label = "twinbridge heartbeat"

    def create(self, w):
        settings = w.app.conf.twinbridge_settings
        client = redis_client(settings.redis_url, decode_responses=True, socket_connect_timeout=5, socket_timeout=5)
        stage = getattr(w.app.conf, "twinbridge_role", "all")
        return Heartbeat(client, Keys(settings.redis_prefix), heartbeats.WORKER, {"stage": stage})
