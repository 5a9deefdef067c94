"""The floor worker's Celery app: `celery -A benchmarks.floor_worker worker` (see floor.py)."""

from benchmarks.floor import make_floor_app

app = make_floor_app()
