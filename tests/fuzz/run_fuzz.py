"""Long runs of the core fuzzer (``tests/_fuzz_core.py``); ``nox -s fuzz`` runs this.

    python tests/fuzz/run_fuzz.py --cases 100000 --seed 7
    python tests/fuzz/run_fuzz.py --seed 7 --only 4711      # replay one case, verbosely

Each case is named ``SEED:INDEX`` and replays exactly from that name. The run prints progress,
then the number of cases, the time, the outcome mix and every failure with the command that
replays it, and exits 1 if any case failed. A case fails when a core lets anything but an
SSHException escape ``receive_data``, does not close after raising, never settles (livelock),
takes longer than ``--case-seconds`` (the per-case alarm also stops a real hang), or peaks
above the per-case memory bound under tracemalloc (``--no-memory`` skips the measurement,
which roughly halves the run time).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the _fuzz_* helpers

import _fuzz_core as fc


class _Hang(BaseException):
    """Raised by the per-case alarm; a BaseException so no handler in the code swallows it."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Hang


def _run_one(seed: str, hang_seconds: float) -> fc.CaseResult:
    signal.setitimer(signal.ITIMER_REAL, hang_seconds)
    started = time.perf_counter()
    try:
        return fc.run_case(seed)
    except _Hang:
        elapsed = time.perf_counter() - started
        return fc.CaseResult(seed, False, "HANG", elapsed, 0, [], f"no result after {elapsed:.0f}s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _replay(seed: str, hang_seconds: float) -> int:
    session = fc.Session(seed)
    print(f"case {seed}\n  scenario: {session.scenario}")
    for op in session.plan:
        print(f"  plan: {op.action} at {op.selector} (occurrence {op.nth})")
    tracemalloc.start()
    result = _run_one(seed, hang_seconds)
    print(f"  outcome: {result.outcome} in {result.elapsed:.3f}s, peak {result.peak >> 10} KiB")
    for label in result.fired:
        print(f"  fired: {label}")
    if not result.ok:
        print(result.error)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--start", type=int, default=0, help="first case index")
    parser.add_argument("--only", type=int, help="replay the case SEED:ONLY and explain it")
    parser.add_argument("--no-memory", action="store_true", help="skip tracemalloc")
    parser.add_argument("--case-seconds", type=float, default=fc.CASE_SECONDS)
    parser.add_argument("--hang-seconds", type=float, default=120.0)
    parser.add_argument("--progress", type=int, default=5000, help="print every N cases")
    args = parser.parse_args(argv)
    fc.CASE_SECONDS = args.case_seconds
    signal.signal(signal.SIGALRM, _alarm)
    if args.only is not None:
        return _replay(fc.case_seed(args.seed, args.only), args.hang_seconds)
    if not args.no_memory:
        tracemalloc.start()
    print(f"fuzzing the sshwire core: {args.cases} cases, seed {args.seed}", flush=True)
    report = fc.Report()
    began = time.perf_counter()
    for index in range(args.start, args.start + args.cases):
        result = _run_one(fc.case_seed(args.seed, index), args.hang_seconds)
        report.add(result)
        report.seconds = time.perf_counter() - began
        if not result.ok:
            print(f"FAILURE {result.seed}: {result.error.splitlines()[0]}", flush=True)
        if args.progress and report.cases % args.progress == 0:
            print(
                f"  {report.cases} cases, {report.seconds:.0f}s, {len(report.failures)} failures",
                flush=True,
            )
    _summary(report, args.seed, not args.no_memory)
    return 1 if report.failures else 0


def _summary(report: fc.Report, seed: int, memory: bool) -> None:
    print(f"\ncases run: {report.cases}")
    print(
        f"time: {report.seconds:.1f}s ({1000 * report.seconds / max(1, report.cases):.1f} ms/case)"
    )
    print(f"slowest case: {report.slowest} ({report.max_elapsed:.2f}s)")
    if memory:
        print(f"largest per-case memory peak: {report.max_peak / (1 << 20):.1f} MiB")
    targets = ", ".join(f"{n} {t}" for t, n in sorted(report.targets.items()))
    print(f"cases by target: {targets}")
    fired = report.fired
    phases = sorted({label.rsplit("|", 2)[0] for label in fired})
    print(f"mutations fired: {sum(fired.values())} in {len(phases)} target|phase pairs")
    for phase in phases:
        count = sum(n for label, n in fired.items() if label.startswith(phase + "|"))
        print(f"  {phase}: {count}")
    actions: Counter[str] = Counter()
    for label, n in fired.items():
        actions[label.rsplit("|", 1)[1]] += n
    print("mutations by action: " + ", ".join(f"{a} {n}" for a, n in actions.most_common()))
    print("outcomes:")
    for outcome, count in report.outcomes.most_common():
        print(f"  {count:7d}  {outcome}")
    print(
        f"shell parser decode errors (malformed requests the shell refused): "
        f"{report.shell_decode_errors}"
    )
    print(f"failures: {len(report.failures)}")
    for failure in report.failures:
        index = failure.seed.split(":")[1]
        print(f"\n--- {failure.seed} ({failure.outcome}); replay with:")
        print(f"    python tests/fuzz/run_fuzz.py --seed {seed} --only {index}")
        print("    " + "\n    ".join(failure.error.splitlines()[-12:]))


if __name__ == "__main__":
    sys.exit(main())
