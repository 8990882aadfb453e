"""The numpy peer of `npm run bench -- relabel`: what a Python user does with
the same data. rewardd exports the store to an .npz (D4RL layout), then the
reach-beacon reward (rewards/reach-beacon.reward.js) is computed vectorised
with numpy, float64, episode boundaries respected (ctx.prev is null on an
episode's first step). Prints one JSON line: median seconds of np.load +
compute and of compute alone over REPS runs, and the largest difference from
rewardd's relabelled totals (its .rwr files) as a check that both computed
the same reward.

    python3 bench/relabel_peer.py EXPORT.npz STORE_DIR REWARD_VERSION
"""
import json
import struct
import sys
import time

import numpy as np

REPS = 5
W = {"distance": 1.0, "heading": 0.3, "progress": 0.5, "effort": -0.05}


def load(path):
    d = np.load(path)
    return d["observations"], d["actions"], d["dt"], d["step_index"]


def reward(obs, act, dt, step):
    bx = obs[:, 10].astype(np.float64)
    by = obs[:, 11].astype(np.float64)
    dist = np.sqrt(bx * bx + by * by)
    # tolerance(dist, bounds [0, 0.25], margin 3, long_tail, value_at_margin 0.1)
    x = (dist - 0.25) / 3.0
    scale = np.sqrt(1 / 0.1 - 1)
    distance = np.where(dist <= 0.25, 1.0, 1 / ((x * scale) * (x * scale) + 1))
    heading = np.where(dist < 1e-6, 1.0, 0.5 * (1 + np.cos(np.arctan2(by, bx))))
    prev = np.empty_like(dist)
    prev[1:] = dist[:-1]
    first = step == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        progress = np.clip((prev - dist) / dt, -1, 1)
    progress = np.where(first | ~(dt > 0), 0.0, progress)
    l = act[:, 0].astype(np.float64)
    r = act[:, 1].astype(np.float64)
    effort = 0.5 * (l * l + r * r)
    total = W["distance"] * distance + W["heading"] * heading + W["progress"] * progress + W["effort"] * effort
    success = dist < 0.25
    done = obs[:, 0] < 0.08
    return total, success, done


def read_rwr_total(path):
    b = open(path, "rb").read()
    h = struct.unpack_from("<I", b, 4)[0]
    hdr = json.loads(b[8:8 + h])
    n = hdr["count"]
    at = (8 + h + 7) & ~7
    at += 3 * ((n + 7) & ~7)  # status, success, done
    at += (4 * n + 7) & ~7  # seq
    return np.frombuffer(b, dtype="<f8", count=n, offset=at)


def main():
    npz, store, version = sys.argv[1], sys.argv[2], sys.argv[3]
    e2e, compute = [], []
    for _ in range(REPS):
        t0 = time.perf_counter()
        obs, act, dt, step = load(npz)
        t1 = time.perf_counter()
        total, success, done = reward(obs, act, dt, step)
        t2 = time.perf_counter()
        e2e.append(t2 - t0)
        compute.append(t2 - t1)
    meta = json.loads(bytes(np.load(npz)["meta.json"]))
    ours = np.concatenate([read_rwr_total(f"{store}/relabel/{e['episode']}/{version}.rwr") for e in meta["episodes"]])
    print(json.dumps({
        "steps": int(total.shape[0]),
        "e2e_s": float(np.median(e2e)),
        "compute_s": float(np.median(compute)),
        "max_abs_diff_vs_rewardd": float(np.max(np.abs(ours - total))),
        "numpy": np.__version__,
    }))


main()
