"""What watch() measures: hooks (one mechanism), units (one definition of silent, dead and saturated), the
Monitor and its History (the recorded statistics: the doctor's contract), DDP/FSDP gathering and case files."""
