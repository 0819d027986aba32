# colbundle — one Makefile for the library, the tool, the quote provider
# library, the tests, the fuzzers and the benchmarks.
#
#   make            build everything into build/
#   make check      install missing Debian packages, build, run every test
#   make check SANITIZE=1   the same under ASan+UBSan (into build-san/)
#   make demo       the end-to-end demonstration on the built-in sample fleet
#   make bench      benchmarks (figures printed as ratios to same-run baselines)
#   make fuzz       build the libFuzzer targets with clang and run each briefly
#   make install    PREFIX=/usr/local DESTDIR= honoured
#   make clean

VERSION      := 0.1.0
SOVERSION    := 1
PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
BINDIR       ?= $(PREFIX)/bin
DESTDIR      ?=
CC           ?= cc
PKG_CONFIG   ?= pkg-config
FUZZ_SECONDS ?= 20

LIB_PKGS  := libarchive libcrypto libsodium zlib jansson
TOOL_PKGS := libcurl libmicrohttpd
TEST_PKGS := cmocka

ifeq ($(SANITIZE),1)
  B        := build-san
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  OPT      := -O1 -g
else
  B        := build
  SANFLAGS :=
  OPT      := -O2 -g
endif

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
BASEFLAGS = -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SANFLAGS) -fPIC -fvisibility=hidden \
            -Isrc/include -Isrc
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIB_PKGS) $(TOOL_PKGS) 2>/dev/null)
LIB_LIBS   := $(shell $(PKG_CONFIG) --libs $(LIB_PKGS) 2>/dev/null) -lpthread
TOOL_LIBS  := $(shell $(PKG_CONFIG) --libs $(TOOL_PKGS) 2>/dev/null)
TEST_LIBS  := $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)
ALL_CFLAGS  = $(BASEFLAGS) $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(SANFLAGS) $(LDFLAGS)

# The layers, in the order data flows through them.
LIB_DIRS  := src/util src/bundle src/intel src/amd src/site
TOOL_DIRS := src/capture src/serve src/cli
LIB_SRC   := $(sort $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c)))
TOOL_SRC  := $(sort $(foreach d,$(TOOL_DIRS),$(wildcard $(d)/*.c)))
QPL_SRC   := $(sort $(wildcard src/qpl/*.c))
PKI_SRC   := $(sort $(wildcard tests/pki/*.c))
TEST_SRC  := $(sort $(wildcard tests/unit/test_*.c))
TSUP_SRC  := $(sort $(wildcard tests/unit/support_*.c))
BENCH_SRC := $(sort $(wildcard tests/bench/bench_*.c))
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
MOCK_SRC  := $(sort $(wildcard tests/mock/*.c))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
LIB_OBJ   := $(call obj,$(LIB_SRC))
TOOL_OBJ  := $(call obj,$(TOOL_SRC))
QPL_OBJ   := $(call obj,$(QPL_SRC))
PKI_OBJ   := $(call obj,$(PKI_SRC))
TSUP_OBJ  := $(call obj,$(TSUP_SRC))

LIB_A     := $(B)/libcolbundle.a
LIB_SO    := $(B)/libcolbundle.so.$(SOVERSION)
QPL_SO    := $(B)/libdcap_quoteprov.so.1
TOOL      := $(B)/colbundle
PKIGEN    := $(B)/colb-pkigen
MOCK      := $(B)/colb-mock
TESTS     := $(patsubst tests/unit/%.c,$(B)/tests/%,$(TEST_SRC))
BENCHES   := $(patsubst tests/bench/%.c,$(B)/bench/%,$(BENCH_SRC))
FUZZERS   := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))

.SECONDARY:
.PHONY: all deps check test demo bench fuzz fuzz-build install uninstall clean tests-build

all: $(LIB_A) $(LIB_SO) $(B)/libcolbundle.so $(TOOL) $(PKIGEN) $(if $(QPL_SRC),$(QPL_SO) $(B)/libdcap_quoteprov.so)

deps:
	@sh mk/deps.sh

# check and demo install what is missing first, then re-enter make so that
# the pkg-config flags are read after the install.
check: deps
	@$(MAKE) --no-print-directory tests-build
	@B=$(B) sh tests/run.sh

tests-build: all $(MOCK) $(TESTS) $(BENCHES)

test: tests-build
	@B=$(B) sh tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) sh samples/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(MOCK) $(BENCHES)
	@B=$(B) sh tests/bench/run.sh

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@B=$(B) FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh

fuzz-build: $(FUZZERS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libcolbundle.so.$(SOVERSION) -Wl,--version-script=src/include/libcolbundle.map \
	    -o $@ $^ $(LDFLAGS_ALL) $(LIB_LIBS)

$(B)/libcolbundle.so: $(LIB_SO)
	ln -sf libcolbundle.so.$(SOVERSION) $@

$(TOOL): $(TOOL_OBJ) $(LIB_A)
	$(CC) -o $@ $(TOOL_OBJ) $(LIB_A) $(LDFLAGS_ALL) $(TOOL_LIBS) $(LIB_LIBS)

$(QPL_SO): $(QPL_OBJ) $(LIB_A) src/qpl/quoteprov.map
	$(CC) -shared -Wl,-soname,libdcap_quoteprov.so.1 -Wl,--version-script=src/qpl/quoteprov.map \
	    -Wl,--exclude-libs,ALL -o $@ $(QPL_OBJ) $(LIB_A) $(LDFLAGS_ALL) $(LIB_LIBS)

$(B)/libdcap_quoteprov.so: $(QPL_SO)
	ln -sf libdcap_quoteprov.so.1 $@

$(PKIGEN): $(PKI_OBJ)
	$(CC) -o $@ $^ $(LDFLAGS_ALL) $(LIB_LIBS)

# The test mock PCS/KDS server (loopback only; never installed).
$(MOCK): $(call obj,$(MOCK_SRC)) $(LIB_A)
	$(CC) -o $@ $(call obj,$(MOCK_SRC)) $(LIB_A) $(LDFLAGS_ALL) $(TOOL_LIBS) $(LIB_LIBS)

# Unit tests: one cmocka binary per tests/unit/test_*.c, linked against the
# static library, the tool's layers and the shared test support.
$(B)/tests/%: tests/unit/%.c $(TSUP_OBJ) $(LIB_A) $(filter-out $(B)/obj/src/cli/main.o,$(TOOL_OBJ))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(TSUP_OBJ) $(filter-out $(B)/obj/src/cli/main.o,$(TOOL_OBJ)) \
	    $(LIB_A) $(LDFLAGS_ALL) $(TEST_LIBS) $(TOOL_LIBS) $(LIB_LIBS) -ldl

$(B)/bench/%: tests/bench/%.c $(LIB_A) $(filter-out $(B)/obj/src/cli/main.o,$(TOOL_OBJ))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(filter-out $(B)/obj/src/cli/main.o,$(TOOL_OBJ)) $(LIB_A) \
	    $(LDFLAGS_ALL) $(TOOL_LIBS) $(LIB_LIBS) -ldl

# Fuzzers are always built with clang's libFuzzer, ASan and UBSan, from the
# library sources directly (not from $(B)) so that coverage reaches them.
FUZZ_CC     ?= clang
FUZZ_FLAGS   = -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               -Isrc/include -Isrc $(PKG_CFLAGS)
$(B)/fuzz/%: tests/fuzz/%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(LIB_LIBS)

$(B)/colbundle.pc: mk/colbundle.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' mk/colbundle.pc.in > $@

install: all $(B)/colbundle.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 0755 $(TOOL) $(DESTDIR)$(BINDIR)/colbundle
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libcolbundle.a
	install -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libcolbundle.so.$(SOVERSION)
	ln -sf libcolbundle.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libcolbundle.so
	if [ -f $(QPL_SO) ]; then \
	    install -m 0755 $(QPL_SO) $(DESTDIR)$(LIBDIR)/libdcap_quoteprov.so.1 && \
	    ln -sf libdcap_quoteprov.so.1 $(DESTDIR)$(LIBDIR)/libdcap_quoteprov.so; fi
	install -m 0644 src/include/colbundle.h $(DESTDIR)$(INCLUDEDIR)/colbundle.h
	install -m 0644 $(B)/colbundle.pc $(DESTDIR)$(LIBDIR)/pkgconfig/colbundle.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/colbundle $(DESTDIR)$(LIBDIR)/libcolbundle.a \
	    $(DESTDIR)$(LIBDIR)/libcolbundle.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libcolbundle.so \
	    $(DESTDIR)$(LIBDIR)/libdcap_quoteprov.so.1 $(DESTDIR)$(LIBDIR)/libdcap_quoteprov.so \
	    $(DESTDIR)$(INCLUDEDIR)/colbundle.h $(DESTDIR)$(LIBDIR)/pkgconfig/colbundle.pc

clean:
	rm -rf build build-san

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
