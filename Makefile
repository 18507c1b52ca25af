# The two commands: `make run` and `make test`. Both install missing Debian packages first
# (scripts/install-deps.sh; a no-op when everything is there), then build with CMake.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:50051
METRICS_LISTEN ?= 127.0.0.1:9464
DATA_DIR ?= ./var/db
CREDENTIALS ?= ./var/credentials
KEY_FILE ?= ./var/key
AUDIT_KEY_FILE ?= ./var/audit-key
AUDIT_ANCHOR_FILE ?= ./var/audit-anchor
BACKUP_DIR ?= ./var/backups
POLICY ?= deploy/config/policy.textproto
# Retention periods per outcome (docs/OPERATIONS.md "Retention and purge"); empty: none.
RETENTION ?=
# Time of day (UTC) of the daily purge; empty: none (docs/OPERATIONS.md: empty the first time).
PURGE_DAILY_AT ?= 02:30

.PHONY: all deps configure build build-server run test fuzz-build fuzz crashtest bench format clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@MAKEFLAGS=--no-print-directory cmake --build $(BUILD_DIR) -j $(JOBS)

# Only what `make run` and the README use: the server and triagectl (not the tests).
build-server: configure
	@MAKEFLAGS=--no-print-directory cmake --build $(BUILD_DIR) -j $(JOBS) --target triage-server triagectl

run: build-server
	@mkdir -p $(dir $(DATA_DIR))
	@bash scripts/dev-setup.sh $(BUILD_DIR)/tools/triagectl $(KEY_FILE) $(CREDENTIALS) $(AUDIT_KEY_FILE)
	@echo "Starting triage-server on $(LISTEN) (plaintext, loopback only), data in $(DATA_DIR)."
	@echo "Stop with Ctrl-C. Try, from another terminal (with the intake token exported):"
	@echo "  $(BUILD_DIR)/tools/triagectl --server $(LISTEN) submit --reporter child --age 13 \\"
	@echo "      --category grooming --channel online-gaming --description 'A man in a game asked me for photos'"
	@echo "  $(BUILD_DIR)/tools/triagectl --server $(LISTEN) show <report id>   # with the triager token"
	@exec $(BUILD_DIR)/services/triage-server --listen=$(LISTEN) --data_dir=$(DATA_DIR) \
	    --credentials_file=$(CREDENTIALS) --key_file=$(KEY_FILE) \
	    --audit_key_file=$(AUDIT_KEY_FILE) --audit_anchor_file=$(AUDIT_ANCHOR_FILE) \
	    --backup_dir=$(BACKUP_DIR) --retention=$(RETENTION) \
	    --purge_daily_at=$(PURGE_DAILY_AT) \
	    --policy=$(POLICY) --metrics_listen=$(METRICS_LISTEN) --insecure

test: build fuzz-build
	@cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600 -j $(JOBS)

# The libFuzzer targets (tests/fuzz) in their own clang-14 tree, $(BUILD_DIR)/fuzz; ctest
# runs each briefly (label fuzz). `make fuzz` runs each for FUZZ_SECONDS, one after the
# other, under nice (docs/BENCHMARKS.md "Fuzzing").
FUZZ_SECONDS ?= 180
fuzz-build: deps
	@bash scripts/fuzz.sh build $(BUILD_DIR)

fuzz: deps
	@bash scripts/fuzz.sh long $(BUILD_DIR) $(FUZZ_SECONDS)

# The crash campaign in full: 200 SIGKILL cycles under load, then its negative control
# (a server that acknowledges before the write is durable must be caught losing writes).
CRASH_CYCLES ?= 200
crashtest: build
	@$(BUILD_DIR)/tests/triage-crashtest --cycles=$(CRASH_CYCLES) \
	    --server_bin=$(BUILD_DIR)/services/triage-server 2>$(BUILD_DIR)/crashtest-server.log
	@$(BUILD_DIR)/tests/triage-crashtest --cycles=20 --expect_loss --anchor=false \
	    --server_bin=$(BUILD_DIR)/tests/triage-server-negative-control \
	    2>>$(BUILD_DIR)/crashtest-server.log

bench: build
	@bash bench/run_all.sh $(BUILD_DIR)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	@rm -rf $(BUILD_DIR)
