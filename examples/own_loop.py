"""gradmedic on your own training loop: two lines (watch, step) and a diagnosis.

The network is seed 004's: 5 hidden sigmoid layers of 5 units with N(0, 1) weights on noisy circles,
SGD lr 0.01 with momentum 0.9, batch 32.  It never learns; gradmedic says why, where, since when
and what to change.

    python examples/own_loop.py
"""

import torch
from sklearn.datasets import make_circles
from torch import nn

import gradmedic

x, y = make_circles(n_samples=1000, noise=0.1, random_state=1)
x = torch.tensor(x[:500], dtype=torch.float32)
y = torch.tensor(y[:500], dtype=torch.float32)[:, None]

torch.manual_seed(1)
model = nn.Sequential(
    nn.Linear(2, 5), nn.Sigmoid(), nn.Linear(5, 5), nn.Sigmoid(), nn.Linear(5, 5), nn.Sigmoid(),
    nn.Linear(5, 5), nn.Sigmoid(), nn.Linear(5, 5), nn.Sigmoid(), nn.Linear(5, 1))
for m in model:
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0.0, 1.0)
        nn.init.zeros_(m.bias)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
loss_fn = nn.BCEWithLogitsLoss()

monitor = gradmedic.watch(model, optimizer)  # 1
for _epoch in range(20):
    perm = torch.randperm(500)
    for b in range(0, 500, 32):
        idx = perm[b:b + 32]
        optimizer.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        monitor.step(loss)  # 2
        optimizer.step()
print(monitor.diagnose())
monitor.close()
