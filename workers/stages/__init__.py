"""One thin Celery task module per stage, each on its own queue (workers/app.py
wires them): decode, call plain functions, hand on or publish. A worker imports
only its role's modules."""
