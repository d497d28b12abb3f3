# The course's commands. `make experiment` and `make test` each set everything up first.
VENV ?= .venv
PY := $(VENV)/bin/python
# nbgrader shells out to alembic, so the venv's bin must be on PATH.
export PATH := $(abspath $(VENV))/bin:$(PATH)
# Idle OpenMP threads sleep instead of spinning: with 2 cores, spinning threads made training
# several times slower whenever another process ran (README, Performance: 13.8-21.7 vs 5.5 ms
# per step with two trainings at once).
export OMP_WAIT_POLICY ?= PASSIVE
DEBIAN_DATA := /usr/share/datasets/fashion-mnist
# The learner's own copy of the lessons (git-ignored): `make lab` never overwrites a file there.
WORKSPACE ?= workspace

# Debian packages the tests need: the grading sandbox, a throwaway PostgreSQL gradebook, and the
# browser (with fonts for its screenshots) that tests/test_browser.py drives JupyterLab in.
TEST_PACKAGES := bubblewrap postgresql chromium fonts-noto-color-emoji fonts-dejavu-core

.PHONY: setup data test-system experiment test test-fast release benchmark lab formgrader

setup: data $(VENV)/.installed

# The pinned environment: the pip list of environment.yml, then this package (editable).
$(VENV)/.installed: pyproject.toml environment.yml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	sed -n 's/^ *- \([A-Za-z][A-Za-z0-9_.-]*==[^ ]*\) *$$/\1/p' environment.yml > $(VENV)/pins.txt
	$(PY) -m pip install --quiet -r $(VENV)/pins.txt
	$(PY) -m pip install --quiet --no-deps -e '.[course,instructor,postgres,test]'
	$(PY) -m pip check
	touch $@

# Real FashionMNIST offline from Debian; elsewhere torchvision downloads it on first use.
data:
	@if [ -d $(DEBIAN_DATA) ]; then echo "FashionMNIST: $(DEBIAN_DATA)"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	else echo "FashionMNIST: not installed from Debian; torchvision will download it on first use"; fi

# Installed with apt-get when missing and this runs as root; otherwise the tests that need them
# say what to install (with CI set, they fail instead of skipping).
test-system:
	@missing=$$(for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "test packages: all installed"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "test packages missing: $$missing (apt-get install them as root)"; fi

experiment: setup
	$(PY) -m dropout_kit experiment --seeds 0 1 2 --out runs/experiment

test: setup test-system
	$(PY) -m pytest tests solutions --nbmake --nbmake-timeout=1200 -p no:cacheprovider --durations=30

test-fast: setup
	$(PY) -m pytest tests -m "not slow" -p no:cacheprovider

release: setup
	$(PY) -m dropout_kit release

# On an idle machine, with OpenMP's default wait policy (see README, Performance).
benchmark: setup
	env -u OMP_WAIT_POLICY $(PY) benchmarks/fit_speed.py --rounds 3

# The learner's JupyterLab: copies the lessons into $(WORKSPACE) the first time, then opens it
# there with nbgrader's instructor tools hidden (`dropout-kit start --help`).
lab: setup
	$(VENV)/bin/dropout-kit start --workspace $(WORKSPACE)

# The instructor's JupyterLab on the course, with nbgrader's formgrader (Nbgrader menu ->
# Formgrader): started in the course's folder, whose nbgrader_config.py it reads.
formgrader: setup
	$(VENV)/bin/dropout-kit formgrader
