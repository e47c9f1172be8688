# Two commands for a new user: `make demo` and `make test`. Prerequisites: Python 3.11+ and Java 17+.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# spark-submit finds Spark and the driver's Python through PATH; executors use PYSPARK_PYTHON.
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PYSPARK_PYTHON := $(abspath $(PY))
SPARK_SUBMIT := $(VENV)/bin/spark-submit --driver-java-options "-Dlog4j2.configurationFile=$(abspath conf/log4j2.properties)"

DEMO_DATA := data/demo
ARTIFACTS ?= artifacts
NAME ?= demo
PORT ?= 8000

.PHONY: install install-gpu demo evaluate evaluate-shared evaluate-splits test serve dist bench bench-serve bench-mpd reliability clean help

help:
	@echo "make demo   - install, build a bundle from sample data, evaluate, print how to query it"
	@echo "make test   - install, lint (ruff, and import-linter's layers contract) and run the test suite"
	@echo "make install-gpu - also install the GPU builds of FAISS and implicit's ALS from PyPI (needs a CUDA 13 driver)"
	@echo "make evaluate - reports (html, md, json) for EVAL_INPUT (default: the demo log) under reports/"
	@echo "make evaluate-shared - the reports of docs/EVALUATION.md on ../shared/data (about 10 minutes)"
	@echo "make evaluate-splits - yes_small and yes_big over six seeded splits, summarised (about 35 minutes)"
	@echo "make serve  - serve the demo bundle on http://127.0.0.1:$(PORT)"
	@echo "make dist   - build dist/recsys.zip for spark-submit --py-files (and the wheel beside it)"
	@echo "make bench  - Spark stages vs polars, ALS backends, FAISS, recommend-for-all (docs/BENCHMARKS.md; builds the"
	@echo "              1.3M-item bench bundle first if it is missing, ~25 min)"
	@echo "make reliability - kill the build 20 times, fuzz the API, soak the service 10 minutes (docs/RELIABILITY.md)"
	@echo "make bench-serve - build a 1.3M-item bundle once (~25 min), then load /recommend with wrk vs a bare endpoint"
	@echo "make bench-mpd - the whole build, the service and a challenge set at 1%, 10% and 100% of the MPD's size (~2 h on 2 cores)"
	@echo "make clean  - remove the venv, the demo's data, bundle and report, build outputs (never your own bundles)"

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@found=$$(java -version 2>&1 | awk -F'"' '/version/ {print $$2; exit}'); major=$${found%%.*}; \
	  if [ "$$major" = 1 ]; then major=$$(echo "$$found" | cut -d. -f2); fi; \
	  [ "$$major" -ge 17 ] 2>/dev/null || { echo "Java 17+ is required (Spark 4 runs on it); found: $${found:-no java on PATH}"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@echo "Installing the pinned packages into $(VENV): 2-3 minutes the first time, pip naming each one it collects"
	$(PY) -m pip install --progress-bar off -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The GPU builds from PyPI on top of the usual install (docs/models.md, ALS on the GPU). faiss-gpu and faiss-cpu
# are the same `faiss` package: the CPU one is removed and the GPU one written over whatever it left.
install-gpu: install
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,gpu]'
	$(PY) -m pip uninstall --quiet -y faiss-cpu
	$(PY) -m pip install --quiet --force-reinstall --no-deps faiss-gpu==1.15.1
	$(PY) -c 'import faiss, implicit.gpu; print("faiss GPUs:", faiss.get_num_gpus(), "| implicit CUDA:", implicit.gpu.HAS_CUDA)'

$(DEMO_DATA)/clicks.csv: | install
	$(PY) -m recsys.synth --playlists 4000 --tracks 800 --clusters 8 --out $(DEMO_DATA)/clicks.csv --items $(DEMO_DATA)/tracks.csv

demo: install $(DEMO_DATA)/clicks.csv
	$(SPARK_SUBMIT) jobs/build_embeddings.py --input $(DEMO_DATA)/clicks.csv --items $(DEMO_DATA)/tracks.csv \
		--format long --output $(ARTIFACTS) --name $(NAME)
	$(PY) -m serving --artifacts $(ARTIFACTS) --name $(NAME) --port $(PORT) --print-examples

# Offline evaluation (docs/EVALUATION.md): split, train on the rest, rank side by side, write the reports.
EVAL_INPUT ?= $(DEMO_DATA)/clicks.csv
EVAL_FORMAT ?= long
EVAL_SPLIT ?= last
EVAL_OUTPUT ?= reports/demo
evaluate: install $(if $(filter $(DEMO_DATA)/clicks.csv,$(EVAL_INPUT)),$(DEMO_DATA)/clicks.csv)
	$(SPARK_SUBMIT) jobs/evaluate.py --input $(EVAL_INPUT) --format $(EVAL_FORMAT) --split $(EVAL_SPLIT) --output $(EVAL_OUTPUT) $(EVAL_SET)

SHARED ?= ../shared/data
evaluate-shared: install
	$(PY) -m recsys.datasets movielens $(SHARED)/movielens_latest_small data/movielens.csv
	$(PY) -m recsys.datasets hetrec $(SHARED)/hetrec2011_lastfm_2k data/hetrec.csv
	$(MAKE) evaluate EVAL_INPUT=$(SHARED)/yes_small EVAL_FORMAT=yes EVAL_SPLIT=last EVAL_OUTPUT=reports/yes_small-last
	$(MAKE) evaluate EVAL_INPUT=$(SHARED)/yes_small EVAL_FORMAT=yes EVAL_SPLIT=users EVAL_OUTPUT=reports/yes_small-users
	$(MAKE) evaluate EVAL_INPUT=$(SHARED)/yes_big EVAL_FORMAT=yes EVAL_SPLIT=last EVAL_OUTPUT=reports/yes_big-last
	$(MAKE) evaluate EVAL_INPUT=data/hetrec.csv EVAL_SPLIT=random EVAL_OUTPUT=reports/hetrec-random
	$(MAKE) evaluate EVAL_INPUT=data/hetrec.csv EVAL_SPLIT=users EVAL_OUTPUT=reports/hetrec-users
	$(MAKE) evaluate EVAL_INPUT=data/movielens.csv EVAL_SPLIT=temporal EVAL_OUTPUT=reports/movielens-temporal \
	  EVAL_SET='--set evaluation.holdout_fraction=1.0'
	$(MAKE) evaluate EVAL_INPUT=data/movielens.csv EVAL_SPLIT=users EVAL_OUTPUT=reports/movielens-users

SEEDS ?= 42 1 2 3 4 5
evaluate-splits: install
	$(MAKE) evaluate EVAL_INPUT=$(SHARED)/yes_small EVAL_FORMAT=yes EVAL_OUTPUT=reports/yes_small-last-seeds \
	  EVAL_SET='--seeds $(SEEDS)'
	$(MAKE) evaluate EVAL_INPUT=$(SHARED)/yes_big EVAL_FORMAT=yes EVAL_OUTPUT=reports/yes_big-last-seeds \
	  EVAL_SET='--seeds $(SEEDS)'

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

serve: install
	$(PY) -m serving --artifacts $(ARTIFACTS) --name $(NAME) --port $(PORT)

dist: install
	rm -rf dist build
	$(PY) -m pip wheel --quiet --no-deps -w dist .
	cp dist/recsys-*.whl dist/recsys.zip

# The benchmarks' big bundle: MPD-like, 300k playlists, ~9M rows, 1.3M distinct tracks; built once (~25 min),
# kept. bench-serve loads its service; bench measures FAISS on its learnt ALS factors.
BENCH_DATA ?= data/bench
BENCH_BUNDLE := $(BENCH_DATA)/artifacts/big/LATEST
$(BENCH_BUNDLE): | $(VENV)/.installed
	rm -rf $(BENCH_DATA)/clicks
	$(PY) -m recsys.synth --spark --partitions 8 --playlists 300000 --tracks 1500000 --clusters 1000 \
	  --mean-length 30 --max-length 200 --seed 5 --out $(BENCH_DATA)/clicks
	$(SPARK_SUBMIT) --driver-memory 8g jobs/build_embeddings.py --input $(BENCH_DATA)/clicks --format long \
	  --output $(BENCH_DATA)/artifacts --name big --set evaluation.enabled=false --set item2vec.epochs=2 \
	  --set als.iterations=5 --set spark.shuffle_partitions=16

bench: install $(BENCH_BUNDLE)
	$(PY) bench/spark_stages.py --rows 1000000 10000000 --als-rows 10000000 --record
	$(PY) bench/models.py --factors $(BENCH_DATA)/artifacts/big --record
	$(PY) bench/search.py --record

# The whole build and the service at 1%, 10% and 100% of the Million Playlist Dataset (docs/BENCHMARKS.md): the
# largest size first, so the smaller ones' figures are fresh when the report is written (about 2 hours on 2 cores);
# then a full-size challenge set (10,000 playlists) answered from the largest bundle.
bench-mpd: install
	@command -v wrk >/dev/null || { echo "bench-mpd needs wrk for the service's load (Debian: apt-get install wrk)"; exit 1; }
	$(PY) bench/mpd.py --playlists 1000000 --serve-seconds 30
	$(PY) bench/mpd.py --playlists 10000 100000 1000000 --reuse --serve-seconds 30 --record
	$(PY) bench/challenge.py --record

# docs/RELIABILITY.md: the build killed 20 times, 2,000+ fuzzed requests, a 10-minute soak on the demo bundle.
reliability: install $(DEMO_DATA)/clicks.csv
	@command -v wrk >/dev/null || { echo "reliability needs wrk for the soak (Debian: apt-get install wrk)"; exit 1; }
	$(PY) bench/kill_build.py --trials 20 --record
	$(PY) bench/fuzz_api.py --examples 150 --record
	test -f $(ARTIFACTS)/$(NAME)/LATEST || $(SPARK_SUBMIT) jobs/build_embeddings.py --input $(DEMO_DATA)/clicks.csv \
	  --items $(DEMO_DATA)/tracks.csv --format long --output $(ARTIFACTS) --name $(NAME)
	$(PY) bench/soak.py --artifacts $(ARTIFACTS) --name $(NAME) --minutes 10 --record

bench-serve: install $(BENCH_BUNDLE)
	@command -v wrk >/dev/null || { echo "bench-serve needs wrk (Debian: apt-get install wrk)"; exit 1; }
	$(PY) bench/serve_load.py --artifacts $(BENCH_DATA)/artifacts --name big --record

# Only what make itself made: the venv, the demo's data, bundle and report, build outputs. Bundles users published
# under artifacts/ and the benchmarks' data stay.
clean:
	rm -rf $(VENV) $(DEMO_DATA) $(ARTIFACTS)/demo reports/demo build dist *.egg-info
