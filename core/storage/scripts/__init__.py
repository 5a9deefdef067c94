"""Every Lua script the bridge runs against Redis: one ``NAME.lua`` file each in this
folder (its first lines say what its KEYS and ARGV are), loaded here once.

Scripts run by EVALSHA: the server keeps them, so only the SHA1 travels with each call;
after a Redis restart (or SCRIPT FLUSH) the server answers NOSCRIPT and redis-py loads
the text again by itself. Inside a pipeline, :func:`queue` sends the text (EVAL): a
redis-py Script queued there costs a SCRIPT EXISTS round trip before every pipeline."""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template

from redis.commands.core import Script

from core.task_queue import IN_FLIGHT

# Scripts that begin with the lines of a shared prologue (its locals and functions).
_PROLOGUES = {
    "publish": "retire_ingress_entry",
    "command_finish": "retire_ingress_entry",
    "rate_limit_reserve": "rate_limit_prelude",
    "rate_limit_pause": "rate_limit_prelude",
}
# Values written into the scripts where they say $NAME.
_CONSTANTS = {"IN_FLIGHT": IN_FLIGHT}


@cache
def text(name: str) -> str:
    """The full text of the script ``name`` (with its prologue)."""
    body = resources.files(__package__).joinpath(f"{name}.lua").read_text(encoding="utf-8")
    if name in _PROLOGUES:
        body = text(_PROLOGUES[name]) + body
    return Template(body).substitute(_CONSTANTS)


def register(redis, name: str):
    """The script ``name`` for ``redis`` (a client, sync or asyncio): call it with
    ``keys=``, ``args=`` and, to queue it in a pipeline, ``client=``."""
    return redis.register_script(text(name))


def queue(pipe, name: str, keys: list, args: list) -> None:
    """Queue the script ``name`` on ``pipe`` (sync or asyncio, transaction or not) as
    EVAL of its text. One round trip with the pipeline's other commands: no SCRIPT
    EXISTS before it (what a queued Script does, for its NOSCRIPT that a MULTI could not
    take back), and the server compiles a text once and caches it by its SHA1."""
    pipe.eval(text(name), len(keys), *keys, *args)


_REGISTERED: dict[str, Script] = {}  # name -> redis-py Script (its SHA1 computed once)


def run(redis, name: str, keys: list, args: list):
    """Run the script ``name`` on a synchronous client (or pipeline) at once."""
    script = _REGISTERED.get(name)
    if script is None:
        script = _REGISTERED[name] = redis.register_script(text(name))
    return script(keys, args, client=redis)
