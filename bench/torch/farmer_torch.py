#!/usr/bin/env python3
"""FARMER in plain PyTorch, re-implemented from docs/method.md, for bench/train.mjs.

It reads a farmer-ts checkpoint directory (config.json for the model config,
model.safetensors with the same weight names, Linear weights [out, in]) and a
batch file (safetensors: `images` F32 [B, C, H, W], already noised, in [-1, 1];
`labels` I32 [B], -1 = the null label). Two modes, each printing one JSON object
on stdout:

  check  loss and every gradient on the batch, compared with a reference that
         farmer-ts wrote (`loss`, `grad_norm`, `grad.<name>` in [out, in] layout).
  bench  full training steps on the batch: forward, backward, global-norm
         clipping, AdamW, EMA, as the farmer-ts trainer does; images/s.

Dependencies: torch and numpy only (Debian: apt-get install python3-torch
libopenblas0-pthread). Research-script style, as the rest of bench/.
"""
import argparse
import json
import math
import os
import statistics
import struct
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["check", "bench"])
    p.add_argument("--checkpoint", required=True, help="farmer checkpoint directory (config.json + model.safetensors)")
    p.add_argument("--batch", required=True, help="safetensors file with images F32 [B,C,H,W] and labels I32 [B]")
    p.add_argument("--reference", help="check: safetensors with loss, grad_norm and grad.<name> from farmer-ts")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads (OpenMP and OpenBLAS)")
    p.add_argument("--warmup", type=int, default=2, help="bench: untimed steps first")
    p.add_argument("--steps", type=int, default=8, help="bench: timed steps")
    p.add_argument("--lr", type=float, default=1e-4, help="bench: constant learning rate")
    p.add_argument("--ema", type=float, default=0.999, help="bench: EMA decay (0 disables), as the trainer's default")
    return p.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    # OpenBLAS and OpenMP size their pools when the library loads, so this must precede `import torch`:
    # torch.set_num_threads alone leaves OpenBLAS's pthread pool at one thread per core.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)
    # Spinning OpenMP workers lose their core to other processes on a shared machine: measured
    # here under load, 2 threads ran at 4-5 images/s spinning and 24-32 passive. Override to compare.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
LN_EPS = 1e-5

# ---------------------------------------------------------------------------
# safetensors: 8-byte little-endian header length, JSON header, raw little-endian data.

NP_DTYPES = {"F64": "<f8", "F32": "<f4", "I64": "<i8", "I32": "<i4", "U8": "u1"}


def read_safetensors(path):
    """name → torch tensor (a copy, so it owns aligned memory)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] not in NP_DTYPES:
            raise SystemExit(f"{path}: tensor {name!r} has dtype {e['dtype']}, which this script does not read")
        begin, end = e["data_offsets"]
        arr = np.frombuffer(raw, dtype=NP_DTYPES[e["dtype"]], count=math.prod(e["shape"]), offset=8 + n + begin)
        assert (end - begin) == arr.nbytes, f"{path}: {name} size mismatch"
        out[name] = torch.from_numpy(arr.reshape(e["shape"]).copy())
    return out


# ---------------------------------------------------------------------------
# Patchify (docs/method.md §2.5 patch order): PyTorch unfold order.


def patchify(x, p):
    """[B, C, H, W] → [B, N, C·p·p]; token = row·(W/p) + col, feature = ch·p·p + i·p + j."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b, (h // p) * (w // p), c * p * p)


# ---------------------------------------------------------------------------
# The pre-norm Transformer layer shared by the AF and the AR (docs/method.md §3.6 transformer layer).


class Attention(nn.Module):
    def __init__(self, width, head_dim):
        super().__init__()
        self.heads = width // head_dim
        self.norm = nn.LayerNorm(width, eps=LN_EPS)
        self.qkv = nn.Linear(width, 3 * width)  # outputs [q | k | v], heads contiguous in each
        self.proj = nn.Linear(width, width)

    def forward(self, x, mask):  # x [B, T, W], mask [T, T] bool (True: may attend)
        b, t, w = x.shape
        q, k, v = self.qkv(self.norm(x)).split(w, dim=-1)
        q, k, v = (y.view(b, t, self.heads, -1).transpose(1, 2) for y in (q, k, v))  # [B, H, T, hd]
        s = (q @ k.transpose(-2, -1)) * (q.shape[-1] ** -0.5)  # [B, H, T, T]
        s = s.masked_fill(~mask, float("-inf"))
        a = s.softmax(dim=-1) @ v  # [B, H, T, hd]
        return self.proj(a.transpose(1, 2).reshape(b, t, w))


class Mlp(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width, eps=LN_EPS)
        self.main = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))  # exact (erf) GELU

    def forward(self, x):
        return self.main(self.norm(x))


class Layer(nn.Module):
    def __init__(self, width, head_dim):
        super().__init__()
        self.attention = Attention(width, head_dim)
        self.mlp = Mlp(width)

    def forward(self, x, mask):
        x = x + self.attention(x, mask)
        return x + self.mlp(x)


def causal_mask(t):
    return torch.ones(t, t, dtype=torch.bool).tril()


# ---------------------------------------------------------------------------
# The autoregressive flow (docs/method.md §3 autoregressive flow): TARFlow-compatible blocks.


class Block(nn.Module):
    def __init__(self, t, cfg, n_tokens, d):
        super().__init__()
        w = cfg["width"]
        self.flip = t % 2 == 1  # identity on even blocks, reversed token order on odd ones
        self.d = d
        self.nvp = cfg["nvp"]
        self.alpha_clamp = cfg["alphaClamp"]
        self.proj_in = nn.Linear(d, w)
        self.pos_embed = nn.Parameter(torch.zeros(n_tokens, w))
        self.class_embed = nn.Parameter(torch.zeros(cfg["numClasses"], 1, w)) if cfg["numClasses"] > 0 else None
        self.attn_blocks = nn.ModuleList(Layer(w, cfg["headDim"]) for _ in range(cfg["layersPerBlock"]))
        self.proj_out = nn.Linear(w, 2 * d if self.nvp else d)

    def forward(self, x, mask):
        """x [B, N, d] in original token order → z [B, N, d] (original order), log|det| [B]."""
        xp = x.flip(1) if self.flip else x
        pos = self.pos_embed.flip(0) if self.flip else self.pos_embed
        h = self.proj_in(xp) + pos
        if self.class_embed is not None:
            # FARMER's AF is unconditional: it always sees the null label, TARFlow's mean class embedding.
            h = h + self.class_embed.mean(0)
        for layer in self.attn_blocks:
            h = layer(h, mask)
        out = self.proj_out(h)
        out = torch.cat([torch.zeros_like(out[:, :1]), out[:, :-1]], dim=1)  # shift right: token 0 is the identity
        if self.nvp:
            alpha, mu = out.split(self.d, dim=-1)
            if self.alpha_clamp:
                alpha = self.alpha_clamp * torch.tanh(alpha / self.alpha_clamp)
            zp = (xp - mu) * torch.exp(-alpha)
            logdet = -alpha.sum(dim=(1, 2))
        else:
            zp = xp - out
            logdet = torch.zeros(x.shape[0], dtype=x.dtype)
        return (zp.flip(1) if self.flip else zp), logdet


class Flow(nn.Module):
    def __init__(self, cfg, n_tokens, d):
        super().__init__()
        self.blocks = nn.ModuleList(Block(t, cfg, n_tokens, d) for t in range(cfg["numBlocks"]))
        self.register_buffer("mask", causal_mask(n_tokens), persistent=False)

    def forward(self, x):
        logdet = 0
        for block in self.blocks:
            x, ld = block(x, self.mask)
            logdet = logdet + ld
        return x, logdet


# ---------------------------------------------------------------------------
# The AR-GMM backbone (docs/method.md §4 AR-GMM).


def head_to_gmm(out, k, dim, sigma_min):
    """[..., K(1+2·dim)] → logits [..., K], means and σ [..., K, dim]; σ = softplus(u) + σ_min."""
    logits, m, u = out.split([k, k * dim, k * dim], dim=-1)
    lead = out.shape[:-1]
    return logits, m.reshape(*lead, k, dim), F.softplus(u.reshape(*lead, k, dim)) + sigma_min


def gmm_log_prob(z, logits, means, sigmas):
    """log G(z) = logsumexp_k[log_softmax(logits)_k + Σ_j log N(z_j; μ_kj, σ_kj²)]; z [..., dim] → [...]."""
    u = (z.unsqueeze(-2) - means) / sigmas
    nll = (0.5 * u.square() + sigmas.log()).sum(-1) + z.shape[-1] * HALF_LOG_2PI
    return torch.logsumexp(logits.log_softmax(-1) - nll, dim=-1)


class Ar(nn.Module):
    def __init__(self, cfg, num_classes, n_tokens, d_i, d_r):
        super().__init__()
        w = cfg["width"]
        self.num_classes = num_classes
        self.m = cfg["prefixLength"]
        self.n = n_tokens
        self.d_i, self.d_r = d_i, d_r
        self.k_i, self.k_r = cfg["componentsInformative"], cfg["componentsRedundant"]
        self.sigma_min = cfg["sigmaMin"]
        self.class_embed = nn.Parameter(torch.zeros(num_classes + 1, w))  # the last row is the null label
        self.proj_in = nn.Linear(d_i, w)
        self.pos_embed = nn.Parameter(torch.zeros(self.m + n_tokens, w))
        self.layers = nn.ModuleList(Layer(w, cfg["headDim"]) for _ in range(cfg["layers"]))
        self.norm = nn.LayerNorm(w, eps=LN_EPS)
        self.head_informative = nn.Linear(w, self.k_i * (1 + 2 * d_i))
        self.head_redundant = nn.Linear(w, self.k_r * (1 + 2 * d_r)) if d_r > 0 else None
        self.register_buffer("mask", causal_mask(self.m + n_tokens), persistent=False)

    def forward(self, z_i, labels):
        """z_i [B, N, d_I] in AR order → (informative GMM [B, N, K_I, ...], redundant GMM [B, 1, K_R, ...] or None)."""
        b = z_i.shape[0]
        rows = labels.clone() if self.num_classes > 0 else torch.full_like(labels, -1)
        rows[rows < 0] = self.num_classes
        prefix = self.class_embed[rows].unsqueeze(1).expand(b, self.m, -1) + self.pos_embed[: self.m]
        toks = self.proj_in(z_i) + self.pos_embed[self.m :]
        h = torch.cat([prefix, toks], dim=1)
        for layer in self.layers:
            h = layer(h, self.mask)
        h = self.norm(h)
        # The last prefix slot predicts token 0; token i predicts i+1; token N-1 predicts the redundant GMM.
        g_i = head_to_gmm(self.head_informative(h[:, self.m - 1 : self.m - 1 + self.n]), self.k_i, self.d_i, self.sigma_min)
        if self.head_redundant is None:
            return g_i, None
        g_r = head_to_gmm(self.head_redundant(h[:, self.m + self.n - 1 :]), self.k_r, self.d_r, self.sigma_min)
        return g_i, g_r


# ---------------------------------------------------------------------------
# The joint model and its objective (docs/method.md §5.1 joint loss).


class Farmer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        f, a = cfg["flow"], cfg["ar"]
        self.patch = f["patchSize"]
        self.n = (f["imageSize"] // self.patch) ** 2
        self.d = f["inChannels"] * self.patch**2
        self.d_i = a["informativeDim"]
        self.flow = Flow(f, self.n, self.d)
        self.ar = Ar(a, cfg["numClasses"], self.n, self.d_i, self.d - self.d_i)
        # The AR sees the latents as if it were AF block n ('alternate'), unless forced.
        fp = cfg["finalPermute"]
        self.final_flip = fp == "flip" or (fp == "alternate" and f["numBlocks"] % 2 == 1)

    def nll_per_dim(self, images, labels):
        """images [B, C, H, W] in [-1, 1], labels [B] (-1 = null) → NLL per dim [B] in nats."""
        z, logdet = self.flow(patchify(images, self.patch))
        if self.final_flip:
            z = z.flip(1)
        z_i, z_r = z[..., : self.d_i], z[..., self.d_i :]
        g_i, g_r = self.ar(z_i, labels)
        logp = gmm_log_prob(z_i, *g_i).sum(1)
        if g_r is not None:
            logp = logp + gmm_log_prob(z_r, *g_r).sum(1)  # one GMM [B, 1, K_R, d_R] scores all N tokens
        return -(logp + logdet) / (self.n * self.d)


def load_model(checkpoint):
    with open(os.path.join(checkpoint, "config.json")) as f:
        config = json.load(f)
    if config.get("kind") != "farmer":
        raise SystemExit(f"{checkpoint} holds a {config.get('kind')!r} checkpoint, not a FARMER model")
    model = Farmer(config["model"])
    model.load_state_dict(read_safetensors(os.path.join(checkpoint, "model.safetensors")), strict=True)
    return model


def load_batch(path):
    t = read_safetensors(path)
    return t["images"].float(), t["labels"].long()


# ---------------------------------------------------------------------------
# check: loss and gradients against farmer-ts.


def run_check(args):
    model = load_model(args.checkpoint)
    images, labels = load_batch(args.batch)
    ref = read_safetensors(args.reference)
    loss = model.nll_per_dim(images, labels).mean()
    loss.backward()
    named = dict(model.named_parameters())
    grad_norm = math.sqrt(sum(float(p.grad.double().square().sum()) for p in named.values()))
    # Per parameter: max|a − b| / max(max|b|, 1e-3), the gradient test's criterion.
    worst, worst_name, missing = 0.0, None, sorted(set(named) - {k[5:] for k in ref if k.startswith("grad.")})
    for name, p in named.items():
        b = ref.get("grad." + name)
        if b is None:
            continue
        err = float((p.grad - b).abs().max()) / max(float(b.abs().max()), 1e-3)
        if err > worst:
            worst, worst_name = err, name
    with torch.no_grad():
        loss64 = float(model.double().nll_per_dim(images.double(), labels).mean())
    ref_loss, ref_norm = float(ref["loss"]), float(ref["grad_norm"])
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "parameters": sum(p.numel() for p in named.values()),
                "loss": float(loss),
                "lossFloat64": loss64,
                "referenceLoss": ref_loss,
                "lossRelErr": abs(float(loss) - ref_loss) / abs(ref_loss),
                "gradNorm": grad_norm,
                "referenceGradNorm": ref_norm,
                "gradNormRelErr": abs(grad_norm - ref_norm) / ref_norm,
                "worstParamErr": worst,
                "worstParam": worst_name,
                "paramsWithoutReference": missing,
            }
        )
    )


# ---------------------------------------------------------------------------
# bench: the trainer's step (docs/method.md §6.2 AdamW: β (0.9, 0.95), weight decay 0.03).


def train_step(model, params, opt, ema, images, labels, clip=1.0):
    """One step as farmer-ts's loop takes it: backward, global-norm clip, AdamW, EMA; skipped if non-finite."""
    opt.zero_grad(set_to_none=True)
    loss = model.nll_per_dim(images, labels).mean()
    loss.backward()
    grads = [p.grad for p in params]
    norm = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))))
    value = float(loss)
    if not (math.isfinite(value) and math.isfinite(norm)):
        return value
    with torch.no_grad():
        if norm > clip:
            torch._foreach_mul_(grads, clip / norm)
        opt.step()
        if ema is not None:
            shadow, state = ema
            d = min(state["decay"], (1 + state["updates"]) / (10 + state["updates"]))  # the trainer's warm-up
            state["updates"] += 1
            torch._foreach_mul_(shadow, d)
            torch._foreach_add_(shadow, params, alpha=1 - d)
    return value


def run_bench(args):
    torch.set_num_threads(args.threads)
    model = load_model(args.checkpoint)
    images, labels = load_batch(args.batch)
    params = list(model.parameters())
    # Weight decay on tensors of rank ≥ 2 only (weights and embeddings), as farmer-ts's AdamW.
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.03},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8, foreach=True)
    ema = ([p.detach().clone() for p in params], {"decay": args.ema, "updates": 0}) if args.ema > 0 else None
    losses, times = [], []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        losses.append(train_step(model, params, opt, ema, images, labels))
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    step = statistics.median(times)
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "ompWaitPolicy": os.environ["OMP_WAIT_POLICY"],
                "batch": images.shape[0],
                "stepSeconds": times,
                "medianStepSeconds": step,
                "imagesPerSec": images.shape[0] / step,
                "loss0": losses[0],
                "lossLast": losses[-1],
            }
        )
    )


if __name__ == "__main__":
    torch.manual_seed(0)
    (run_check if ARGS.mode == "check" else run_bench)(ARGS)
