#!/usr/bin/env python3
"""The same decoder as lm/ (pre-LN GPT blocks, memory-attention sublayer in the last block) in
Python PyTorch, trained on random tokens, to compare training throughput with `engram-lm bench`.

The memory here is an in-process tensor store searched exactly with torch.topk (no engram), so
the with-memory figure measures the model's own cost of the sublayer, not a database.

    /usr/bin/python3 lm/bench/pytorch_reference.py --width 256 --layers 4 --steps 20 [--no-memory]
"""
import argparse, json, math, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(s, d, h):
        super().__init__(); s.h = h; s.qkv = nn.Linear(d, 3 * d); s.proj = nn.Linear(d, d)
    def forward(s, x):
        B, T, C = x.shape
        q, k, v = s.qkv(x).view(B, T, 3, s.h, C // s.h).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // s.h)
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float('-inf')).softmax(-1)
        return s.proj((att @ v).transpose(1, 2).reshape(B, T, C))


class MemoryAttention(nn.Module):
    def __init__(s, d, m, k):
        super().__init__(); s.k = k
        s.ln = nn.LayerNorm(d); s.wq = nn.Linear(d, m, bias=False); s.wv = nn.Linear(d, m, bias=False)
        s.wo = nn.Linear(m, d); s.gate = nn.Parameter(torch.full((d,), 0.01))
        s.log_scale = nn.Parameter(torch.tensor(math.log(16.0)))
        s.keys = None; s.values = None
    def slots(s, h):
        x = s.ln(h); k = F.normalize(s.wq(x), dim=-1); v = s.wv(x)
        return k[:, :-1].reshape(-1, k.shape[-1]).detach(), v[:, 1:].reshape(-1, v.shape[-1]).detach()
    def forward(s, h):
        B, T, C = h.shape
        q = F.normalize(s.wq(s.ln(h)), dim=-1).reshape(B * T, -1)
        if s.keys is None:
            return torch.zeros_like(h)
        kk = min(s.k, s.keys.shape[0])
        idx = (q.detach() @ s.keys.T).topk(kk, dim=-1).indices          # exact search
        K, V = s.keys[idx], s.values[idx]                                 # [N, k, m]
        a = (torch.einsum('nd,nkd->nk', q, K) * s.log_scale.exp()).softmax(-1)
        return (s.gate * s.wo(torch.einsum('nk,nkd->nd', a, V))).view(B, T, C)


class Block(nn.Module):
    def __init__(s, d, h, mem):
        super().__init__()
        s.ln1 = nn.LayerNorm(d); s.attn = Attention(d, h); s.ln2 = nn.LayerNorm(d)
        s.fc = nn.Linear(d, 4 * d); s.proj = nn.Linear(4 * d, d); s.memory = mem
    def forward(s, h, out_slots):
        h = h + s.attn(s.ln1(h))
        if s.memory is not None:
            out_slots.append(s.memory.slots(h)); h = h + s.memory(h)
        return h + s.proj(F.gelu(s.fc(s.ln2(h))))


class Gpt(nn.Module):
    def __init__(s, V, T, L, H, D, K):
        super().__init__()
        s.wte = nn.Embedding(V, D); s.wpe = nn.Embedding(T, D)
        s.blocks = nn.ModuleList([Block(D, H, MemoryAttention(D, D, K) if i == L - 1 else None) for i in range(L)])
        s.ln_f = nn.LayerNorm(D)
    def forward(s, idx, slots):
        h = s.wte(idx) + s.wpe(torch.arange(idx.shape[1]))
        for b in s.blocks:
            h = b(h, slots)
        return s.ln_f(h) @ s.wte.weight.T


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--vocab-size', type=int, default=4000); p.add_argument('--block-size', type=int, default=128)
    p.add_argument('--layers', type=int, default=4); p.add_argument('--heads', type=int, default=4)
    p.add_argument('--width', type=int, default=256); p.add_argument('--memory-k', type=int, default=32)
    p.add_argument('--batch', type=int, default=16); p.add_argument('--segments', type=int, default=8)
    p.add_argument('--steps', type=int, default=20); p.add_argument('--warmup-steps', type=int, default=3)
    p.add_argument('--threads', type=int, default=2); p.add_argument('--no-memory', action='store_true')
    a = p.parse_args()
    torch.set_num_threads(a.threads); torch.manual_seed(0)
    m = Gpt(a.vocab_size, a.block_size, a.layers, a.heads, a.width, a.memory_k)
    mem = m.blocks[-1].memory
    opt = torch.optim.AdamW(m.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
    secs, toks = 0.0, 0
    for step in range(a.steps + a.warmup_steps):
        if step % a.segments == 0:
            mem.keys = mem.values = None
        x = torch.randint(0, a.vocab_size, (a.batch, a.block_size + 1))
        t0 = time.perf_counter()
        slots = []
        if a.no_memory:
            saved = m.blocks[-1].memory; m.blocks[-1].memory = None
        loss = F.cross_entropy(m(x[:, :-1], slots).reshape(-1, a.vocab_size), x[:, 1:].reshape(-1))
        if a.no_memory:
            m.blocks[-1].memory = saved
        opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
        if not a.no_memory:
            k, v = slots[0]
            mem.keys = k if mem.keys is None else torch.cat([mem.keys, k])
            mem.values = v if mem.values is None else torch.cat([mem.values, v])
        if step >= a.warmup_steps:
            secs += time.perf_counter() - t0; toks += a.batch * a.block_size
    print(json.dumps({'impl': 'pytorch', 'memory': not a.no_memory, 'tokens_per_s': round(toks / secs, 1)}))


if __name__ == '__main__':
    main()
