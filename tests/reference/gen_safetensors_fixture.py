"""Writes trainlib/safetensors/testdata/python_written.safetensors with the reference `safetensors`
package, so the Go reader is tested against a file the reference implementation produced.

Tensors: f32 = arange(6).reshape(2,3)/7, f16 = [0.1, -2.5, 65504, 6e-8], bf16 = [1/3, -1e30, 3.0],
i64 = [[1, -2], [3, 4]], metadata {"format": "pt", "note": "fixture"}.
Usage: python tests/reference/gen_safetensors_fixture.py OUT
"""
import sys

import torch
from safetensors.torch import save_file

out = sys.argv[1]
tensors = {
    "f32": (torch.arange(6, dtype=torch.float32).reshape(2, 3) / 7),
    "f16": torch.tensor([0.1, -2.5, 65504.0, 6e-8], dtype=torch.float16),
    "bf16": torch.tensor([1 / 3, -1e30, 3.0], dtype=torch.bfloat16),
    "i64": torch.tensor([[1, -2], [3, 4]], dtype=torch.int64),
}
save_file(tensors, out, metadata={"format": "pt", "note": "fixture"})
