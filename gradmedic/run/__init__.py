"""The trainer: the training loop firing events (train), what a run directory holds (records), TensorBoard
events and the sinks that send a monitor's records to loggers (TensorBoard and W&B)."""
