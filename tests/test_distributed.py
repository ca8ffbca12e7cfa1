"""The monitor under torch.distributed: ``torchrun --nproc_per_node 2`` (gloo, CPU) on a tiny DDP loop
records the same global statistics as one process on the same global batch; every rank holds them,
rank 0 alone reports; layer names drop DDP's ``module.``."""

import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
import ddp_worker  # noqa: E402

from gradmedic.measure.history import History  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), str(Path(ddp_worker.__file__)), str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**__import__("os").environ,
                                                                              "OMP_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr[-3000:]
    return out, p.stdout


def test_two_ranks_record_what_one_process_records_on_the_global_batch(ddp_run):
    out, _ = ddp_run
    h0, meta = History.load(out / "rank0.npz")
    single = ddp_worker.train(ddp_worker.make_model(), ddp_worker.global_batches(2)).history
    assert meta["layer_names"] == ["0", "2", "4"]  # not "module.0"
    assert h0.stat_steps.tolist() == single.stat_steps.tolist() == [1, 3, 5, 7]
    np.testing.assert_allclose(h0.loss, single.loss, rtol=1e-5)
    for stat in ("grad_norm", "weight_norm", "update_ratio"):
        np.testing.assert_allclose(h0.layer(stat), single.layer(stat), rtol=1e-4, equal_nan=True)
    np.testing.assert_allclose(h0.pre_clip_norm, single.pre_clip_norm, rtol=1e-5)
    for stat in ("mean", "std", "zero_frac", "sat_frac", "dead_frac"):
        np.testing.assert_allclose(h0.act(stat), single.act(stat), rtol=1e-4, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(h0.hists, single.hists)  # counts: summed over ranks
    np.testing.assert_allclose(h0.inputs, single.inputs, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(h0.output("logit_range"), single.output("logit_range"), rtol=1e-5)
    assert (h0.pre_clip_norm > ddp_worker.CLIP).any()  # clipping happened, and was measured after it


def test_every_rank_holds_the_same_history_and_only_rank_0_reports(ddp_run):
    out, stdout = ddp_run
    h0, _ = History.load(out / "rank0.npz")
    h1, _ = History.load(out / "rank1.npz")
    for a, b in ((h0.loss, h1.loss), (h0.layer("grad_norm"), h1.layer("grad_norm")), (h0.act("std"), h1.act("std"))):
        np.testing.assert_array_equal(a, b)
    assert stdout.count("gradmedic:") == 1
