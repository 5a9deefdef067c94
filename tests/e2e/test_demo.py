"""`twinbridge demo` as a newcomer runs it: no token, no internet (every translator on this
machine), exit 0, and every step it shows arrives, the organiser's event notice with each
community's local time, the RSVPs counted across the bridge and a phone photo that arrives
without where it was taken included."""

from __future__ import annotations

from ..processes import run_cli


def test_the_demo_runs_offline_and_every_step_arrives(tmp_path, redis_url):
    result = run_cli(["demo"], env={"REDIS_URL": redis_url, "LIBRETRANSLATE_URL": ""}, cwd=tmp_path, timeout=240)
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert "✗" not in out and "Traceback" not in out + result.stderr
    assert "is on its way to 3 chat(s)" in out
    assert "Krefeld:   " in out and ("MEZ" in out or "MESZ" in out)
    assert "count two going" in out and "counted across every twin" in out
    assert "Leicester now shows: Going: 2 · Maybe: 0 · Can't: 0" in out
    assert "GPS: 52.63,-1.13 → none" in out and "camera serial: 38061FDJH00CXJ → none" in out
    assert "the picture itself: byte for byte the same" in out
