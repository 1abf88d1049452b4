"""Policy lab back-test of a model candidate, next to the classifier's own rate, one core.

Usage:
    taskset -c 0 .venv/bin/python -m bench.lab_model_candidate [--texts 3000]
        [--rounds 3] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

A model candidate re-classifies every stored comment of the window, so the lab can go no
faster than the classifier; this shows it goes as fast. The candidate is a retrained model
version from the registry: trained on a share of the base data (not timed), adopted, then
rolled back so that it is recorded but not live, as the lab finds one. The stored history is
`--texts` distinct tweet-length texts (the TweetEval offensive and hate test splits, as
bench/cascade_speed.py), spread over eight weeks, each with the verdict the live (packaged)
fast stage gave it. Timed, with the encoder's per-text cache emptied before each part (a
repeated text would be free): the packaged cascade and the candidate's own classifier, each
batched, then the lab's back-test of the candidate over the same texts (seconds from its
call to its report: reading the rows, loading the model, classifying, comparing), in
interleaved rounds; the medians are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.classifier import rate, read
from bench.ingest import fresh_database
from bench.report import emit
from classifiers import encoder
from classifiers import retrain as trainer
from classifiers.model import DEFAULT_DATASETS
from classifiers.policy import PolicyClassifier
from config.settings import Settings
from monitor import retrain
from monitor.db import make_engine, session_factory, transaction, upgrade
from monitor.lab.backtest import Candidate, backtest
from monitor.models import Channel, Item, Verdict

#: the share of the base data the candidate is trained on (training is not what is measured)
FRACTION = 0.15


def _forget() -> None:
    # the encoder remembers each text's probabilities per process: empty it before each timed
    # part, or whichever part ran second would be served from memory
    with encoder._CACHE.lock:
        encoder._CACHE.rows.clear()


def seed(url: str, texts: list[str], now: datetime) -> None:
    """One stored comment per text over eight weeks, each with the live fast stage's verdict."""
    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    verdicts = PolicyClassifier(use_encoder=False).classify(texts)
    span = timedelta(weeks=8)
    with transaction(factory) as session:
        channel = Channel(name="bench", platform="demo")
        session.add(channel)
        session.flush()
        session.execute(insert(Item), [
            {"id": i + 1, "channel_id": channel.id, "platform": "demo",
             "external_id": f"bench-{i}", "kind": "comment", "author_id": f"a-{i % 97}",
             "text": text, "is_own": False, "fetched_at": now, "raw": {},
             "created_at": now - span + span * (i + 0.5) / len(texts)}
            for i, text in enumerate(texts)])
        session.execute(insert(Verdict), [
            {"item_id": i + 1, "model_version": v.model_version[:64],
             "labels": [x.value for x in v.labels],
             "scores": {k.value: s for k, s in v.scores.items()}, "spans": [],
             "reasons": list(v.reasons), "severity": v.severity.value, "created_at": now}
            for i, v in enumerate(verdicts)])
    engine.dispose()


def candidate_version(url: str, data_dir: Path, trained: Path) -> str:
    """Record `trained` as a model version that was live once and is not now."""
    engine = make_engine(url)
    factory = session_factory(engine)
    with transaction(factory) as session:
        version = retrain.adopt(session, source=trained, data_dir=data_dir,
                                actor="bench").version
    with transaction(factory) as session:
        retrain.rollback(session, actor="bench")  # back to the packaged model
    engine.dispose()
    return version


def main() -> None:
    """Train, seed, then time the classifiers and the back-test per backend; print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=3000, help="at most 3,300")
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    pool = list(dict.fromkeys(read(DEFAULT_DATASETS, "tweeteval_offensive", "test")[0]
                              + read(DEFAULT_DATASETS, "tweeteval_hate", "test")[0]))
    texts = pool[: args.texts]
    now = datetime.now(UTC)
    out: dict[str, Any] = {"texts": len(texts), "load_average": list(os.getloadavg())}
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    timed: dict[str, list[float]] = {k: [] for k in ["packaged", "candidate", *backends]}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        trained = Path(tmp) / "trained"
        trainer.train_candidate(trained, [], datasets=DEFAULT_DATASETS, base_fraction=FRACTION)
        packaged, own = PolicyClassifier(), trainer.policy_from_dir(trained)
        setups: dict[str, tuple[str, Settings, str]] = {}
        for kind in backends:
            url = stack.enter_context(fresh_database(kind, args.postgres))
            seed(url, texts, now)
            data_dir = Path(tmp) / kind
            setups[kind] = (url, Settings(database_url=url, data_dir=data_dir, channels=[]),
                            candidate_version(url, data_dir, trained))
        # rounds interleave the parts, so that a busy spell of the shared machine falls on
        # all of them alike; the median of each is reported
        for _ in range(args.rounds):
            _forget()
            timed["packaged"].append(rate(packaged.classify, texts, batched=True))
            _forget()
            timed["candidate"].append(rate(own.classify, texts, batched=True))
            for kind, (url, settings, version) in setups.items():
                engine = make_engine(url)
                with session_factory(engine)() as session:
                    _forget()
                    started = time.perf_counter()
                    report = backtest(session, settings, Candidate(model_version=version),
                                      weeks=8, now=now + timedelta(seconds=1))
                    seconds = time.perf_counter() - started
                engine.dispose()
                timed[kind].append(round(report.comments / seconds, 1))
                out[f"lab_backtest_{kind}"] = {
                    "version": version, "method": report.method, "comments": report.comments,
                    "live_alerts": report.live_alerts,
                    "candidate_alerts": report.candidate_alerts}
    out["packaged_cascade_batched"] = statistics.median(timed["packaged"])
    out["candidate_classifier_batched"] = statistics.median(timed["candidate"])
    for kind in backends:
        lab_rate = statistics.median(timed[kind])
        out[f"lab_backtest_{kind}"].update({
            "comments_per_second": lab_rate, "rounds": timed[kind],
            "vs_candidate_classifier": round(lab_rate / out["candidate_classifier_batched"], 2)})
    out["rounds"] = {k: timed[k] for k in ("packaged", "candidate")}
    out["load_average_after"] = list(os.getloadavg())
    emit(out, args.out)


if __name__ == "__main__":
    main()
