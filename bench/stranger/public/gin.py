"""The Graph Isomorphism Network (GIN) for graph classification from powerful-gnns, watched by gradmedic.

Adapted from https://github.com/weihua916/powerful-gnns (commit 9a2ce8ac3e99278307093a464a95caf0fb04b602; MIT
License, Copyright (c) 2021 Weihua Hu, see LICENSE-gin): models/mlp.py's ``MLP`` and models/graphcnn.py's
``GraphCNN`` copied whole (every pooling branch kept), util.py's ``S2VGraph``, the processing half of ``load_data``
(neighbour lists, ``max_neighbor``, ``edge_mat``, ``degree_as_tag``, the one-hot tag features) and ``separate_data``
(StratifiedKFold(10), fold 0), and main.py's ``train`` (here ``train_epoch``), ``pass_data_iteratively`` and ``test``.
Kept as upstream: main.py's argparse defaults (5 layers including the input, 2-layer MLPs with BatchNorm, hidden 64,
final dropout 0.5, sum graph pooling, sum neighbour pooling, batch 32 drawn by ``np.random.permutation``), run with
``--learn_eps --degree_as_tag`` (GIN-eps on unlabeled graphs, upstream's advice for COLLAB/IMDB), PyTorch's default
inits, ``nn.CrossEntropyLoss()``, ``optim.Adam(model.parameters(), lr=0.01)``, ``StepLR(step_size=50, gamma=0.5)``
stepped at the start of each epoch (upstream's order; PyTorch's warning about it and torch.sparse.FloatTensor's
deprecation warning are silenced), ``optimizer.zero_grad()`` / ``loss.backward()`` / ``optimizer.step()``, no clipping.

Changed to run offline on one CPU thread in ~15-25 s: the TU benchmark files (dataset.zip; MUTAG by default) are
replaced by N_GRAPHS = 1000 generated unlabeled graphs (``generate_graph``, networkx 3.6 from the venv, data seed 0,
the same set for every run), 10-30 nodes, mean degree about 4, in 3 classes of random-graph family: Erdos-Renyi
G(n, d/(n-1)) with d ~ U(3, 5), Barabasi-Albert m = 2, Watts-Strogatz k = 4 with rewiring p ~ U(0, 0.5); node
features the one-hot degree (``degree_as_tag``, 20-odd tags), built by upstream's own code through ``S2VGraph``.
(A first set with fixed ER/BA/WS(p=0.1) parameters was too easy: 0.97 test accuracy after one epoch and 1.0 with
lr x1000; a harder one with m in {2, 3}, k in {4, 6} left the healthy run of seed 1 at 0.83.)  Size: iters_per_epoch
10 and 60 epochs (upstream 50 and 350): 600 steps, the StepLR halving the rate once, at epoch 50.  The seed replaces
upstream's ``torch.manual_seed(0)`` / ``np.random.seed(0)`` and is also ``--seed`` (the split's seed); the device is
the CPU; no tqdm, no prints but with ``verbose``; ``test`` runs after the last epoch only (upstream: every epoch; it
does not touch training).  Metric: the test accuracy of the last epoch on fold 0's 100 graphs (chance 1/3).  Knobs
(one per variant): ``lr_mult``; ``norm=False`` puts ``nn.Identity()`` in place of every BatchNorm1d (the MLPs' and
GraphCNN's ``batch_norms``); ``init_std`` draws every Linear weight from N(0, init_std); ``feature_scale`` multiplies the
one-hot node features; ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``hidden_dim``; ``batch_size``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the
loop.

``CASES`` (program "gin"): the program on seeds 1-3, and one change each against seed 1's healthy run: Adam lr x10,
x100, x1000, /1000; BatchNorm removed (no_norm); N(0, 1) Linear weights; node features x100; ``optimizer.zero_grad()``
left out; and two changes expected harmless: hidden_dim 32 and batch_size 64 (cause "healthy").  Only seed 1 for the
breakages (the brief's 25-minute limit; two recording processes shared the loaded 2-core machine).
Recorded (cases-public136; 6-25 s a run): healthy test accuracy 0.94, 0.95, 0.97 on seeds 1-3 (first-5-step loss
8.2, 6.2, 6.9 -> 0.13-0.14 over the last 20 steps, largest loss 11.7-14.8, training accuracy 0.98): healthy;
lr x10: 0.92 (largest loss 190, train loss 0.23): ambiguous (loss blew up past 2x the control's largest); lr x100:
0.91 (first-5 mean 890, largest 9488, train loss 67): ambiguous; lr x1000: 0.94 (first-5 mean 8.3e4, largest 2.5e5,
train loss 628, training accuracy 0.95): ambiguous; lr /1000: 0.80 (train loss 2.7, training accuracy 0.82): broken;
no BatchNorm: 0.93 (largest loss 30.7, train loss 0.13): ambiguous; init std 1: 0.95 (first-5 mean 125, largest
268, train loss 1.8): ambiguous; features x100: 0.94 (first-5 mean 42, largest 75, train loss 1.0): ambiguous;
zero_grad left out: 0.91 (the loss rises to 15 over the last 20 steps, largest 220): ambiguous; hidden 32: 0.92:
healthy; batch 64: 0.95: healthy.  Labels: 5 healthy (3 programs, hidden 32, batch 64), 1 broken, 7 ambiguous;
every loss finite.  The test accuracy is robust here: with BatchNorm after every layer and the argmax of summed
per-layer heads, runs whose training loss is in the hundreds still classify 91-95% of the test graphs, so most
breakages blow the loss up without costing the 10 accuracy points that "broken" needs.
"""

from __future__ import annotations

import time
import warnings

import networkx as nx
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from sklearn.model_selection import StratifiedKFold

import gradmedic

ARCH = "gnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optim.Adam(model.parameters(), lr=0.01) (before the "
              "StepLR is built); monitor.step(loss) right after loss.backward() in train(), before optimizer.step() "
              "(optimizer.zero_grad() comes before the backward, upstream's order; no clipping)")

N_GRAPHS = 1000     # upstream: a TU benchmark file (MUTAG by default, 188 graphs) read from dataset/
ITERS_PER_EPOCH = 10  # upstream: --iters_per_epoch 50
EPOCHS = 60         # upstream: --epochs 350
DATA_SEED = 0       # the generated data set is the same for every run; the run's seed picks the split


# ---------------------------------------------------------------------------------------------------------------
# models/mlp.py (copied)
# ---------------------------------------------------------------------------------------------------------------

###MLP with lienar output
class MLP(nn.Module):
    def __init__(self, num_layers, input_dim, hidden_dim, output_dim, norm=True):
        '''
            num_layers: number of layers in the neural networks (EXCLUDING the input layer). If num_layers=1, this
                reduces to linear model.
            input_dim: dimensionality of input features
            hidden_dim: dimensionality of hidden units at ALL layers
            output_dim: number of classes for prediction
            device: which device to use
        '''

        super(MLP, self).__init__()  # noqa: UP008 (as upstream)

        self.linear_or_not = True #default is linear model
        self.num_layers = num_layers

        if num_layers < 1:
            raise ValueError("number of layers should be positive!")
        elif num_layers == 1:
            #Linear model
            self.linear = nn.Linear(input_dim, output_dim)
        else:
            #Multi-layer model
            self.linear_or_not = False
            self.linears = torch.nn.ModuleList()
            self.batch_norms = torch.nn.ModuleList()

            self.linears.append(nn.Linear(input_dim, hidden_dim))
            for layer in range(num_layers - 2):  # noqa: B007 (as upstream)
                self.linears.append(nn.Linear(hidden_dim, hidden_dim))
            self.linears.append(nn.Linear(hidden_dim, output_dim))

            for layer in range(num_layers - 1):  # noqa: B007 (as upstream)
                # upstream: nn.BatchNorm1d((hidden_dim)) always; the no_norm variant puts nn.Identity() in its place
                self.batch_norms.append(nn.BatchNorm1d((hidden_dim)) if norm else nn.Identity())  # noqa: UP034 (as upstream)

    def forward(self, x):
        if self.linear_or_not:
            #If linear model
            return self.linear(x)
        else:
            #If MLP
            h = x
            for layer in range(self.num_layers - 1):
                h = F.relu(self.batch_norms[layer](self.linears[layer](h)))
            return self.linears[self.num_layers - 1](h)


# ---------------------------------------------------------------------------------------------------------------
# models/graphcnn.py (copied)
# ---------------------------------------------------------------------------------------------------------------

class GraphCNN(nn.Module):
    def __init__(self, num_layers, num_mlp_layers, input_dim, hidden_dim, output_dim, final_dropout, learn_eps, graph_pooling_type, neighbor_pooling_type, device, norm=True):  # noqa: E501 (as upstream)
        '''
            num_layers: number of layers in the neural networks (INCLUDING the input layer)
            num_mlp_layers: number of layers in mlps (EXCLUDING the input layer)
            input_dim: dimensionality of input features
            hidden_dim: dimensionality of hidden units at ALL layers
            output_dim: number of classes for prediction
            final_dropout: dropout ratio on the final linear layer
            learn_eps: If True, learn epsilon to distinguish center nodes from neighboring nodes. If False, aggregate
                neighbors and center nodes altogether.
            neighbor_pooling_type: how to aggregate neighbors (mean, average, or max)
            graph_pooling_type: how to aggregate entire nodes in a graph (mean, average)
            device: which device to use
        '''

        super(GraphCNN, self).__init__()  # noqa: UP008 (as upstream)

        self.final_dropout = final_dropout
        self.device = device
        self.num_layers = num_layers
        self.graph_pooling_type = graph_pooling_type
        self.neighbor_pooling_type = neighbor_pooling_type
        self.learn_eps = learn_eps
        self.eps = nn.Parameter(torch.zeros(self.num_layers-1))

        ###List of MLPs
        self.mlps = torch.nn.ModuleList()

        ###List of batchnorms applied to the output of MLP (input of the final prediction linear layer)
        self.batch_norms = torch.nn.ModuleList()

        for layer in range(self.num_layers-1):
            if layer == 0:
                self.mlps.append(MLP(num_mlp_layers, input_dim, hidden_dim, hidden_dim, norm=norm))
            else:
                self.mlps.append(MLP(num_mlp_layers, hidden_dim, hidden_dim, hidden_dim, norm=norm))

            # upstream: nn.BatchNorm1d(hidden_dim) always; the no_norm variant puts nn.Identity() in its place
            self.batch_norms.append(nn.BatchNorm1d(hidden_dim) if norm else nn.Identity())

        #Linear function that maps the hidden representation at dofferemt layers into a prediction score
        self.linears_prediction = torch.nn.ModuleList()
        for layer in range(num_layers):
            if layer == 0:
                self.linears_prediction.append(nn.Linear(input_dim, output_dim))
            else:
                self.linears_prediction.append(nn.Linear(hidden_dim, output_dim))


    def __preprocess_neighbors_maxpool(self, batch_graph):
        ###create padded_neighbor_list in concatenated graph

        #compute the maximum number of neighbors within the graphs in the current minibatch
        max_deg = max([graph.max_neighbor for graph in batch_graph])

        padded_neighbor_list = []
        start_idx = [0]


        for i, graph in enumerate(batch_graph):
            start_idx.append(start_idx[i] + len(graph.g))
            padded_neighbors = []
            for j in range(len(graph.neighbors)):
                #add off-set values to the neighbor indices
                pad = [n + start_idx[i] for n in graph.neighbors[j]]
                #padding, dummy data is assumed to be stored in -1
                pad.extend([-1]*(max_deg - len(pad)))

                #Add center nodes in the maxpooling if learn_eps is False, i.e., aggregate center nodes and neighbor nodes altogether.  # noqa: E501 (as upstream)
                if not self.learn_eps:
                    pad.append(j + start_idx[i])

                padded_neighbors.append(pad)
            padded_neighbor_list.extend(padded_neighbors)

        return torch.LongTensor(padded_neighbor_list)


    def __preprocess_neighbors_sumavepool(self, batch_graph):
        ###create block diagonal sparse matrix

        edge_mat_list = []
        start_idx = [0]
        for i, graph in enumerate(batch_graph):
            start_idx.append(start_idx[i] + len(graph.g))
            edge_mat_list.append(graph.edge_mat + start_idx[i])
        Adj_block_idx = torch.cat(edge_mat_list, 1)
        Adj_block_elem = torch.ones(Adj_block_idx.shape[1])

        #Add self-loops in the adjacency matrix if learn_eps is False, i.e., aggregate center nodes and neighbor nodes altogether.

        if not self.learn_eps:
            num_node = start_idx[-1]
            self_loop_edge = torch.LongTensor([range(num_node), range(num_node)])
            elem = torch.ones(num_node)
            Adj_block_idx = torch.cat([Adj_block_idx, self_loop_edge], 1)
            Adj_block_elem = torch.cat([Adj_block_elem, elem], 0)

        Adj_block = torch.sparse.FloatTensor(Adj_block_idx, Adj_block_elem, torch.Size([start_idx[-1],start_idx[-1]]))

        return Adj_block.to(self.device)


    def __preprocess_graphpool(self, batch_graph):
        ###create sum or average pooling sparse matrix over entire nodes in each graph (num graphs x num nodes)

        start_idx = [0]

        #compute the padded neighbor list
        for i, graph in enumerate(batch_graph):
            start_idx.append(start_idx[i] + len(graph.g))

        idx = []
        elem = []
        for i, graph in enumerate(batch_graph):
            ###average pooling
            if self.graph_pooling_type == "average":
                elem.extend([1./len(graph.g)]*len(graph.g))

            else:
            ###sum pooling
                elem.extend([1]*len(graph.g))

            idx.extend([[i, j] for j in range(start_idx[i], start_idx[i+1], 1)])
        elem = torch.FloatTensor(elem)
        idx = torch.LongTensor(idx).transpose(0,1)
        graph_pool = torch.sparse.FloatTensor(idx, elem, torch.Size([len(batch_graph), start_idx[-1]]))

        return graph_pool.to(self.device)

    def maxpool(self, h, padded_neighbor_list):
        ###Element-wise minimum will never affect max-pooling

        dummy = torch.min(h, dim = 0)[0]
        h_with_dummy = torch.cat([h, dummy.reshape((1, -1)).to(self.device)])
        pooled_rep = torch.max(h_with_dummy[padded_neighbor_list], dim = 1)[0]
        return pooled_rep


    def next_layer_eps(self, h, layer, padded_neighbor_list = None, Adj_block = None):
        ###pooling neighboring nodes and center nodes separately by epsilon reweighting.

        if self.neighbor_pooling_type == "max":
            ##If max pooling
            pooled = self.maxpool(h, padded_neighbor_list)
        else:
            #If sum or average pooling
            pooled = torch.spmm(Adj_block, h)
            if self.neighbor_pooling_type == "average":
                #If average pooling
                degree = torch.spmm(Adj_block, torch.ones((Adj_block.shape[0], 1)).to(self.device))
                pooled = pooled/degree

        #Reweights the center node representation when aggregating it with its neighbors
        pooled = pooled + (1 + self.eps[layer])*h
        pooled_rep = self.mlps[layer](pooled)
        h = self.batch_norms[layer](pooled_rep)

        #non-linearity
        h = F.relu(h)
        return h


    def next_layer(self, h, layer, padded_neighbor_list = None, Adj_block = None):
        ###pooling neighboring nodes and center nodes altogether

        if self.neighbor_pooling_type == "max":
            ##If max pooling
            pooled = self.maxpool(h, padded_neighbor_list)
        else:
            #If sum or average pooling
            pooled = torch.spmm(Adj_block, h)
            if self.neighbor_pooling_type == "average":
                #If average pooling
                degree = torch.spmm(Adj_block, torch.ones((Adj_block.shape[0], 1)).to(self.device))
                pooled = pooled/degree

        #representation of neighboring and center nodes
        pooled_rep = self.mlps[layer](pooled)

        h = self.batch_norms[layer](pooled_rep)

        #non-linearity
        h = F.relu(h)
        return h


    def forward(self, batch_graph):
        X_concat = torch.cat([graph.node_features for graph in batch_graph], 0).to(self.device)
        graph_pool = self.__preprocess_graphpool(batch_graph)

        if self.neighbor_pooling_type == "max":
            padded_neighbor_list = self.__preprocess_neighbors_maxpool(batch_graph)
        else:
            Adj_block = self.__preprocess_neighbors_sumavepool(batch_graph)

        #list of hidden representation at each layer (including input)
        hidden_rep = [X_concat]
        h = X_concat

        for layer in range(self.num_layers-1):
            if self.neighbor_pooling_type == "max" and self.learn_eps:
                h = self.next_layer_eps(h, layer, padded_neighbor_list = padded_neighbor_list)
            elif not self.neighbor_pooling_type == "max" and self.learn_eps:
                h = self.next_layer_eps(h, layer, Adj_block = Adj_block)
            elif self.neighbor_pooling_type == "max" and not self.learn_eps:
                h = self.next_layer(h, layer, padded_neighbor_list = padded_neighbor_list)
            elif not self.neighbor_pooling_type == "max" and not self.learn_eps:
                h = self.next_layer(h, layer, Adj_block = Adj_block)

            hidden_rep.append(h)

        score_over_layer = 0

        #perform pooling over all nodes in each graph in every layer
        for layer, h in enumerate(hidden_rep):
            pooled_h = torch.spmm(graph_pool, h)
            score_over_layer += F.dropout(self.linears_prediction[layer](pooled_h), self.final_dropout, training = self.training)

        return score_over_layer


# ---------------------------------------------------------------------------------------------------------------
# util.py: S2VGraph, load_data's processing (copied), separate_data (copied); the graphs are generated here
# ---------------------------------------------------------------------------------------------------------------

class S2VGraph(object):  # noqa: UP004 (as upstream)
    def __init__(self, g, label, node_tags=None, node_features=None):
        '''
            g: a networkx graph
            label: an integer graph label
            node_tags: a list of integer node tags
            node_features: a torch float tensor, one-hot representation of the tag that is used as input to neural nets
            edge_mat: a torch long tensor, contain edge list, will be used to create torch sparse tensor
            neighbors: list of neighbors (without self-loop)
        '''
        self.label = label
        self.g = g
        self.node_tags = node_tags
        self.neighbors = []
        self.node_features = 0
        self.edge_mat = 0

        self.max_neighbor = 0


def generate_graph(rng, label):
    """One unlabeled graph of 10-30 nodes, mean degree about 4, of the class's random-graph family:
    0 Erdos-Renyi G(n, d/(n-1)), d ~ U(3, 5); 1 Barabasi-Albert, m = 2; 2 Watts-Strogatz small world, k = 4,
    rewiring p ~ U(0, 0.5)."""
    n = int(rng.integers(10, 31))
    s = int(rng.integers(2**31))
    if label == 0:
        return nx.gnp_random_graph(n, rng.uniform(3, 5) / (n - 1), seed=s)
    if label == 1:
        return nx.barabasi_albert_graph(n, 2, seed=s)
    return nx.watts_strogatz_graph(n, 4, rng.uniform(0, 0.5), seed=s)


def load_data(n_graphs=N_GRAPHS, degree_as_tag=True, data_seed=DATA_SEED):
    '''
        upstream: load_data(dataset, degree_as_tag) reads dataset/<name>/<name>.txt; here the graphs are generated
        (n_graphs / 3 of each class, nodes without tags) and then processed as upstream does
    '''
    rng = np.random.default_rng(data_seed)
    g_list = []
    label_dict = {}
    for i in range(n_graphs):  # upstream: one graph per block of the file
        l = i % 3  # noqa: E741 (as upstream)
        if l not in label_dict:
            mapped = len(label_dict)
            label_dict[l] = mapped
        g = generate_graph(rng, l)
        node_tags = [0] * len(g)  # upstream: the file's node tags; these graphs have none (degree_as_tag replaces them)
        g_list.append(S2VGraph(g, l, node_tags))

    #add labels and edge_mat
    for g in g_list:
        g.neighbors = [[] for i in range(len(g.g))]
        for i, j in g.g.edges():
            g.neighbors[i].append(j)
            g.neighbors[j].append(i)
        degree_list = []
        for i in range(len(g.g)):
            g.neighbors[i] = g.neighbors[i]
            degree_list.append(len(g.neighbors[i]))
        g.max_neighbor = max(degree_list)

        g.label = label_dict[g.label]

        edges = [list(pair) for pair in g.g.edges()]
        edges.extend([[i, j] for j, i in edges])

        g.edge_mat = torch.LongTensor(edges).transpose(0,1)

    if degree_as_tag:
        for g in g_list:
            g.node_tags = list(dict(g.g.degree).values())

    #Extracting unique tag labels
    tagset = set([])  # noqa: C405 (as upstream)
    for g in g_list:
        tagset = tagset.union(set(g.node_tags))

    tagset = list(tagset)
    tag2index = {tagset[i]:i for i in range(len(tagset))}

    for g in g_list:
        g.node_features = torch.zeros(len(g.node_tags), len(tagset))
        g.node_features[range(len(g.node_tags)), [tag2index[tag] for tag in g.node_tags]] = 1

    return g_list, len(label_dict)


def separate_data(graph_list, seed, fold_idx):
    assert 0 <= fold_idx and fold_idx < 10, "fold_idx must be from 0 to 9."
    skf = StratifiedKFold(n_splits=10, shuffle = True, random_state = seed)

    labels = [graph.label for graph in graph_list]
    idx_list = []
    for idx in skf.split(np.zeros(len(labels)), labels):
        idx_list.append(idx)
    train_idx, test_idx = idx_list[fold_idx]

    train_graph_list = [graph_list[i] for i in train_idx]
    test_graph_list = [graph_list[i] for i in test_idx]

    return train_graph_list, test_graph_list


# ---------------------------------------------------------------------------------------------------------------
# main.py (its train, pass_data_iteratively and test copied; main's set-up as train() below)
# ---------------------------------------------------------------------------------------------------------------

criterion = nn.CrossEntropyLoss()


def train_epoch(args, model, device, train_graphs, optimizer, epoch, monitor, zero_grad=True, losses=None):
    # upstream: train(args, model, device, train_graphs, optimizer, epoch); renamed, with the monitor passed in
    model.train()

    total_iters = args["iters_per_epoch"]
    pbar = range(total_iters)  # upstream: tqdm(range(total_iters), unit='batch')

    loss_accum = 0
    for _pos in pbar:
        selected_idx = np.random.permutation(len(train_graphs))[:args["batch_size"]]

        batch_graph = [train_graphs[idx] for idx in selected_idx]
        output = model(batch_graph)

        labels = torch.LongTensor([graph.label for graph in batch_graph]).to(device)

        #compute loss
        loss = criterion(output, labels)

        #backprop
        if optimizer is not None:
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()

        loss = loss.detach().cpu().numpy()
        loss_accum += loss
        if losses is not None:
            losses.append(float(loss))

        #report
        # upstream: pbar.set_description('epoch: %d' % (epoch))

    average_loss = loss_accum/total_iters
    # upstream: print("loss training: %f" % (average_loss))

    return average_loss


###pass data to model with minibatch during testing to avoid memory overflow (does not perform backpropagation)
def pass_data_iteratively(model, graphs, minibatch_size = 64):
    model.eval()
    output = []
    idx = np.arange(len(graphs))
    for i in range(0, len(graphs), minibatch_size):
        sampled_idx = idx[i:i+minibatch_size]
        if len(sampled_idx) == 0:
            continue
        output.append(model([graphs[j] for j in sampled_idx]).detach())
    return torch.cat(output, 0)


def test(args, model, device, train_graphs, test_graphs, epoch):
    model.eval()

    output = pass_data_iteratively(model, train_graphs)
    pred = output.max(1, keepdim=True)[1]
    labels = torch.LongTensor([graph.label for graph in train_graphs]).to(device)
    correct = pred.eq(labels.view_as(pred)).sum().cpu().item()
    acc_train = correct / float(len(train_graphs))

    output = pass_data_iteratively(model, test_graphs)
    pred = output.max(1, keepdim=True)[1]
    labels = torch.LongTensor([graph.label for graph in test_graphs]).to(device)
    correct = pred.eq(labels.view_as(pred)).sum().cpu().item()
    acc_test = correct / float(len(test_graphs))

    # upstream: print("accuracy train: %f test: %f" % (acc_train, acc_test))

    return acc_train, acc_test


def train(seed: int = 1, lr_mult: float = 1.0, norm: bool = True, init_std: float | None = None,
          feature_scale: float = 1.0, zero_grad: bool = True, hidden_dim: int = 64, batch_size: int = 32,
          epochs: int = EPOCHS, iters_per_epoch: int = ITERS_PER_EPOCH, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    # upstream's argparse defaults, with --learn_eps and --degree_as_tag given (GIN-eps on unlabeled graphs)
    args = dict(batch_size=batch_size, iters_per_epoch=iters_per_epoch, epochs=epochs, lr=0.01 * lr_mult, seed=seed, fold_idx=0,
                num_layers=5, num_mlp_layers=2, hidden_dim=hidden_dim, final_dropout=0.5, graph_pooling_type="sum",
                neighbor_pooling_type="sum", learn_eps=True, degree_as_tag=True)

    #set up seeds and gpu device
    torch.manual_seed(seed)  # upstream: torch.manual_seed(0)
    np.random.seed(seed)  # upstream: np.random.seed(0)
    device = torch.device("cpu")  # upstream: cuda:<device> when available

    graphs, num_classes = load_data(degree_as_tag=args["degree_as_tag"])
    if feature_scale != 1.0:  # the unscaled_inputs variant: the one-hot node features times 100
        for g in graphs:
            g.node_features = g.node_features * feature_scale

    ##10-fold cross validation. Conduct an experiment on the fold specified by args.fold_idx.
    train_graphs, test_graphs = separate_data(graphs, args["seed"], args["fold_idx"])

    model = GraphCNN(args["num_layers"], args["num_mlp_layers"], train_graphs[0].node_features.shape[1],
                     args["hidden_dim"], num_classes, args["final_dropout"], args["learn_eps"],
                     args["graph_pooling_type"], args["neighbor_pooling_type"], device, norm=norm).to(device)
    if init_std is not None:  # the init_large variant: N(0, init_std) for every Linear weight (biases kept)
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)

    optimizer = optim.Adam(model.parameters(), lr=args["lr"])
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=50, gamma=0.5)

    losses, acc_train, acc_test, avg_loss = [], float("nan"), float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*lr_scheduler.step.*")  # upstream steps the scheduler first
        warnings.filterwarnings("ignore", message=".*SparseTensor.*is deprecated.*")  # torch.sparse.FloatTensor
        for epoch in range(1, args["epochs"] + 1):
            scheduler.step()

            avg_loss = train_epoch(args, model, device, train_graphs, optimizer, epoch, monitor, zero_grad, losses)
            if (verbose and epoch % 10 == 0) or epoch == args["epochs"]:  # upstream: every epoch
                acc_train, acc_test = test(args, model, device, train_graphs, test_graphs, epoch)
            if verbose and epoch % 10 == 0:
                print(f"epoch {epoch} loss training: {float(avg_loss):f} accuracy train: {acc_train:f} test: "
                      f"{acc_test:f} ({time.time() - t0:.1f}s)", flush=True)
            # upstream: writes args.filename, prints model.eps
    monitor.close()

    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc_test), "chance": 1.0 / num_classes,
            "initial": None, "initial_what": f"chance accuracy 1/{num_classes}",
            "extra": dict(lr=args["lr"], train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=args["epochs"],
                          last_epoch_loss=float(avg_loss), train_acc=float(acc_train), lr_mult=lr_mult, norm=norm,
                          init_std=-1.0 if init_std is None else init_std, feature_scale=feature_scale,
                          zero_grad=zero_grad, hidden_dim=hidden_dim, batch_size=batch_size,
                          eps=[float(e) for e in model.eps.detach()], train_graphs=len(train_graphs),
                          test_graphs=len(test_graphs), input_dim=int(train_graphs[0].node_features.shape[1])),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="gin", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"GIN (GraphCNN: 5 layers, 2-layer MLPs, hidden 64, BatchNorm, sum neighbour and graph pooling, learn_eps, "
      f"per-layer prediction heads with dropout 0.5; Adam lr 0.01, StepLR(50, 0.5), batch 32, "
      f"{ITERS_PER_EPOCH} iterations an epoch, {EPOCHS} epochs; {N_GRAPHS} generated graphs, fold 0 of 10)")
CASES: list[dict] = (
    [_case(f"gin_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"gin_lr_x{k}_s1", "lr_high", 1, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({0.01 * k:g})")
       for k in (10, 100, 1000)]
    + [_case("gin_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-05)")]
    + [_case("gin_no_norm_s1", "no_norm", 1, {"norm": False},
             f"{_P}: every BatchNorm1d (the MLPs' and the GraphCNN's) replaced by nn.Identity()")]
    + [_case("gin_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default "
             f"U(+-1/sqrt(fan_in)) (biases kept)")]
    + [_case("gin_features_x100_s1", "unscaled_inputs", 1, {"feature_scale": 100.0},
             f"{_P}: the one-hot node degree features multiplied by 100")]
    + [_case("gin_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("gin_hidden32_s1", "healthy", 1, {"hidden_dim": 32},
             f"{_P}: hidden_dim 32 instead of 64 (expected harmless)")]
    + [_case("gin_batch64_s1", "healthy", 1, {"batch_size": 64},
             f"{_P}: batch_size 64 instead of 32 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
