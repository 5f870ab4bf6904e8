#!/usr/bin/env bash
# The prepared GPU check: the full recipe into runs/gpu, then the benchmark on the adapters that
# run trained, with logs and results copied to OUT_DIR.
#
#   bash scripts/gpu_run.sh OUT_DIR        # unitlm importable (PYTHONPATH=src will do), a CUDA GPU
#
# Everything the run writes stays in runs/gpu; the package's adapters are not touched.
# PIPELINE_SECONDS and BENCH_SECONDS bound each part (defaults 330 and 200).
set -uo pipefail
export TQDM_MININTERVAL=${TQDM_MININTERVAL:-5}  # fewer progress lines in the log
out=${1:?usage: gpu_run.sh OUT_DIR}
run=runs/gpu
mkdir -p "$out"
python3 -c "import torch, transformers, peft; print('gpu', torch.cuda.get_device_name(0), '| torch', torch.__version__,
'| transformers', transformers.__version__, '| peft', peft.__version__)" | tee "$out/environment.txt" || exit 1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >>"$out/environment.txt" 2>&1

start=$(date +%s)
timeout "${PIPELINE_SECONDS:-330}" python3 -m unitlm pipeline --budget full --run "$run" 2>&1 | tee "$out/pipeline.log"
echo "pipeline exit $? after $(( $(date +%s) - start )) s" | tee -a "$out/pipeline.log"

start=$(date +%s)
timeout "${BENCH_SECONDS:-200}" python3 -m unitlm.bench --sft-path "$run/sft_model" --rft-path "$run/rft_model" \
    --out "$out/bench.json" 2>&1 | tee "$out/bench.log"
echo "bench exit $? after $(( $(date +%s) - start )) s" | tee -a "$out/bench.log"

# Everything small of the run: report, plots, results, stage records, adapter metadata, logs.
tar -czf "$out/run.tgz" --exclude='*.safetensors' --exclude='*.pt' "$run" 2>/dev/null
ls -la "$out"
