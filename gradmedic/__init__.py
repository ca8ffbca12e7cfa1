"""gradmedic: watch any PyTorch training loop, diagnose why it does not train, apply the seeds' remedies.

    import gradmedic
    monitor = gradmedic.watch(model, optimizer)
    ...  # loss.backward(); monitor.step(loss); optimizer.step()
    print(monitor.diagnose())
"""

from .diagnose import PROBLEMS, Diagnosis, Finding, Thresholds
from .errors import SpecError, WatchError
from .monitor import Monitor, watch
from .remedies import Remedy
from .repair import RepairResult, repair  # binds gradmedic.repair to the function, not the module
from .tune import TuneResult, tune  # optuna is imported when a search starts

__all__ = ["PROBLEMS", "Diagnosis", "Finding", "Monitor", "Remedy", "RepairResult", "SpecError", "Thresholds", "TuneResult", "WatchError", "repair", "tune", "watch"]
__version__ = "0.1.0"
