"""DeepAR (zhykoties/TimeSeries): a probabilistic forecaster (a stacked LSTM with a Gaussian likelihood head),
watched by gradmedic.

Adapted from https://github.com/zhykoties/TimeSeries (commit b12b13c8250a096e38882d258213abd6c2d78c43, the newest;
model/net.py, train.py, evaluate.py, utils.py's metrics, dataloader.py, preprocess_elect.py and
experiments/base_model/params.json; Apache License 2.0, see LICENSE-deepar).  Copied: ``Net`` (a series-id
``nn.Embedding(num_class, 20)``, the previous value and 4 covariates concatenated with it into ``nn.LSTM(25, 40,
num_layers=3, dropout=0.1)``, the forget-gate quarter of every LSTM bias set to 1, ``distribution_mu`` and
``distribution_presigma`` Linears over the hidden states of all three layers, ``Softplus`` for sigma; ``test``'s
non-sampling rollout that feeds the predicted mean back), ``loss_fn`` (the Gaussian negative log-likelihood over the
non-zero targets through ``torch.distributions.Normal``), ``accuracy_ND``/``accuracy_RMSE``, ``init_metrics``,
``update_metrics``, ``final_metrics``, ``evaluate`` (sample=False, train.py's default), ``TrainDataset``,
``TestDataset``, ``WeightedSampler`` (windows drawn with replacement in proportion to their scale v), ``prep_data``
(windows of window_size with stride 24; the age covariate z-scored per series from its first non-zero reading; the
scale factor v = mean of the window's non-zero given values + 1, inputs divided by v, training labels divided by v,
test labels left raw and the predictions multiplied back), ``gen_covariates`` (weekday, hour, month, z-scored), and
train.py's loop: ``optimizer.zero_grad()``, the per-time-step loop over train_window (a missing z_t replaced by the
last mu, ``model(train_batch[t].unsqueeze_(0).clone(), ...)``, ``loss += loss_fn(mu, sigma, labels_batch[t])``),
one ``loss.backward()`` for the summed window, ``optimizer.step()``, no clipping; ``optim.Adam(model.parameters(),
lr=1e-3)``, batch_size 64, predict_batch 256, PyTorch's default inits otherwise.

Changed to run offline on one CPU thread in ~20 s (each marked ``# upstream:`` or ``# added:``): the data - upstream
downloads the UCI electricity loads (370 clients, hourly, 2011-2014); here ``synthetic_electricity`` generates 64
hourly series over 42 days (a daily profile of two harmonics with the peak between 15 and 21 h, a weekday/weekend
level, a slow drift, 8% multiplicative noise, a per-series scale log-uniform 10..3000 kW, about 15% of the clients
connected late with zeros before), fixed for every run (its own seed 0), and preprocessed by upstream's
``prep_data``/``gen_covariates`` as preprocess_elect.py does (the training split the first 35 days, the test split
the last 8 days, its 1 given day overlapping the training split's end as upstream's test_start does; 2123 training
windows, 448 test windows, 7 per series); num_class 64 (370); train_window/test_window/window_size 48 (192) with
predict_start 24 (168) and predict_steps 24 (24) kept: 1 day given and 1 predicted instead of 7 and 1; num_epochs 5
(20): 170 steps; num_workers 0 (4); ``torch.manual_seed(seed)``/``np.random.seed(seed)`` (upstream's are commented
out); the test set evaluated once after the last epoch instead of after every epoch and every 1000 batches (no
best-checkpoint selection, no plots, no logging, no tqdm); ``Net.test``'s sampling branch left out (not used with
sample=False); ``gen_covariates`` maps a NaN z-score to 0 (a constant column; never hit here); upstream stops with
``Normal``'s ValueError once mu or sigma is NaN - the port catches it, ends the run there (as upstream's would) and
scores it NaN (``extra['crashed']`` says where).  Knobs (one per variant): ``lr_mult`` scales Adam's rate;
``init_std`` draws every weight (the embedding, the LSTM's weight_ih/weight_hh, both heads) from N(0, init_std),
biases kept; ``scale=False`` leaves v at 1 (the loads fed and fitted raw); ``zero_grad=False`` leaves
``optimizer.zero_grad()`` out; ``batch_size``; ``lstm_layers``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()`` (the loss summed over the window's 48 steps, as upstream
backpropagates it), before ``optimizer.step()``; ``monitor.close()`` after the last epoch.  Metric "ND": upstream's
normalized deviation of the predicted mean over the 24-hour horizon of the test windows (sum |mu - z| / sum |z| over
the non-zero targets, in raw units), lower is better; ``initial`` the untrained model's ND on the same test set;
``chance`` 1.0 (predicting zero).  ``extra`` has the test RMSE (upstream's normalized RMSE) and test loss, the mean
per-time-step training loss of the first 5 and last 20 steps (it goes negative: a Gaussian NLL) and the crash, if any.

``CASES`` (program "deepar"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) weights (seeds 1 and 2); the scale factor v removed
(unscaled target and input; seeds 1 and 2); ``optimizer.zero_grad()`` left out (seeds 1 and 2); and two changes
expected harmless (cause "healthy"): batch_size 32 and lstm_layers 2.
Recorded (cases-public164; 17-24 s a run on the shared 2-core machine, 34 s for batch 32's 335 steps, 3-5 s for the
runs that stop early; the first six were recorded again, unchanged, after the crash handling was added): healthy test
ND 0.1195, 0.1324, 0.1289 on seeds 1-3 (untrained 0.802, 1.088, 0.899; test RMSE 0.23-0.25; per-time-step training
loss 1.29-1.59 over the first 5 steps -> -0.48..-0.62 over the last 20; every loss finite); lr x10: 0.0898 (training
loss -0.90): healthy; lr x100: 0.2562 (seed 1, largest summed window loss 1.8e4) and 0.2673 (seed 2, 1439): broken;
lr x1000: the loss grows to 1e16 per step and mu turns NaN at step 21 (Normal's ValueError): NaN, broken; lr /1000:
0.7825 (training loss 1.73 -> 1.68): broken; N(0, 1) weights: untrained ND 3.69, training losses ~1e13 from the
start, 3.728 after 170 steps (seed 1), and NaN at step 21 (seed 2): broken; v removed: first losses ~6e5 per time
step, 1.4e4 and 1.1e4 at the end, 0.9892 (seed 1) and 0.9908 (seed 2) against an untrained 1.0: broken;
zero_grad left out: 0.4617 (seed 1) and 0.6541 (seed 2), training loss 0.88-0.99 at the end: broken; batch 32:
0.1014: healthy; lstm_layers 2: 0.1420 (1.19x its control, untrained 1.07): healthy (a "healthy"-cause run is
labelled by the good-outcome rule and "not clearly worse").  Labels: 6 healthy (3 programs, lr x10, batch 32, 2
layers), 10 broken, 0 ambiguous.  Every recorded loss was finite (the two crashed runs stop before their NaN).
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from scipy import stats
from torch.utils.data import DataLoader, Dataset, Sampler
from torch.utils.data.sampler import RandomSampler

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optim.Adam(model.parameters(), lr=params.learning_rate); "
              "monitor.step(loss) right after loss.backward() (loss: the Gaussian negative log-likelihood summed over "
              "the train_window time steps of the batch), before optimizer.step() (upstream does not clip)")


class Params:
    """experiments/base_model/params.json (upstream: utils.Params reads it from the file), scaled down."""

    def __init__(self):
        self.learning_rate = 1e-3
        self.batch_size = 64
        self.lstm_layers = 3
        self.num_epochs = 5  # upstream: 20 (over 370 series x ~1350 windows)
        self.train_window = 48  # upstream: 192 (7 days given + 1 predicted, hourly)
        self.test_window = 48  # upstream: 192
        self.predict_start = 24  # upstream: 168
        self.test_predict_start = 24  # upstream: 168
        self.predict_steps = 24
        self.num_class = NUM_SERIES  # upstream: 370 (the electricity data's series)
        self.cov_dim = 4
        self.lstm_hidden_dim = 40
        self.embedding_dim = 20
        self.sample_times = 200
        self.lstm_dropout = 0.1
        self.predict_batch = 256
        self.device = torch.device('cpu')
        self.relative_metrics = False
        self.sampling = False


##########################
### DATA (upstream: preprocess_elect.py on the UCI electricity download; here generated)
##########################

NUM_SERIES = 64
DATA_SEED = 0
window_size = 48  # upstream: 192
stride_size = 24
num_covariates = 4
train_days = 35  # upstream: 2011-01-01 .. 2014-08-31
pred_days = 7
given_days = 1  # upstream: 7


def synthetic_electricity(seed=DATA_SEED):
    """Hourly series of household-like loads (upstream: LD2011_2014.txt resampled to hours, 370 clients): a daily
    profile of two harmonics with a per-series phase, a weekday/weekend level, a slow drift, multiplicative noise,
    a per-series scale (log-uniform 10 .. 3000, kW as in the data), and a few clients that start late (zeros
    before, as the data's late-connected clients)."""
    rng = np.random.RandomState(seed)
    start = datetime(2014, 1, 1)
    total = (train_days + pred_days) * 24
    times = [start + timedelta(hours=h) for h in range(total)]
    hour = np.array([t.hour for t in times], dtype=float)
    wday = np.array([t.weekday() for t in times], dtype=float)
    data = np.zeros((total, NUM_SERIES))
    for s in range(NUM_SERIES):
        scale = math.exp(rng.uniform(math.log(10), math.log(3000)))
        a1, a2 = rng.uniform(0.2, 0.5), rng.uniform(0.0, 0.2)
        p1, p2 = rng.uniform(9, 15), rng.uniform(0, 12)  # daily peak between 15 and 21 h
        weekend = rng.uniform(-0.3, 0.2)
        drift = rng.uniform(-0.1, 0.1)
        prof = (1 + a1 * np.sin(2 * np.pi * (hour - p1) / 24) + a2 * np.sin(4 * np.pi * (hour - p2) / 24)
                + weekend * (wday >= 5) + drift * np.arange(total) / total)
        noise = 1 + 0.08 * rng.randn(total)
        data[:, s] = scale * np.clip(prof, 0.1, None) * np.clip(noise, 0.5, None)
        if rng.rand() < 0.15:  # a client connected later: zeros before its first reading
            data[:rng.randint(24, 10 * 24), s] = 0
    return data.astype('float32'), np.array(times)


def prep_data(data, covariates, data_start, total_time, num_series, train=True, scale=True):
    """upstream's prep_data (globals window_size, stride_size, num_covariates, total_time, num_series as arguments;
    the arrays returned instead of saved).  ``scale=False`` is the unscaled_target variant: v left at 1."""
    #print("train: ", train)
    time_len = data.shape[0]
    #print("time_len: ", time_len)
    input_size = window_size-stride_size
    windows_per_series = np.full((num_series), (time_len-input_size) // stride_size)
    #print("windows pre: ", windows_per_series.shape)
    if train: windows_per_series -= (data_start+stride_size-1) // stride_size  # noqa: E701 (as upstream)
    total_windows = np.sum(windows_per_series)
    x_input = np.zeros((total_windows, window_size, 1 + num_covariates + 1), dtype='float32')
    label = np.zeros((total_windows, window_size), dtype='float32')
    v_input = np.zeros((total_windows, 2), dtype='float32')
    #cov = 3: ground truth + age + day_of_week + hour_of_day + num_series
    #cov = 4: ground truth + age + day_of_week + hour_of_day + month_of_year + num_series
    count = 0
    if not train:
        covariates = covariates[-time_len:]
    for series in range(num_series):  # upstream: trange
        cov_age = stats.zscore(np.arange(total_time-data_start[series]))
        if train:
            covariates[data_start[series]:time_len, 0] = cov_age[:time_len-data_start[series]]
        else:
            covariates[:, 0] = cov_age[-time_len:]
        for i in range(windows_per_series[series]):
            if train:
                window_start = stride_size*i+data_start[series]
            else:
                window_start = stride_size*i
            window_end = window_start+window_size
            x_input[count, 1:, 0] = data[window_start:window_end-1, series]
            x_input[count, :, 1:1+num_covariates] = covariates[window_start:window_end, :]
            x_input[count, :, -1] = series
            label[count, :] = data[window_start:window_end, series]
            nonzero_sum = (x_input[count, 1:input_size, 0]!=0).sum()
            if not scale:  # the unscaled_target variant: the scale factor v removed (v = 1, raw values)
                v_input[count, 0] = 1
            elif nonzero_sum == 0:
                v_input[count, 0] = 0
            else:
                v_input[count, 0] = np.true_divide(x_input[count, 1:input_size, 0].sum(),nonzero_sum)+1
                x_input[count, :, 0] = x_input[count, :, 0]/v_input[count, 0]
                if train:
                    label[count, :] = label[count, :]/v_input[count, 0]
            count += 1
    return x_input, v_input, label


def gen_covariates(times, num_covariates):
    covariates = np.zeros((times.shape[0], num_covariates))
    for i, input_time in enumerate(times):
        covariates[i, 1] = input_time.weekday()
        covariates[i, 2] = input_time.hour
        covariates[i, 3] = input_time.month
    for i in range(1,num_covariates):
        covariates[:,i] = stats.zscore(covariates[:,i])
        covariates[:, i] = np.nan_to_num(covariates[:, i])  # upstream: none (its 44 months never have a constant month)
    return covariates[:, :num_covariates]


def make_data(scale=True):
    """upstream's ``__main__`` of preprocess_elect.py: train on the first train_days, test on the last
    given_days + pred_days (the given days overlapping the training data's end, as upstream's test_start)."""
    data_frame, times = synthetic_electricity()
    covariates = gen_covariates(times, num_covariates)
    train_data = data_frame[:train_days * 24]
    test_data = data_frame[(train_days - given_days) * 24:]
    data_start = (train_data!=0).argmax(axis=0) #find first nonzero value in each time series
    total_time = data_frame.shape[0]
    num_series = data_frame.shape[1]
    train = prep_data(train_data, covariates, data_start, total_time, num_series, scale=scale)
    test = prep_data(test_data, covariates, data_start, total_time, num_series, train=False, scale=scale)
    return train, test


##########################
### dataloader.py (upstream reads the .npy files)
##########################

class TrainDataset(Dataset):
    def __init__(self, data, label):
        self.data = data
        self.label = label
        self.train_len = self.data.shape[0]

    def __len__(self):
        return self.train_len

    def __getitem__(self, index):
        return (self.data[index,:,:-1],int(self.data[index,0,-1]), self.label[index])


class TestDataset(Dataset):
    def __init__(self, data, v, label):
        self.data = data
        self.v = v
        self.label = label
        self.test_len = self.data.shape[0]

    def __len__(self):
        return self.test_len

    def __getitem__(self, index):
        return (self.data[index,:,:-1],int(self.data[index,0,-1]),self.v[index],self.label[index])


class WeightedSampler(Sampler):
    def __init__(self, v, replacement=True):
        self.weights = torch.as_tensor(np.abs(v[:,0])/np.sum(np.abs(v[:,0])), dtype=torch.double)
        self.num_samples = self.weights.shape[0]
        self.replacement = replacement

    def __iter__(self):
        return iter(torch.multinomial(self.weights, self.num_samples, self.replacement).tolist())

    def __len__(self):
        return self.num_samples


##########################
### model/net.py
##########################

class Net(nn.Module):
    def __init__(self, params):
        '''
        We define a recurrent network that predicts the future values of a time-dependent variable based on
        past inputs and covariates.
        '''
        super(Net, self).__init__()  # noqa: UP008 (as upstream)
        self.params = params
        self.embedding = nn.Embedding(params.num_class, params.embedding_dim)

        self.lstm = nn.LSTM(input_size=1+params.cov_dim+params.embedding_dim,
                            hidden_size=params.lstm_hidden_dim,
                            num_layers=params.lstm_layers,
                            bias=True,
                            batch_first=False,
                            dropout=params.lstm_dropout)
        # initialize LSTM forget gate bias to be 1 as recommanded by http://proceedings.mlr.press/v37/jozefowicz15.pdf
        for names in self.lstm._all_weights:
            for name in filter(lambda n: "bias" in n, names):
                bias = getattr(self.lstm, name)
                n = bias.size(0)
                start, end = n // 4, n // 2
                bias.data[start:end].fill_(1.)

        self.relu = nn.ReLU()
        self.distribution_mu = nn.Linear(params.lstm_hidden_dim * params.lstm_layers, 1)
        self.distribution_presigma = nn.Linear(params.lstm_hidden_dim * params.lstm_layers, 1)
        self.distribution_sigma = nn.Softplus()

    def forward(self, x, idx, hidden, cell):
        onehot_embed = self.embedding(idx) #TODO: is it possible to do this only once per window instead of per step?
        lstm_input = torch.cat((x, onehot_embed), dim=2)
        output, (hidden, cell) = self.lstm(lstm_input, (hidden, cell))
        # use h from all three layers to calculate mu and sigma
        hidden_permute = hidden.permute(1, 2, 0).contiguous().view(hidden.shape[1], -1)
        pre_sigma = self.distribution_presigma(hidden_permute)
        mu = self.distribution_mu(hidden_permute)
        sigma = self.distribution_sigma(pre_sigma)  # softplus to make sure standard deviation is positive
        return torch.squeeze(mu), torch.squeeze(sigma), hidden, cell

    def init_hidden(self, input_size):
        return torch.zeros(self.params.lstm_layers, input_size, self.params.lstm_hidden_dim, device=self.params.device)

    def init_cell(self, input_size):
        return torch.zeros(self.params.lstm_layers, input_size, self.params.lstm_hidden_dim, device=self.params.device)

    def test(self, x, v_batch, id_batch, hidden, cell, sampling=False):
        # upstream's sampling branch (ancestral sampling, 200 draws) left out: train.py evaluates with
        # sample=args.sampling, False by default
        batch_size = x.shape[1]
        decoder_hidden = hidden
        decoder_cell = cell
        sample_mu = torch.zeros(batch_size, self.params.predict_steps, device=self.params.device)
        sample_sigma = torch.zeros(batch_size, self.params.predict_steps, device=self.params.device)
        for t in range(self.params.predict_steps):
            mu_de, sigma_de, decoder_hidden, decoder_cell = self(x[self.params.predict_start + t].unsqueeze(0),
                                                                 id_batch, decoder_hidden, decoder_cell)
            sample_mu[:, t] = mu_de * v_batch[:, 0] + v_batch[:, 1]
            sample_sigma[:, t] = sigma_de * v_batch[:, 0]
            if t < (self.params.predict_steps - 1):
                x[self.params.predict_start + t + 1, :, 0] = mu_de
        return sample_mu, sample_sigma


def loss_fn(mu, sigma, labels):
    '''
    Compute using gaussian the log-likehood which needs to be maximized. Ignore time steps where labels are missing.
    '''
    zero_index = (labels != 0)
    distribution = torch.distributions.normal.Normal(mu[zero_index], sigma[zero_index])
    likelihood = distribution.log_prob(labels[zero_index])
    return -torch.mean(likelihood)


def accuracy_ND(mu, labels, relative = False):
    zero_index = (labels != 0)
    if relative:
        diff = torch.mean(torch.abs(mu[zero_index] - labels[zero_index])).item()
        return [diff, 1]
    else:
        diff = torch.sum(torch.abs(mu[zero_index] - labels[zero_index])).item()
        summation = torch.sum(torch.abs(labels[zero_index])).item()
        return [diff, summation]


def accuracy_RMSE(mu, labels, relative = False):
    zero_index = (labels != 0)
    diff = torch.sum(torch.mul((mu[zero_index] - labels[zero_index]), (mu[zero_index] - labels[zero_index]))).item()
    if relative:
        return [diff, torch.sum(zero_index).item(), torch.sum(zero_index).item()]
    else:
        summation = torch.sum(torch.abs(labels[zero_index])).item()
        return [diff, summation, torch.sum(zero_index).item()]


##########################
### utils.py (the metrics) and evaluate.py
##########################

def init_metrics(sample=True):
    metrics = {
        'ND': np.zeros(2),  # numerator, denominator
        'RMSE': np.zeros(3),  # numerator, denominator, time step count
        'test_loss': np.zeros(2),
    }
    return metrics


def update_metrics(raw_metrics, input_mu, input_sigma, sample_mu, labels, predict_start, samples=None, relative=False):
    raw_metrics['ND'] = raw_metrics['ND'] + accuracy_ND(sample_mu, labels[:, predict_start:], relative=relative)
    raw_metrics['RMSE'] = raw_metrics['RMSE'] + accuracy_RMSE(sample_mu, labels[:, predict_start:], relative=relative)
    input_time_steps = input_mu.numel()
    raw_metrics['test_loss'] = raw_metrics['test_loss'] + [
        loss_fn(input_mu, input_sigma, labels[:, :predict_start]) * input_time_steps, input_time_steps]
    return raw_metrics


def final_metrics(raw_metrics, sampling=False):
    summary_metric = {}
    summary_metric['ND'] = raw_metrics['ND'][0] / raw_metrics['ND'][1]
    summary_metric['RMSE'] = np.sqrt(raw_metrics['RMSE'][0] / raw_metrics['RMSE'][2]) / (
                raw_metrics['RMSE'][1] / raw_metrics['RMSE'][2])
    summary_metric['test_loss'] = (raw_metrics['test_loss'][0] / raw_metrics['test_loss'][1]).item()
    return summary_metric


def evaluate(model, loss_fn, test_loader, params, plot_num, sample=True):
    '''Evaluate the model on the test set (upstream's evaluate without the plots and the logging).'''
    model.eval()
    with torch.no_grad():
      raw_metrics = init_metrics(sample=sample)
      for i, (test_batch, id_batch, v, labels) in enumerate(test_loader):  # noqa: B007 (upstream: tqdm(...))
          test_batch = test_batch.permute(1, 0, 2).to(torch.float32).to(params.device)
          id_batch = id_batch.unsqueeze(0).to(params.device)
          v_batch = v.to(torch.float32).to(params.device)
          labels = labels.to(torch.float32).to(params.device)
          batch_size = test_batch.shape[1]
          input_mu = torch.zeros(batch_size, params.test_predict_start, device=params.device) # scaled
          input_sigma = torch.zeros(batch_size, params.test_predict_start, device=params.device) # scaled
          hidden = model.init_hidden(batch_size)
          cell = model.init_cell(batch_size)

          for t in range(params.test_predict_start):
              # if z_t is missing, replace it by output mu from the last time step
              zero_index = (test_batch[t,:,0] == 0)
              if t > 0 and torch.sum(zero_index) > 0:
                  test_batch[t,zero_index,0] = mu[zero_index]  # noqa: F821 (as upstream; t > 0)

              mu, sigma, hidden, cell = model(test_batch[t].unsqueeze(0), id_batch, hidden, cell)
              input_mu[:,t] = v_batch[:, 0] * mu + v_batch[:, 1]
              input_sigma[:,t] = v_batch[:, 0] * sigma

          sample_mu, sample_sigma = model.test(test_batch, v_batch, id_batch, hidden, cell)
          raw_metrics = update_metrics(raw_metrics, input_mu, input_sigma, sample_mu, labels,
                                       params.test_predict_start, relative = params.relative_metrics)

      summary_metric = final_metrics(raw_metrics, sampling=sample)
    return summary_metric


##########################
### train.py
##########################

def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_grad: bool = True,
          scale: bool = True, batch_size: int | None = None, lstm_layers: int | None = None,
          num_epochs: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    params = Params()
    params.learning_rate *= lr_mult
    if batch_size is not None:
        params.batch_size = batch_size
    if lstm_layers is not None:
        params.lstm_layers = lstm_layers
    if num_epochs is not None:
        params.num_epochs = num_epochs
    torch.manual_seed(seed)  # upstream: # torch.manual_seed(230) (commented out)
    np.random.seed(seed)

    (train_x, train_v, train_label), (test_x, test_v, test_label) = make_data(scale=scale)

    model = Net(params)
    if init_std is not None:  # the init_large variant: every weight matrix N(0, init_std); biases kept
        for name, p in model.named_parameters():
            if "weight" in name:
                nn.init.normal_(p, 0.0, init_std)

    train_set = TrainDataset(train_x, train_label)
    test_set = TestDataset(test_x, test_v, test_label)
    sampler = WeightedSampler(train_v) # Use weighted sampler instead of random sampler
    # upstream: num_workers=4
    train_loader = DataLoader(train_set, batch_size=params.batch_size, sampler=sampler, num_workers=0)
    test_loader = DataLoader(test_set, batch_size=params.predict_batch, sampler=RandomSampler(test_set),
                             num_workers=0)

    optimizer = optim.Adam(model.parameters(), lr=params.learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    initial = evaluate(model, loss_fn, test_loader, params, -1, sample=params.sampling)  # the untrained model

    losses, crashed = [], ""
    test_metrics = {"ND": float("nan"), "RMSE": float("nan"), "test_loss": float("nan")}
    for epoch in range(params.num_epochs):
        model.train()
        for i, (train_batch, idx, labels_batch) in enumerate(train_loader):  # upstream: tqdm(train_loader)
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            batch_size = train_batch.shape[0]

            train_batch = train_batch.permute(1, 0, 2).to(torch.float32).to(params.device)  # not scaled
            labels_batch = labels_batch.permute(1, 0).to(torch.float32).to(params.device)  # not scaled
            idx = idx.unsqueeze(0).to(params.device)

            loss = torch.zeros(1, device=params.device)
            hidden = model.init_hidden(batch_size)
            cell = model.init_cell(batch_size)

            try:  # added: upstream stops with this ValueError when mu or sigma is NaN (Normal's argument check)
                for t in range(params.train_window):
                    # if z_t is missing, replace it by output mu from the last time step
                    zero_index = (train_batch[t, :, 0] == 0)
                    if t > 0 and torch.sum(zero_index) > 0:
                        train_batch[t, zero_index, 0] = mu[zero_index]  # noqa: F821 (as upstream; t > 0)
                    mu, sigma, hidden, cell = model(train_batch[t].unsqueeze_(0).clone(), idx, hidden, cell)
                    loss += loss_fn(mu, sigma, labels_batch[t])
            except ValueError as e:  # the run ends here as upstream's would, its outcome non-finite
                crashed = f"step {len(losses) + 1}: {str(e).splitlines()[0][:120]}"
                break

            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            loss = loss.item() / params.train_window  # loss per timestep
            losses.append(loss)
            # upstream: evaluate(...) on the test set every 1000 batches (only i == 0 here, the same as each epoch's)
            if verbose and i == 0:
                print(f"epoch {epoch} step {len(losses)} train_loss {loss:.4f} ({time.time() - t0:.1f}s)", flush=True)
        if crashed:
            break
        if verbose or epoch == params.num_epochs - 1:  # upstream: evaluates after every epoch
            try:
                test_metrics = evaluate(model, loss_fn, test_loader, params, epoch, sample=params.sampling)
            except ValueError as e:  # added: upstream's evaluate stops the same way on a NaN mu or sigma
                crashed = f"evaluate after epoch {epoch + 1}: {str(e).splitlines()[0][:120]}"
                test_metrics = {"ND": float("nan"), "RMSE": float("nan"), "test_loss": float("nan")}
        if verbose:
            print(f"epoch {epoch}: ND {test_metrics['ND']:.4f} RMSE {test_metrics['RMSE']:.4f} "
                  f"test_loss {test_metrics['test_loss']:.4f} ({time.time() - t0:.1f}s)", flush=True)
        # upstream: checkpoints, best-ND json, plots
    monitor.close()

    la = np.array(losses)
    nd = float(test_metrics['ND'])
    return {"monitors": {"": monitor}, "metric": "ND", "value": nd if math.isfinite(nd) else float("nan"),
            "initial": float(initial['ND']), "initial_what": "the untrained model's test ND (normalized deviation of "
                                                              "the predicted mean over the 24-hour horizon)",
            "chance": 1.0,
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la),
                      "epochs": params.num_epochs, "lr": params.learning_rate, "test_RMSE": float(test_metrics['RMSE']),
                      "test_loss": float(test_metrics['test_loss']), "initial_RMSE": float(initial['RMSE']),
                      "lr_mult": lr_mult,
                      "init_std": -1.0 if init_std is None else init_std, "zero_grad": zero_grad, "scale": scale,
                      "batch_size": params.batch_size, "lstm_layers": params.lstm_layers,
                      "crashed": crashed, "train_windows": len(train_set), "test_windows": len(test_set)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="deepar", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = ("DeepAR (3-layer LSTM 40, forget bias 1, embedding 20, dropout 0.1; Gaussian NLL summed over the 72-step "
      "window; Adam lr 1e-3, batch 64, weighted sampler)")
CASES: list[dict] = (
    [_case(f"deepar_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"deepar_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("deepar_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"deepar_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every weight (LSTM weight_ih/weight_hh of all layers, the embedding, "
             f"distribution_mu and distribution_presigma) instead of PyTorch's defaults (biases kept, forget bias 1)")
       for s in (1, 2)]
    + [_case(f"deepar_no_scale_s{s}", "unscaled_target", s, {"scale": False},
             f"{_P}: the per-window scale factor v of preprocess_elect.py removed (v = 1): the model is fed and "
             f"trained on the raw loads (10 .. 3000 kW) as input and Gaussian target") for s in (1, 2)]
    + [_case(f"deepar_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of the loop: the gradients accumulate") for s in (1, 2)]
    + [_case("deepar_batch32_s1", "healthy", 1, {"batch_size": 32},
             f"{_P}: batch_size 32 instead of 64 (expected harmless)")]
    + [_case("deepar_lstm2_s1", "healthy", 1, {"lstm_layers": 2},
             f"{_P}: lstm_layers 2 instead of 3 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(**{"verbose": True, **kw})
    print({k: v for k, v in r.items() if k != "monitors"})
