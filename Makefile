# Two entry points (README): `make run` and `make test`. Both install what is missing first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DEFAULT_MODEL := models/egmla-kjv
RANDOM_MODEL := models/default

.PHONY: setup configure build test run random-model sanitize tsan format clean

setup:
	bash scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD_DIR) -G Ninja -DEGMLA_WERROR=ON -DPython3_EXECUTABLE=/usr/bin/python3 $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# A small random-weight eg_mla checkpoint, generated deterministically (for load tests and
# experiments; `make run` serves the trained one).
random-model: build
	@test -f $(RANDOM_MODEL)/model.safetensors || \
	  $(BUILD_DIR)/tools/egmla random-model --config models/default.config.json --seed 0 \
	    --out $(RANDOM_MODEL)

# Serves the bundled trained EG-MLA model (KJV Bible, SentencePiece tokenizer) on :50051,
# metrics on :8002, until SIGINT / SIGTERM. Builds only the server and the CLI, not the tests.
run: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target egmla-server egmla
	$(BUILD_DIR)/server/egmla-server --model $(DEFAULT_MODEL)

# -O1 -g1 (line tables: sanitizer reports keep file:line) instead of -O2 -g halves the sanitizer
# build's compile time (Boost.Beast's http_server.cc: 141 s -> 73 s), the largest part of CI.
SANITIZE_OPT := -O1 -g1 -DNDEBUG

# The unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
sanitize: setup
	cmake -S . -B build-asan -G Ninja -DEGMLA_WERROR=ON -DEGMLA_CUDA=OFF \
	  -DEGMLA_SANITIZE=address,undefined -DPython3_EXECUTABLE=/usr/bin/python3 \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$(SANITIZE_OPT)"
	cmake --build build-asan -j $(JOBS)
	cd build-asan && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest --output-on-failure \
	  -j $(JOBS) -L 'unit|golden|cli' -E cli_tokenize

# The engine, scheduler and server tests under ThreadSanitizer (build-tsan, CPU only; only their
# targets are built, and ctest runs in their folders). Debian's gRPC, absl and protobuf are not
# instrumented: TSan ignores what they do themselves (ignore_noninstrumented_modules), and
# tests/tsan.supp silences only gRPC's inline C++ API, whose ordering happens inside them (see its
# comments). A report fails the test (exit 66).
TSAN_TESTS := scheduler_test engine_test server_test server_lifecycle_test generate_reactor_test \
  openai_test metrics_test
TSAN_RUN_OPTIONS := second_deadlock_stack=1 history_size=7 ignore_noninstrumented_modules=1 \
  suppressions=$(CURDIR)/tests/tsan.supp
tsan: setup
	cmake -S . -B build-tsan -G Ninja -DEGMLA_WERROR=ON -DEGMLA_CUDA=OFF -DEGMLA_EMU=OFF \
	  -DEGMLA_SANITIZE=thread -DPython3_EXECUTABLE=/usr/bin/python3
	cmake --build build-tsan -j $(JOBS) --target $(TSAN_TESTS)
	for dir in scheduler engine server; do \
	  TSAN_OPTIONS="$(TSAN_RUN_OPTIONS)" ctest --test-dir build-tsan/$$dir --output-on-failure \
	    -j $(JOBS) -L unit || exit 1; \
	done

format:
	git ls-files '*.h' '*.cc' '*.cu' '*.cuh' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) build-asan build-tsan

# The fuzz targets of fuzz/ under libFuzzer, AddressSanitizer and UBSan (clang 14, build-fuzz),
# each for FUZZ_SECONDS on its corpus (fuzz/run.sh; FUZZ_TARGETS picks some by corpus name).
# `make test` replays the same corpora as ctest tests (label fuzz) without clang.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
.PHONY: fuzz
fuzz: setup
	cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DEGMLA_FUZZ=ON -DEGMLA_CUDA=OFF -DEGMLA_EMU=OFF -DEGMLA_WERROR=ON \
	  -DPython3_EXECUTABLE=/usr/bin/python3
	cmake --build build-fuzz -j $(JOBS) --target egmla_fuzzers
	bash fuzz/run.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)
