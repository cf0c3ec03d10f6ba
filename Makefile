# The commands a user types. Each goal first installs what is missing (scripts/install-deps),
# so `make demo` and `make test` are all a fresh Debian 12 machine needs.
SHELL := /bin/bash
JOBS  ?= $(shell nproc)
BUILD ?= build
CMAKE_COMMON := -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

.PHONY: all deps build test test-unit test-sanitize format-check bench fuzz demo clean format

all: build

deps:
	@scripts/install-deps

# Release-ish build with GCC 12, warnings as errors; binaries land in build/bin/.
build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=g++ -DDOPPEL_WERROR=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# GCC build + its tests, then Clang 14 with AddressSanitizer and UndefinedBehaviorSanitizer + the
# same tests. ctest's closing summary of each stage is the last thing each prints.
test: deps
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-sanitize

test-unit: build
	@echo "== tests (gcc, -Werror) =="
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-sanitize: deps
	@echo "== tests (clang-14, ASan+UBSan) =="
	@cmake -S . -B build-asan $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DDOPPEL_SANITIZE=ON -DDOPPEL_BENCH=OFF >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

bench: build
	@scripts/install-deps bench
	@bench/run-all $(BUILD)

# Each libFuzzer target runs for FUZZ_SECONDS over its seed corpus.
FUZZ_SECONDS ?= 30
fuzz: deps
	@cmake -S . -B build-fuzz $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DDOPPEL_FUZZ=ON -DDOPPEL_TESTS=OFF -DDOPPEL_BENCH=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@fuzz/run-all build-fuzz $(FUZZ_SECONDS)

demo: build
	@scripts/demo $(BUILD)

SOURCES = $(shell find src tests bench fuzz tools -name '*.cpp' -o -name '*.h')

# The code follows .clang-format; `make test` fails on a file that does not (fix: make format).
format-check: deps
	@clang-format --dry-run --Werror $(SOURCES) && echo "format: ok ($(words $(SOURCES)) files)"

format:
	@clang-format -i $(SOURCES)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
