#!/usr/bin/env bash
# A short real training run, then proof that TensorBoard reads its event files:
#   scripts/ci_train_smoke.sh [PYTHON_WITH_TENSORBOARD]
# Builds a small synthetic model (seeded weights), runs `vocalis-train prepare` and `fit` for two
# epochs on the committed espeak-ng dataset, checks checkpoints and samples exist, then runs
# scripts/check_tensorboard_events.py (TensorBoard's own EventAccumulator) on the run.
set -euo pipefail
py=${1:-python3}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
# The whole workspace, as `cargo test --workspace` builds it: selecting single packages would
# resolve other dependency features and rebuild them.
cargo build -q --workspace --bins --examples
"$root/target/debug/examples/make_synthetic_model" "$work/model" 2 64 4 128 64 >/dev/null
cat > "$work/config.toml" <<TOML
version = 1
[model]
base_dir = "$work/model"
[dataset]
format = "ljspeech"
path = "$root/crates/vocalis-train/tests/fixtures/espeak_dataset"
language = "en"
eval_split = 0.1
[training]
epochs = 2
batch_size = 2
grad_accum_steps = 2
lr = 5e-4
device = "cpu"
[checkpoints]
output_dir = "$work/output"
save_every_steps = 3
[logging]
runs_dir = "$work/runs"
run_name = "smoke"
log_every_n_steps = 1
[samples]
every_n_epochs = 1
[[samples.sentences]]
text = "the cat sat on the mat."
TOML
bin="$root/target/debug/vocalis-train"
"$bin" prepare -q -c "$work/config.toml"
"$bin" fit -q -c "$work/config.toml"
ls "$work/output/checkpoints" | grep -q step_ || { echo "no checkpoint written" >&2; exit 1; }
ls "$work/output/samples/epoch_0002_0.wav" >/dev/null
"$py" "$root/scripts/check_tensorboard_events.py" "$work/runs/smoke" \
  --expect-scalar train/loss --expect-scalar train/loss_text_ce --expect-scalar train/loss_mel_ce \
  --expect-scalar train/lr --expect-scalar train/grad_norm --expect-scalar train/steps_per_sec \
  --expect-scalar eval/loss --expect-scalar eval/loss_text_ce --expect-scalar eval/loss_mel_ce \
  --expect-audio samples/0 --expect-text samples/0_text --require-finite
echo "training smoke test: OK"
