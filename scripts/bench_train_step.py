#!/usr/bin/env python3
"""Side-by-side benchmark of one GPT fine-tuning step (forward + backward, no optimizer) in the
reference (coqui-tts, PyTorch) and in Vocalis, on the same model and the same batch, in one run.

    /work/venvs/ref/bin/python scripts/bench_train_step.py [--work DIR] [--threads 2] [--batch 2] [--steps 3]

Steps:
 1. Builds (once) DIR/model: the full-size XTTS v2-shaped model (30 layers x 1024, 16 heads) with
    seeded weights, via `build_model` of bench_reference.py without the stop tuning.
 2. Writes (once per --batch) DIR/batch-B.safetensors: a fixed seeded batch of random text ids
    (ordinary vocabulary tokens, ~40 per sample), random DVAE codes (0..1023, ~150 per sample),
    wav lengths = codes * 1024, random log-mel-like conditioning mels [B, 1, 80, 517] and the
    conditioning slices (sample indices, masking approach, 3 s each).
 3. Reference: `model.gpt(...)` as GPTTrainer calls it, loss = 0.01 * text CE + mel CE,
    backward; eval mode (no dropout), torch.set_num_threads(THREADS), 1 warm-up + STEPS steps.
 4. Vocalis: `train_step_bench` (crates/vocalis-core/examples) on the same dir and batch with
    RAYON_NUM_THREADS=THREADS, CANDLE_NUM_THREADS=1 (as vocalis-train sets it).
 5. Prints both medians, the ratio and both losses, and writes the section
    "## Fine-tuning step: Vocalis vs the reference" of docs/benchmarks.md.
"""

import argparse
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "reference"))

SECTION = "## Fine-tuning step: Vocalis vs the reference"
BATCH_SEED = 1234
COND_FRAMES = 517  # style mel of a 132300-sample (6 s at 22.05 kHz) padded slice
COND_SAMPLES = 66150  # 3 s conditioning slice, as export_fixtures.py


def make_batch(path: Path, vocab: Path, b: int) -> None:
    import torch
    from safetensors.torch import save_file

    tok = json.loads(vocab.read_text(encoding="utf-8"))
    special = {t["id"] for t in tok["added_tokens"]}
    ordinary = torch.tensor(sorted(set(tok["model"]["vocab"].values()) - special))
    g = torch.Generator().manual_seed(BATCH_SEED)
    text_lens = [40 - 4 * i for i in range(b)]
    code_lens = [150 - 10 * i for i in range(b)]
    text = torch.zeros(b, max(text_lens), dtype=torch.long)
    codes = torch.zeros(b, max(code_lens), dtype=torch.long)
    cond_idxs = torch.zeros(b, 2, dtype=torch.long)
    for i in range(b):
        text[i, : text_lens[i]] = ordinary[torch.randint(len(ordinary), (text_lens[i],), generator=g)]
        codes[i, : code_lens[i]] = torch.randint(0, 1024, (code_lens[i],), generator=g)
        start = int(torch.randint(0, code_lens[i] * 1024 - COND_SAMPLES, (1,), generator=g))
        cond_idxs[i] = torch.tensor([start, start + COND_SAMPLES])
    cond_mels = torch.randn(b, 1, 80, COND_FRAMES, generator=g) * 1.5 - 3.0
    save_file({"text": text, "text_lens": torch.tensor(text_lens), "codes": codes, "code_lens": torch.tensor(code_lens),
               "wav_lens": torch.tensor(code_lens) * 1024, "cond_mels": cond_mels.contiguous(), "cond_idxs": cond_idxs},
              str(path))


def bench_reference(model_dir: Path, batch_path: Path, threads: int, steps: int) -> dict:
    import torch
    from safetensors.torch import load_file
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts

    torch.set_num_threads(threads)
    td = Path(tempfile.mkdtemp())  # the reference rewrites model.pth on first load
    try:
        for f in ("config.json", "model.pth", "vocab.json"):
            shutil.copyfile(model_dir / f, td / f)
        cfg = XttsConfig()
        cfg.load_json(str(td / "config.json"))
        m = Xtts(cfg)
        m.load_checkpoint(cfg, checkpoint_dir=str(td), eval=True)
    finally:
        shutil.rmtree(td)
    gpt = m.gpt
    gpt.train(False)  # no dropout, as Vocalis's TrainOpts::default()
    bt = load_file(str(batch_path))

    def step() -> float:
        gpt.zero_grad(set_to_none=True)
        with torch.enable_grad():
            lt, lm, _ = gpt(bt["text"].clone(), bt["text_lens"].clone(), bt["codes"].clone(), bt["wav_lens"].clone(),
                            cond_mels=bt["cond_mels"], cond_idxs=bt["cond_idxs"].clone(), cond_lens=None)
            loss = 0.01 * lt + 1.0 * lm
            loss.backward()
        return loss.item()

    loss = step()  # warm-up
    secs = []
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = step()
        secs.append(time.perf_counter() - t0)
    del m, gpt
    gc.collect()
    return {"step_secs_median": sorted(secs)[len(secs) // 2] if len(secs) % 2 else
            0.5 * (sorted(secs)[len(secs) // 2 - 1] + sorted(secs)[len(secs) // 2]), "step_secs": secs, "loss": loss}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/vocalis-train-bench"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()
    t_start = time.perf_counter()
    model = args.work / "model"
    if not (model / "model.pth").is_file():
        from bench_reference import build_model

        print("building the full-size model...", flush=True)
        build_model(model, 0, tune_stop=False)
    batch = args.work / f"batch-{args.batch}.safetensors"
    if not batch.is_file():
        make_batch(batch, model / "vocab.json", args.batch)

    print("building train_step_bench...", flush=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "vocalis-core", "--example", "train_step_bench"], cwd=ROOT,
                   check=True)
    print("reference...", flush=True)
    load_ref = os.getloadavg()[0]
    ref = bench_reference(model, batch, args.threads, args.steps)
    print(f"reference: {json.dumps(ref)}", flush=True)
    print("vocalis...", flush=True)
    load_voc = os.getloadavg()[0]
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), CANDLE_NUM_THREADS="1")
    p = subprocess.run([ROOT / "target/release/examples/train_step_bench", model, batch, str(args.steps)], env=env,
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"train_step_bench failed:\n{p.stderr[-3000:]}")
    voc = json.loads([line for line in p.stdout.splitlines() if line.startswith("{")][-1])
    print(f"vocalis: {json.dumps(voc)}", flush=True)

    ratio = voc["step_secs_median"] / ref["step_secs_median"]
    rel = abs(voc["loss"] - ref["loss"]) / abs(ref["loss"])
    if rel > 1e-3:
        print(f"WARNING: the losses differ by {rel:.2e} relative", flush=True)
    import torch
    from safetensors.torch import load_file

    bt = load_file(str(batch))
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
    lines = [
        SECTION,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {cpu}, {os.cpu_count()} cores, {args.threads} threads each "
        f"(reference: torch {torch.__version__}, `torch.set_num_threads({args.threads})`; Vocalis: "
        f"`RAYON_NUM_THREADS={args.threads} CANDLE_NUM_THREADS=1`, as vocalis-train sets it).",
        "One GPT fine-tuning step = forward + backward of `loss = 0.01 * text CE + mel CE`, no optimizer, "
        "eval mode (no dropout), conditioning-slice masking on; 1 warm-up step, median of "
        f"{args.steps} timed steps. Same full-size XTTS v2-shaped GPT (30 layers x 1024, 16 heads, seeded random "
        "weights, 92-token vocabulary, f32) and same seeded batch: "
        f"{args.batch} samples, text {bt['text_lens'].tolist()} tokens, codes {bt['code_lens'].tolist()}, "
        f"conditioning mels {list(bt['cond_mels'].shape)}. In one run of:",
        "",
        f"    PYTHON scripts/bench_train_step.py --threads {args.threads} --batch {args.batch} --steps {args.steps}"
        "   # PYTHON: the reference venv",
        "",
        "| implementation | s / step (median) | steps (s) | loss |",
        "|---|---|---|---|",
        f"| reference (PyTorch) | {ref['step_secs_median']:.2f} | {', '.join(f'{s:.2f}' for s in ref['step_secs'])} | "
        f"{ref['loss']:.6f} |",
        f"| Vocalis (candle) | {voc['step_secs_median']:.2f} | {', '.join(f'{s:.2f}' for s in voc['step_secs'])} | "
        f"{voc['loss']:.6f} |",
        "",
        f"Vocalis / reference: **{ratio:.2f}x** the time per step. Losses differ by {rel:.1e} (relative).",
        f"1-minute load average just before each side: reference {load_ref:.2f}, Vocalis {load_voc:.2f} "
        f"(above ~{args.threads}, other jobs shared the {os.cpu_count()} cores and inflate the times).",
        "",
    ]
    table = "\n".join(lines)
    print(table)
    print(f"wall time of the run: {time.perf_counter() - t_start:.0f} s")
    if not args.no_write:
        doc = ROOT / "docs/benchmarks.md"
        text = doc.read_text() if doc.exists() else "# Benchmarks\n\n"
        text = re.sub(re.escape(SECTION) + r"\n.*?(?=\n## |\Z)", "", text, flags=re.S).rstrip() + "\n\n"
        doc.write_text(text + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
