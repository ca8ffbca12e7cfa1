"""mklimasz/TransE-PyTorch's TransE knowledge-graph embeddings, watched by gradmedic.

Adapted from https://github.com/mklimasz/TransE-PyTorch (commit 80e2545d0c7ba689985a1d9a34916fa5b96f57d4; model.py,
main.py, metric.py, data.py).  The repository has no licence file and names no licence, so this port keeps to what is
needed (no LICENSE-transe): ``TransE`` (copied below: entity and relation ``nn.Embedding`` with an OOV padding row,
both drawn uniform(+-6/sqrt(dim)), the relations L1-normalized once at init, the entities L2-normalized in place at
the top of every ``forward``, the L1 (``norm=1``) distance ||h + r - t||, ``nn.MarginRankingLoss(margin=1.0,
reduction='none')`` with target -1), ``hit_at_k`` and ``mrr`` (metric.py), ``create_mappings`` and ``FB15KDataset``
(data.py) and main.py's defaults and loop: vector_length 50, ``optim.SGD(model.parameters(), lr=0.01)``, batch 128
from a ``DataLoader`` without shuffling, negatives by replacing the head or the tail (a fair coin per triple) with a
uniformly drawn entity, ``optimizer.zero_grad()``, ``loss.mean().backward()``, ``optimizer.step()``, and ``test``
(raw ranking of every entity as tail and as head, hits@1/3/10 and MRR, validation batch 64).

Changed to run offline on one CPU thread in 12-17 s: no FB15k (a download): ``make_kg`` (fixed, data seed 0, the same
graph for every run) generates a knowledge graph of 150 entities in 25 communities of 6, one at each point of a 5x5
lattice, and 10 relations that are fixed lattice translations ((1, 0), (0, 1), (1, 1), (1, -1), (2, 0), (0, 2),
(2, 1), (1, 2), (-1, 2), (2, -1)): every entity is linked by relation r to all 6 members of the community at its
own point + r's move, when that point is on the lattice (5400 triples as strings, shuffled, split 80/10/10: 4320
train, 540 valid, 540 test); ``create_mappings``/``FB15KDataset`` take the triple lists instead of file paths;
EPOCHS = 320 (10880 steps) instead of 2000 with validation every 10 epochs; no checkpoints: the final
model is tested (upstream tests the best-validation checkpoint), the validation scores go to ``extra``; the CPU
(upstream: cuda unless --nouse_gpu); seed 1233 + seed (upstream 1234); no tensorboard; prints only with
``verbose``; a model with a non-finite weight scores NaN.  On this small graph upstream's rate is slow (each step
moves an embedding element by at most lr/128): the healthy run is still improving at the end, and lr x10 or x100
does far better (see the record below).  Knobs (one per variant): ``lr_mult``; ``batch_size``; ``norm`` (1 or 2);
``margin``; ``normalize_entities=False`` leaves the entity normalization line of ``forward`` out; ``init_std``
redraws both embedding tables N(0, init_std) after the model is built (as a user re-initializing it would; the
relations' L1 normalization at init is lost, the entities are still normalized at each forward);
``zero_grad=False`` leaves ``optimizer.zero_grad()`` out.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the SGD is built,
``monitor.step(loss.mean())`` right after ``loss.mean().backward()``, before ``optimizer.step()``;
``monitor.close()`` after the epochs.  Metric "test_hits10_error": 1 - the raw test hits@10 (tails and heads of the
540 test triples ranked among all 150 entities; lower is better); ``initial`` is the untrained model's error (the
same test before the first step: 0.93-0.95; chance 1 - 10/150 = 0.933), so a good outcome is an error at most 0.7x
the untrained one and ``half_the_progress`` measures from there.  ``extra`` has the test hits@1/3/10 and MRR, the
untrained MRR, the validation hits@10 and MRR, the training loss (first-5 and last-20 means, the largest), the share
of triples with a nonzero loss in the last epoch, and the mean entity and relation norms at the end.

``CASES`` (program "transe"): the program on seeds 1-3, and one change each against the same seed's healthy run:
SGD lr x10, x100 (seeds 1 and 2), x1000, /1000; both embeddings redrawn N(0, 10) (seeds 1 and 2);
``optimizer.zero_grad()`` left out (seeds 1 and 2); the entity L2 normalization left out of ``forward`` (cause
"no_norm", a judgement: the model is built around this normalization, as a network around its norm layers; without
it the ranking loss is met by growing the embeddings); margin 0 (cause "wrong_loss", a judgement: the ranking loss
is satisfied by any ordering of the distances, so it falls without the ranking being learned); and two changes
expected harmless (cause "healthy"): batch 64 and the L2 distance.
Recorded (cases-public163; 12-17 s a run, 22 s for batch 64, 207 s for all 16; "loss" first-5 -> last-20 means;
hits = 1 - the metric): healthy error 0.539, 0.550, 0.533 on seeds 1-3 (untrained 0.944, 0.944, 0.947; test MRR
0.14; loss 1.11-1.17 -> 0.16-0.18, largest 1.36-1.46; 24% of the triples still with a nonzero loss in the last
epoch): healthy; lr x10 (0.1): error 0.018, MRR 0.31, loss -> 0.041: healthy; lr x100 (1.0): 0.023 (seed 1) and
0.016 (seed 2), loss -> 0.04-0.045: healthy; lr x1000 (10): loss 1.23 -> 1.38 (largest 2.35), relation norm 5.9,
error 0.900: broken; lr /1000 (1e-5): loss 1.15 -> 1.12, error 0.959: broken; N(0, 10) embeddings: relation norms
~70 (the entities renormalized at the first forward), loss 1.14 -> 0.61 and 1.26 -> 0.65, error 0.926 and 0.935
(untrained 0.931, 0.934): broken; optimizer.zero_grad() left out: relation norms grow to ~250, entity norm 1.2
after the last step, loss -> 0.29 and 0.28, error 0.519 and 0.492 (a little better than the controls): healthy;
entity normalization left out: loss 2.22 -> 1.05 (largest 3.25), entity norm 3.2, error 0.907: broken; margin 0:
loss 0.475 -> 0.092, error 0.815: broken; batch 64 (twice the steps): error 0.234, MRR 0.23: healthy; L2 distance:
loss 1.01 -> 0.954 (every triple still with a nonzero loss; the L2 norm's gradient is a unit vector per triple, ~7x
smaller than L1's sign vector in 50 dimensions), error 0.929 (untrained 0.929): ambiguous (not a good outcome).
Labels: 9 healthy (3 programs, lr x10, lr x100 on two seeds, zero_grad left out on two seeds, batch 64), 6 broken,
1 ambiguous; every loss finite.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils import data as torch_data

import gradmedic

ARCH = "embedding"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.SGD(model.parameters(), lr=0.01); "
              "monitor.step(loss.mean()) right after loss.mean().backward() (MarginRankingLoss(reduction='none') "
              "averaged over the batch's positive/corrupted pairs), before optimizer.step() (optimizer.zero_grad() comes "
              "before the forward, upstream's order)")

# main.py's flags (upstream defaults unless marked)
LR = 0.01
BATCH_SIZE = 128
VALIDATION_BATCH_SIZE = 64
VECTOR_LENGTH = 50
MARGIN = 1.0
NORM = 1
EPOCHS = 320  # upstream: 2000 (validation every 10 epochs, best checkpoint tested at the end)


# ---------------------------------------------------------------------------------------------------------------
# The knowledge graph: generated here (upstream reads FB15k's train/valid/test.txt, a download)
# ---------------------------------------------------------------------------------------------------------------

def make_kg(grid=5, size=6, n_tails=6, keep=1.0, seed=0,
            moves=((1, 0), (0, 1), (1, 1), (1, -1), (2, 0), (0, 2), (2, 1), (1, 2), (-1, 2), (2, -1))):
    """Entities in grid x grid communities of ``size`` each, a community at each point of a 2-D lattice; each
    relation a fixed translation of the lattice (one of ``moves``): for a random ``keep`` of the (head, relation)
    pairs whose target community exists, ``n_tails`` random members of the community at head + move are tails.
    Triples as strings (as in FB15k's files), shuffled, split 80/10/10 into train/valid/test."""
    rng = np.random.RandomState(seed)
    triples = set()
    for cx in range(grid):
        for cy in range(grid):
            for k in range(size):
                h = (cx * grid + cy) * size + k
                for r, (dx, dy) in enumerate(moves):
                    tx, ty = cx + dx, cy + dy
                    if not (0 <= tx < grid and 0 <= ty < grid) or rng.rand() >= keep:
                        continue
                    for j in rng.choice(size, n_tails, replace=False):
                        triples.add((f"/m/e{h}", f"/r/rel{r}", f"/m/e{(tx * grid + ty) * size + j}"))
    triples = sorted(triples)
    rng.shuffle(triples)
    n = len(triples)
    n_train, n_valid = int(0.8 * n), int(0.1 * n)
    return triples[:n_train], triples[n_train:n_train + n_valid], triples[n_train + n_valid:]


# ---------------------------------------------------------------------------------------------------------------
# data.py (upstream reads the triples from a file; here from a list)
# ---------------------------------------------------------------------------------------------------------------

Mapping = dict[str, int]


def create_mappings(triples) -> tuple[Mapping, Mapping]:  # upstream: create_mappings(dataset_path) reads the file
    """Creates separate mappings to indices for entities and relations."""
    # counters to have entities/relations sorted from most frequent
    entity_counter = Counter()
    relation_counter = Counter()
    for head, relation, tail in triples:
        entity_counter.update([head, tail])
        relation_counter.update([relation])
    entity2id = {}
    relation2id = {}
    for idx, (mid, _) in enumerate(entity_counter.most_common()):
        entity2id[mid] = idx
    for idx, (relation, _) in enumerate(relation_counter.most_common()):
        relation2id[relation] = idx
    return entity2id, relation2id


class FB15KDataset(torch_data.Dataset):
    """Dataset implementation for handling FB15K and FB15K-237."""

    def __init__(self, triples, entity2id: Mapping, relation2id: Mapping):  # upstream: (data_path, ...) reads the file
        self.entity2id = entity2id
        self.relation2id = relation2id
        # data in tuples (head, relation, tail)
        self.data = list(triples)

    def __len__(self):
        """Denotes the total number of samples."""
        return len(self.data)

    def __getitem__(self, index):
        """Returns (head id, relation id, tail id)."""
        head, relation, tail = self.data[index]
        head_id = self._to_idx(head, self.entity2id)
        relation_id = self._to_idx(relation, self.relation2id)
        tail_id = self._to_idx(tail, self.entity2id)
        return head_id, relation_id, tail_id

    @staticmethod
    def _to_idx(key: str, mapping: Mapping) -> int:
        try:
            return mapping[key]
        except KeyError:
            return len(mapping)


# ---------------------------------------------------------------------------------------------------------------
# model.py
# ---------------------------------------------------------------------------------------------------------------

class TransE(nn.Module):

    def __init__(self, entity_count, relation_count, device, norm=1, dim=100, margin=1.0, normalize_entities=True):
        super(TransE, self).__init__()  # noqa: UP008 (as upstream)
        self.entity_count = entity_count
        self.relation_count = relation_count
        self.device = device
        self.norm = norm
        self.dim = dim
        self.normalize_entities = normalize_entities
        self.entities_emb = self._init_enitity_emb()
        self.relations_emb = self._init_relation_emb()
        self.criterion = nn.MarginRankingLoss(margin=margin, reduction='none')

    def _init_enitity_emb(self):
        entities_emb = nn.Embedding(num_embeddings=self.entity_count + 1,
                                    embedding_dim=self.dim,
                                    padding_idx=self.entity_count)
        uniform_range = 6 / np.sqrt(self.dim)
        entities_emb.weight.data.uniform_(-uniform_range, uniform_range)
        return entities_emb

    def _init_relation_emb(self):
        relations_emb = nn.Embedding(num_embeddings=self.relation_count + 1,
                                     embedding_dim=self.dim,
                                     padding_idx=self.relation_count)
        uniform_range = 6 / np.sqrt(self.dim)
        relations_emb.weight.data.uniform_(-uniform_range, uniform_range)
        # -1 to avoid nan for OOV vector
        relations_emb.weight.data[:-1, :].div_(relations_emb.weight.data[:-1, :].norm(p=1, dim=1, keepdim=True))
        return relations_emb

    def forward(self, positive_triplets: torch.LongTensor, negative_triplets: torch.LongTensor):
        """Return model losses based on the input.

        :param positive_triplets: triplets of positives in Bx3 shape (B - batch, 3 - head, relation and tail)
        :param negative_triplets: triplets of negatives in Bx3 shape (B - batch, 3 - head, relation and tail)
        :return: tuple of the model loss, positive triplets loss component, negative triples loss component
        """
        # -1 to avoid nan for OOV vector
        if self.normalize_entities:  # the no_entity_norm variant leaves this line out
            self.entities_emb.weight.data[:-1, :].div_(self.entities_emb.weight.data[:-1, :].norm(p=2, dim=1,
                                                                                                  keepdim=True))

        assert positive_triplets.size()[1] == 3
        positive_distances = self._distance(positive_triplets)

        assert negative_triplets.size()[1] == 3
        negative_distances = self._distance(negative_triplets)

        return self.loss(positive_distances, negative_distances), positive_distances, negative_distances

    def predict(self, triplets: torch.LongTensor):
        """Calculated dissimilarity score for given triplets.

        :param triplets: triplets in Bx3 shape (B - batch, 3 - head, relation and tail)
        :return: dissimilarity score for given triplets
        """
        return self._distance(triplets)

    def loss(self, positive_distances, negative_distances):
        target = torch.tensor([-1], dtype=torch.long, device=self.device)
        return self.criterion(positive_distances, negative_distances, target)

    def _distance(self, triplets):
        """Triplets should have shape Bx3 where dim 3 are head id, relation id, tail id."""
        assert triplets.size()[1] == 3
        heads = triplets[:, 0]
        relations = triplets[:, 1]
        tails = triplets[:, 2]
        return (self.entities_emb(heads) + self.relations_emb(relations) - self.entities_emb(tails)).norm(p=self.norm,
                                                                                                          dim=1)


# ---------------------------------------------------------------------------------------------------------------
# metric.py
# ---------------------------------------------------------------------------------------------------------------

def hit_at_k(predictions: torch.Tensor, ground_truth_idx: torch.Tensor, device: torch.device, k: int = 10) -> int:
    """Calculates number of hits@k."""
    assert predictions.size(0) == ground_truth_idx.size(0)

    zero_tensor = torch.tensor([0], device=device)
    one_tensor = torch.tensor([1], device=device)
    _, indices = predictions.topk(k=k, largest=False)
    return torch.where(indices == ground_truth_idx, one_tensor, zero_tensor).sum().item()


def mrr(predictions: torch.Tensor, ground_truth_idx: torch.Tensor) -> float:
    """Calculates mean reciprocal rank (MRR) for given predictions and ground truth values."""
    assert predictions.size(0) == ground_truth_idx.size(0)

    indices = predictions.argsort()
    return (1.0 / (indices == ground_truth_idx).nonzero()[:, 1].float().add(1.0)).sum().item()


# ---------------------------------------------------------------------------------------------------------------
# main.py
# ---------------------------------------------------------------------------------------------------------------

def test(model: torch.nn.Module, data_generator: torch_data.DataLoader, entities_count: int,
         device: torch.device) -> tuple[float, float, float, float]:  # upstream: also a summary_writer, epoch_id, suffix
    examples_count = 0.0
    hits_at_1 = 0.0
    hits_at_3 = 0.0
    hits_at_10 = 0.0
    mrr_sum = 0.0

    entity_ids = torch.arange(end=entities_count, device=device).unsqueeze(0)
    for head, relation, tail in data_generator:
        current_batch_size = head.size()[0]

        head, relation, tail = head.to(device), relation.to(device), tail.to(device)
        all_entities = entity_ids.repeat(current_batch_size, 1)
        heads = head.reshape(-1, 1).repeat(1, all_entities.size()[1])
        relations = relation.reshape(-1, 1).repeat(1, all_entities.size()[1])
        tails = tail.reshape(-1, 1).repeat(1, all_entities.size()[1])

        # Check all possible tails
        triplets = torch.stack((heads, relations, all_entities), dim=2).reshape(-1, 3)
        tails_predictions = model.predict(triplets).reshape(current_batch_size, -1)
        # Check all possible heads
        triplets = torch.stack((all_entities, relations, tails), dim=2).reshape(-1, 3)
        heads_predictions = model.predict(triplets).reshape(current_batch_size, -1)

        # Concat predictions
        predictions = torch.cat((tails_predictions, heads_predictions), dim=0)
        ground_truth_entity_id = torch.cat((tail.reshape(-1, 1), head.reshape(-1, 1)))

        hits_at_1 += hit_at_k(predictions, ground_truth_entity_id, device=device, k=1)
        hits_at_3 += hit_at_k(predictions, ground_truth_entity_id, device=device, k=3)
        hits_at_10 += hit_at_k(predictions, ground_truth_entity_id, device=device, k=10)
        mrr_sum += mrr(predictions, ground_truth_entity_id)

        examples_count += predictions.size()[0]

    hits_at_1_score = hits_at_1 / examples_count * 100
    hits_at_3_score = hits_at_3 / examples_count * 100
    hits_at_10_score = hits_at_10 / examples_count * 100
    mrr_score = mrr_sum / examples_count * 100
    return hits_at_1_score, hits_at_3_score, hits_at_10_score, mrr_score


def _safe_test(model, generator, entities_count, device):
    """upstream's test(); a NaN embedding gives NaN scores (topk/argsort of NaN distances rank arbitrarily)."""
    with torch.no_grad():
        if not all(torch.isfinite(p).all() for p in model.parameters()):
            return (float("nan"),) * 4
        return test(model, generator, entities_count, device)


def train(seed: int = 1, lr_mult: float = 1.0, batch_size: int = BATCH_SIZE, norm: int = NORM, margin: float = MARGIN,
          normalize_entities: bool = True, init_std: float | None = None, zero_grad: bool = True,
          epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    torch.random.manual_seed(1233 + seed)  # upstream: FLAGS.seed 1234
    device = torch.device('cpu')  # upstream: cuda unless --nouse_gpu

    train_triples, valid_triples, test_triples = make_kg()  # upstream: FB15k's train.txt, valid.txt, test.txt
    entity2id, relation2id = create_mappings(train_triples)  # upstream: data.create_mappings(train_path)

    vector_length = VECTOR_LENGTH
    learning_rate = LR * lr_mult

    train_set = FB15KDataset(train_triples, entity2id, relation2id)
    train_generator = torch_data.DataLoader(train_set, batch_size=batch_size)
    validation_set = FB15KDataset(valid_triples, entity2id, relation2id)
    validation_generator = torch_data.DataLoader(validation_set, batch_size=VALIDATION_BATCH_SIZE)
    test_set = FB15KDataset(test_triples, entity2id, relation2id)
    test_generator = torch_data.DataLoader(test_set, batch_size=VALIDATION_BATCH_SIZE)

    model = TransE(entity_count=len(entity2id), relation_count=len(relation2id), dim=vector_length,
                   margin=margin, device=device, norm=norm, normalize_entities=normalize_entities)
    model = model.to(device)
    if init_std is not None:  # the bug: both embeddings redrawn N(0, init_std) after the model is built
        nn.init.normal_(model.entities_emb.weight, mean=0.0, std=init_std)
        nn.init.normal_(model.relations_emb.weight, mean=0.0, std=init_std)
    optimizer = optim.SGD(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    # the untrained model's scores (upstream has none; the reference value of the metric)
    _, _, hits10_0, mrr_0 = _safe_test(model, test_generator, len(entity2id), device)

    step = 0
    losses, impacting = [], []
    for epoch_id in range(1, epochs + 1):
        loss_impacting_samples_count = 0
        samples_count = 0
        model.train()

        for local_heads, local_relations, local_tails in train_generator:
            local_heads, local_relations, local_tails = (local_heads.to(device), local_relations.to(device),
                                                         local_tails.to(device))

            positive_triples = torch.stack((local_heads, local_relations, local_tails), dim=1)

            # Preparing negatives.
            # Generate binary tensor to replace either head or tail. 1 means replace head, 0 means replace tail.
            head_or_tail = torch.randint(high=2, size=local_heads.size(), device=device)
            random_entities = torch.randint(high=len(entity2id), size=local_heads.size(), device=device)
            broken_heads = torch.where(head_or_tail == 1, random_entities, local_heads)
            broken_tails = torch.where(head_or_tail == 0, random_entities, local_tails)
            negative_triples = torch.stack((broken_heads, local_relations, broken_tails), dim=1)

            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()

            loss, pd, nd = model(positive_triples, negative_triples)
            loss.mean().backward()
            monitor.step(loss.mean())  # gradmedic

            # upstream: summary_writer.add_scalar of the loss and the summed distances
            losses.append(float(loss.mean().detach()))

            loss = loss.data.cpu()
            loss_impacting_samples_count += loss.nonzero().size()[0]
            samples_count += loss.size()[0]

            optimizer.step()
            step += 1

        impacting.append(loss_impacting_samples_count / samples_count * 100)
        if verbose and (epoch_id % 10 == 0 or epoch_id == 1):  # upstream: validation every 10 epochs, to tensorboard
            model.eval()
            _, _, h10, m = _safe_test(model, validation_generator, len(entity2id), device)
            print(f"epoch {epoch_id} step {step} loss {np.mean(losses[-20:]):.4f} impacting {impacting[-1]:.1f}% "
                  f"val hits@10 {h10:.1f} mrr {m:.1f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()

    # upstream: loads the best-validation checkpoint; here the final model is tested (no checkpoints)
    model.eval()
    val_scores = _safe_test(model, validation_generator, len(entity2id), device)
    h1, h3, h10, mrr_score = _safe_test(model, test_generator, len(entity2id), device)
    la = np.array(losses)
    with torch.no_grad():
        ent = model.entities_emb.weight[:-1]
        rel = model.relations_emb.weight[:-1]
        ent_norm = float(ent.norm(dim=1).mean())
        rel_norm = float(rel.norm(dim=1).mean())
    return {"monitors": {"": monitor}, "metric": "test_hits10_error", "value": 1.0 - h10 / 100.0,
            "initial": 1.0 - hits10_0 / 100.0,
            "initial_what": "untrained: 1 - test hits@10 of the initialized embeddings",
            "chance": 1.0 - 10.0 / len(entity2id),
            "extra": {"test_hits1": h1 / 100, "test_hits3": h3 / 100, "test_hits10": h10 / 100, "test_mrr": mrr_score / 100,
                      "untrained_mrr": mrr_0 / 100, "val_hits10": val_scores[2] / 100, "val_mrr": val_scores[3] / 100,
                      "train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "loss_impacting_pct_last_epoch": impacting[-1],
                      "entity_norm": ent_norm, "relation_norm": rel_norm, "steps": step, "epochs": epochs,
                      "lr": learning_rate, "lr_mult": lr_mult, "batch_size": batch_size, "norm": norm, "margin": margin,
                      "normalize_entities": normalize_entities, "init_std": -1.0 if init_std is None else init_std,
                      "zero_grad": zero_grad, "entities": len(entity2id), "relations": len(relation2id),
                      "train_triples": len(train_triples), "test_triples": len(test_triples)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="transe", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"TransE (dim {VECTOR_LENGTH}, L1, uniform init, entities L2-normalized each step), MarginRankingLoss margin "
      f"{MARGIN:g}, SGD lr {LR:g}, batch {BATCH_SIZE}, {EPOCHS} epochs")
CASES: list[dict] = (
    [_case(f"transe_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"transe_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("transe_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"transe_init_std10_s{s}", "init_large", s, {"init_std": 10.0},
             f"{_P}: both embeddings redrawn with nn.init.normal_(std=10) after the model is built (the relations' "
             f"L1 normalization at init is lost; the entities are still L2-normalized at each forward)") for s in (1, 2)]
    + [_case(f"transe_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("transe_no_entity_norm_s1", "no_norm", 1, {"normalize_entities": False},
             f"{_P}: the entity L2 normalization at the top of forward() left out")]
    + [_case("transe_margin0_s1", "wrong_loss", 1, {"margin": 0.0},
             f"{_P}: MarginRankingLoss(margin=0.0) instead of 1.0")]
    + [_case("transe_batch64_s1", "healthy", 1, {"batch_size": 64}, f"{_P}: batch size 64 instead of 128 "
             "(expected harmless)")]
    + [_case("transe_l2_s1", "healthy", 1, {"norm": 2}, f"{_P}: L2 distance (--norm=2) instead of L1 "
             "(expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
