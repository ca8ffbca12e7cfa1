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

__all__ = ["PROBLEMS", "Diagnosis", "Finding", "Monitor", "Remedy", "SpecError", "Thresholds", "WatchError", "watch"]
__version__ = "0.1.0"
