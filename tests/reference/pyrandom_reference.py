"""Draws of CPython's random module for internal/pyrandom's test.

Reads {"seeds": [...], "samples": [{"N": n, "K": k}, ...]} on stdin and prints, per seed (random.seed(s)
before each list): 700 raw 32-bit words (getrandbits(32), past one Mersenne Twister refill), getrandbits
of widths 1..32, _randbelow of various n, and the samples random.sample(range(N), K) drawn in order from
one state.
"""
import json
import random
import sys

req = json.load(sys.stdin)
widths = [(i % 32) + 1 for i in range(100)]
below_n = [1, 2, 3, 7, 10, 100, 1000, 12345, 2**20 + 1, 2**31 - 1, 2**32 - 1] * 5
out = {"words": [], "bits": [], "below": [], "samples": [], "bits_width": widths, "below_n": below_n}
for s in req["seeds"]:
    random.seed(s)
    out["words"].append([random.getrandbits(32) for _ in range(700)])
    random.seed(s)
    out["bits"].append([random.getrandbits(w) for w in widths])
    random.seed(s)
    out["below"].append([random._inst._randbelow(n) for n in below_n])
    random.seed(s)
    out["samples"].append([random.sample(range(c["N"]), k=c["K"]) for c in req["samples"]])
json.dump(out, sys.stdout)
