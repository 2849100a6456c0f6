"""A job on a node without the server's disk (RUNYARD_UPLOAD=1): attempt 1 saves a
checkpoint and an artifact, logs a metric and fails; the retry gets `--resume PATH` (from
`resume_args`) and prints where that is, what `run.resume_from` says and the file's SHA-256."""

import argparse
import hashlib
import os
import sys

import runyard

parser = argparse.ArgumentParser()
parser.add_argument("--resume", default=None)
args = parser.parse_args()
run = runyard.init()
print(f"attempt {run.attempt} dir={run.dir} resume={args.resume} from={run.resume_from}")
if args.resume is None:
    ckpt = run.dir / "weights.bin"
    ckpt.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    run.checkpoint(ckpt, step=1, name="weights.bin")
    report = run.dir / "report.txt"
    report.write_text("made on a node\n")
    run.log_artifact(report)
    run.log({"loss": 0.5}, step=1)
    sys.exit(3)  # at exit, the SDK waits for the uploads
with open(args.resume, "rb") as f:
    print("resumed", hashlib.sha256(f.read()).hexdigest(), flush=True)
run.log({"loss": 0.25}, step=2)
run.finish()
