#!/usr/bin/env python3
"""Trains a tiny character model twice — with an Engram memory written during training, and
without — and shows the memory's loss falling below the other's.

The text: each sequence is a random string of letters followed by the same string again. The
model sees only the last CONTEXT characters, so the second copy is as unpredictable as the
first from its weights alone (loss ~ ln 16). With memory, every forward pass first inserts one
slot per position of the first copy — key: the position's query (the sublayer's W_q of its
context), value: the next character's embedding — then reads it back for the second copy, where
the same context meets the slot its first occurrence wrote. Slots are erased after each step,
so the memory is rewritten as the model (and its W_q) trains: the dynamic update.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/train_with_memory.py [--steps 200]
"""
import argparse
import tempfile
import time

import torch
from torch import nn
from torch.nn import functional as F

import engram
from engram.torch import MemoryAttention, MemoryWriter

VOCAB, CONTEXT, D, DK = 16, 4, 64, 32


def batch(gen, size, length):
    s = torch.randint(0, VOCAB, (size, length), generator=gen)
    return torch.cat([s, s], dim=1)  # [B, 2L]: the string, then again


class TinyModel(nn.Module):
    """Embeds the last CONTEXT characters, mixes them, adds the memory sublayer, predicts."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, D)
        self.mix = nn.Sequential(nn.Linear(CONTEXT * D, D), nn.GELU(), nn.Linear(D, D))
        self.attn = MemoryAttention(D, DK, D, k=4)
        self.head = nn.Linear(D, VOCAB)

    def hidden(self, x):  # x [B, T] -> h [B, T-CONTEXT+1, D]: one state per full window
        windows = self.emb(x).unfold(1, CONTEXT, 1)  # [B, T', D, CONTEXT]
        return self.mix(windows.transpose(2, 3).flatten(2))

    def forward(self, x, memory=None, writer=None):
        h = self.hidden(x)  # [B, T', D]; state t predicts x[:, t + CONTEXT]
        L = x.shape[1] // 2
        first = slice(0, L - CONTEXT)  # states of the first copy whose next char is in it
        if writer is not None:  # write before read: keys of the first copy, next-char values
            writer.insert(self.attn.slot_keys(h[:, first]), self.emb(x[:, CONTEXT:L]).detach())
        h = h + self.attn(h, memory)
        logits = self.head(h[:, :-1])  # [B, T'-1, VOCAB]
        target = x[:, CONTEXT:]
        # Score the second copy where a whole window lies in it: state t >= L predicts x[t + CONTEXT].
        return F.cross_entropy(logits[:, L:].reshape(-1, VOCAB), target[:, L:].reshape(-1))


def train(use_memory, steps, seed=0):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = TinyModel()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    with tempfile.TemporaryDirectory() as folder, engram.open(folder) as db:
        memory = db.create_memory("train", key_dim=DK, value_dim=D, sync=False) if use_memory else None
        writer = MemoryWriter(memory) if use_memory else None
        losses = []
        for _ in range(steps):
            loss = model(batch(gen, 16, 32), memory, writer)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if writer is not None:
                writer.clear()
            losses.append(loss.item())
        return sum(losses[-20:]) / 20


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=200)
    args = p.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    without = train(False, args.steps)
    with_mem = train(True, args.steps)
    print(f"loss on the repeated half after {args.steps} steps (mean of the last 20):")
    print(f"  without memory: {without:.3f}   (ln {VOCAB} = {torch.log(torch.tensor(float(VOCAB))):.3f})")
    print(f"  with memory:    {with_mem:.3f}")
    print(f"  ({time.time() - t0:.1f} s)")
    if not with_mem < without:
        raise SystemExit("memory did not lower the loss")


if __name__ == "__main__":
    main()
