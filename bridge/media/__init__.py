"""Files crossing the bridge (issue 15): fetched by the source platform's adapter, made safe
(image metadata stripped), uploaded by the destination's adapter. Bytes never pass through
Redis or a Celery worker: they stream from one platform to a temporary file of the
`twinbridge run` process and from there to the other platform.
"""
