"""Training samples/s of optvol's full GRU training step against a bare GRU loop.

    python benchmarks/train_throughput.py [--size demo|full | --quotes PATH]
        [--epochs N] [--batch-size N] [--steps N] [--warmup N] [--repeats N]
        [--data-dir DIR] [--device auto|cpu|cuda] [--seed N] [--ways WAY ...]

The option quotes:

* ``--size demo`` (the default): the demo sample is generated (into a temporary
  directory, or into ``--data-dir`` if it is not there yet), read with
  ``read_option_files`` and cleaned with ``clean_option_quotes``, in this process;
* ``--size full``: the full-size sample (~3.6M optionsDX rows, ~7M quotes) is generated
  into ``--data-dir`` (default ``benchmarks/results/sample-full-<seed>/``) and cleaned
  there with ``optvol clean`` in a child process, once; later runs reuse its
  ``option_quotes.parquet``;
* ``--quotes PATH``: a clean ``option_quotes`` Parquet file (as ``optvol clean``
  writes it).

A Parquet file is read as the IO manager reads it (``read_frame``). Reading and
``build_samples`` are timed, and the peak RSS is printed after each phase (the
process's peak so far), so the full-size figures are those of the ``gru_model`` asset:
the quotes stay in memory while the samples are built and trained on.

Then, in one process, interleaved for ``--repeats`` rounds, each way runs ``--warmup``
untimed steps and ``--steps`` timed ones with the same batch size, model sizes and seed:

a. ``optvol_step``: one step of ``train_gru`` (optvol/core/options/gru/training.py) per batch,
   through the same ``SampleTensors.batch`` and ``train_step`` it calls: gather the
   batch by a slice of a random permutation of the training indices, ``OptionGRU``
   forward with its Black-Scholes output layer, MSE scaled by ``scalers.price_scale``,
   ``zero_grad``, backward, ``clip_grad_norm_``, AdamW step, ``loss.item()``. The
   permutations are drawn before the timing (``train_gru`` draws one per epoch: ~16 ms
   per ~6 s epoch);
b. ``bare_gru``: the floor. The same ``OptionGRU`` network minus its Black-Scholes output
   layer -- ``nn.GRU`` plus the same MLP head, called through ``iv_correction`` -- on
   one batch ``(B, L, F)``, ``(B, S)`` gathered once before the timing, MSE, zero_grad,
   backward, AdamW step (no clipping). The same head rather than ``nn.Linear(H + S, 1)``
   because the head is part of the model, not of optvol's training machinery: the ratio
   then charges optvol only for what the step adds around the network (the gather, the
   Black-Scholes layer, the loss scaling, clipping, ``loss.item()``);
c. ``gather_only`` (diagnostic): ``SampleTensors.batch`` alone, on the same indices;
d. ``optvol_prebuilt`` (diagnostic): way a's step on the batch of way b, with no gather,
   so a - d is the gather and d - b the Black-Scholes layer, scaling and clipping.

Last, ``train_gru`` itself runs ``--epochs`` epochs (``TrainingConfig`` defaults but
the batch size, seed and device above; 0 skips it) and each epoch's training
samples/s -- the figure its history records -- is set against the bare loop's median
from the same run.

Printed: the config, the read and build times, the median samples/s of each way over
the rounds (with min-max), the ratio ``optvol_step / bare_gru`` (target >= 0.80), each
epoch's samples/s and ratio, and the peak RSS after each phase.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch
from tabulate import tabulate
from torch import nn

from optvol.core.common.memory import peak_rss_megabytes
from optvol.core.options.gru.network import OptionGRU, SampleTensors, Scalers, fit_scalers
from optvol.core.options.gru.training import (
    TrainingConfig,
    architecture_of,
    correction_bound,
    new_optimizer,
    resolve_device,
    train_gru,
    train_step,
)
from optvol.core.options.samples import OptionSamples, SampleConfig, build_samples

HERE = Path(__file__).resolve().parent
TARGET_RATIO = 0.80
WAYS = ("optvol_step", "bare_gru", "gather_only", "optvol_prebuilt")
CLEAN_FILE = "option_quotes.parquet"


def demo_quotes(data_dir: Path | None) -> pd.DataFrame:
    """The demo sample, read and cleaned in this process (generated first if absent)."""
    from optvol.core.options.ingest.clean import clean_option_quotes
    from optvol.core.options.ingest.read import read_option_files
    from optvol.sample import OPTIONS_FILE, write_sample_data

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(data_dir) if data_dir else Path(tmp)
        path = root / OPTIONS_FILE
        if not path.exists():
            path = write_sample_data(root, size="demo")["options"]
        raw, _ = read_option_files([path])
        frame, _ = clean_option_quotes(raw)
    return frame


def full_quotes_file(data_dir: Path | None, seed: int) -> Path:
    """The clean full-size sample's Parquet file, generated and cleaned (by ``optvol
    clean`` in a child process, so this one's peak RSS stays training's) if absent."""
    from optvol.sample import OPTIONS_FILE, write_sample_data

    root = Path(data_dir) if data_dir else HERE / "results" / f"sample-full-{seed}"
    clean = root / CLEAN_FILE
    if not clean.exists():
        raw = root / OPTIONS_FILE
        if not raw.exists():
            raw = write_sample_data(root, size="full", seed=seed)["options"]
        command = [sys.executable, "-m", "optvol.cli", "clean", "--out", str(clean), str(raw)]
        subprocess.run(command, check=True)
    return clean


def load_quotes(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    """The chosen option quotes, and where they came from and what reading them took."""
    from optvol.core.common.parquet import read_frame

    start = time.perf_counter()
    if args.quotes or args.size == "full":
        path = args.quotes or full_quotes_file(args.data_dir, args.seed)
        quotes = read_frame(path)
        return quotes, f"{path} (read {time.perf_counter() - start:.1f} s)"
    quotes = demo_quotes(args.data_dir)
    return quotes, f"demo sample (generated, read, cleaned {time.perf_counter() - start:.1f} s)"


def new_model(
    tensors: SampleTensors, config: TrainingConfig, bound: float
) -> tuple[OptionGRU, torch.optim.Optimizer]:
    """A fresh model and optimizer, seeded as ``train_gru`` seeds them."""
    torch.manual_seed(config.seed)
    model = OptionGRU(**architecture_of(tensors, config, bound)).to(tensors.device)
    model.train()
    return model, new_optimizer(model, config)  # both ways: fused AdamW on CUDA


def bare_step(model, optimizer, batch) -> None:
    """GRU + the same head over pre-built tensors: MSE, backward, AdamW; nothing else."""
    sequence, static, _, target = batch
    loss = nn.functional.mse_loss(model.iv_correction(sequence, static), target)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


class Bench:
    """Everything the ways share: the tensors, the shuffled batches and the fixed batch."""

    def __init__(self, samples: OptionSamples, config: TrainingConfig, device: torch.device):
        self.config, self.device = config, device
        torch.manual_seed(config.seed)
        self.scalers: Scalers = fit_scalers(samples)
        self.tensors = SampleTensors(samples, self.scalers, device)
        self.bound = correction_bound(samples)
        self.train = torch.as_tensor(samples.indices("train"), device=device)
        shuffle = torch.Generator().manual_seed(config.seed)
        self.order = self.train[torch.randperm(len(self.train), generator=shuffle).to(device)]
        self.shuffle = shuffle
        # The batch of the bare loop: real values, gathered once, contiguous.
        fixed = self.tensors.batch(self.order[: config.batch_size])
        self.fixed = tuple(t.clone().contiguous() for t in fixed)

    def indices(self, count: int) -> list[torch.Tensor]:
        """``count`` batches of indices, consecutive slices of random permutations as in
        ``train_gru`` (a new permutation when one is used up; a last partial slice is
        dropped so every batch has the same size)."""
        size, out, start = self.config.batch_size, [], 0
        while len(out) < count:
            if start + size > len(self.order):
                perm = torch.randperm(len(self.train), generator=self.shuffle).to(self.device)
                self.order, start = self.train[perm], 0
            out.append(self.order[start : start + size])
            start += size
        return out

    def run(self, way: str, warmup: int, steps: int) -> float:
        """Seconds of ``steps`` timed steps of ``way`` after ``warmup`` untimed ones."""
        config, tensors, scale = self.config, self.tensors, self.scalers.price_scale
        batches = self.indices(warmup + steps)
        model, optimizer = new_model(tensors, config, self.bound)
        step: Callable[[torch.Tensor], object]
        if way == "optvol_step":

            def step(index):
                return train_step(
                    model, optimizer, tensors.batch(index), scale, config.max_grad_norm
                )
        elif way == "optvol_prebuilt":

            def step(index):
                return train_step(model, optimizer, self.fixed, scale, config.max_grad_norm)
        elif way == "bare_gru":

            def step(index):
                return bare_step(model, optimizer, self.fixed)
        elif way == "gather_only":

            def step(index):
                return tensors.batch(index)
        else:
            raise ValueError(way)
        for index in batches[:warmup]:
            step(index)
        self.sync()
        start = time.perf_counter()
        for index in batches[warmup:]:
            step(index)
        self.sync()
        return time.perf_counter() - start

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def compare_ways(bench: Bench, args: argparse.Namespace) -> float | None:
    """Run the ways interleaved, print their table; return the bare loop's median rate."""
    batch_size = bench.config.batch_size
    rates: dict[str, list[float]] = {way: [] for way in args.ways}
    for _ in range(args.repeats):
        for way in args.ways:
            seconds = bench.run(way, args.warmup, args.steps)
            rates[way].append(args.steps * batch_size / seconds)

    bare = statistics.median(rates["bare_gru"]) if "bare_gru" in rates else None
    rows = []
    for way, values in rates.items():
        median = statistics.median(values)
        ratio = f"{median / bare:.2f}" if bare and way != "gather_only" else ""
        ms = 1e3 * batch_size / median
        rows.append([way, median, min(values), max(values), ms, ratio])
    headers = ["way", "samples/s (median)", "min", "max", "ms/step", "/ bare_gru"]
    floatfmt = ("", ",.0f", ",.0f", ",.0f", ".1f", "")
    print()
    print(tabulate(rows, headers=headers, floatfmt=floatfmt, disable_numparse=[5]))
    if bare and "optvol_step" in rates:
        ratio = statistics.median(rates["optvol_step"]) / bare
        per_round = [a / b for a, b in zip(rates["optvol_step"], rates["bare_gru"], strict=True)]
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        print(
            f"\noptvol_step / bare_gru = {ratio:.2f} (ratio of medians; per round: median "
            f"{statistics.median(per_round):.2f}, range {min(per_round):.2f}-"
            f"{max(per_round):.2f}); target >= {TARGET_RATIO:.2f}: {verdict}"
        )
    print(f"peak RSS after the ways: {peak_rss_megabytes():,.0f} MB")
    return bare


def train_epochs(samples: OptionSamples, config: TrainingConfig, bare: float | None) -> None:
    """``train_gru`` for ``config.epochs`` epochs; print each epoch's history entry."""
    result = train_gru(samples, config)
    rows = [
        [
            h["epoch"],
            h["seconds"],
            h["train_seconds"],
            h["train_samples"],
            h["samples_per_second"],
            f"{h['samples_per_second'] / bare:.2f}" if bare else "",
        ]
        for h in result.history
    ]
    headers = ["epoch", "s", "train s", "samples", "samples/s", "/ bare_gru"]
    floatfmt = ("", ".1f", ".1f", ",", ",.0f", "")
    print()
    print(f"train_gru on {result.device}, {len(result.history)} epoch(s):")
    print(tabulate(rows, headers=headers, floatfmt=floatfmt, disable_numparse=[5]))
    print(f"peak RSS after training: {peak_rss_megabytes():,.0f} MB")


def main() -> None:
    defaults = TrainingConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--size", choices=("demo", "full"), default="demo")
    source.add_argument("--quotes", type=Path, help="a clean option_quotes Parquet file")
    parser.add_argument("--epochs", type=int, default=1, help="train_gru epochs (0: none)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per way and round")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps before them")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--data-dir", type=Path, help="reuse (or create) the sample here")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--ways", nargs="+", default=list(WAYS), choices=WAYS)
    args = parser.parse_args()

    config = TrainingConfig(batch_size=args.batch_size, seed=args.seed, device=args.device)
    device = resolve_device(config.device)
    quotes, source = load_quotes(args)
    read_peak = peak_rss_megabytes()
    start = time.perf_counter()
    samples = build_samples(quotes, SampleConfig())
    build_seconds = time.perf_counter() - start
    build_peak = peak_rss_megabytes()
    start = time.perf_counter()
    bench = Bench(samples, config, device)
    setup = time.perf_counter() - start
    sequence, static, *_ = bench.fixed
    info = {
        "quotes": f"{source}: {len(quotes):,} rows",
        "build_samples s": f"{build_seconds:.1f}",
        "samples / history slots": f"{len(samples.rows):,} / {len(samples.history):,}",
        "peak RSS MB after reading / build_samples": f"{read_peak:,.0f} / {build_peak:,.0f}",
        "batch size": config.batch_size,
        "sequence (B, L, F)": tuple(sequence.shape),
        "static (B, S)": tuple(static.shape),
        "hidden / head / layers": f"{config.hidden_size} / {config.head_size} / "
        f"{config.num_layers}",
        "training samples": len(bench.train),
        "steps x rounds": f"{args.warmup} warm-up + {args.steps} timed x {args.repeats}",
        "device": str(device)
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        "torch threads": torch.get_num_threads(),
        "torch / python": f"{torch.__version__} / {platform.python_version()}",
        "setup (scalers + tensors) s": f"{setup:.1f}",
        "load average (1 min) at start": f"{os.getloadavg()[0]:.2f}",
    }
    print(tabulate(info.items(), tablefmt="plain"))

    bare = compare_ways(bench, args)
    del bench  # train_gru builds its own tensors, as the asset does
    gc.collect()
    if args.epochs:
        train_epochs(samples, dataclasses.replace(config, epochs=args.epochs), bare)
    # `quotes` is still referenced here, as the gru_model asset's input is while it trains.
    print(f"\nquotes held: {len(quotes):,} rows; peak RSS {peak_rss_megabytes():,.0f} MB")


if __name__ == "__main__":
    main()
