"""Where people train: callbacks for Lightning and the Hugging Face Trainer.

Each submodule imports its framework when it is imported, never before: ``import gradmedic`` stays
torch and numpy only.

- :mod:`gradmedic.integrations.lightning`: ``GradmedicCallback`` for ``lightning.Trainer``;
- :mod:`gradmedic.integrations.huggingface`: ``GradmedicCallback`` for ``transformers.Trainer``.
"""
