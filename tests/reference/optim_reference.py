"""Reference AdamW + clip_grad_norm_ + learning-rate schedule trajectories from PyTorch and transformers.

Reads JSON on stdin: {"params": [[...]...], "grads": [step][param][...], "decay": [bool...],
"lr": float, "schedule": "linear"|"cosine"|"constant"|"constant_with_warmup", "warmup": int,
"total": int, "betas": [b1, b2], "eps": float, "weight_decay": float, "max_grad_norm": float}
and prints {"params": [step][param][...] (after each step), "grad_norms": [...], "lrs": [...]}
(lrs: the scheduler's learning rate after each step, as the HF Trainer logs it). float32 tensors.
"""
import json
import sys

import torch
from transformers import get_scheduler

req = json.load(sys.stdin)
params = [torch.nn.Parameter(torch.tensor(p, dtype=torch.float32)) for p in req["params"]]
groups = [
    {"params": [p for p, d in zip(params, req["decay"]) if d], "weight_decay": req["weight_decay"]},
    {"params": [p for p, d in zip(params, req["decay"]) if not d], "weight_decay": 0.0},
]
opt = torch.optim.AdamW(groups, lr=req["lr"], betas=tuple(req["betas"]), eps=req["eps"], foreach=False)
sched = get_scheduler(req["schedule"], opt, num_warmup_steps=req["warmup"], num_training_steps=req["total"])
out = {"params": [], "grad_norms": [], "lrs": []}
for step_grads in req["grads"]:
    for p, g in zip(params, step_grads):
        p.grad = torch.tensor(g, dtype=torch.float32)
    norm = torch.nn.utils.clip_grad_norm_(params, req["max_grad_norm"])
    opt.step()
    sched.step()
    out["params"].append([p.detach().tolist() for p in params])
    out["grad_norms"].append(norm.item())
    out["lrs"].append(sched.get_last_lr()[0])
json.dump(out, sys.stdout)
