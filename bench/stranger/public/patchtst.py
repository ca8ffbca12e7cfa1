"""PatchTST (yuqinie98/PatchTST, supervised): a patched, channel-independent Transformer forecaster, watched by gradmedic.

Adapted from https://github.com/yuqinie98/PatchTST (commit 204c21efe0b39603ad6e2ca640ef5896646ab1a9, the newest;
PatchTST_supervised/models/PatchTST.py, layers/PatchTST_backbone.py, layers/PatchTST_layers.py, layers/RevIN.py,
exp/exp_main.py, utils/tools.py, data_provider/data_loader.py and data_factory.py, run_longExp.py,
scripts/PatchTST/electricity.sh; Apache License 2.0, see LICENSE-patchtst; the changes are listed here and marked
``# upstream:`` in the code).  Copied: ``Model`` (its decomposition branch too, off by default; the three identical
``PatchTST_backbone(...)`` argument lists written once as ``common``), ``PatchTST_backbone`` (RevIN, end padding by
``ReplicationPad1d``, ``unfold`` patching, the channel-independent ``TSTiEncoder``: ``W_P``, the learned uniform(+-0.02)
``W_pos``, ``TSTEncoder`` of post-norm ``TSTEncoderLayer`` with BatchNorm as upstream's default norm, residual
attention scores, GELU feed-forward; the ``Flatten_Head``), ``_MultiheadAttention``, ``_ScaledDotProductAttention``,
``RevIN``, ``Transpose``, ``get_activation_fn``, ``series_decomp``, ``positional_encoding`` (without the 'lin2d' /
'exp2d' branches), ``adjust_learning_rate`` (its 'TST', 'type1', 'type3', 'constant' branches), ``Dataset_Custom``
(0.7 / 0.1 / 0.2 split in time, StandardScaler fit on the train split, windows of seq_len -> pred_len),
``Exp_Main.vali`` and the non-AMP PatchTST path of ``Exp_Main.train``: ``model_optim.zero_grad()``, ``outputs =
model(batch_x)``, ``nn.MSELoss()``, ``loss.backward()``, ``model_optim.step()``, then, for ``lradj == 'TST'``,
``adjust_learning_rate`` and ``scheduler.step()`` per batch; ``optim.Adam(lr=learning_rate)``; ``OneCycleLR(max_lr=
learning_rate, pct_start, epochs, steps_per_epoch)``; PyTorch's default inits.  Kept as electricity.sh sets them (the
script with lradj 'TST' and the smallest batch): features M, e_layers 3, dropout 0.2, fc_dropout 0.2, head_dropout 0,
patch_len 16, stride 8, lradj 'TST', pct_start 0.2, batch_size 32, learning_rate 1e-4, and run_longExp.py's defaults
(padding_patch 'end', revin 1, affine 0, subtract_last 0, decomposition 0, individual 0), random_seed 2021 for seed 1.

Changed to run offline on one CPU thread in ~25-35 s (each marked ``# upstream:``): the data (ETT / electricity csv
files are downloads) are ``make_series()``, generated: a fixed 4800-hour x 7-channel series (seed 20210401): per
channel a daily cycle with a second harmonic, a weekly cycle, a linear trend and two shared AR(1) factors, mixed
across channels by I + 0.3 N(0, 1), plus white noise, then levels 150-900 and scales 20-80 (raw values 26-1272).
No date column or time features (PatchTST's forward does not read them).  seq_len 48 (upstream 336), pred_len 24
(96..720), d_model 16 (128; etth1.sh's 16), n_heads 4 (16; etth1.sh's 4), d_ff 32 (256), train_epochs 8 (100, with
EarlyStopping patience 10 and the best-validation checkpoint reloaded: no checkpoints here, the final model is
scored); num_workers 0; the CPU; the per-100-iteration print left out and the per-epoch vali/test print only with
``verbose``; random_seed 2020 + seed.  8 epochs of 102 steps = 816 steps.  Knobs (one per variant): ``lr_mult``
scales learning_rate (Adam's and OneCycleLR's max_lr); ``init_std`` draws every nn.Linear weight from N(0, init_std);
``zero_grad=False`` leaves ``model_optim.zero_grad()`` out; ``scale=False`` the data loader without its StandardScaler
(the raw series in and out); ``revin`` (--revin); ``batch_size``; ``dropout`` (--dropout and --fc_dropout).

The watch, as a user would: ``monitor = gradmedic.watch(model, model_optim, every=10)`` right after Adam and the
OneCycleLR scheduler are built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``model_optim.step()``
(upstream does not clip); ``monitor.close()`` after the loop.  Metric "mse": the test MSE after training, in the
z-scored units of the series (upstream's test loss; for the unscaled variants the errors are divided by the train
split's std, so it is the same number), lower is better; ``initial`` the untrained model's test MSE; ``chance`` the
test MSE of repeating the window's last value over the horizon (1.153; the daily cycle makes it poor).

``CASES`` (program "patchtst"): the program on seeds 1-3, and one change each against the same seed's healthy run:
learning rate x10, x100 (seeds 1 and 2), x1000, x10000 (added after x1000 came out healthy), /1000; N(0, 1) for every
nn.Linear weight (seeds 1 and 2); ``model_optim.zero_grad()`` left out (seeds 1 and 2); the StandardScaler left out
(raw series, RevIN on as upstream's default: cause unscaled_inputs); the StandardScaler left out and --revin 0 (raw
values in and raw forecasts out of the head's Linear: cause unscaled_target); and two changes expected harmless:
learning rate x2 (cause "lr_high") and dropout 0 (cause "healthy").
Recorded (cases-public183; 20-37 s a run on the shared 2-core machine): healthy test MSE 0.3191, 0.3167, 0.3305 on
seeds 1-3 (untrained 1.103, 0.991, 1.020; last value 1.153; training loss 1.04-1.06 over the first 5 steps -> 0.35
over the last 20; every loss finite); lr x10 (1e-3): 0.2370: healthy; lr x100 (1e-2): 0.2411 (seed 1) and 0.2422
(seed 2): healthy; lr x1000 (0.1): 0.2712 (largest loss 0.99): healthy - BatchNorm, RevIN and OneCycleLR's warm-up
from max_lr / 25 carry it; lr x10000 (1.0): largest loss 541, training loss 0.94 at the end, 0.9723: broken; lr /1000:
1.082 (untrained 1.103): broken; N(0, 1): the untrained model's test MSE 4.5e16 / 3.1e17 (eval-mode BatchNorm),
training loss 56-57 -> 46-49, 5.975 (seed 1) and 6.464 (seed 2): broken; zero_grad left out: 0.2920 and 0.2992 (Adam
normalizes the summed gradients): healthy; raw series with RevIN: 0.3214 (1.01x its control) but MSE in raw units,
1.2e4 at the start, largest 1.4e4, over 2x the control's largest: ambiguous (the largest-loss rule); raw series
without RevIN: raw training loss 3.6e5 throughout, 44.39 (untrained 42.5): broken; lr x2: 0.2633: healthy; dropout 0:
0.3007: healthy.  Labels: 11 healthy (3 programs, lr x10, x100 on both seeds, x1000, x2, zero_grad left out on both seeds,
dropout 0), 5 broken (lr x10000, lr /1000, N(0, 1) on both seeds, raw series without RevIN), 1 ambiguous (raw series
with RevIN).  Every run's losses were finite.
"""

# ruff: noqa: E501, E701, E702, E703, E711, UP008, UP030, UP032, UP045, B007  (upstream's long lines, one-line statements, == None, Optional, loop counters)
from __future__ import annotations

import math
import random
import time
from types import SimpleNamespace
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.preprocessing import StandardScaler
from torch import Tensor, nn, optim
from torch.optim import lr_scheduler
from torch.utils.data import DataLoader, Dataset

import gradmedic

ARCH = "transformer"
MONITOR_AT = ("watch(model, model_optim, every=10) right after Adam (lr 1e-4) and the OneCycleLR scheduler are built; "
              "monitor.step(loss) right after loss.backward() (MSELoss over the 24-hour forecast of 7 channels, batch 32), before "
              "model_optim.step() and the per-batch scheduler step (lradj 'TST'); no clipping upstream")

# the generated data set (upstream reads ETTm1.csv etc., downloads)
N_HOURS = 4800  # 200 days, hourly
N_CHANNELS = 7  # as ETT: six loads and the oil temperature
DATA_SEED = 20210401
# scripts/PatchTST/electricity.sh's arguments (lradj 'TST', batch 32), scaled to one CPU thread (upstream in the comments)
SEQ_LEN = 48  # upstream: 336
PRED_LEN = 24  # upstream: 96 192 336 720
D_MODEL = 16  # upstream: 128 (etth1.sh: 16)
N_HEADS = 4  # upstream: 16 (etth1.sh: 4)
D_FF = 32  # upstream: 256 (etth1.sh: 128)
TRAIN_EPOCHS = 8  # upstream: 100 (patience 10)


def make_series(n=N_HOURS, c=N_CHANNELS, seed=DATA_SEED):
    """An ETT-like hourly multivariate series (n x c, the csv's columns without 'date'; values in the hundreds):
    per-channel level 150-900, daily cycle (with a second harmonic) and weekly cycle of per-channel phase and size, a
    slow trend, two shared AR(1) factors, the channels mixed by a random matrix, and white noise."""
    rng = np.random.RandomState(seed)
    t = np.arange(n, dtype=np.float64)
    f = np.zeros((n, 2))
    for k in range(1, n):  # shared slow factors
        f[k] = 0.98 * f[k - 1] + 0.2 * rng.randn(2)
    base = np.zeros((n, c))
    for i in range(c):
        ph_d, ph_w = rng.uniform(0, 2 * np.pi, 2)
        daily = np.sin(2 * np.pi * t / 24 + ph_d) + 0.3 * np.sin(4 * np.pi * t / 24 + 2 * ph_d)
        weekly = rng.uniform(0.3, 0.8) * np.sin(2 * np.pi * t / (24 * 7) + ph_w)
        trend = rng.uniform(-1.0, 1.0) * t / n
        base[:, i] = rng.uniform(0.5, 1.5) * daily + weekly + trend + f @ (0.5 * rng.randn(2))
    mix = np.eye(c) + 0.3 * rng.randn(c, c)  # cross-channel mixing
    x = base @ mix.T + 0.15 * rng.randn(n, c)
    level = rng.uniform(150.0, 900.0, c)
    scale = rng.uniform(20.0, 80.0, c)
    return level + scale * x


# ---------------------------------------------------------------------------------------------------------------------
# data_provider/data_loader.py: Dataset_Custom (features 'M'), with the generated array for the csv
class Dataset_Custom(Dataset):
    def __init__(self, raw, flag='train', size=None, scale=True):  # upstream: root_path, data_path, features, target,
        # timeenc, freq (the date column and its time features are not used by PatchTST's forward and are left out)
        self.seq_len = size[0]
        self.label_len = size[1]
        self.pred_len = size[2]
        # init
        assert flag in ['train', 'test', 'val']
        type_map = {'train': 0, 'val': 1, 'test': 2}
        self.set_type = type_map[flag]
        self.scale = scale
        self.raw = raw  # upstream: df_raw = pd.read_csv(os.path.join(self.root_path, self.data_path))
        self.__read_data__()

    def __read_data__(self):
        self.scaler = StandardScaler()
        df_data = self.raw

        num_train = int(len(df_data) * 0.7)
        num_test = int(len(df_data) * 0.2)
        num_vali = len(df_data) - num_train - num_test
        border1s = [0, num_train - self.seq_len, len(df_data) - num_test - self.seq_len]
        border2s = [num_train, num_train + num_vali, len(df_data)]
        border1 = border1s[self.set_type]
        border2 = border2s[self.set_type]

        train_data = df_data[border1s[0]:border2s[0]]
        self.scaler.fit(train_data)  # (fitted either way here: the metric is always in the scaled units)
        if self.scale:
            data = self.scaler.transform(df_data)
        else:
            data = df_data

        self.data_x = data[border1:border2]
        self.data_y = data[border1:border2]

    def __getitem__(self, index):
        s_begin = index
        s_end = s_begin + self.seq_len
        r_begin = s_end - self.label_len
        r_end = r_begin + self.label_len + self.pred_len

        seq_x = self.data_x[s_begin:s_end]
        seq_y = self.data_y[r_begin:r_end]
        return seq_x, seq_y  # upstream: seq_x, seq_y, seq_x_mark, seq_y_mark

    def __len__(self):
        return len(self.data_x) - self.seq_len - self.pred_len + 1


def data_provider(args, flag, raw):
    if flag == 'test':
        shuffle_flag = False
        drop_last = True
        batch_size = args.batch_size
    else:
        shuffle_flag = True
        drop_last = True
        batch_size = args.batch_size
    data_set = Dataset_Custom(raw, flag=flag, size=[args.seq_len, args.label_len, args.pred_len], scale=args.scale)
    data_loader = DataLoader(data_set, batch_size=batch_size, shuffle=shuffle_flag,
                             num_workers=0, drop_last=drop_last)  # upstream: num_workers=args.num_workers (10)
    return data_set, data_loader


# ---------------------------------------------------------------------------------------------------------------------
# layers/PatchTST_layers.py (the parts the supervised model uses)
class Transpose(nn.Module):
    def __init__(self, *dims, contiguous=False):
        super().__init__()
        self.dims, self.contiguous = dims, contiguous
    def forward(self, x):
        if self.contiguous: return x.transpose(*self.dims).contiguous()
        else: return x.transpose(*self.dims)


def get_activation_fn(activation):
    if callable(activation): return activation()
    elif activation.lower() == "relu": return nn.ReLU()
    elif activation.lower() == "gelu": return nn.GELU()
    raise ValueError(f'{activation} is not available. You can use "relu", "gelu", or a callable')


class moving_avg(nn.Module):
    """
    Moving average block to highlight the trend of time series
    """
    def __init__(self, kernel_size, stride):
        super(moving_avg, self).__init__()
        self.kernel_size = kernel_size
        self.avg = nn.AvgPool1d(kernel_size=kernel_size, stride=stride, padding=0)

    def forward(self, x):
        # padding on the both ends of time series
        front = x[:, 0:1, :].repeat(1, (self.kernel_size - 1) // 2, 1)
        end = x[:, -1:, :].repeat(1, (self.kernel_size - 1) // 2, 1)
        x = torch.cat([front, x, end], dim=1)
        x = self.avg(x.permute(0, 2, 1))
        x = x.permute(0, 2, 1)
        return x


class series_decomp(nn.Module):
    """
    Series decomposition block
    """
    def __init__(self, kernel_size):
        super(series_decomp, self).__init__()
        self.moving_avg = moving_avg(kernel_size, stride=1)

    def forward(self, x):
        moving_mean = self.moving_avg(x)
        res = x - moving_mean
        return res, moving_mean


def PositionalEncoding(q_len, d_model, normalize=True):
    pe = torch.zeros(q_len, d_model)
    position = torch.arange(0, q_len).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2) * -(math.log(10000.0) / d_model))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    if normalize:
        pe = pe - pe.mean()
        pe = pe / (pe.std() * 10)
    return pe


def Coord1dPosEncoding(q_len, exponential=False, normalize=True):
    cpe = (2 * (torch.linspace(0, 1, q_len).reshape(-1, 1)**(.5 if exponential else 1)) - 1)
    if normalize:
        cpe = cpe - cpe.mean()
        cpe = cpe / (cpe.std() * 10)
    return cpe


def positional_encoding(pe, learn_pe, q_len, d_model):
    # Positional encoding
    if pe == None:
        W_pos = torch.empty((q_len, d_model)) # pe = None and learn_pe = False can be used to measure impact of pe
        nn.init.uniform_(W_pos, -0.02, 0.02)
        learn_pe = False
    elif pe == 'zero':
        W_pos = torch.empty((q_len, 1))
        nn.init.uniform_(W_pos, -0.02, 0.02)
    elif pe == 'zeros':
        W_pos = torch.empty((q_len, d_model))
        nn.init.uniform_(W_pos, -0.02, 0.02)
    elif pe == 'normal' or pe == 'gauss':
        W_pos = torch.zeros((q_len, 1))
        torch.nn.init.normal_(W_pos, mean=0.0, std=0.1)
    elif pe == 'uniform':
        W_pos = torch.zeros((q_len, 1))
        nn.init.uniform_(W_pos, a=0.0, b=0.1)
    elif pe == 'lin1d': W_pos = Coord1dPosEncoding(q_len, exponential=False, normalize=True)
    elif pe == 'exp1d': W_pos = Coord1dPosEncoding(q_len, exponential=True, normalize=True)
    # upstream: 'lin2d' and 'exp2d' (Coord2dPosEncoding) are not copied; the scripts use the default 'zeros'
    elif pe == 'sincos': W_pos = PositionalEncoding(q_len, d_model, normalize=True)
    else: raise ValueError(f"{pe} is not a valid pe (positional encoder. Available types: 'gauss'=='normal', \
        'zeros', 'zero', uniform', 'lin1d', 'exp1d', 'lin2d', 'exp2d', 'sincos', None.)")
    return nn.Parameter(W_pos, requires_grad=learn_pe)


# ---------------------------------------------------------------------------------------------------------------------
# layers/RevIN.py (code from https://github.com/ts-kim/RevIN, with minor modifications)
class RevIN(nn.Module):
    def __init__(self, num_features: int, eps=1e-5, affine=True, subtract_last=False):
        """
        :param num_features: the number of features or channels
        :param eps: a value added for numerical stability
        :param affine: if True, RevIN has learnable affine parameters
        """
        super(RevIN, self).__init__()
        self.num_features = num_features
        self.eps = eps
        self.affine = affine
        self.subtract_last = subtract_last
        if self.affine:
            self._init_params()

    def forward(self, x, mode:str):
        if mode == 'norm':
            self._get_statistics(x)
            x = self._normalize(x)
        elif mode == 'denorm':
            x = self._denormalize(x)
        else: raise NotImplementedError
        return x

    def _init_params(self):
        # initialize RevIN params: (C,)
        self.affine_weight = nn.Parameter(torch.ones(self.num_features))
        self.affine_bias = nn.Parameter(torch.zeros(self.num_features))

    def _get_statistics(self, x):
        dim2reduce = tuple(range(1, x.ndim-1))
        if self.subtract_last:
            self.last = x[:,-1,:].unsqueeze(1)
        else:
            self.mean = torch.mean(x, dim=dim2reduce, keepdim=True).detach()
        self.stdev = torch.sqrt(torch.var(x, dim=dim2reduce, keepdim=True, unbiased=False) + self.eps).detach()

    def _normalize(self, x):
        if self.subtract_last:
            x = x - self.last
        else:
            x = x - self.mean
        x = x / self.stdev
        if self.affine:
            x = x * self.affine_weight
            x = x + self.affine_bias
        return x

    def _denormalize(self, x):
        if self.affine:
            x = x - self.affine_bias
            x = x / (self.affine_weight + self.eps*self.eps)
        x = x * self.stdev
        if self.subtract_last:
            x = x + self.last
        else:
            x = x + self.mean
        return x


# ---------------------------------------------------------------------------------------------------------------------
# layers/PatchTST_backbone.py
class PatchTST_backbone(nn.Module):
    def __init__(self, c_in:int, context_window:int, target_window:int, patch_len:int, stride:int, max_seq_len:Optional[int]=1024,
                 n_layers:int=3, d_model=128, n_heads=16, d_k:Optional[int]=None, d_v:Optional[int]=None,
                 d_ff:int=256, norm:str='BatchNorm', attn_dropout:float=0., dropout:float=0., act:str="gelu", key_padding_mask:bool='auto',
                 padding_var:Optional[int]=None, attn_mask:Optional[Tensor]=None, res_attention:bool=True, pre_norm:bool=False, store_attn:bool=False,
                 pe:str='zeros', learn_pe:bool=True, fc_dropout:float=0., head_dropout = 0, padding_patch = None,
                 pretrain_head:bool=False, head_type = 'flatten', individual = False, revin = True, affine = True, subtract_last = False,
                 verbose:bool=False, **kwargs):

        super().__init__()

        # RevIn
        self.revin = revin
        if self.revin: self.revin_layer = RevIN(c_in, affine=affine, subtract_last=subtract_last)

        # Patching
        self.patch_len = patch_len
        self.stride = stride
        self.padding_patch = padding_patch
        patch_num = int((context_window - patch_len)/stride + 1)
        if padding_patch == 'end': # can be modified to general case
            self.padding_patch_layer = nn.ReplicationPad1d((0, stride))
            patch_num += 1

        # Backbone
        self.backbone = TSTiEncoder(c_in, patch_num=patch_num, patch_len=patch_len, max_seq_len=max_seq_len,
                                n_layers=n_layers, d_model=d_model, n_heads=n_heads, d_k=d_k, d_v=d_v, d_ff=d_ff,
                                attn_dropout=attn_dropout, dropout=dropout, act=act, key_padding_mask=key_padding_mask, padding_var=padding_var,
                                attn_mask=attn_mask, res_attention=res_attention, pre_norm=pre_norm, store_attn=store_attn,
                                pe=pe, learn_pe=learn_pe, verbose=verbose, **kwargs)

        # Head
        self.head_nf = d_model * patch_num
        self.n_vars = c_in
        self.pretrain_head = pretrain_head
        self.head_type = head_type
        self.individual = individual

        if self.pretrain_head:
            self.head = self.create_pretrain_head(self.head_nf, c_in, fc_dropout) # custom head passed as a partial func with all its kwargs
        elif head_type == 'flatten':
            self.head = Flatten_Head(self.individual, self.n_vars, self.head_nf, target_window, head_dropout=head_dropout)


    def forward(self, z):                                                                   # z: [bs x nvars x seq_len]
        # norm
        if self.revin:
            z = z.permute(0,2,1)
            z = self.revin_layer(z, 'norm')
            z = z.permute(0,2,1)

        # do patching
        if self.padding_patch == 'end':
            z = self.padding_patch_layer(z)
        z = z.unfold(dimension=-1, size=self.patch_len, step=self.stride)                   # z: [bs x nvars x patch_num x patch_len]
        z = z.permute(0,1,3,2)                                                              # z: [bs x nvars x patch_len x patch_num]

        # model
        z = self.backbone(z)                                                                # z: [bs x nvars x d_model x patch_num]
        z = self.head(z)                                                                    # z: [bs x nvars x target_window]

        # denorm
        if self.revin:
            z = z.permute(0,2,1)
            z = self.revin_layer(z, 'denorm')
            z = z.permute(0,2,1)
        return z

    def create_pretrain_head(self, head_nf, vars, dropout):
        return nn.Sequential(nn.Dropout(dropout),
                    nn.Conv1d(head_nf, vars, 1)
                    )


class Flatten_Head(nn.Module):
    def __init__(self, individual, n_vars, nf, target_window, head_dropout=0):
        super().__init__()

        self.individual = individual
        self.n_vars = n_vars

        if self.individual:
            self.linears = nn.ModuleList()
            self.dropouts = nn.ModuleList()
            self.flattens = nn.ModuleList()
            for i in range(self.n_vars):
                self.flattens.append(nn.Flatten(start_dim=-2))
                self.linears.append(nn.Linear(nf, target_window))
                self.dropouts.append(nn.Dropout(head_dropout))
        else:
            self.flatten = nn.Flatten(start_dim=-2)
            self.linear = nn.Linear(nf, target_window)
            self.dropout = nn.Dropout(head_dropout)

    def forward(self, x):                                 # x: [bs x nvars x d_model x patch_num]
        if self.individual:
            x_out = []
            for i in range(self.n_vars):
                z = self.flattens[i](x[:,i,:,:])          # z: [bs x d_model * patch_num]
                z = self.linears[i](z)                    # z: [bs x target_window]
                z = self.dropouts[i](z)
                x_out.append(z)
            x = torch.stack(x_out, dim=1)                 # x: [bs x nvars x target_window]
        else:
            x = self.flatten(x)
            x = self.linear(x)
            x = self.dropout(x)
        return x


class TSTiEncoder(nn.Module):  #i means channel-independent
    def __init__(self, c_in, patch_num, patch_len, max_seq_len=1024,
                 n_layers=3, d_model=128, n_heads=16, d_k=None, d_v=None,
                 d_ff=256, norm='BatchNorm', attn_dropout=0., dropout=0., act="gelu", store_attn=False,
                 key_padding_mask='auto', padding_var=None, attn_mask=None, res_attention=True, pre_norm=False,
                 pe='zeros', learn_pe=True, verbose=False, **kwargs):


        super().__init__()

        self.patch_num = patch_num
        self.patch_len = patch_len

        # Input encoding
        q_len = patch_num
        self.W_P = nn.Linear(patch_len, d_model)        # Eq 1: projection of feature vectors onto a d-dim vector space
        self.seq_len = q_len

        # Positional encoding
        self.W_pos = positional_encoding(pe, learn_pe, q_len, d_model)

        # Residual dropout
        self.dropout = nn.Dropout(dropout)

        # Encoder
        self.encoder = TSTEncoder(q_len, d_model, n_heads, d_k=d_k, d_v=d_v, d_ff=d_ff, norm=norm, attn_dropout=attn_dropout, dropout=dropout,
                                   pre_norm=pre_norm, activation=act, res_attention=res_attention, n_layers=n_layers, store_attn=store_attn)


    def forward(self, x) -> Tensor:                                              # x: [bs x nvars x patch_len x patch_num]

        n_vars = x.shape[1]
        # Input encoding
        x = x.permute(0,1,3,2)                                                   # x: [bs x nvars x patch_num x patch_len]
        x = self.W_P(x)                                                          # x: [bs x nvars x patch_num x d_model]

        u = torch.reshape(x, (x.shape[0]*x.shape[1],x.shape[2],x.shape[3]))      # u: [bs * nvars x patch_num x d_model]
        u = self.dropout(u + self.W_pos)                                         # u: [bs * nvars x patch_num x d_model]

        # Encoder
        z = self.encoder(u)                                                      # z: [bs * nvars x patch_num x d_model]
        z = torch.reshape(z, (-1,n_vars,z.shape[-2],z.shape[-1]))                # z: [bs x nvars x patch_num x d_model]
        z = z.permute(0,1,3,2)                                                   # z: [bs x nvars x d_model x patch_num]

        return z


class TSTEncoder(nn.Module):
    def __init__(self, q_len, d_model, n_heads, d_k=None, d_v=None, d_ff=None,
                        norm='BatchNorm', attn_dropout=0., dropout=0., activation='gelu',
                        res_attention=False, n_layers=1, pre_norm=False, store_attn=False):
        super().__init__()

        self.layers = nn.ModuleList([TSTEncoderLayer(q_len, d_model, n_heads=n_heads, d_k=d_k, d_v=d_v, d_ff=d_ff, norm=norm,
                                                      attn_dropout=attn_dropout, dropout=dropout,
                                                      activation=activation, res_attention=res_attention,
                                                      pre_norm=pre_norm, store_attn=store_attn) for i in range(n_layers)])
        self.res_attention = res_attention

    def forward(self, src:Tensor, key_padding_mask:Optional[Tensor]=None, attn_mask:Optional[Tensor]=None):
        output = src
        scores = None
        if self.res_attention:
            for mod in self.layers: output, scores = mod(output, prev=scores, key_padding_mask=key_padding_mask, attn_mask=attn_mask)
            return output
        else:
            for mod in self.layers: output = mod(output, key_padding_mask=key_padding_mask, attn_mask=attn_mask)
            return output


class TSTEncoderLayer(nn.Module):
    def __init__(self, q_len, d_model, n_heads, d_k=None, d_v=None, d_ff=256, store_attn=False,
                 norm='BatchNorm', attn_dropout=0, dropout=0., bias=True, activation="gelu", res_attention=False, pre_norm=False):
        super().__init__()
        assert not d_model%n_heads, f"d_model ({d_model}) must be divisible by n_heads ({n_heads})"
        d_k = d_model // n_heads if d_k is None else d_k
        d_v = d_model // n_heads if d_v is None else d_v

        # Multi-Head attention
        self.res_attention = res_attention
        self.self_attn = _MultiheadAttention(d_model, n_heads, d_k, d_v, attn_dropout=attn_dropout, proj_dropout=dropout, res_attention=res_attention)

        # Add & Norm
        self.dropout_attn = nn.Dropout(dropout)
        if "batch" in norm.lower():
            self.norm_attn = nn.Sequential(Transpose(1,2), nn.BatchNorm1d(d_model), Transpose(1,2))
        else:
            self.norm_attn = nn.LayerNorm(d_model)

        # Position-wise Feed-Forward
        self.ff = nn.Sequential(nn.Linear(d_model, d_ff, bias=bias),
                                get_activation_fn(activation),
                                nn.Dropout(dropout),
                                nn.Linear(d_ff, d_model, bias=bias))

        # Add & Norm
        self.dropout_ffn = nn.Dropout(dropout)
        if "batch" in norm.lower():
            self.norm_ffn = nn.Sequential(Transpose(1,2), nn.BatchNorm1d(d_model), Transpose(1,2))
        else:
            self.norm_ffn = nn.LayerNorm(d_model)

        self.pre_norm = pre_norm
        self.store_attn = store_attn


    def forward(self, src:Tensor, prev:Optional[Tensor]=None, key_padding_mask:Optional[Tensor]=None, attn_mask:Optional[Tensor]=None) -> Tensor:

        # Multi-Head attention sublayer
        if self.pre_norm:
            src = self.norm_attn(src)
        ## Multi-Head attention
        if self.res_attention:
            src2, attn, scores = self.self_attn(src, src, src, prev, key_padding_mask=key_padding_mask, attn_mask=attn_mask)
        else:
            src2, attn = self.self_attn(src, src, src, key_padding_mask=key_padding_mask, attn_mask=attn_mask)
        if self.store_attn:
            self.attn = attn
        ## Add & Norm
        src = src + self.dropout_attn(src2) # Add: residual connection with residual dropout
        if not self.pre_norm:
            src = self.norm_attn(src)

        # Feed-forward sublayer
        if self.pre_norm:
            src = self.norm_ffn(src)
        ## Position-wise Feed-Forward
        src2 = self.ff(src)
        ## Add & Norm
        src = src + self.dropout_ffn(src2) # Add: residual connection with residual dropout
        if not self.pre_norm:
            src = self.norm_ffn(src)

        if self.res_attention:
            return src, scores
        else:
            return src


class _MultiheadAttention(nn.Module):
    def __init__(self, d_model, n_heads, d_k=None, d_v=None, res_attention=False, attn_dropout=0., proj_dropout=0., qkv_bias=True, lsa=False):
        """Multi Head Attention Layer
        Input shape:
            Q:       [batch_size (bs) x max_q_len x d_model]
            K, V:    [batch_size (bs) x q_len x d_model]
            mask:    [q_len x q_len]
        """
        super().__init__()
        d_k = d_model // n_heads if d_k is None else d_k
        d_v = d_model // n_heads if d_v is None else d_v

        self.n_heads, self.d_k, self.d_v = n_heads, d_k, d_v

        self.W_Q = nn.Linear(d_model, d_k * n_heads, bias=qkv_bias)
        self.W_K = nn.Linear(d_model, d_k * n_heads, bias=qkv_bias)
        self.W_V = nn.Linear(d_model, d_v * n_heads, bias=qkv_bias)

        # Scaled Dot-Product Attention (multiple heads)
        self.res_attention = res_attention
        self.sdp_attn = _ScaledDotProductAttention(d_model, n_heads, attn_dropout=attn_dropout, res_attention=self.res_attention, lsa=lsa)

        # Poject output
        self.to_out = nn.Sequential(nn.Linear(n_heads * d_v, d_model), nn.Dropout(proj_dropout))


    def forward(self, Q:Tensor, K:Optional[Tensor]=None, V:Optional[Tensor]=None, prev:Optional[Tensor]=None,
                key_padding_mask:Optional[Tensor]=None, attn_mask:Optional[Tensor]=None):

        bs = Q.size(0)
        if K is None: K = Q
        if V is None: V = Q

        # Linear (+ split in multiple heads)
        q_s = self.W_Q(Q).view(bs, -1, self.n_heads, self.d_k).transpose(1,2)       # q_s    : [bs x n_heads x max_q_len x d_k]
        k_s = self.W_K(K).view(bs, -1, self.n_heads, self.d_k).permute(0,2,3,1)     # k_s    : [bs x n_heads x d_k x q_len] - transpose(1,2) + transpose(2,3)
        v_s = self.W_V(V).view(bs, -1, self.n_heads, self.d_v).transpose(1,2)       # v_s    : [bs x n_heads x q_len x d_v]

        # Apply Scaled Dot-Product Attention (multiple heads)
        if self.res_attention:
            output, attn_weights, attn_scores = self.sdp_attn(q_s, k_s, v_s, prev=prev, key_padding_mask=key_padding_mask, attn_mask=attn_mask)
        else:
            output, attn_weights = self.sdp_attn(q_s, k_s, v_s, key_padding_mask=key_padding_mask, attn_mask=attn_mask)
        # output: [bs x n_heads x q_len x d_v], attn: [bs x n_heads x q_len x q_len], scores: [bs x n_heads x max_q_len x q_len]

        # back to the original inputs dimensions
        output = output.transpose(1, 2).contiguous().view(bs, -1, self.n_heads * self.d_v) # output: [bs x q_len x n_heads * d_v]
        output = self.to_out(output)

        if self.res_attention: return output, attn_weights, attn_scores
        else: return output, attn_weights


class _ScaledDotProductAttention(nn.Module):
    r"""Scaled Dot-Product Attention module (Attention is all you need by Vaswani et al., 2017) with optional residual attention from previous layer
    (Realformer: Transformer likes residual attention by He et al, 2020) and locality self sttention (Vision Transformer for Small-Size Datasets
    by Lee et al, 2021)"""

    def __init__(self, d_model, n_heads, attn_dropout=0., res_attention=False, lsa=False):
        super().__init__()
        self.attn_dropout = nn.Dropout(attn_dropout)
        self.res_attention = res_attention
        head_dim = d_model // n_heads
        self.scale = nn.Parameter(torch.tensor(head_dim ** -0.5), requires_grad=lsa)
        self.lsa = lsa

    def forward(self, q:Tensor, k:Tensor, v:Tensor, prev:Optional[Tensor]=None, key_padding_mask:Optional[Tensor]=None, attn_mask:Optional[Tensor]=None):
        '''
        Input shape:
            q               : [bs x n_heads x max_q_len x d_k]
            k               : [bs x n_heads x d_k x seq_len]
            v               : [bs x n_heads x seq_len x d_v]
            prev            : [bs x n_heads x q_len x seq_len]
            key_padding_mask: [bs x seq_len]
            attn_mask       : [1 x seq_len x seq_len]
        Output shape:
            output:  [bs x n_heads x q_len x d_v]
            attn   : [bs x n_heads x q_len x seq_len]
            scores : [bs x n_heads x q_len x seq_len]
        '''

        # Scaled MatMul (q, k) - similarity scores for all pairs of positions in an input sequence
        attn_scores = torch.matmul(q, k) * self.scale      # attn_scores : [bs x n_heads x max_q_len x q_len]

        # Add pre-softmax attention scores from the previous layer (optional)
        if prev is not None: attn_scores = attn_scores + prev

        # Attention mask (optional)
        if attn_mask is not None:                                     # attn_mask with shape [q_len x seq_len] - only used when q_len == seq_len
            if attn_mask.dtype == torch.bool:
                attn_scores.masked_fill_(attn_mask, -np.inf)
            else:
                attn_scores += attn_mask

        # Key padding mask (optional)
        if key_padding_mask is not None:                              # mask with shape [bs x q_len] (only when max_w_len == q_len)
            attn_scores.masked_fill_(key_padding_mask.unsqueeze(1).unsqueeze(2), -np.inf)

        # normalize the attention weights
        attn_weights = F.softmax(attn_scores, dim=-1)                 # attn_weights   : [bs x n_heads x max_q_len x q_len]
        attn_weights = self.attn_dropout(attn_weights)

        # compute the new values given the attention weights
        output = torch.matmul(attn_weights, v)                        # output: [bs x n_heads x max_q_len x d_v]

        if self.res_attention: return output, attn_weights, attn_scores
        else: return output, attn_weights


# ---------------------------------------------------------------------------------------------------------------------
# models/PatchTST.py
class Model(nn.Module):
    def __init__(self, configs, max_seq_len:Optional[int]=1024, d_k:Optional[int]=None, d_v:Optional[int]=None, norm:str='BatchNorm', attn_dropout:float=0.,
                 act:str="gelu", key_padding_mask:bool='auto',padding_var:Optional[int]=None, attn_mask:Optional[Tensor]=None, res_attention:bool=True,
                 pre_norm:bool=False, store_attn:bool=False, pe:str='zeros', learn_pe:bool=True, pretrain_head:bool=False, head_type = 'flatten', verbose:bool=False, **kwargs):

        super().__init__()

        # load parameters
        c_in = configs.enc_in
        context_window = configs.seq_len
        target_window = configs.pred_len

        n_layers = configs.e_layers
        n_heads = configs.n_heads
        d_model = configs.d_model
        d_ff = configs.d_ff
        dropout = configs.dropout
        fc_dropout = configs.fc_dropout
        head_dropout = configs.head_dropout

        individual = configs.individual

        patch_len = configs.patch_len
        stride = configs.stride
        padding_patch = configs.padding_patch

        revin = configs.revin
        affine = configs.affine
        subtract_last = configs.subtract_last

        decomposition = configs.decomposition
        kernel_size = configs.kernel_size

        # model
        self.decomposition = decomposition
        common = dict(c_in=c_in, context_window = context_window, target_window=target_window, patch_len=patch_len, stride=stride,
                      max_seq_len=max_seq_len, n_layers=n_layers, d_model=d_model,
                      n_heads=n_heads, d_k=d_k, d_v=d_v, d_ff=d_ff, norm=norm, attn_dropout=attn_dropout,
                      dropout=dropout, act=act, key_padding_mask=key_padding_mask, padding_var=padding_var,
                      attn_mask=attn_mask, res_attention=res_attention, pre_norm=pre_norm, store_attn=store_attn,
                      pe=pe, learn_pe=learn_pe, fc_dropout=fc_dropout, head_dropout=head_dropout, padding_patch = padding_patch,
                      pretrain_head=pretrain_head, head_type=head_type, individual=individual, revin=revin, affine=affine,
                      subtract_last=subtract_last, verbose=verbose, **kwargs)  # upstream: the same arguments written out
        # in each of the three PatchTST_backbone(...) calls below
        if self.decomposition:
            self.decomp_module = series_decomp(kernel_size)
            self.model_trend = PatchTST_backbone(**common)
            self.model_res = PatchTST_backbone(**common)
        else:
            self.model = PatchTST_backbone(**common)


    def forward(self, x):           # x: [Batch, Input length, Channel]
        if self.decomposition:
            res_init, trend_init = self.decomp_module(x)
            res_init, trend_init = res_init.permute(0,2,1), trend_init.permute(0,2,1)  # x: [Batch, Channel, Input length]
            res = self.model_res(res_init)
            trend = self.model_trend(trend_init)
            x = res + trend
            x = x.permute(0,2,1)    # x: [Batch, Input length, Channel]
        else:
            x = x.permute(0,2,1)    # x: [Batch, Channel, Input length]
            x = self.model(x)
            x = x.permute(0,2,1)    # x: [Batch, Input length, Channel]
        return x


# ---------------------------------------------------------------------------------------------------------------------
# utils/tools.py
def adjust_learning_rate(optimizer, scheduler, epoch, args, printout=True):
    # lr = args.learning_rate * (0.2 ** (epoch // 2))
    if args.lradj == 'type1':
        lr_adjust = {epoch: args.learning_rate * (0.5 ** ((epoch - 1) // 1))}
    elif args.lradj == 'type3':
        lr_adjust = {epoch: args.learning_rate if epoch < 3 else args.learning_rate * (0.9 ** ((epoch - 3) // 1))}
    elif args.lradj == 'constant':
        lr_adjust = {epoch: args.learning_rate}
    elif args.lradj == 'TST':
        lr_adjust = {epoch: scheduler.get_last_lr()[0]}
    # upstream: also 'type2', '3', '4', '5', '6' (fixed tables not used by these scripts)

    if epoch in lr_adjust.keys():
        lr = lr_adjust[epoch]
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr
        if printout: print('Updating learning rate to {}'.format(lr))


def get_args(**over):
    """run_longExp.py's arguments as scripts/PatchTST/electricity.sh sets them (only those the PatchTST path reads)."""
    args = SimpleNamespace(
        random_seed=2021, model='PatchTST', data='custom', features='M',
        seq_len=SEQ_LEN, label_len=48, pred_len=PRED_LEN,  # upstream: seq_len 336, pred_len 96 (label_len unused by PatchTST)
        enc_in=N_CHANNELS, e_layers=3, n_heads=N_HEADS, d_model=D_MODEL, d_ff=D_FF,
        dropout=0.2, fc_dropout=0.2, head_dropout=0.0, patch_len=16, stride=8,
        padding_patch='end', revin=1, affine=0, subtract_last=0, decomposition=0, kernel_size=25, individual=0,
        train_epochs=TRAIN_EPOCHS, patience=10, batch_size=32, learning_rate=0.0001, lradj='TST', pct_start=0.2,
        scale=True)
    for k, v in over.items():
        setattr(args, k, v)
    return args


# ---------------------------------------------------------------------------------------------------------------------
# exp/exp_main.py's Exp_Main (vali and the training loop of train(), the non-AMP PatchTST path), written as one function
def vali(model, args, vali_loader, criterion, inv_std=None):
    total_loss = []
    model.eval()
    with torch.no_grad():
        for i, (batch_x, batch_y) in enumerate(vali_loader):
            batch_x = batch_x.float()
            batch_y = batch_y.float()
            outputs = model(batch_x)
            f_dim = -1 if args.features == 'MS' else 0
            outputs = outputs[:, -args.pred_len:, f_dim:]
            batch_y = batch_y[:, -args.pred_len:, f_dim:]

            pred = outputs.detach().cpu()
            true = batch_y.detach().cpu()
            if inv_std is not None:  # the unscaled variants: errors put in the scaled units (divided by the train std)
                pred, true = pred * inv_std, true * inv_std
            loss = criterion(pred, true)

            total_loss.append(loss)
    total_loss = np.average(total_loss)
    model.train()
    return total_loss


def last_value_mse(args, loader, inv_std=None):
    """The naive forecast: the window's last observed value repeated over the horizon."""
    total = []
    for batch_x, batch_y in loader:
        pred = batch_x.float()[:, -1:, :].expand(-1, args.pred_len, -1)
        true = batch_y.float()[:, -args.pred_len:, :]
        if inv_std is not None:
            pred, true = pred * inv_std, true * inv_std
        total.append(float(((pred - true) ** 2).mean()))
    return float(np.average(total))


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_grad: bool = True,
          scale: bool = True, revin: int = 1, batch_size: int = 32, dropout: float | None = None,
          train_epochs: int = TRAIN_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    over = dict(random_seed=2020 + seed, scale=scale, revin=revin, batch_size=batch_size,  # upstream: random_seed 2021
                train_epochs=train_epochs)
    if dropout is not None:
        over.update(dropout=dropout, fc_dropout=dropout)
    args = get_args(**over)
    args.learning_rate = args.learning_rate * lr_mult

    # random seed (run_longExp.py)
    fix_seed = args.random_seed
    random.seed(fix_seed)
    torch.manual_seed(fix_seed)
    np.random.seed(fix_seed)

    raw = make_series()
    model = Model(args).float()
    if init_std is not None:  # the init_large variant: N(0, init_std) for every nn.Linear weight (biases kept)
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)

    train_data, train_loader = data_provider(args, 'train', raw)
    vali_data, vali_loader = data_provider(args, 'val', raw)
    test_data, test_loader = data_provider(args, 'test', raw)
    inv_std = None if args.scale else torch.tensor(1.0 / train_data.scaler.scale_, dtype=torch.float32)
    # upstream: checkpoints folder and EarlyStopping (patience 20) with the best model reloaded: not here

    train_steps = len(train_loader)
    model_optim = optim.Adam(model.parameters(), lr=args.learning_rate)  # _select_optimizer
    criterion = nn.MSELoss()  # _select_criterion

    init_test = float(vali(model, args, test_loader, criterion, inv_std))
    naive_test = last_value_mse(args, test_loader, inv_std)

    scheduler = lr_scheduler.OneCycleLR(optimizer = model_optim,
                                        steps_per_epoch = train_steps,
                                        pct_start = args.pct_start,
                                        epochs = args.train_epochs,
                                        max_lr = args.learning_rate)
    monitor = gradmedic.watch(model, model_optim, every=every)  # gradmedic

    losses = []
    for epoch in range(args.train_epochs):
        iter_count = 0
        train_loss = []

        model.train()
        epoch_time = time.time()
        for i, (batch_x, batch_y) in enumerate(train_loader):
            iter_count += 1
            if zero_grad:  # the no_zero_grad variant leaves this out
                model_optim.zero_grad()
            batch_x = batch_x.float()
            batch_y = batch_y.float()

            outputs = model(batch_x)
            f_dim = -1 if args.features == 'MS' else 0
            outputs = outputs[:, -args.pred_len:, f_dim:]
            batch_y = batch_y[:, -args.pred_len:, f_dim:]
            loss = criterion(outputs, batch_y)
            train_loss.append(loss.item())
            losses.append(loss.item())
            # upstream: prints the loss and speed every 100 iterations

            loss.backward()
            monitor.step(loss)  # gradmedic
            model_optim.step()

            if args.lradj == 'TST':
                adjust_learning_rate(model_optim, scheduler, epoch + 1, args, printout=False)
                scheduler.step()

        train_loss = np.average(train_loss)
        if verbose:  # upstream: vali and test loss every epoch, printed
            vali_loss = vali(model, args, vali_loader, criterion, inv_std)
            test_loss = vali(model, args, test_loader, criterion, inv_std)
            print("Epoch: {0}, Steps: {1} | Train Loss: {2:.7f} Vali Loss: {3:.7f} Test Loss: {4:.7f} ({5:.1f}s)".format(
                epoch + 1, train_steps, train_loss, vali_loss, test_loss, time.time() - epoch_time), flush=True)

        if args.lradj != 'TST':
            adjust_learning_rate(model_optim, scheduler, epoch + 1, args)
    monitor.close()

    test_mse = float(vali(model, args, test_loader, criterion, inv_std))
    vali_mse = float(vali(model, args, vali_loader, criterion, inv_std))
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "mse", "value": test_mse if math.isfinite(test_mse) else float("nan"),
            "initial": init_test, "initial_what": "the untrained model's test MSE (in the z-scored units of the series)",
            "chance": naive_test,
            "extra": {"naive_last_value_mse": naive_test, "vali_mse": vali_mse,
                      "train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "epochs": args.train_epochs,
                      "steps_per_epoch": train_steps, "lr": args.learning_rate, "lr_mult": lr_mult,
                      "init_std": -1.0 if init_std is None else init_std, "zero_grad": zero_grad, "scale": scale,
                      "revin": revin, "batch_size": batch_size, "dropout": args.dropout},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="patchtst", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"PatchTST (seq_len {SEQ_LEN}, pred_len {PRED_LEN}, patch 16 stride 8, d_model {D_MODEL}, {N_HEADS} heads, "
      f"3 layers, BatchNorm, RevIN; Adam lr 1e-4, OneCycleLR per batch (lradj 'TST', pct_start 0.2), batch 32, "
      f"{TRAIN_EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"patchtst_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"patchtst_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k},
             f"{_P}: learning_rate (OneCycleLR's max_lr) x{k} ({1e-4 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,)), (10000, (1,))) for s in ss]
    + [_case("patchtst_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: learning_rate /1000 (1e-07)")]
    + [_case(f"patchtst_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every nn.Linear weight (W_P, W_Q/W_K/W_V, to_out, the feed-forward "
             f"pair, the flatten head) instead of PyTorch's default U(+-1/sqrt(fan_in)) (biases kept)") for s in (1, 2)]
    + [_case(f"patchtst_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: model_optim.zero_grad() left out of the loop: the gradients accumulate") for s in (1, 2)]
    + [_case("patchtst_raw_series_s1", "unscaled_inputs", 1, {"scale": False},
             f"{_P}: the data loader's StandardScaler left out (scale=False): the raw series, levels 150-900, in and "
             f"out (RevIN, on by default, normalizes each window; the metric is put back in the z-scored units)")]
    + [_case("patchtst_raw_norevin_s1", "unscaled_target", 1, {"scale": False, "revin": 0},
             f"{_P}: StandardScaler left out and --revin 0: raw values in the hundreds go into W_P and come out of the "
             f"flatten head's Linear as the forecast, MSE in raw units (metric in the z-scored units)")]
    + [_case("patchtst_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: learning_rate x2 (2e-4; expected harmless)")]
    + [_case("patchtst_dropout0_s1", "healthy", 1, {"dropout": 0.0},
             f"{_P}: --dropout 0 and --fc_dropout 0 instead of 0.2 (expected harmless; no cause names it)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
