#!/usr/bin/env python3
"""One inference stage side by side, the reference's and Vocalis's, alternating.

- `--stage decode` (default): HiFi-GAN on 240 random GPT latents (~11 s of audio); the figure
  is the real-time factor (the reference's `hifigan_decoder`, Vocalis's `stage_times decode`).
- `--stage clone`: voice cloning from a 6.5 s clip already in memory at 22.05 kHz (speaker
  embedding and GPT conditioning latents with the model's defaults); the figure is seconds (the
  reference's `get_speaker_embedding` + `get_gpt_cond_latents`, as `get_conditioning_latents`
  calls them after reading the file; Vocalis's `condition_on_audio` in `stage_times clone`).

Both sides use the same model dir's weights and the same number of threads; each turn times
ROUNDS runs, and the turns alternate PAIRS times so that the machine's drift hits both alike.
Prints every figure and the per-pair ratio of the medians (Vocalis / reference).

    /work/venvs/ref/bin/python scripts/bench_stage.py [--stage decode|clone] [--work /tmp/vocalis-bench] [--pairs 3]

Needs WORK/model (the reference's checkpoint, made by scripts/bench_reference.py) and a Vocalis
dir of the same weights (WORK/model-q8_0 by default: its decoder and conditioning are f32 like
every dir's), and `cargo build --release --workspace --examples`.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=["decode", "clone"], default="decode")
    ap.add_argument("--work", type=Path, default=Path("/tmp/vocalis-bench"))
    ap.add_argument("--vocalis-model", type=Path, help="default WORK/model-q8_0")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    root = Path(__file__).resolve().parent.parent
    stage_times = root / "target" / "release" / "examples" / "stage_times"
    vocalis_model = args.vocalis_model or args.work / "model-q8_0"
    for p in (stage_times, args.work / "model" / "model.pth", vocalis_model):
        if not p.exists():
            sys.exit(f"error: {p} is missing (see this script's help)")

    import torch
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts

    torch.set_num_threads(args.threads)
    src = args.work / "model"
    cfg = XttsConfig()
    cfg.load_json(str(src / "config.json"))
    m = Xtts(cfg)
    m.load_checkpoint(cfg, checkpoint_dir=str(src), eval=True)
    torch.manual_seed(0)
    if args.stage == "decode":
        lat = torch.randn(1, 240, cfg.model_args.gpt_n_model_channels)
        spk = torch.randn(1, 512, 1)

        def reference():
            t0 = time.perf_counter()
            wav = m.hifigan_decoder(lat, g=spk)
            return (time.perf_counter() - t0) / (wav.shape[-1] / 24000)

        pattern, unit = r"RTF ([0-9.]+)", "RTF"
    else:
        # the clip of `stage_times clone`: 6.5 s of two sines at 22.05 kHz
        i = torch.arange(22050 * 13 // 2, dtype=torch.float32)
        clip = ((i * 0.031).sin() * 0.3 + (i * 0.0071).sin() * 0.2).unsqueeze(0)

        def reference():
            t0 = time.perf_counter()
            m.get_gpt_cond_latents(clip, 22050, length=cfg.gpt_cond_len, chunk_length=cfg.gpt_cond_chunk_len)
            m.get_speaker_embedding(clip, 22050)
            return time.perf_counter() - t0

        pattern, unit = r"condition_on_audio ([0-9.]+) ms", "s"

    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    rows = []
    for pair in range(args.pairs):
        with torch.inference_mode():
            ref = [reference() for _ in range(args.rounds)]
        out = subprocess.run(
            [str(stage_times), str(vocalis_model), args.stage, str(args.rounds)],
            env=env, capture_output=True, text=True, check=True,
        ).stdout
        ours = [float(x) for x in re.findall(pattern, out)]
        if args.stage == "clone":
            ours = [x / 1000 for x in ours]
        ratio = statistics.median(ours) / statistics.median(ref)
        rows.append((ref, ours, ratio))
        print(f"pair {pair}: reference {' '.join(f'{r:.3f}' for r in ref)} | "
              f"vocalis {' '.join(f'{r:.3f}' for r in ours)} ({unit}) | ratio of medians {ratio:.2f}", flush=True)
    print(f"ratios: {' '.join(f'{r[2]:.2f}' for r in rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
