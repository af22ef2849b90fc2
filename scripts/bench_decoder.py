#!/usr/bin/env python3
"""HiFi-GAN decoder side by side: the reference's `hifigan_decoder` and Vocalis's, alternating.

Both decode 240 random GPT latents (~11 s of audio) of the same model dir with the same number of
threads; each turn times ROUNDS decodes, and the turns alternate PAIRS times so that the
machine's drift hits both alike. Prints every real-time factor and the per-pair ratio of the
medians.

    /work/venvs/ref/bin/python scripts/bench_decoder.py [--work /tmp/vocalis-bench] [--pairs 3]

Needs WORK/model (the reference's checkpoint, made by scripts/bench_reference.py) and a Vocalis
dir of the same weights (WORK/model-q8_0 by default: its decoder is f32 like every dir's), and
`cargo build --release --workspace --examples`.
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
    lat = torch.randn(1, 240, cfg.model_args.gpt_n_model_channels)
    spk = torch.randn(1, 512, 1)

    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    rows = []
    for pair in range(args.pairs):
        ref = []
        with torch.inference_mode():
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                wav = m.hifigan_decoder(lat, g=spk)
                ref.append((time.perf_counter() - t0) / (wav.shape[-1] / 24000))
        out = subprocess.run(
            [str(stage_times), str(vocalis_model), "decode", str(args.rounds)],
            env=env, capture_output=True, text=True, check=True,
        ).stdout
        ours = [float(x) for x in re.findall(r"RTF ([0-9.]+)", out)]
        ratio = statistics.median(ours) / statistics.median(ref)
        rows.append((ref, ours, ratio))
        print(f"pair {pair}: reference {' '.join(f'{r:.3f}' for r in ref)} | "
              f"vocalis {' '.join(f'{r:.3f}' for r in ours)} | ratio of medians {ratio:.2f}", flush=True)
    print(f"ratios: {' '.join(f'{r[2]:.2f}' for r in rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
