#!/usr/bin/env bash
# GPU check of the training benchmarks and of bf16 encoding on an offline machine (torch, sentence-transformers,
# transformers, accelerate; no `datasets`, no internet, no data files). Run from the repository root; results go to
# $OUT (default ./gpu-out).
# Budget: under 8 minutes on one H200 (each step has its own time limit; the optional last run is skipped when
# time is short).
#
# polyret's training (and sentence-transformers' trainer) needs `datasets`, which needs dill, multiprocess and
# pandas (+ python-dateutil, tzdata); polyret's progress bar needs rich. The GPU image already has pyarrow, xxhash,
# fsspec, huggingface-hub, scikit-learn. Fill the git-ignored .gpu-wheels/ on a machine with PyPI access (versions
# of the development venv; both Python 3.11 and 3.12 builds of the binary wheels; 13 files, 27 MB):
#
#   for py in 3.11 3.12; do
#     pip download --no-deps --only-binary=:all: --python-version $py --platform manylinux_2_28_x86_64 \
#       --platform manylinux2014_x86_64 -d .gpu-wheels datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 \
#       pandas==3.1.1 python-dateutil==4.0.0 tzdata==2026.6 rich==15.0.0 markdown-it-py==4.3.0 mdurl==0.1.2 \
#       pygments==2.21.0
#   done
#
# With the `run` tool, pass carry [".gpu-wheels"]. Step (a) installs only the distributions the image lacks (it
# never replaces the image's own versions).
set -uo pipefail

OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
START=$SECONDS

# (a) the wheels the image lacks
if [ -d .gpu-wheels ]; then
  missing=$(python - <<'EOF'
import importlib.metadata as metadata
import pathlib

names = {path.name.split("-")[0].lower().replace("_", "-") for path in pathlib.Path(".gpu-wheels").glob("*.whl")}
for name in sorted(names):
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        print(name)
EOF
)
  echo "installing: ${missing:-nothing}" | tee "$OUT/pip.txt"
  if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    python -m pip install --no-deps --no-index --find-links .gpu-wheels $missing >>"$OUT/pip.txt" 2>&1
  fi
fi
# (b) polyret itself (PYTHONPATH above covers an image without setuptools)
python -m pip install --no-deps --no-build-isolation -e . >>"$OUT/pip.txt" 2>&1 || echo "editable install failed; using PYTHONPATH" | tee -a "$OUT/pip.txt"

# (c) the machine, the versions, then the benchmarks
nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1
python - >"$OUT/versions.txt" 2>&1 <<'EOF'
import sys

import datasets, sentence_transformers, torch, transformers

print(sys.version)
print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(), "bf16",
      torch.cuda.is_bf16_supported())
print("sentence-transformers", sentence_transformers.__version__, "transformers", transformers.__version__,
      "datasets", datasets.__version__)
EOF
cat "$OUT/versions.txt"

run() {  # run <limit seconds> <output name> <command...>: the command's output goes to $OUT/<name>.txt
  local limit=$1 name=$2
  shift 2
  echo "== $name ($((SECONDS - START)) s elapsed)"
  timeout "$limit" "$@" >"$OUT/$name.txt" 2>&1
  echo "exit $?" >>"$OUT/$name.txt"
  grep -E "^model|run [0-9]|median|ratio|Loss:|out of GPU|exit" "$OUT/$name.txt"
}

THROUGHPUT=(python benchmarks/train_throughput.py --device cuda --synthetic 1000 --model-config xlmr-base --steps 30
            --repeats 2)
run 150 throughput-batch100 "${THROUGHPUT[@]}" --batch-size 100
run 120 throughput-batch32 "${THROUGHPUT[@]}" --batch-size 32
run 120 throughput-batch32-log10 "${THROUGHPUT[@]}" --batch-size 32 --logging-steps 10
run 120 encode-precision python benchmarks/encode_precision.py --device cuda --model-config xlmr-base --synthetic 1000 \
  --batch-size 128
if [ -z "${SKIP_MEMORY:-}" ]; then  # set SKIP_MEMORY=1 to rerun only the throughput part
  run 90 cached-loss-memory python benchmarks/cached_loss_memory.py --device cuda --synthetic \
    --model-config xlmr-base --batch-size 1024 --mini-batch-size 64
fi
echo "done in $((SECONDS - START)) s; outputs in $OUT"
