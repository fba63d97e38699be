# ===- logit_metrics.py - how the GPU checks compare logits (numpy only) --=== #
#
# The distance and argmax rule of test/gpu/hf_check.py and fp8_check.py,
# without torch, so that fp8_cpu_check.py applies them on the build
# machine to what a GPU run saved. hf_check.py imports them from here.
# ===----------------------------------------------------------------------=== #
import numpy as np


def near_tie(ref_step, chosen, tolerance):
    """Whether the reference logit of `chosen` is within the logits tolerance
    of the reference's best: a choice the tolerance cannot tell apart."""
    return (ref_step.max() - ref_step[chosen]) <= tolerance * np.abs(ref_step).max()


def compare(ours_tokens, ours_logits, ref_tokens, ref_logits, tolerance,
            steps=None):
    """Teacher-forced comparison of one prompt over `steps` (all if None):
    (max rel diff, steps whose argmax differs from the reference, of those
    the ones that are not near-ties)."""
    if steps is None:
        steps = list(range(len(ref_tokens)))
    if not steps:
        return 0.0, [], []
    scale = np.abs(ref_logits).max()
    rel = float(max(np.abs(ours_logits[i] - ref_logits[i]).max() for i in steps)
                / scale)
    differ = [i for i in steps if ours_tokens[i] != ref_tokens[i]]
    hard = [i for i in differ if not near_tie(ref_logits[i], ours_tokens[i], tolerance)]
    return rel, differ, hard


def step_rel(logits, ref_logits):
    """Per step: max |logits - ref| / max |ref| (the prompt's scale)."""
    return np.abs(logits - ref_logits).max(axis=1) / np.abs(ref_logits).max()
