"""The bench's own pieces: scores, the processor and ISA record, running as an AVX2-only processor."""

import math
import os
import sys
from pathlib import Path

import pytest

from unitlm import bench


def test_score_counts_exact_accuracy_and_answer_rate():
    entries = [["q1", 10.0], ["q2", 20.0], ["q3", 30.0], ["q4", 40.0]]
    result = bench.score([10.0, 25.0, math.nan, 40.1], entries)
    assert result == {"accuracy": 0.5, "answer_rate": 0.75}


def test_processor_names_the_cpu_model_and_flags():
    info = bench.processor()
    if sys.platform.startswith("linux"):
        assert info["model_name"]
    if Path("/proc/cpuinfo").is_file():  # exactly the listed flags this processor has, as the kernel reports them
        line = next(l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags"))
        has = set(line.split(":", 1)[1].split())
        listed = ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8"]
        assert info["flags"] == [flag for flag in listed if flag in has]


def test_avx2_reexecutes_with_every_library_capped(monkeypatch):
    calls = []
    monkeypatch.delenv(bench.ISA_MARK, raising=False)
    monkeypatch.setattr(os, "execve", lambda path, args, env: calls.append((args, env)) or sys.exit(0))
    with pytest.raises(SystemExit):
        bench.main(["--isa", "avx2", "--questions", "3"])
    (args, env), = calls
    assert args[1:] == ["-m", "unitlm.bench", "--isa", "avx2", "--questions", "3"]
    assert env[bench.ISA_MARK] == "avx2" and env["UNITLM_CPU_DTYPE"] == "fp32"
    assert env["ONEDNN_MAX_CPU_ISA"] == env["MKL_ENABLE_INSTRUCTIONS"] == env["FBGEMM_ENABLE_INSTRUCTIONS"] == "AVX2"
    assert env["ATEN_CPU_CAPABILITY"] == "avx2"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/cpuinfo")
def test_isa_probe_reads_the_libraries_own_words(monkeypatch):
    """Under the AVX2 caps, torch, oneDNN and MKL say AVX2 themselves (their verbose output, not our setting).
    MKL names its instruction set only on Intel processors; on others its line names none."""
    if "avx2" not in bench.processor()["flags"]:
        pytest.skip("no AVX2 here")
    for key, value in {**bench.AVX2_ENV, bench.ISA_MARK: "avx2"}.items():
        monkeypatch.setenv(key, value)
    isa = bench.isa_in_effect()
    assert isa["requested"] == "avx2" and isa["aten_capability"] == "AVX2"
    assert "AVX2" in isa["onednn"] and "AVX-512" not in isa["onednn"], isa["onednn"]
    if "Advanced Vector Extensions" in isa["mkl"]:
        assert "AVX2" in isa["mkl"] and "AVX-512" not in isa["mkl"], isa["mkl"]
    assert isa["mkl_sgemm_call"].startswith("MKL_VERBOSE SGEMM")
    assert isa["env"]["UNITLM_CPU_DTYPE"] == "fp32"


def test_table_names_backend_dtype_and_accuracy_gap():
    row = {"questions": 4, "seconds": 1.0, "questions_per_second": 4.0, "seconds_per_question": 0.25,
           "backend": "torch int8", "dtype": "int8 weights", "first_call_seconds": 0.1, "cpu_use": 2.0,
           "accuracy": 0.75, "answer_rate": 1.0, "ratio_to_b": 2.0}
    results = {
        "processor": {"model_name": "Some CPU", "flags": ["avx2"]},
        "isa": {"requested": "avx2", "aten_capability": "AVX2", "mkl": "MKL AVX2", "onednn": None},
        "threads": 2, "torch": "x",
        "answer": {"rows": {"sft answer() int8": row, bench.BATCHED: {**row, "backend": "transformers generate"}},
                   "accuracy_points_vs_torch_fp32": {"sft answer() int8": -0.5}, "round_questions": 500,
                   "notes": ["a note"]},
        "load": {"model": "m", "cold": {"load_model_seconds": 1.0, "process_seconds": 2.0, "peak_mib": None},
                 "warm": {"load_model_seconds": 0.5, "process_seconds": 1.0, "peak_mib": None}},
        "train": None, "peak_memory_mib": {"after_answer": 100.0, "after_train": None},
    }
    text = bench.table(results)
    assert "Some CPU" in text and "run as avx2" in text and "ATen AVX2" in text
    assert "torch int8" in text and "dtype: int8 weights" in text and "-0.5 points" in text and "note: a note" in text
