"""Reads a LeRobotDataset folder (codebase v3.0) the way LeRobot's io_utils does,
with pyarrow and pandas (readers nobody at rewardd wrote), and prints every
value as JSON for test/relabel/lerobot.test.ts to compare with the store.

    python3 test/relabel/read_lerobot.py DATASET_DIR
"""
import json
import math
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

root = Path(sys.argv[1])
info = json.loads((root / "meta/info.json").read_text())
stats = json.loads((root / "meta/stats.json").read_text())

# meta/tasks.parquet: load_tasks() = pd.read_parquet(...); the task text must come back as the index.
tasks = pd.read_parquet(root / "meta/tasks.parquet")
task_rows = [{"task": str(tasks.iloc[i].name), "task_index": int(tasks.iloc[i]["task_index"])} for i in range(len(tasks))]

# meta/episodes/*/*.parquet (load_nested_dataset globs */*.parquet), then each episode's frames
# from the data file its row names, rows [dataset_from_index, dataset_to_index).
ep_files = sorted((root / "meta/episodes").glob("*/*.parquet"))
episodes = pq.read_table(ep_files).to_pylist() if len(ep_files) == 1 else [r for f in ep_files for r in pq.read_table(f).to_pylist()]
data_files = sorted((root / "data").glob("*/*.parquet"))
schema = {f.name: str(f.type) for f in pq.read_schema(data_files[0])}


def clean(v):
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v


frames = []
for ep in episodes:
    path = root / info["data_path"].format(chunk_index=ep["data/chunk_index"], file_index=ep["data/file_index"])
    t = pq.read_table(path).to_pydict()
    rows = [i for i, x in enumerate(t["index"]) if ep["dataset_from_index"] <= x < ep["dataset_to_index"]]
    frames.append({k: [clean(t[k][i]) for i in rows] for k in t})

print(json.dumps({
    "info": info,
    "stats": stats,
    "tasks": task_rows,
    "tasks_index_name": tasks.index.name,
    "episodes": episodes,
    "schema": schema,
    "data_files": [str(p.relative_to(root)) for p in data_files],
    "frames": frames,
}))
