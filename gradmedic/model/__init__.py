"""What a spec builds: the data (scikit-learn sets, CSV, text), the network (build, init, activations
such as Maxout), the optimizer, loss and schedule (optim), and plan(): the loss resolved and checked for the
task, rows per batch and steps, once for the trainer, compare, repair and tune."""
