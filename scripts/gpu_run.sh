#!/usr/bin/env bash
# The one prepared GPU check (issues #4 and #8): the full pipeline, then the benchmark on the
# adapters that run trained, with logs and results copied to OUT_DIR.
#
#   bash scripts/gpu_run.sh OUT_DIR        # unitlm importable (PYTHONPATH=src will do), a CUDA GPU
#
# The full budget writes the package's adapter folders, so run it in a scratch checkout.
# PIPELINE_SECONDS and BENCH_SECONDS bound each part (defaults 330 and 200).
set -uo pipefail
export TQDM_MININTERVAL=${TQDM_MININTERVAL:-5}  # fewer progress lines in the log
out=${1:?usage: gpu_run.sh OUT_DIR}
mkdir -p "$out"
python3 -c "import torch, transformers, peft; print('gpu', torch.cuda.get_device_name(0), '| torch', torch.__version__,
'| transformers', transformers.__version__, '| peft', peft.__version__)" | tee "$out/environment.txt" || exit 1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >>"$out/environment.txt" 2>&1

start=$(date +%s)
timeout "${PIPELINE_SECONDS:-330}" python3 -m unitlm pipeline --budget full --run runs/gpu 2>&1 | tee "$out/pipeline.log"
echo "pipeline exit $? after $(( $(date +%s) - start )) s" | tee -a "$out/pipeline.log"

start=$(date +%s)
timeout "${BENCH_SECONDS:-200}" python3 -m unitlm.bench --out "$out/bench.json" 2>&1 | tee "$out/bench.log"
echo "bench exit $? after $(( $(date +%s) - start )) s" | tee -a "$out/bench.log"

# Everything small of the run (report, plots, results, stage records, adapter metadata, logs).
tar -czf "$out/run.tgz" --exclude='*.safetensors' --exclude='*.pt' runs/gpu \
    src/unitlm/sft_model/unitlm_adapter.json src/unitlm/rft_model/unitlm_adapter.json \
    src/unitlm/sft_model_logs src/unitlm/rft_model_logs 2>/dev/null
ls -la "$out"
