"""The PyTorch twin's decode step as a CUDA graph, on a GPU: one short check that prints figures.

1. For the bench's small, medium and large presets (random weights, a 16-token prompt, 200 new
   tokens, greedy): ``generate`` on CUDA eagerly (``use_cuda_graphs`` off) and replaying the captured
   step, tokens/s (median of 3 after a warm-up) and whether both give the CPU's tokens; the seconds
   the first generation took (the capture is in it).
2. ``playground bench --device cuda --models small medium large --threads 1`` itself (its own table
   and targets; hf-generate and the torch twin on CUDA, NumPy on the CPU).

Needs torch with CUDA, numpy, safetensors and transformers (not the server). Run from the repository
root: ``python scripts/gpu_graph_check.py OUT.json`` (about two minutes on an H200).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from models import gpt_torch
from models.commands import bench
from models.generate import DoneEvent, generate
from models.graph_step import shared_decoder
from models.sampling import SamplingParams
from models.weights import init_gpt_params

PROMPT = [i % 60 + 1 for i in range(16)]
NEW = 200
RUNS = 3
GREEDY = SamplingParams(temperature=0.0)


def tokens(model: gpt_torch.GPT) -> tuple[float, list[int]]:
    """Seconds for one greedy generation of NEW tokens, and the tokens."""
    cuda = model.lm_head.weight.is_cuda
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = next(e for e in generate(model, PROMPT, NEW, GREEDY, seed=0) if isinstance(e, DoneEvent)).tokens
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def preset_figures(name: str) -> dict:
    config = bench.BENCH_MODELS[name]
    model = gpt_torch.GPT(config, init_gpt_params(config, seed=0))
    model.eval()
    _, on_cpu = tokens(model)
    model.to("cuda")
    figures: dict = {"parameters": model.num_parameters()}
    for mode, graphs in (("eager", False), ("graph", True)):
        model.use_cuda_graphs = graphs
        first, out = tokens(model)  # the first run: kernels chosen, and the capture
        times = [tokens(model)[0] for _ in range(RUNS)]
        figures[mode] = {
            "first_run_s": round(first, 3),
            "tokens_per_s": round(NEW / statistics.median(times), 1),
            "same_tokens_as_cpu": out == on_cpu,
        }
    figures["graph_captured"] = shared_decoder(model) is not None and shared_decoder(model).graph is not None
    figures["graph_vs_eager"] = round(figures["graph"]["tokens_per_s"] / figures["eager"]["tokens_per_s"], 2)
    return figures


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "gpu_graph_check.json")
    if not torch.cuda.is_available():
        print("no CUDA device here: nothing to check", file=sys.stderr)
        return 1
    result: dict = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name()}
    for name in ("small", "medium", "large"):
        result[name] = preset_figures(name)
        print(name, json.dumps(result[name]), flush=True)
    out.write_text(json.dumps(result, indent=2))
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    models = ["--models", "small", "medium", "large"]
    args = parser.parse_args(["--device", "cuda", *models, "--threads", "1", "--json", f"{out}.bench"])
    return bench.main(args)


if __name__ == "__main__":
    sys.exit(main())
