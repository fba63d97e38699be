"""Helpers the bench/ baselines share (run on the GPU machine)."""
import torch


def cuda_ms(fn):
    """Runs fn() between two CUDA events; returns (milliseconds, result)."""
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    out = fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end), out
