"""The stranger's benchmark, corpus (b): real public training code, healthy and broken, labelled by outcome.

    python bench/stranger/public/run.py [--out bench/stranger/cases/public] [--only nanogpt,mnist]

Programs (each adapted minimally to run offline on one CPU thread; see each file's docstring):
nanogpt.py (karpathy/nanoGPT), word_language_model.py, mnist.py, vae.py, dcgan.py, time_sequence_prediction.py,
regression.py, mnist_rnn.py, siamese.py, super_resolution.py, gcn.py (pytorch/examples), mingpt.py (karpathy/minGPT),
makemore.py (karpathy/makemore: its Transformer, GRU, RNN and MLP), hfbert.py (a tiny BERT fine-tuned by the Hugging
Face transformers Trainer, as in its run_glue.py example, watched by GradmedicCallback), and the self-describing modules
in ``MODULES`` below (each one's docstring says what it follows: yunjey's tutorial, the Lightning autoencoder, GPT-2 and
masked-LM BERT under the HF Trainer, gat, SimpleViT, nn-zero-to-hero's BatchNorm MLP, the PyTorch seq2seq tutorial, d2l's
LeNet and RNN, a T5 under the HF Seq2SeqTrainer, ConvNeXt, the M5 audio net, d2l's house-price regression, the "Let's build GPT"
lecture's gpt.py, a ViT under the HF Trainer, lucidrains' TabTransformer, practical-pytorch's char-RNN, pytorch-cifar's
PreActResNet18, rtdl's tabular MLP and ResNet, mamba.py's Mamba LM, locuslab's TCN on the adding problem,
milesial's U-Net, the Hugging Face course's training loop, Lightning's backbone image classifier,
word_language_model's Transformer, LLMs-from-scratch's chapter-5 GPT, the 60-minute blitz classifier, the spatial
transformer tutorial, NVIDIA's NCF recommender, the "What is torch.nn really?" tutorial's CNN, yunjey's feedforward and
convolutional basics, and d2l's concise softmax regression and MLP).
Every variant is the program with one change, and its counterfactual is the same program and seed
without it (the program's "healthy" case, run first).  Each run is watched with
``gradmedic.watch(model, optimizer, every=10)`` and saved with ``monitor.save(path, **meta)``, meta as
``bench/stranger/causes.py`` asks (source, family, name, cause, outcome, control, label, onset, seed)
plus ``variant`` (what was changed, and where ``monitor.step`` sits), ``arch`` and ``extra``.

Labels (by outcome only; the doctor is never consulted):
- a variant is "broken" when ``clearly_better(metric, variant, control)``, or, for a loss, when it made at
  most half its control's progress from the control's start (``half_the_progress``: a char-level LM's
  healthy run goes from 4.4 to 2.7, so a run stuck at 4.4 is not below half by the first rule); for the GAN,
  whose Frechet distance is noisy, only when the control's distance is under a quarter of the variant's;
- "healthy" when the run trains to a good outcome (below) and is not worse than its control (loss at
  most 1.1x the control's, accuracy at most 3 points below, GAN distance at most 1.5x) and never blew
  up on the way (every recorded loss finite, the largest at most 2x the control's largest); a "healthy"
  program run (cause "healthy") is labelled against the good-outcome rule alone, or, for the
  GradScaler and accumulation runs, that rule and not clearly worse than the plain run;
- "ambiguous" otherwise (excluded from the scores).
A good outcome: a finite metric and, for losses, a final loss (mean of the last 20 steps) at most 0.7x
the loss at the start (mean of the first 5 steps; for time_sequence_prediction's 15 LBFGS steps the training
MSE at the final parameters against the first step's, both in the units of a unit sine); for the digit
classifiers (and the siamese pairs, hfbert's sentences), test or eval accuracy >= 0.9;
for the GAN, a Frechet distance at most half the untrained generator's and a discriminator that has
not won outright (final D(x) < 0.99 or D(G(z)) > 0.01).

Resumable: a case whose .npz exists is not run again (its outcome is read back from the file).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
for p in (str(HERE), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

import torch  # noqa: E402

torch.set_num_threads(1)

from bench.stranger.causes import CAUSES, clearly_better  # noqa: E402

# Programs that describe themselves: each module has ARCH, MONITOR_AT and CASES (in the shape of ``case()``).
MODULES = ("mingpt", "hfbert", "siamese", "makemore", "super_resolution", "gcn", "tutorial", "lightning_ae", "hfgpt2", "gat",
           "vit", "zerotohero", "seq2seq", "hfmlm", "d2l", "hft5", "convnext", "m5audio", "d2lhouse", "ngvideo", "hfvit",
           "tabtransformer", "charrnn", "cifarnet", "rtdl", "mambalm", "tcn", "unet", "hfloop", "litclassifier",
           "wlmtransformer", "llmscratch", "blitz", "stn", "ncf", "nntutorial", "yunjeybasic", "d2lconcise",
           "morvan", "charrnngen", "mlpmixer", "llama2c", "jcjohnson", "quickstart",
           "ngram", "fcgan", "hfllama", "capsnet", "alprnn", "introyt", "lenet5",
           "ztmcircles", "ztmvgg", "bmlp", "gmlp",
           "udcharrnn", "gkbilstm", "bilstmcrf", "rasbtae", "yjlm", "fabriccls", "udmlp", "d2lbn",
           "buildnanogpt", "hfaccel", "alpvae", "pttransformer",
           "heatonmlp", "morvanrnnreg", "rasbtresnet", "udcnn",
           "udsgd", "udae", "alpcnnsched", "d2lscratch",
           "morvancnn", "morvandrop", "d2lmlpscratch", "alpcnn",
           "yjlogreg", "morvanreg", "morvancls", "d2llinscratch",
           "annotxf", "mzbn", "plogreg", "pttextcls",
           "uvainit", "uvaxf", "bts2s", "gknlp",
           "udinit", "muongpt", "d2lxf", "ptpos",
           "rasbtlstm", "vqvae", "tslstm", "hfner",
           "amprecipe", "fastaimb", "ddpm1d", "d2llstm",
           "mzopt", "d2lopt", "ptchatbot",
           "mzgan", "yjvae", "yjbirnn",
           "ptkd", "triplet", "gkattn",
           "zthwavenet", "wgangp", "d2lgru",
           "dlwlstm", "dflae",
           "fainit", "ztmwork", "llmcls",
           "mlbxor", "mlbchar",
           "btnbow", "mlbiris",
           "mlbgan",
           "d2ldrop",
           "rasbtmse", "rasbtgan",
           "faact", "d2lgan",
           "nflows", "made",
           "dlwfnn", "dlwcnn",
           "alpinit", "alpbilstm",
           "d2lresnet", "d2ldensenet",
           "gklstm", "gkxf",
           "uvaact", "uvaintro",
           "d2lwd", "d2lnw",
           "ptlegendre", "ptdynnet",
           "szkdiab", "szkrnn",
           "atcspiral", "atcseq",
           "btmlp", "btlenet",
           "udbn", "udw2v",
           "gktextrnn", "gkseq2seq",
           "d2lrnnscratch",
           "rasbtbn", "rasbtheinit",
           "mzcgan", "alpfc",
           "zthmlp", "mzae",
           "dflconv", "dflmlp",
           "elgan", "elwgan",
           "mlblin", "mlbmlp",
           "ptff", "ptbowtoy",
           "d2lsoftmax", "d2ldeeprnn",
           "alpamp", "alpfcnn",
           "yjrnn",
           "uvaae", "udval",
           "rasbtdropout",
           "d2lregnet",
           "faaccel", "faresnet",
           "atcconv", "atcecho",
           "gkw2v", "gkbert",
           "d2lrnnconcise", "d2lsmconcise",
           "mingptadder", "mmbow",
           "rasbtmlpbasic", "rasbtlogreg",
           "vkmodern", "vkconv",
           "udlres",
           "m1dmlp", "m1dcnn",
           "llmcgpt",
           "convmixer",
           "dngan",
           "d2lseq",
           "elacgan",
           "fbmnistlin", "fbsimplenet",
           "ngbigram",
           "plffn", "plcnn",
           "pbgan",
           "pbrnn",
           "udgan",
           "antixvae",
           "szksoftmax", "szkcnn",
           "d2llinconcise",
           "mzrnncls",
           "ekan",
           "tinyddpm",
           "hopinn",
           "sirenimg",
           "hamdn",
           "sfmnist",
           "kcifar",
           "awdlstm",
           "ptreinforce",
           "ellsgan",
           "nbeats",
           "pbconvae",
           "d2ldcgan",
           "bbbmlp",
           "realnvp",
           "fbch12lm",
           "nnsae",
           "pointnet",
           "deepsurv",
           "coralmlp",
           "cfm2d",
           "glove",
           "pixelcnn",
           "gumbelvae",
           "torchmf",
           "moe",
           "attnmil",
           "deepsvdd",
           "hnnspring",
           "nalu",
           "deepsets",
           "spytorch",
           "deepfm",
           "binarynet",
           "dann",
           "pointernet",
           "ntmcopy",
           "mamlsine",
           "fastadv",
           "lotteryticket",
           "mixupcifar",
           "odedemo",
           "concretedrop",
           "gin",
           "ranknet",
           "dec",
           "hypernet",
           "planarflow",
           "mtluncert",
           "elaae",
           "gaelink",
           "autorec",
           "settransformer",
           "protonet",
           "vatssl",
           "sasrec",
           "coteach",
           "meanteacher",
           "arcface", "graphsage",
           "kimcnn", "namadd",
           "iwae", "attnseq2seq",
           "transe", "deepar",
           "cvae",
           "pinnburgers",
           "dncnn",
           "tabnet",
           "s4d",
           "mingru",
           "wrn",
           "sngan",
           "dcn",
           "dqncartpole",
           "vrnn",
           "lstnet",
           "lstmae",
           "highway",
           "ptac",
           "patchtst",
           "perceiver",
           "ffdigits",
           "ppo",
           "poincare",
           "mae",
           "dlinear",
           "supcon",
           "dsm2d",
           "nca")
PARTS = {"dcgan": ("netD", "netG")}  # programs watched by several monitors: one file per part, in train()'s order
ARCH = {"nanogpt": "gpt", "word_language_model": "lstm", "mnist": "cnn", "vae": "vae", "dcgan": "gan",
        "time_sequence_prediction": "lstm", "regression": "linear", "mnist_rnn": "lstm"}
MONITOR_AT = {
    "nanogpt": "monitor.step(loss) right after scaler.scale(loss).backward() of each micro-step (loss already divided by the "
               "micro-step count), before unscale_/clip_grad_norm_(1.0)/scaler.step",
    "word_language_model": "watch(model) without an optimizer (the loop updates p.data by hand); monitor.step(loss) right "
                           "after loss.backward(), before clip_grad_norm_",
    "mnist": "monitor.step(loss) after loss.backward(), before optimizer.step()",
    "vae": "monitor.step(loss) after loss.backward() (loss summed over the batch), before optimizer.step()",
    "dcgan": "two monitors: netD's stepped with errD after the fake half's backward, netG's with errG after errG.backward()",
    "time_sequence_prediction": "watch(seq, optimizer); monitor.step(loss) once per LBFGS step, inside the closure "
                                "after loss.backward() on its first call of the step (the loss and gradient at the step's "
                                "starting point), not on LBFGS's further evaluations",
    "regression": "watch(fc) without an optimizer (the loop updates param.data by hand); monitor.step(output) right after "
                  "output.backward(), before the update",
    "mnist_rnn": "monitor.step(loss) after loss.backward(), before optimizer.step()",
}
for _m in MODULES:
    ARCH[_m] = __import__(_m).ARCH
    MONITOR_AT[_m] = __import__(_m).MONITOR_AT
    if getattr(__import__(_m), "PARTS", None):  # a module watched by several monitors names them (fcgan: disc, gen)
        PARTS[_m] = tuple(__import__(_m).PARTS)


def case(program, name, cause, seed, kwargs, variant, control=True):
    return dict(program=program, name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


def cases() -> list[dict]:
    out = []
    S = (1, 2, 3)
    # nanoGPT ---------------------------------------------------------------------------------------
    P = "nanogpt"
    for s in S:
        out.append(case(P, f"nanogpt_healthy_s{s}", "healthy", s, {}, "unchanged (learning_rate 1e-3, AdamW, cosine, clip 1.0)",
                        False))
    for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))):
        for s in ss:
            out.append(case(P, f"nanogpt_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k},
                            f"learning_rate and min_lr x{k} (learning_rate {1e-3 * k:g})"))
    out.append(case(P, "nanogpt_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
                    "learning_rate and min_lr /1000 (learning_rate 1e-6)"))
    for s in (1, 2):
        out.append(case(P, f"nanogpt_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
                        "normal init std 1.0 instead of 0.02 for every Linear and Embedding (c_proj 1.0/sqrt(2*n_layer))"))
    out.append(case(P, "nanogpt_zero_init_s1", "symmetric_init", 1, {"zero_init": True},
                    "zeros_ instead of normal_ in _init_weights (all Linear weights and the embeddings, tied lm_head too; "
                    "c_proj's scaled normal init kept)"))
    for s in (1, 2):
        out.append(case(P, f"nanogpt_gradscaler_s{s}", "healthy", s, {"scaler": True},
                        "torch.amp.GradScaler('cpu', enabled=True) as with dtype='float16' (init_scale 65536, no autocast on CPU "
                        "as in the original); monitor.step(loss) after scaler.scale(loss).backward(), so the gradients it "
                        "sees are multiplied by the scale; unscale_ before clipping"))
    out.append(case(P, "nanogpt_grad_accum2_s1", "healthy", 1, {"gradient_accumulation_steps": 2, "batch_size": 16},
                    "gradient_accumulation_steps=2 with micro-batch 16 (same 32 sequences per iteration), monitor.step(loss) per "
                    "micro-batch with the loss divided by 2, as in train.py"))
    # word_language_model ----------------------------------------------------------------------------
    P = "word_language_model"
    for s in S:
        out.append(case(P, f"wlm_healthy_s{s}", "healthy", s, {}, "unchanged (LSTM, SGD by hand lr 20, clip 0.25)", False))
    for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))):
        for s in ss:
            out.append(case(P, f"wlm_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"lr x{k} ({20 * k:g}), clip 0.25 kept"))
    out.append(case(P, "wlm_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "lr /1000 (0.02)"))
    for s in (1, 2):
        out.append(case(P, f"wlm_no_clip_s{s}", "no_clipping", s, {"clip": None}, "no clip_grad_norm_ at the default lr 20"))
    # mnist -------------------------------------------------------------------------------------------
    P = "mnist"
    for s in S:
        out.append(case(P, f"mnist_healthy_s{s}", "healthy", s, {}, "unchanged (Adadelta lr 1.0, StepLR 0.7)", False))
    for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))):
        for s in ss:
            out.append(case(P, f"mnist_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adadelta lr x{k} ({k:g})"))
    for s in (1, 2):
        out.append(case(P, f"mnist_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, "Adadelta lr /1000 (0.001)"))
    for s in (1, 2):
        out.append(case(P, f"mnist_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
                        "raw 0..255 pixel values: no ToTensor scaling, no Normalize"))
    for s in (1, 2):
        out.append(case(P, f"mnist_zero_fc1_s{s}", "symmetric_init", s, {"zero_layer": "fc1"},
                        "nn.init.zeros_ on fc1.weight and fc1.bias"))
    for s in (1, 2):
        out.append(case(P, f"mnist_zero_fc2_s{s}", "symmetric_init", s, {"zero_layer": "fc2"},
                        "nn.init.zeros_ on fc2.weight and fc2.bias (the output layer)"))
    out.append(case(P, "mnist_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
                    "optimizer.zero_grad() left out of train(): the gradients accumulate"))
    # vae ---------------------------------------------------------------------------------------------
    P = "vae"
    for s in S:
        out.append(case(P, f"vae_healthy_s{s}", "healthy", s, {}, "unchanged (Adam lr 1e-3)", False))
    for k, ss in ((100, (1,)), (1000, (1, 2))):
        for s in ss:
            out.append(case(P, f"vae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({1e-3 * k:g})"))
    # dcgan -------------------------------------------------------------------------------------------
    P = "dcgan"
    for s in (1, 2):
        out.append(case(P, f"dcgan_healthy_s{s}", "healthy", s, {}, "unchanged (both Adam lr 2e-4, betas (0.5, 0.999))", False))
    for s in (1, 2):
        out.append(case(P, f"dcgan_d_lr_x100_s{s}", "lr_high", s, {"lr_mult_d": 100}, "optimizerD lr x100 (0.02), G unchanged"))
    # time_sequence_prediction ------------------------------------------------------------------------
    P = "time_sequence_prediction"
    for s in S:
        out.append(case(P, f"tsp_healthy_s{s}", "healthy", s, {}, "unchanged (LBFGS lr 0.8, max_iter 20, 15 steps, float64)",
                        False))
    for k, ss in ((10, (1,)), (100, (1, 2))):
        for s in ss:
            out.append(case(P, f"tsp_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"LBFGS lr x{k} ({0.8 * k:g})"))
    for s in (1, 2):
        out.append(case(P, f"tsp_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
                        "nn.init.normal_(std=1.0) on every weight of both LSTMCells and the Linear (default uniform "
                        "+-1/sqrt(51) = +-0.14; biases kept)"))
    for s in (1, 2):
        out.append(case(P, f"tsp_scale100_s{s}", "unscaled_target", s, {"scale": 100.0},
                        "the series in raw units of amplitude 100 (100 sin(x/T)), input and target not standardized; "
                        "the outcome is divided by 100^2"))
    # regression --------------------------------------------------------------------------------------
    P = "regression"
    for s in S:
        out.append(case(P, f"regression_healthy_s{s}", "healthy", s, {},
                        "unchanged (Linear(4, 1), smooth_l1_loss, param.data.add_(-0.1 * grad)), 1500 steps", False))
    for k, ss in ((10, (1, 2)), (100, (1, 2))):
        for s in ss:
            out.append(case(P, f"regression_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k},
                            f"update -{0.1 * k:g} * param.grad (lr x{k})"))
    for s in (1, 2):
        out.append(case(P, f"regression_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3},
                        "update -0.0001 * param.grad (lr /1000)"))
    for s in (1, 2):
        out.append(case(P, f"regression_raw_x10_s{s}", "unscaled_inputs", s, {"input_scale": 10.0},
                        "features x..x^4 of the raw x_raw = 10 x (x^4 to ~1e4) instead of the standardized x; "
                        "target unchanged"))
    # mnist_rnn ---------------------------------------------------------------------------------------
    P = "mnist_rnn"
    for s in S:
        out.append(case(P, f"mnistrnn_healthy_s{s}", "healthy", s, {},
                        "unchanged (Adadelta lr 0.1, StepLR 0.7; 2 epochs of 944 steps)", False))
    for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1, 2))):
        for s in ss:
            out.append(case(P, f"mnistrnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adadelta lr x{k} ({0.1 * k:g})"))
    for s in (1, 2):
        out.append(case(P, f"mnistrnn_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, "Adadelta lr /1000 (0.0001)"))
    for s in (1, 2):
        out.append(case(P, f"mnistrnn_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
                        "raw 0..255 pixel values: no ToTensor scaling, no Normalize"))
    for s in (1, 2):
        out.append(case(P, f"mnistrnn_zero_fc1_s{s}", "symmetric_init", s, {"zero_layer": "fc1"},
                        "nn.init.zeros_ on fc1.weight and fc1.bias"))
    out.append(case(P, "mnistrnn_zero_rnn_s1", "symmetric_init", 1, {"zero_layer": "rnn"},
                    "nn.init.zeros_ on every LSTM weight and bias"))
    # the self-describing programs: minGPT (chargpt's data and config, the Trainer's loop), the Hugging Face Trainer
    # with a tiny BERT (run_glue.py), siamese_network, makemore, super_resolution, gcn (see each module's docstring)
    for m in MODULES:
        out += __import__(m).CASES
    return out


def good_outcome(r: dict) -> bool:
    v = r["value"]
    if not math.isfinite(v):
        return False
    if r["metric"] == "accuracy":
        return v >= 0.9
    if r["metric"] == "frechet_8x8":
        e = r["extra"]
        return v <= 0.5 * r["initial"] and (e["final_D_x"] < 0.99 or e["final_D_G_z1"] > 0.01)
    return math.isfinite(r["initial"]) and v <= 0.7 * r["initial"]


def no_harm(metric: str, v: float, c: float) -> bool:
    if metric == "accuracy":
        return v >= c - 0.03
    if metric == "frechet_8x8":
        return v <= 1.5 * c
    return v <= 1.1 * c


def half_the_progress(v: float, control: float, start: float) -> bool:
    """A loss run that made at most half its control's progress from the control's own start (the untrained
    program's loss): a char-level LM whose healthy run goes from 4.4 to 2.7 in 400 steps is not "clearly better"
    than one stuck at 4.4 by ``clearly_better``'s halved loss, yet the stuck run learned nothing."""
    if not (math.isfinite(start) and math.isfinite(control) and start > control):
        return False
    return not math.isfinite(v) or start - control >= 2 * (start - v)


def label(c: dict, r: dict, control: float | None, loss_max: float = float("nan"), control_loss_max: float = float("nan"),
          control_start: float = float("nan")) -> str:
    """``loss_max``: the largest loss the run's monitor recorded (NaN if any was not finite); ``control_loss_max``
    the same for its control: a change that did no harm must not have blown the loss up on the way.
    ``control_start``: the control's loss at the start (its reference value), for :func:`half_the_progress`."""
    metric, v = r["metric"], r["value"]
    if c["cause"] == "healthy":
        ok = good_outcome(r) and (control is None or not clearly_better(metric, v, control))
        return "healthy" if ok else "ambiguous"
    if metric == "frechet_8x8":  # noisy: a wider margin than clearly_better's
        broken = (not math.isfinite(v) and math.isfinite(control)) or (math.isfinite(v) and control < 0.25 * v)
    else:
        broken = clearly_better(metric, v, control) or (
            metric != "accuracy" and half_the_progress(v, control, control_start))
    if broken:
        return "broken"
    if good_outcome(r) and no_harm(metric, v, control) and loss_max <= 2 * control_loss_max:
        return "healthy"
    return "ambiguous"


def control_name(c: dict) -> str:
    """The name of a case's counterfactual: the healthy run of the same program (the name's prefix) and seed."""
    return c["name"].split("_")[0] + f"_healthy_s{c['seed']}"


def run_program(program: str, kwargs: dict) -> dict:
    mod = __import__(program)
    return mod.train(seed=kwargs.pop("seed"), **kwargs)


def paths(out: Path, c: dict) -> list[Path]:
    parts = PARTS.get(c["program"])
    if parts:
        return [out / f"{c['name']}_{part}.npz" for part in parts]
    return [out / f"{c['name']}.npz"]


def read_meta(path: Path) -> dict:
    from gradmedic.measure.history import History

    return History.load(path)[1]


def loss_max(path: Path) -> float:
    import numpy as np

    from gradmedic.measure.history import History

    loss = History.load(path)[0].loss
    return float(np.max(loss)) if len(loss) and np.isfinite(loss).all() else float("nan")


def relabel(out: Path, c: dict, ps: list[Path], m: dict) -> str:
    """Label a saved case again under the rules above; rewrite its files' meta when the label changes."""
    from gradmedic.measure.history import History

    r = {"metric": m["outcome"]["metric"], "value": m["outcome"]["value"], "initial": m["reference"]["value"],
         "extra": m["extra"]}
    control, cmax, cstart = None, float("nan"), float("nan")
    if c["control"]:
        control = m["control"]["value"]
        cpath = paths(out, {"program": c["program"], "name": m["control"]["run"]})[0]
        cmax = loss_max(cpath)
        cstart = float(read_meta(cpath)["reference"]["value"] or float("nan"))
    new = label(c, r, control, loss_max(ps[0]), cmax, cstart)
    if new != m["label"]:
        for p in ps:
            h, mm = History.load(p)
            mm["label"] = new
            h.save(p, **mm)
    return new


def fmt(v):
    return "None" if v is None else f"{v:.4g}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Run the public-code corpus of the stranger's benchmark (healthy and broken "
                                             "variants of nanoGPT and pytorch/examples programs, labelled by outcome).")
    ap.add_argument("--out", default=str(ROOT / "bench/stranger/cases/public"), help="folder for the .npz cases")
    ap.add_argument("--only", default="", help="comma-separated program names (nanogpt, word_language_model, mnist, vae, "
                                               "dcgan, time_sequence_prediction, regression, mnist_rnn, "
                                               + ", ".join(MODULES) + ") or case names; default: all")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    a = ap.parse_args(argv)
    out = Path(a.out)
    todo = cases()
    if a.only:
        keys = {k.strip() for k in a.only.split(",") if k.strip()}
        todo = [c for c in todo if c["program"] in keys or c["name"] in keys]
    if a.list:
        for c in todo:
            print(c["name"], c["cause"], c["variant"])
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for c in todo:
        assert c["cause"] == "healthy" or c["cause"] in CAUSES, c["cause"]
    # the healthy run's value by its name (a program with several models - makemore - has one healthy run per model
    # and seed, told apart by the name's prefix, e.g. mmtf_healthy_s1 and mmgru_healthy_s1)
    controls: dict[str, float] = {}
    t_all = time.time()
    for c in todo:
        ps = paths(out, c)
        key = control_name(c)
        if all(p.exists() for p in ps):
            m = read_meta(ps[0])
            if c["cause"] == "healthy" and not c["control"]:
                controls[key] = m["outcome"]["value"]
            lab = relabel(out, c, ps, m)
            was = "" if lab == m["label"] else f" (was {m['label']})"
            print(f"{c['name']:28s} {c['cause']:16s} exists: {m['outcome']['metric']} {fmt(m['outcome']['value'])} vs "
                  f"{fmt(m['control']['value'])} -> {lab}{was}", flush=True)
            continue
        control = None
        if c["control"]:
            if key not in controls:  # its counterfactual: the healthy case of that program (model) and seed
                hp = paths(out, {"program": c["program"], "name": key})
                if all(p.exists() for p in hp):
                    controls[key] = read_meta(hp[0])["outcome"]["value"]
                else:
                    print(f"{c['name']}: no control run (run its program's healthy_s{c['seed']} first); skipped", flush=True)
                    continue
            control = controls[key]
        r = run_program(c["program"], dict(c["kwargs"], seed=c["seed"]))
        if c["cause"] == "healthy" and not c["control"]:
            controls[key] = r["value"]
        import numpy as np
        mon_loss = next(iter(r["monitors"].values())).history.loss
        run_max = float(np.max(mon_loss)) if len(mon_loss) and np.isfinite(mon_loss).all() else float("nan")
        ctrl_name0 = control_name(c)
        cpath = paths(out, {"program": c["program"], "name": ctrl_name0})[0]
        cmax = loss_max(cpath) if c["control"] else float("nan")
        cstart = float(read_meta(cpath)["reference"]["value"] or float("nan")) if c["control"] else float("nan")
        lab = label(c, r, control, run_max, cmax, cstart)
        ctrl_name = control_name(c) if c["control"] else c["name"]
        meta = dict(source="public", family=c["program"], arch=ARCH[c["program"]], name=c["name"], cause=c["cause"],
                    outcome={"metric": r["metric"], "value": r["value"]},
                    control={"metric": r["metric"], "value": control if c["control"] else r["value"], "run": ctrl_name},
                    reference={"metric": r["metric"], "value": r["initial"],
                               "what": r.get("initial_what") or (
                                   "untrained: mean loss of the first 5 steps" if r["metric"] == "train_loss" else
                                   "untrained generator" if r["metric"] == "frechet_8x8" else "chance accuracy 0.1")},
                    label=lab, onset=None if c["cause"] == "healthy" else 0, seed=c["seed"],
                    variant=c["variant"] + "; watch: " + MONITOR_AT[c["program"]],
                    extra=dict(r["extra"], seconds=r["seconds"], python=sys.version.split()[0], torch=torch.__version__))
        for (part, mon), p in zip(r["monitors"].items(), ps, strict=True):
            m = dict(meta)
            if part:
                m["name"], m["part"] = f"{c['name']}_{part}", part
            mon.save(str(p), **m)
        print(f"{c['name']:28s} {c['cause']:16s} {r['metric']} {fmt(r['value'])} vs control {fmt(control)} "
              f"(start {fmt(r['initial'])}) -> {lab}  {r['seconds']:.0f}s", flush=True)
    print(f"done in {time.time() - t_all:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
