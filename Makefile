# tide: the two commands of the README's Quick start live here.
#   make run    one full connection lifecycle on the simulated network (tide-sim)
#   make test   build with sanitizers and -Werror, then run every test
#   make bench  the benchmarks (Release build), see README's Performance
BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Debug -DTIDE_SANITIZE=ON

.PHONY: all deps configure build run test bench clean

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

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Benchmarks (not part of make test): table on stdout, figures in
# bench/results/latest.json. QUICK=1 for a short smoke run.
bench: deps
	@bash bench/run.sh

clean:
	rm -rf $(BUILD)
