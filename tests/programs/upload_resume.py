"""Uses the SDK from a scratch run dir (RUNYARD_UPLOAD=1): attempt 1 saves a checkpoint and
an artifact and fails; attempt 2 prints what run.resume_from holds and succeeds."""

import hashlib
import os
import sys

import runyard

run = runyard.init()
print(f"attempt {run.attempt} dir={run.dir} resume_from={run.resume_from}", flush=True)
if run.resume_from is None:
    ckpt = run.dir / "weights.bin"
    ckpt.write_bytes(os.urandom(3 * 1024 * 1024 + 17))  # more than one chunk at CHUNK=1 MiB
    run.checkpoint(ckpt, step=1, name="weights.bin")
    report = run.dir / "report.txt"
    report.write_text("made on a node\n")
    run.log_artifact(report)
    sys.exit(3)
print("resumed", hashlib.sha256(run.resume_from.read_bytes()).hexdigest(), flush=True)
run.finish()
