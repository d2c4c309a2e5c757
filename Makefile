# A newcomer needs two commands: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Any torch >= 2.3 works; this pin matches the wheels on the team's machines, which install
# from local files. Override with e.g. `make test TORCH="torch torchvision"`.
TORCH ?= torch==2.14.1 torchvision==0.29.1

.PHONY: demo test test-zoo install system-packages lint docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch is big: install it once, apart from netspec's own (quick) install.
$(VENV)/.torch-installed: | $(BIN)/python
	$(BIN)/pip install $(TORCH)
	touch $@

$(VENV)/.netspec-installed: pyproject.toml $(VENV)/.torch-installed
	$(BIN)/pip install -e '.[test]'
	touch $@

install: $(VENV)/.netspec-installed

# Graphviz (for `netspec draw`) and Debian's Fashion-MNIST, installed with apt where we may
# (root, or sudo without a password); elsewhere we say what is missing and how to get it.
system-packages:
	@./.ci/system-packages

demo: install system-packages
	$(BIN)/netspec check specs/lenet.yaml
	$(BIN)/netspec draw specs/lenet.yaml
	@if $(BIN)/netspec data fashion_mnist >/dev/null; then \
	  $(BIN)/netspec train specs/lenet.yaml --data fashion_mnist --epochs 2; \
	else \
	  $(BIN)/netspec data fashion_mnist; \
	  echo "Fashion-MNIST is missing, so the demo stops before training (see above)."; \
	fi

# Every test, slow ones included, on all cores; an idle worker takes tests from a busy one
# (worksteal: the long training tests no longer hold a whole file on one worker): about 2.5
# minutes on a 2-core machine.
test: install system-packages
	$(BIN)/python -m pytest -n auto --dist worksteal

# The runner trains every image classifier of specs/zoo/, ViT-B/16 included (minutes on 2 cores).
test-zoo: install
	NETSPEC_ZOO=all $(BIN)/python -m pytest -n auto tests/test_zoo_training.py

lint: install
	$(BIN)/ruff check netspec tests benchmarks
	$(BIN)/ruff format --check netspec tests benchmarks
	$(BIN)/mypy netspec

# Regenerate the files derived from the code (tests fail when they are stale).
docs: install
	$(BIN)/netspec schema -o docs/netspec.schema.json
	$(BIN)/python -m netspec.spec.reference > docs/layers.md
	$(BIN)/netspec draw specs/lenet.yaml -o docs/images/lenet.svg
	$(BIN)/netspec draw specs/residual_cnn.yaml -o docs/images/residual_cnn.svg
	$(BIN)/netspec draw specs/resnet18.yaml --depth 0 -o docs/images/resnet18.svg
	$(BIN)/netspec draw specs/resnet_cifar.yaml -o docs/images/resnet_cifar.svg

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis
