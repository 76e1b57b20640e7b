# backstop: the two commands a newcomer needs are `make run` and `make test`.
# Everything installs its own Debian dependencies first (scripts/install-deps.sh, idempotent).

JOBS     ?= $(shell nproc)
BUILD    ?= build
ASAN     ?= build-asan
FUZZDIR  ?= build-fuzz
CONFIG   ?= examples/backstop.toml
FUZZ_SECONDS ?= 60
PYTEST   := /usr/bin/python3 -m pytest
SANITIZE_CXX ?= clang++-16
# The black-box tests that feed the server hostile bytes or kill it, run again under ASan/UBSan.
ASAN_BLACKBOX := tests/blackbox/test_hostile.py tests/blackbox/test_smuggling.py \
  tests/blackbox/test_durability.py

.PHONY: all deps build server install build-asan build-fuzz run test unit-test asan-test fuzz-smoke blackbox blackbox-asan fuzz bench format tidy clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja $(BUILD)/Makefile:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS)

# The release server alone: what `make run` and the black-box tests need.
server: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS) --target backstop

# Line tables (-g1) are all a sanitizer report needs for file:line; full -g costs compile time.
# clang 16 compiles the sanitized -O0 build in half the time GCC 12 takes (README.md);
# the release build, which the whole black-box suite runs against, stays GCC's.
build-asan: deps
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DBACKSTOP_SANITIZE=ON -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
	  -DCMAKE_CXX_COMPILER=$(SANITIZE_CXX) -DBACKSTOP_PCH=ON
	cmake --build $(ASAN) -j$(JOBS) --target unit_tests backstop

build-fuzz: deps
	cmake -S . -B $(FUZZDIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBACKSTOP_FUZZ=ON \
	  -DCMAKE_CXX_COMPILER=$(SANITIZE_CXX)
	cmake --build $(FUZZDIR) -j$(JOBS)

run: server
	mkdir -p var
	./$(BUILD)/backstop serve --config $(CONFIG)

unit-test: build
	cd $(BUILD) && ctest --no-tests=error --output-on-failure -j$(JOBS) -L unit

# Twice as many test processes as cores: most unit tests wait on timers and sockets.
asan-test: build-asan
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --no-tests=error --output-on-failure -j$$(( $(JOBS) * 2 )) -L unit

# Each fuzzer over its seed corpus plus a few seconds of fresh inputs.
fuzz-smoke: build-fuzz
	bash scripts/run-fuzzers.sh $(FUZZDIR) 5

fuzz: build-fuzz
	bash scripts/run-fuzzers.sh $(FUZZDIR) $(FUZZ_SECONDS)

# -rs: every skip prints its reason; under CI=true conftest.py fails a skip that does not say
# why the machine cannot run the test.
blackbox: server
	BACKSTOP_BIN=$(CURDIR)/$(BUILD)/backstop $(PYTEST) -q -rs tests/blackbox

# Any sanitizer report ends the server (halt_on_error, UBSan does not recover), and conftest.py
# (BACKSTOP_SANITIZED=1) fails the test whose server log holds one.
blackbox-asan: build-asan
	BACKSTOP_BIN=$(CURDIR)/$(ASAN)/backstop BACKSTOP_SANITIZED=1 \
	  ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(PYTEST) -q -rs $(ASAN_BLACKBOX)

# The unit tests run once, under ASan and UBSan (asan-test): building them a second time
# at -O2 doubled the compile time of CI for no failure the sanitizer build would miss.
# `make unit-test` runs them on the release build. scripts/test-all.sh overlaps the black-box
# suite with the sanitizer and fuzz builds.
test: server
	@ASAN=$(ASAN) bash scripts/test-all.sh "$(MAKE)"


# The install layout (docs/operations.md): the binary, the systemd unit, the example config,
# the queue and state directories. The account of `user =` is the administrator's (or the
# package's) to create.
PREFIX  ?= /usr
install: server
	install -D -m 0755 $(BUILD)/backstop $(DESTDIR)$(PREFIX)/sbin/backstop
	install -D -m 0644 contrib/backstop.service $(DESTDIR)/lib/systemd/system/backstop.service
	install -D -m 0644 examples/backstop.toml $(DESTDIR)$(PREFIX)/share/doc/backstop/backstop.toml.example
	install -D -m 0644 docs/operations.md $(DESTDIR)$(PREFIX)/share/doc/backstop/operations.md
	install -d -m 0755 $(DESTDIR)/etc/backstop
	install -d -m 0750 $(DESTDIR)/var/spool/backstop $(DESTDIR)/var/lib/backstop

bench: build
	bash bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'fuzz/*.cpp')

tidy: $(BUILD)/Makefile
	clang-tidy -p $(BUILD) $$(git ls-files 'src/*.cpp')

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZDIR)
