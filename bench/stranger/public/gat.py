"""pytorch/examples gat (a 2-layer Graph Attention Network, Velickovic et al., on a Cora-like graph), watched by gradmedic.

Adapted from https://github.com/pytorch/examples (commit 77f55b912142e11fcfdf5b530231fb9c52f181e8,
gat/main.py; BSD 3-Clause, Copyright (c) 2017, Pytorch contributors, see LICENSE-pytorch-examples).  Kept as
in the original: ``GraphAttentionLayer`` (``W`` and ``a`` xavier_normal_, dropout on ``h W``, the attention
scores ``LeakyReLU(a_src^T Wh_i + a_dst^T Wh_j)`` masked with -9e16 where the dense adjacency is 0, softmax,
dropout on the attention, heads averaged when not concatenated) and ``GAT`` (gat1 with n_heads heads, ELU,
gat2 with one head, ``log_softmax``), main.py's optimizer and loss (Adam lr 0.005 with weight_decay 5e-4,
``nn.NLLLoss``), its dropout 0.6, hidden 64, heads averaged (``--concat-heads`` off), ``load_cora``'s
processing after reading the files (features row-normalized by a sparse diagonal of 1/row-sum; the adjacency
``eye(V) + A`` from the directed citation pairs, dense, not renormalized), the split (``torch.randperm`` after
``torch.manual_seed(seed)``: 1200 test nodes, 400 validation, the remaining 1108 training), ``train_iter``
(train mode, zero_grad, the loss on the training nodes, backward, step) and ``test`` (accuracy of ``argmax``)
on the test nodes at the end.

Changed to run in 10-40 s on one CPU thread: Cora (a download) is replaced by gcn.py's synthetic Cora-like
graph (``gcn.cora_like``, imported: the same 2708 nodes, 1433 features, 5429 directed citations for every run;
the seed drives the split, the init and dropout); 1 attention head in gat1 instead of 8 and 40 full-batch
epochs instead of 300 (every head is a dense 2708 x 2708 attention matrix: with 4 heads an epoch took 2.7 s on
one shared CPU thread; with 2 heads validation accuracy passed 0.9 by epoch 30); ``train_iter``'s per-epoch
evaluation on the training and validation nodes (two more forward passes, printed every ``val_every`` epochs) is
done only every 10 epochs (the last figures go in ``extra``).

The watch: ``gradmedic.watch(gat_net, optimizer, every=5)`` right after the optimizer is built (every 5
because the whole run is 40 full-batch steps: 8 samples), ``monitor.step(loss)`` after ``loss.backward()``
in ``train_iter``, before ``optimizer.step()``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the
same seed's healthy run: lr x10, x100 (seeds 1 and 2), x1000 and /1000, N(0, 1) instead of xavier_normal_ for
``W`` and ``a`` of both layers, zeros_ on gat1's ``W``.  Labels come from run.py's outcome rules only.
Recorded (cases-public6): healthy 0.923-0.935 test accuracy on seeds 1-3; lr x10 and the zeroed gat1.W train
as well as the program (labelled healthy: the attention is uniform at first but the columns of W get different
gradients through gat2's random W); lr x100 and x1000 lose 23-29 points, /1000 and N(0, 1) fall to 0.16 and 0.31.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from gcn import cora_like
from torch import nn
from torch.optim import Adam

import gradmedic

ARCH = "gat"
MONITOR_AT = ("watch(gat_net, optimizer, every=5) (40 full-batch steps); monitor.step(loss) after loss.backward() in "
              "train_iter (NLLLoss on the training nodes), before optimizer.step()")


class GraphAttentionLayer(nn.Module):
    """Graph Attention Layer (GAT) as described in the paper "Graph Attention Networks" (the original's docstring
    shortened): e_ij = LeakyReLU(a^T [W h_i || W h_j]), alpha_ij = softmax_j(e_ij), h_i' = sum_j alpha_ij W h_j."""

    def __init__(self, in_features: int, out_features: int, n_heads: int, concat: bool = False, dropout: float = 0.4,
                 leaky_relu_slope: float = 0.2):
        super().__init__()

        self.n_heads = n_heads  # Number of attention heads
        self.concat = concat  # wether to concatenate the final attention heads
        self.dropout = dropout  # Dropout rate

        if concat:  # concatenating the attention heads
            self.out_features = out_features  # Number of output features per node
            assert out_features % n_heads == 0  # Ensure that out_features is a multiple of n_heads
            self.n_hidden = out_features // n_heads
        else:  # averaging output over the attention heads (Used in the main paper)
            self.n_hidden = out_features

        # A shared linear transformation, parametrized by a weight matrix W is applied to every node
        self.W = nn.Parameter(torch.empty(size=(in_features, self.n_hidden * n_heads)))

        # Define the attention mechanism as a learnable weight vector
        self.a = nn.Parameter(torch.empty(size=(n_heads, 2 * self.n_hidden, 1)))

        self.leakyrelu = nn.LeakyReLU(leaky_relu_slope)  # LeakyReLU activation function
        self.softmax = nn.Softmax(dim=1)  # softmax activation function to the attention coefficients

        self.reset_parameters()  # Reset the parameters

    def reset_parameters(self):
        """Reinitialize learnable parameters."""
        nn.init.xavier_normal_(self.W)
        nn.init.xavier_normal_(self.a)

    def _get_attention_scores(self, h_transformed: torch.Tensor):
        """The attention scores e_ij for all pairs of nodes, shape (n_heads, n_nodes, n_nodes)."""
        source_scores = torch.matmul(h_transformed, self.a[:, :self.n_hidden, :])
        target_scores = torch.matmul(h_transformed, self.a[:, self.n_hidden:, :])

        # broadcast add
        # (n_heads, n_nodes, 1) + (n_heads, 1, n_nodes) = (n_heads, n_nodes, n_nodes)
        e = source_scores + target_scores.mT
        return self.leakyrelu(e)

    def forward(self, h: torch.Tensor, adj_mat: torch.Tensor):
        n_nodes = h.shape[0]

        # Apply linear transformation to node feature -> W h
        # output shape (n_nodes, n_hidden * n_heads)
        h_transformed = torch.mm(h, self.W)
        h_transformed = F.dropout(h_transformed, self.dropout, training=self.training)

        # splitting the heads by reshaping the tensor and putting heads dim first
        # output shape (n_heads, n_nodes, n_hidden)
        h_transformed = h_transformed.view(n_nodes, self.n_heads, self.n_hidden).permute(1, 0, 2)

        # getting the attention scores
        # output shape (n_heads, n_nodes, n_nodes)
        e = self._get_attention_scores(h_transformed)

        # Set the attention score for non-existent edges to -9e15 (MASKING NON-EXISTENT EDGES)
        connectivity_mask = -9e16 * torch.ones_like(e)
        e = torch.where(adj_mat > 0, e, connectivity_mask)  # masked attention scores

        # attention coefficients are computed as a softmax over the rows
        # for each column j in the attention score matrix e
        attention = F.softmax(e, dim=-1)
        attention = F.dropout(attention, self.dropout, training=self.training)

        # final node embeddings are computed as a weighted average of the features of its neighbors
        h_prime = torch.matmul(attention, h_transformed)

        # concatenating/averaging the attention heads
        # output shape (n_nodes, out_features)
        if self.concat:
            h_prime = h_prime.permute(1, 0, 2).contiguous().view(n_nodes, self.out_features)
        else:
            h_prime = h_prime.mean(dim=0)

        return h_prime


class GAT(nn.Module):
    """Two stacked graph attention layers (the second with a single head), ELU between them, log-softmax out."""

    def __init__(self, in_features, n_hidden, n_heads, num_classes, concat=False, dropout=0.4, leaky_relu_slope=0.2):
        super().__init__()

        # Define the Graph Attention layers
        self.gat1 = GraphAttentionLayer(
            in_features=in_features, out_features=n_hidden, n_heads=n_heads,
            concat=concat, dropout=dropout, leaky_relu_slope=leaky_relu_slope
        )

        self.gat2 = GraphAttentionLayer(
            in_features=n_hidden, out_features=num_classes, n_heads=1,
            concat=False, dropout=dropout, leaky_relu_slope=leaky_relu_slope
        )

    def forward(self, input_tensor: torch.Tensor, adj_mat: torch.Tensor):
        # Apply the first Graph Attention layer
        x = self.gat1(input_tensor, adj_mat)
        x = F.elu(x)  # Apply ELU activation function to the output of the first layer

        # Apply the second Graph Attention layer
        x = self.gat2(x, adj_mat)

        return F.log_softmax(x, dim=1)  # Apply log softmax activation function


def load_cora():
    """The original's load_cora after reading the files: row-normalized features (dense), labels, and the dense
    adjacency eye(V) + A (no renormalization), on gcn.py's synthetic graph."""
    content, labels, edges = cora_like()

    features = torch.FloatTensor(content)  # Extract feature values
    scale_vector = torch.sum(features, dim=1)  # Compute sum of features for each node
    scale_vector = 1 / scale_vector  # Compute reciprocal of the sums
    scale_vector[scale_vector == float('inf')] = 0  # Handle division by zero cases
    scale_vector = torch.diag(scale_vector).to_sparse()  # Convert the scale vector to a sparse diagonal matrix
    features = scale_vector @ features  # Scale the features using the scale vector

    labels = torch.LongTensor(labels)  # Convert labels to a tensor

    V = len(labels)  # Number of nodes
    E = edges.shape[0]  # Number of edges
    adj_mat = torch.sparse_coo_tensor(edges.T, torch.ones(E), (V, V), dtype=torch.int64)  # the initial adjacency matrix
    adj_mat = torch.eye(V) + adj_mat  # Add self-loops to the adjacency matrix

    return features, labels, adj_mat


def train_iter(epoch, model, optimizer, criterion, input, target, mask_train, mask_val, monitor, losses, evaluate):
    model.train()
    optimizer.zero_grad()

    # Forward pass
    output = model(*input)
    loss = criterion(output[mask_train], target[mask_train])  # Compute the loss using the training mask

    loss.backward()
    monitor.step(loss)  # gradmedic
    optimizer.step()
    losses.append(loss.item())

    if not evaluate:
        return None
    # Evaluate the model performance on training and validation sets
    loss_train, acc_train = test(model, criterion, input, target, mask_train)
    loss_val, acc_val = test(model, criterion, input, target, mask_val)
    return loss_train, acc_train, loss_val, acc_val


def test(model, criterion, input, target, mask):
    model.eval()
    with torch.no_grad():
        output = model(*input)
        output, target = output[mask], target[mask]

        loss = criterion(output, target)
        acc = (output.argmax(dim=1) == target).float().sum() / len(target)
    return loss.item(), acc.item()


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_layer: str | None = None,
          epochs: int = 40, n_heads: int = 1, every: int = 5, val_every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    lr, l2, dropout_p, hidden_dim = 0.005 * lr_mult, 5e-4, 0.6, 64

    features, labels, adj_mat = load_cora()
    idx = torch.randperm(len(labels))
    idx_test, idx_val, idx_train = idx[:1200], idx[1200:1600], idx[1600:]

    gat_net = GAT(in_features=features.shape[1], n_hidden=hidden_dim, n_heads=n_heads,
                  num_classes=labels.max().item() + 1, concat=False, dropout=dropout_p, leaky_relu_slope=0.2)
    if init_std is not None:  # the bug: normal_(0, std) instead of xavier_normal_ on W and a of both layers
        for layer in (gat_net.gat1, gat_net.gat2):
            nn.init.normal_(layer.W, 0.0, init_std)
            nn.init.normal_(layer.a, 0.0, init_std)
    if zero_layer is not None:  # the bug: zeros_ on one layer's W
        nn.init.zeros_(getattr(gat_net, zero_layer).W)

    # configure the optimizer and loss function
    optimizer = Adam(gat_net.parameters(), lr=lr, weight_decay=l2)
    monitor = gradmedic.watch(gat_net, optimizer, every=every)
    criterion = nn.NLLLoss()
    losses = []

    t0 = time.time()
    last = (float("nan"),) * 4
    for epoch in range(epochs):
        evaluate = (epoch + 1) % val_every == 0 or epoch + 1 == epochs
        r = train_iter(epoch + 1, gat_net, optimizer, criterion, (features, adj_mat), labels, idx_train, idx_val,
                       monitor, losses, evaluate)
        if r is not None:
            last = r
            if verbose:
                print(f'Epoch: {epoch + 1:04d} loss_train: {r[0]:.4f} acc_train: {r[1]:.4f} '
                      f'loss_val: {r[2]:.4f} acc_val: {r[3]:.4f} ({time.time() - t0:.1f}s)', flush=True)

    loss_test, acc_test = test(gat_net, criterion, (features, adj_mat), labels, idx_test)
    monitor.close()
    if verbose:
        print(f'Test set results: loss {loss_test:.4f} accuracy {acc_test:.4f}')
    loss_train, acc_train, loss_val, acc_val = last
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc_test), "chance": 1 / 7, "initial": None,
            "initial_what": "chance accuracy 1/7 (the largest class is 818/2708 = 0.30)",
            "extra": {"test_loss": loss_test, "train_loss": float(np.mean(losses[-20:])), "acc_train": acc_train,
                      "loss_val": loss_val, "acc_val": acc_val, "steps": len(losses), "lr": lr, "weight_decay": l2,
                      "n_heads": n_heads},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="gat", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"gat_healthy_s{s}", "healthy", s, {}, "unchanged (hidden 64, 1 head, dropout 0.6, Adam lr 0.005, "
           "weight_decay 5e-4, NLLLoss on log_softmax; 40 full-batch epochs)", False) for s in (1, 2, 3)]
    + [_case(f"gat_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.005 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("gat_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (5e-06)")]
    + [_case("gat_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) instead of xavier_normal_ on W and a of both layers")]
    + [_case("gat_zero_gat1_s1", "symmetric_init", 1, {"zero_layer": "gat1"}, "nn.init.zeros_ on gat1.W")]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
