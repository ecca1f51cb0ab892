# Two commands on a fresh machine: `make demo` runs the lakehouse end to end on the embedded engine,
# `make test` runs the test suite. Both create the virtual environment first (the library, the development
# kit lakehouse[local] and the test tools, at the versions of constraints.txt); `make test` also installs
# the Debian packages the suite needs when they are missing (.ci/system-packages: a JDK, strace, Chromium).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCALE_FACTOR ?= 0.01
DAYS ?= 7

.PHONY: setup system-packages demo demo-cluster test test-fast dev clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[local,test]"
	touch $@

# the Debian packages of the jvm, browser and fault-campaign tests, installed with apt-get when missing
system-packages:
	@.ci/system-packages

demo: setup
	$(BIN)/lakehouse demo --scale-factor $(SCALE_FACTOR) --days $(DAYS)

# the same demo on a local Sail cluster (a driver and two workers over gRPC) instead of the embedded engine
demo-cluster: setup
	$(BIN)/lakehouse demo --engine cluster --scale-factor $(SCALE_FACTOR) --days $(DAYS)

dev: setup
	$(BIN)/lakehouse dev

test: setup system-packages
	$(BIN)/pytest

# the quick loop: everything but the slow groups (multi-day pipelines, fault campaigns, JVM, browser)
test-fast: setup
	$(BIN)/pytest -m "not slow and not jvm and not browser"

clean:
	-$(BIN)/lakehouse services down
	rm -rf $(VENV) .lakehouse
