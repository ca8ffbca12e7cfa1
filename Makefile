# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	# [all]: plots, CLI, datasets, TensorBoard; [test] adds pytest, ruff and the integrations
	$(BIN)/pip install -q -c constraints.txt -e ".[all,test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/gradmedic experiment vanishing

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check gradmedic tests bench examples

bench: $(STAMP)
	$(BIN)/python bench/trainer_overhead.py

clean:
	rm -rf $(VENV) runs .pytest_cache
