# tide: the two commands of the README's Quick start live here.
#   make run    one full connection lifecycle on the simulated network (tide-sim)
#   make test   build with sanitizers and -Werror, then run every test
#   make bench  the benchmarks (Release build), see README's Performance
#   make fuzz   the libFuzzer targets for FUZZ_TIME seconds each (docs/fuzzing.md)
BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Debug -DTIDE_SANITIZE=ON

.PHONY: all deps configure build run test bench fuzz clean

all: build

deps:
	@bash scripts/deps.sh

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@./$(BUILD)/tools/tide-sim run four-way-close --svg $(BUILD)/four-way-close.svg \
		--pcap $(BUILD)/four-way-close.pcap
	@echo
	@echo "The same run as a picture: $(BUILD)/four-way-close.svg (open it in a browser)"
	@echo "and as a capture:          $(BUILD)/four-way-close.pcap (open it in Wireshark)"
	@echo "More scenarios: ./$(BUILD)/tools/tide-sim list; how to write one: docs/scenarios.md"

# After the tests, a short fuzzing run (FUZZ_TEST_TIME seconds, 0 to skip).
FUZZ_TEST_TIME ?= 10
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@if [ "$(FUZZ_TEST_TIME)" != 0 ]; then $(MAKE) --no-print-directory fuzz FUZZ_TIME=$(FUZZ_TEST_TIME); fi

# Benchmarks (not part of make test): table on stdout, figures in
# bench/results/latest.json. QUICK=1 for a short smoke run.
bench: deps
	@bash bench/run.sh

# Fuzzing (not part of make test beyond its short run): FUZZ_TIME seconds
# per target, all targets at once; FUZZ_MERGE=1 keeps new coverage in
# fuzz/corpus. Crashes land in build-fuzz/crashes/<target>/.
FUZZ_TIME ?= 300
FUZZ_BUILD ?= build-fuzz
FUZZ_MERGE ?= 0
fuzz: deps
	@FUZZ_TIME=$(FUZZ_TIME) FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_MERGE=$(FUZZ_MERGE) JOBS=$(JOBS) bash fuzz/run.sh

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
