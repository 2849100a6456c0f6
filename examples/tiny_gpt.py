"""A tiny character-level GPT with nanoGPT's command line, log lines and checkpoint, on CPU.

It knows nothing of runyard: it is what "an unchanged program" means in
docs/unchanged-programs.md and in the tests. Like nanoGPT's train.py it takes `--key=value`
overrides of its globals, prints `iter N: loss X, time T ms` and, every eval_interval,
`step N: train loss X, val loss Y`, saves `{out_dir}/ckpt.pt` (model, optimizer, iter_num,
best_val_loss) and resumes from it with `--init_from=resume`.

    python examples/tiny_gpt.py --out_dir=out --max_iters=200 --eval_interval=50
"""

import math
import os
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

# -- defaults, overridable as --key=value (nanoGPT's configurator) -------------------------
out_dir = "out"
init_from = "scratch"  # or "resume": from {out_dir}/ckpt.pt
max_iters = 200
eval_interval = 50
eval_iters = 5
log_interval = 10
always_save_checkpoint = True
batch_size = 4
block_size = 16
n_layer = 1
n_head = 2
n_embd = 32
learning_rate = 3e-3
seed = 1337
iter_sleep = 0.0  # seconds per iteration, to watch it live (not in nanoGPT)

for arg in sys.argv[1:]:
    key, sep, val = arg.removeprefix("--").partition("=")
    if not sep or key not in globals():
        raise SystemExit(f"unknown config key or bad argument: {arg}")
    default = globals()[key]
    if isinstance(default, bool):
        globals()[key] = val in ("True", "true", "1")
    else:
        globals()[key] = type(default)(val)
    print(f"Overriding: {key} = {globals()[key]}")

TEXT = (
    "First Citizen: Before we proceed any further, hear me speak. All: Speak, speak. "
    "First Citizen: You are all resolved rather to die than to famish? All: Resolved. "
    "First Citizen: First, you know Caius Marcius is chief enemy to the people. "
    "All: We know't, we know't. First Citizen: Let us kill him, and we'll have corn "
    "at our own price. Is't a verdict? All: No more talking on't; let it be done: away!"
) * 8
chars = sorted(set(TEXT))
vocab_size = len(chars)
data = torch.tensor([chars.index(c) for c in TEXT], dtype=torch.long)
split = int(0.9 * len(data))
train_data, val_data = data[:split], data[split:]


def get_batch(which: str, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    d = train_data if which == "train" else val_data
    ix = torch.randint(len(d) - block_size - 1, (batch_size,), generator=gen)
    x = torch.stack([d[i : i + block_size] for i in ix])
    y = torch.stack([d[i + 1 : i + 1 + block_size] for i in ix])
    return x, y


class GPT(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab_size, n_embd)
        self.pos = nn.Embedding(block_size, n_embd)
        layer = nn.TransformerEncoderLayer(
            n_embd, n_head, 4 * n_embd, dropout=0.0, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, n_layer, enable_nested_tensor=False)
        self.ln = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        t = idx.shape[1]
        mask = nn.Transformer.generate_square_subsequent_mask(t)
        x = self.tok(idx) + self.pos(torch.arange(t))
        x = self.ln(self.blocks(x, mask=mask, is_causal=True))
        logits = self.head(x)
        return F.cross_entropy(logits.view(-1, vocab_size), targets.view(-1))


torch.set_num_threads(1)  # tiny: more threads only contend
torch.manual_seed(seed)
gen = torch.Generator().manual_seed(seed)
model = GPT()
optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
iter_num, best_val_loss = 0, 1e9
ckpt_path = os.path.join(out_dir, "ckpt.pt")
if init_from == "resume":
    print(f"Resuming training from {out_dir}")
    checkpoint = torch.load(ckpt_path, map_location="cpu")
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    iter_num, best_val_loss = checkpoint["iter_num"], checkpoint["best_val_loss"]
    gen.manual_seed(seed + iter_num)
elif init_from != "scratch":
    raise SystemExit(f"init_from must be scratch or resume, not {init_from!r}")
os.makedirs(out_dir, exist_ok=True)


@torch.no_grad()
def estimate_loss() -> dict[str, float]:
    model.eval()
    out = {}
    for which in ("train", "val"):
        out[which] = sum(model(*get_batch(which, gen)).item() for _ in range(eval_iters))
        out[which] /= eval_iters
    model.train()
    return out


t0 = time.time()
while True:
    if iter_num % eval_interval == 0:
        losses = estimate_loss()
        print(f"step {iter_num}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        if losses["val"] < best_val_loss or always_save_checkpoint:
            best_val_loss = min(best_val_loss, losses["val"])
            if iter_num > 0:
                print(f"saving checkpoint to {out_dir}")
                checkpoint = {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "iter_num": iter_num,
                    "best_val_loss": best_val_loss,
                }
                torch.save(checkpoint, ckpt_path)
    if iter_num >= max_iters:
        break
    loss = model(*get_batch("train", gen))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if iter_num % log_interval == 0:
        dt, t0 = time.time() - t0, time.time()
        print(f"iter {iter_num}: loss {loss.item():.4f}, time {dt * 1000:.2f}ms", flush=True)
    if not math.isfinite(loss.item()):
        raise SystemExit("loss is not finite")
    iter_num += 1
    if iter_sleep:
        time.sleep(iter_sleep)
