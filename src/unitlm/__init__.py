"""unitlm: teach a small language model to answer unit-conversion questions.

    from unitlm import BaseLLM, data, load_sft
    print(data.benchmark(load_sft(), data.Dataset("valid"), 100).accuracy)
"""

import importlib

__all__ = ["BaseLLM", "Dataset", "data", "load_cot", "load_sft", "load_rft"]

# Imported on first use, so `python -m unitlm.<stage>` does not import its module twice.
_LAZY = {"BaseLLM": ("base_llm", "BaseLLM"), "Dataset": ("data", "Dataset"),
         "load_cot": ("cot", "load"), "load_sft": ("sft", "load"), "load_rft": ("rft", "load")}


def __getattr__(name):
    if name in _LAZY:
        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attribute)
    if name == "data":
        return importlib.import_module(".data", __name__)
    raise AttributeError(f"module 'unitlm' has no attribute {name!r}")
