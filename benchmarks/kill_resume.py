"""Kill a training with SIGKILL at random moments and check that resuming ends at the uninterrupted weights.

    python benchmarks/kill_resume.py                              # 2,000 steps, 20 kills (about 20 s)
    python benchmarks/kill_resume.py --steps 300 --kills 4        # what tests/hostile/test_crash.py runs
    python benchmarks/kill_resume.py --checkpoint-every 1 --seed 3 --keep runs/kill

A tiny character-level language model (``gatedrnn train``, LSTM 12 units, batch 4 x time 8, Adam, clipping) on a
generated corpus is trained once without interruption, then again in another folder as separate
``python -m gatedrnn.cli train`` processes, each killed with SIGKILL at a random moment of its training (once
its checkpoint passes a step drawn uniformly in its share of the steps left, plus a random part of a checkpoint
interval) and continued with ``--resume`` (started again with ``--overwrite`` when it was
killed before its first checkpoint), until a process finishes. A checkpoint is written every
``--checkpoint-every`` steps, so many kills land inside a save. Each kill prints the step of the checkpoint the
next process resumes from and what the kill left in the run folder (``.last.tmp-*`` ...). The script exits with
status 0 when the final weights are bit-identical to the uninterrupted run's and the run folder holds no orphan,
1 otherwise. Unix only (SIGKILL).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy

from gatedrnn.data.synthetic import toy_sentences
from gatedrnn.train.checkpoint import locate_checkpoint, read_checkpoint

TINY = ["--level", "char", "--embed-size", "8", "--hidden-size", "12", "--batch-size", "4", "--time-size", "8",
        "--eval-batch-size", "2", "--optimizer", "adam", "--lr", "0.01", "--clip", "1", "--no-progress"]
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def start(cmd: list[str]) -> subprocess.Popen:
    """``gatedrnn`` ``cmd`` in a child process, returned once it says ``training:``."""
    proc = subprocess.Popen([sys.executable, "-m", "gatedrnn.cli", *cmd], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=ENV)
    for line in proc.stdout:
        if line.startswith("training:"):
            break
    return proc


def step_of(run: Path) -> int:
    return 0 if locate_checkpoint(run / "last") is None else read_checkpoint(run / "last")[0]["trainer"]["step"]


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = read_checkpoint(a)[1], read_checkpoint(b)[1]
    return wa.keys() == wb.keys() and all(numpy.array_equal(wa[k], wb[k]) for k in wa)


def kill_at_random(proc: subprocess.Popen, run: Path, done: int, steps: int, every: int, seconds: float, rng,
                   kills_left: int) -> bool:
    """SIGKILL ``proc`` once the run's checkpoint passes a step drawn at random in the next share of what is left
    (1 / ``kills_left`` of it, so that every kill has room), plus a random part of a checkpoint interval (so that
    kills land between saves and inside them); False when too little was left (the process is let finish)."""
    room = (steps - done - 2 * every) // kills_left
    if room < 1:
        return False
    target = done + 1 + int(rng.integers(0, room))
    while step_of(run) < target and proc.poll() is None:
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, seconds / steps * every))
    proc.send_signal(signal.SIGKILL)
    return True


def kill_loop(run: Path, args: list[str], steps: int, kills: int, every: int, seconds: float, rng) -> int:
    """Train into ``run`` killing up to ``kills`` processes; returns the number of kills that landed."""
    landed = 0
    while True:
        done = step_of(run)
        cmd = (["train", "--out", str(run), "--resume", "--max-steps", str(steps), "--no-progress"] if done else
               ["train", *args, "--out", str(run), "--overwrite"])
        proc = start(cmd)
        if landed < kills:
            kill_at_random(proc, run, done, steps, every, seconds, rng, kills - landed)
        out, _ = proc.communicate(timeout=600)
        if proc.returncode == 0:
            print(f"final process from step {done}: finished")
            return landed
        if proc.returncode != -signal.SIGKILL:
            print(out)
            raise SystemExit(f"the process from step {done} failed with status {proc.returncode}")
        landed += 1
        left = sorted(p.name for p in run.iterdir() if p.name.startswith("."))
        print(f"kill {landed:2d}: started at step {done}, resumes from step {step_of(run)}"
              f"{'; left ' + ', '.join(left) if left else ''}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=2000, help="training steps (default 2000)")
    ap.add_argument("--kills", type=int, default=20, help="processes to kill (default 20)")
    ap.add_argument("--checkpoint-every", type=int, default=3, help="steps between checkpoints (default 3)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill moments (default 0)")
    ap.add_argument("--keep", default=None, help="folder for the runs (default: a temporary one, removed)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(a.keep or tmp)
        root.mkdir(parents=True, exist_ok=True)
        (root / "toy.txt").write_text(toy_sentences(4000, seed=0))
        args = ["--corpus", str(root / "toy.txt"), "--epochs", "1000", "--max-steps", str(a.steps),
                "--checkpoint-every", str(a.checkpoint_every), *TINY]
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gatedrnn.cli", "train", *args, "--out", str(root / "full"),
                        "--overwrite"], env=ENV, check=True, stdout=subprocess.DEVNULL)
        seconds = read_checkpoint(root / "full" / "last")[0]["trainer"]["seconds"]
        print(f"uninterrupted: {a.steps} steps, {seconds:.1f} s of training ({time.perf_counter() - t0:.1f} s wall)")
        t0 = time.perf_counter()
        landed = kill_loop(root / "run", args, a.steps, a.kills, a.checkpoint_every, seconds, numpy.random.default_rng(a.seed))
        same = same_weights(root / "run" / "last", root / "full" / "last")
        orphans = [p.name for p in (root / "run").iterdir() if p.name.startswith(".")]
        print(f"{landed} kills in {time.perf_counter() - t0:.1f} s; final weights "
              f"{'bit-identical to' if same else 'DIFFERENT from'} the uninterrupted run's; "
              f"orphans left: {', '.join(orphans) or 'none'}")
        return 0 if same and not orphans and landed == a.kills else 1


if __name__ == "__main__":
    sys.exit(main())
