#!/usr/bin/env bash
# Checks `vocalis serve` with real clients: curl and the official `openai` Python package.
#
#   scripts/test_server_clients.sh            (used by CI; needs python3 with venv, curl, cargo)
#
# Builds `vocalis` in release, writes the tiny test model, starts the server on a free loopback
# port with an API key, then checks with curl: health, speech as wav/pcm/flac (whole and
# streamed), voices CRUD with a multipart upload, error bodies and the API key; and with the
# `openai` package (scripts/openai_client_check.py): speech.create and
# with_streaming_response.create. Every audio response is parsed (Python's wave for WAV).
# Finally SIGTERM must stop the server with exit code 0. Exits non-zero on any failure; the
# server is killed on exit whatever happens.
#
# Environment: VOCALIS_CLIENTS_VENV (default .venv-clients; reused if it exists), VOCALIS_BIN
# (use this binary instead of a release build; the tiny model is then written by a dev build),
# VOCALIS_TEST_MODEL (use this model directory instead of the tiny one).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${VOCALIS_CLIENTS_VENV:-$ROOT/.venv-clients}
WORK=$(mktemp -d)
SERVER_PID=""
passed=0
failed=0

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

die() {
  echo "FATAL: $*" >&2
  if [ -f "$WORK/server.log" ]; then
    echo "--- server log (last 40 lines) ---" >&2
    tail -n 40 "$WORK/server.log" >&2
  fi
  exit 1
}
ok() { passed=$((passed + 1)); echo "ok   $*"; }
ko() { failed=$((failed + 1)); echo "FAIL $*"; }

# --- setup ---------------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" || die "cannot create the venv $VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --disable-pip-version-check openai || die "pip install openai failed"

# Whole-workspace builds, as `cargo test --workspace` does (selecting one package would resolve
# other dependency features and rebuild them).
if [ -n "${VOCALIS_BIN:-}" ]; then
  BIN=$VOCALIS_BIN      # a given (debug) binary: the tiny model comes from a dev build too
  cargo build --quiet --workspace --bins --examples || die "cargo build failed"
  EXAMPLES=$ROOT/target/debug/examples
else
  cargo build --release --quiet --workspace --bins --examples || die "cargo build failed"
  BIN=$ROOT/target/release/vocalis
  EXAMPLES=$ROOT/target/release/examples
fi
if [ -n "${VOCALIS_TEST_MODEL:-}" ]; then
  MODEL=$VOCALIS_TEST_MODEL
else
  MODEL=$WORK/model
  "$EXAMPLES/make_tiny_model" "$MODEL" >/dev/null || die "cannot write the tiny model"
fi

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
KEY="ci-key-$RANDOM$RANDOM"
BASE="http://127.0.0.1:$PORT"
"$BIN" serve --model "$MODEL" --device cpu --profiles-dir "$WORK/profiles" --host 127.0.0.1 --port "$PORT" \
  --api-key "$KEY" --workers 2 --queue-size 4 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 300); do
  curl -sf "$BASE/health" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during startup"
  sleep 0.2
done
curl -sf "$BASE/health" >/dev/null || die "the server did not come up on $BASE"
AUTH=(-H "Authorization: Bearer $KEY")
for _ in $(seq 1 600); do
  curl -s "${AUTH[@]}" "$BASE/health/models" | grep -q '"warmup_done":true' && break
  sleep 0.2
done
VOICE=$(curl -s "${AUTH[@]}" "$BASE/v1/voices" | "$PY" -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(next(v["id"] for v in d if v["type"]=="builtin"))') ||
  die "no built-in speaker listed"
echo "server $BASE (pid $SERVER_PID), model $MODEL, voice $VOICE"

# validate FILE KIND [streamed]: parses an audio file, prints its sample count
validate() {
  "$PY" - "$@" <<'EOF'
import sys, wave
path, kind = sys.argv[1], sys.argv[2]
streamed = len(sys.argv) > 3
data = open(path, "rb").read()
if kind == "wav":
    w = wave.open(path)
    assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 24000), "not 16-bit 24 kHz mono"
    n = len(w.readframes(w.getnframes())) // 2
    assert n > 0, "no samples"
    assert streamed or n == w.getnframes(), f"header {w.getnframes()} frames, data {n}"
elif kind == "pcm":
    assert len(data) > 0 and len(data) % 2 == 0, f"{len(data)} bytes"
    n = len(data) // 2
elif kind == "flac":
    assert data[:4] == b"fLaC", "no fLaC magic"
    packed = int.from_bytes(data[18:26], "big")
    assert packed >> 44 == 24000, "sample rate"
    n = packed & ((1 << 36) - 1)
    assert n > 0, "no samples"
elif kind == "json-error":
    import json
    e = json.loads(data)["error"]
    assert set(e) == {"message", "type", "param", "code"}, e
    n = e["code"]
else:
    raise SystemExit(f"unknown kind {kind}")
print(n)
EOF
}

# speech FORMAT EXTRA_JSON OUT: POST /v1/audio/speech; prints the HTTP status
speech() {
  curl -s -o "$3" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: application/json' \
    -d "{\"model\":\"tts-1\",\"input\":\"Hello from curl.\",\"voice\":\"$VOICE\",\"response_format\":\"$1\"$2}" \
    "$BASE/v1/audio/speech"
}

# --- curl ----------------------------------------------------------------------------------
[ "$(curl -s "$BASE/health")" = '{"status":"ok"}' ] && ok "GET /health" || ko "GET /health"
curl -s "${AUTH[@]}" "$BASE/health/models" | grep -q '"status":"ready"' && ok "GET /health/models ready" ||
  ko "GET /health/models"
curl -s "$BASE/openapi.json" | grep -q '"/v1/audio/speech"' && ok "GET /openapi.json" || ko "GET /openapi.json"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/docs/")" = 200 ] && ok "GET /docs/" || ko "GET /docs/"

declare -A SAMPLES
for fmt in wav pcm flac; do
  code=$(speech "$fmt" "" "$WORK/out.$fmt")
  if [ "$code" = 200 ] && n=$(validate "$WORK/out.$fmt" "$fmt"); then
    SAMPLES[$fmt]=$n
    ok "speech $fmt: $n samples"
  else
    ko "speech $fmt: HTTP $code $(head -c 300 "$WORK/out.$fmt")"
  fi
done
[ "${SAMPLES[wav]:-x}" = "${SAMPLES[pcm]:-y}" ] && [ "${SAMPLES[wav]:-x}" = "${SAMPLES[flac]:-z}" ] &&
  ok "wav, pcm and flac carry the same number of samples" || ko "sample counts differ: ${SAMPLES[*]:-}"
for fmt in wav pcm; do
  code=$(curl -sN -o "$WORK/stream.$fmt" -D "$WORK/stream.$fmt.h" -w '%{http_code}' "${AUTH[@]}" \
    -H 'Content-Type: application/json' \
    -d "{\"input\":\"Hello from curl.\",\"voice\":\"$VOICE\",\"response_format\":\"$fmt\",\"stream\":true}" \
    "$BASE/v1/audio/speech")
  if [ "$code" = 200 ] && grep -qi '^transfer-encoding: chunked' "$WORK/stream.$fmt.h" &&
    n=$(validate "$WORK/stream.$fmt" "$fmt" streamed) && [ "$n" = "${SAMPLES[$fmt]:-}" ]; then
    ok "streamed $fmt: chunked, $n samples, same as the whole response"
  else
    ko "streamed $fmt: HTTP $code, samples ${n:-?} vs ${SAMPLES[$fmt]:-?}"
  fi
done
# streamed pieces are decoded with other FFT block boundaries than the whole response: equal
# within 1e-5, so a 16-bit sample may differ by one step
python3 - "$WORK/stream.pcm" "$WORK/out.pcm" <<'PY' && ok "streamed pcm equals the whole pcm (within one 16-bit step)" ||
import array, sys
a, b = (array.array("h", open(p, "rb").read()) for p in sys.argv[1:3])
sys.exit(0 if len(a) == len(b) and max((abs(x - y) for x, y in zip(a, b)), default=0) <= 1 else 1)
PY
  ko "streamed pcm differs from the whole response"

# errors: OpenAI's shape, the right status
code=$(speech mp3 "" "$WORK/err.json")
[ "$code" = 400 ] && [ "$(validate "$WORK/err.json" json-error)" = unsupported_response_format ] &&
  ok "mp3 -> 400 unsupported_response_format" || ko "mp3 -> HTTP $code"
code=$(curl -s -o "$WORK/err.json" -w '%{http_code}' "$BASE/v1/voices")
[ "$code" = 401 ] && [ "$(validate "$WORK/err.json" json-error)" = missing_api_key ] &&
  ok "no API key -> 401" || ko "no API key -> HTTP $code"
code=$(curl -s -o "$WORK/err.json" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: application/json' \
  -d '{"input": 3}' "$BASE/v1/audio/speech")
[ "$code" = 400 ] && validate "$WORK/err.json" json-error >/dev/null && ok "wrong type -> 400" ||
  ko "wrong type -> HTTP $code"

# voices CRUD with a multipart upload
"$PY" - "$WORK/ref.wav" <<'EOF'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(22050)
w.writeframes(b"".join(struct.pack("<h", int(9000 * math.sin(2 * math.pi * 180 * i / 22050)
    * (1 + 0.5 * math.sin(i / 700)))) for i in range(22050 * 3)))
w.close()
EOF
code=$(curl -s -o "$WORK/voice.json" -w '%{http_code}' "${AUTH[@]}" -F name=ci_voice -F language=en \
  -F "file=@$WORK/ref.wav" -F "file=@$WORK/out.wav" "$BASE/v1/voices")
[ "$code" = 201 ] && grep -q '"id":"ci_voice"' "$WORK/voice.json" && ok "POST /v1/voices (2 clips) -> 201" ||
  ko "POST /v1/voices -> HTTP $code $(cat "$WORK/voice.json")"
code=$(curl -s -o "$WORK/err.json" -w '%{http_code}' "${AUTH[@]}" -F name=../escape -F "file=@$WORK/ref.wav" "$BASE/v1/voices")
[ "$code" = 400 ] && [ "$(validate "$WORK/err.json" json-error)" = invalid_voice_name ] &&
  ok "path-traversal name -> 400" || ko "path-traversal name -> HTTP $code"
head -c 4000 /dev/urandom >"$WORK/junk.wav"
code=$(curl -s -o "$WORK/err.json" -w '%{http_code}' "${AUTH[@]}" -F name=junk -F "file=@$WORK/junk.wav" "$BASE/v1/voices")
[ "$code" = 400 ] && [ "$(validate "$WORK/err.json" json-error)" = invalid_audio ] &&
  ok "corrupt clip -> 400" || ko "corrupt clip -> HTTP $code"
curl -s "${AUTH[@]}" "$BASE/v1/voices" | grep -q '"id":"ci_voice"' && ok "GET /v1/voices lists it" || ko "GET /v1/voices"
[ "$(curl -s -o /dev/null -w '%{http_code}' "${AUTH[@]}" "$BASE/v1/voices/ci_voice")" = 200 ] &&
  ok "GET /v1/voices/ci_voice" || ko "GET /v1/voices/ci_voice"
code=$(curl -s -o "$WORK/cloned.wav" -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: application/json' \
  -d '{"model":"tts-1","input":"Hello from a cloned voice.","voice":"ci_voice"}' "$BASE/v1/audio/speech")
[ "$code" = 200 ] && n=$(validate "$WORK/cloned.wav" wav) && ok "speech with the cloned voice: $n samples" ||
  ko "speech with the cloned voice: HTTP $code"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "${AUTH[@]}" "$BASE/v1/voices/ci_voice")" = 200 ] &&
  ok "DELETE /v1/voices/ci_voice" || ko "DELETE /v1/voices/ci_voice"
[ "$(curl -s -o /dev/null -w '%{http_code}' "${AUTH[@]}" "$BASE/v1/voices/ci_voice")" = 404 ] &&
  ok "deleted voice -> 404" || ko "deleted voice still there"

# --- the official openai package -----------------------------------------------------------
if "$PY" scripts/openai_client_check.py "$BASE/v1" "$KEY" "$VOICE" "$WORK" >"$WORK/openai.log" 2>&1; then
  sed 's/^/     /' "$WORK/openai.log"
  ok "openai client: speech.create and with_streaming_response.create"
else
  sed 's/^/     /' "$WORK/openai.log"
  ko "openai client"
fi
[ -f "$WORK/openai.wav" ] && validate "$WORK/openai.wav" wav >/dev/null && ok "openai.wav parses with wave" ||
  ko "openai.wav"

# --- SIGTERM: graceful shutdown, exit 0 ----------------------------------------------------
kill -TERM "$SERVER_PID"
for _ in $(seq 1 300); do
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.2
done
if kill -0 "$SERVER_PID" 2>/dev/null; then
  ko "the server did not exit within 60 s of SIGTERM"
  kill -KILL "$SERVER_PID"
fi
wait "$SERVER_PID"
rc=$?
SERVER_PID=""
[ "$rc" = 0 ] && ok "SIGTERM -> exit 0" || ko "SIGTERM -> exit $rc"

echo "clients: $passed passed, $failed failed"
[ "$failed" = 0 ]
