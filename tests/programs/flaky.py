"""Fails its first N attempts (exit 3), registering a checkpoint each time; then succeeds.

Prints RUNYARD_RESUME_FROM so that tests can see where it resumed from.
"""

import hashlib
import json
import os
import sys
import urllib.request

fail_times = int(sys.argv[1])
attempt = int(os.environ["RUNYARD_ATTEMPT"])
run_dir = os.environ["RUNYARD_RUN_DIR"]
print(f"attempt {attempt} resume_from={os.environ.get('RUNYARD_RESUME_FROM')}", flush=True)
print("env", os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"), flush=True)
if attempt <= fail_times:
    path = os.path.join(run_dir, "checkpoints", f"ckpt-{attempt}.pt")
    data = f"weights after attempt {attempt}".encode()
    with open(path, "wb") as f:
        f.write(data)
    body = {
        "name": f"ckpt-{attempt}.pt",
        "path": f"checkpoints/ckpt-{attempt}.pt",
        "step": attempt,
        "attempt": attempt,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    req = urllib.request.Request(
        f"{os.environ['RUNYARD_URL']}/api/runs/{os.environ['RUNYARD_RUN_ID']}/checkpoints",
        data=json.dumps(body).encode(),
        headers={
            "content-type": "application/json",
            **(
                {"authorization": f"Bearer {os.environ['RUNYARD_TOKEN']}"}
                if "RUNYARD_TOKEN" in os.environ
                else {}
            ),
        },
    )
    urllib.request.urlopen(req).read()
    if "--corrupt-last" in sys.argv and attempt == fail_times:
        with open(path, "ab") as f:
            f.write(b"bitrot")
    sys.exit(3)
print("succeeded", flush=True)
