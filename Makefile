# colbundle — one Makefile for the library, the tool, the quote provider
# library, the tests, the fuzzers and the benchmarks.
#
#   make            build everything into build/
#   make check      install missing Debian packages, build, run every test
#   make check SANITIZE=1   the same under ASan+UBSan (into build-san/)
#   make demo       the end-to-end demonstration on the built-in sample fleet
#   make bench      benchmarks (figures printed as ratios to same-run baselines)
#   make fuzz       build the libFuzzer targets with clang and run each briefly
#   make install    PREFIX=/usr/local DESTDIR= honoured; make uninstall
#   make deb        a Debian package (PREFIX=/usr) into $(B)/
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

# Messages are cut to their bounded buffers on purpose: -Wformat-truncation
# (which gcc only reports at some optimisation levels) is not an error here.
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
            -Wno-format-truncation
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
SAMPLES   := $(patsubst samples/%.c,$(B)/samples/%,$(wildcard samples/*.c))

.SECONDARY:
.PHONY: all deps check test demo bench fuzz fuzz-build install uninstall deb man clean tests-build

all: $(LIB_A) $(LIB_SO) $(B)/libcolbundle.so $(TOOL) $(PKIGEN) $(if $(QPL_SRC),$(QPL_SO) $(B)/libdcap_quoteprov.so) \
     $(B)/man/colbundle.1 $(SAMPLES)

deps:
	@sh src/pkg/deps.sh

# check and demo install what is missing first, then re-enter make so that
# the pkg-config flags are read after the install.
check: deps
	@$(MAKE) --no-print-directory tests-build
	@B=$(B) sh tests/run.sh

tests-build: all $(MOCK) $(TESTS) $(BENCHES)

test: tests-build
	@B=$(B) sh tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all $(MOCK)
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

# samples/: example programs (a DCAP client that dlopen()s the quote provider
# library as Intel's QVL does, and checks its answers with OpenSSL alone).
samples: $(SAMPLES)
$(B)/samples/%: samples/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS_ALL) -lcrypto -ldl

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

# colbundle(1) is generated from the tool's own help texts (src/pkg/gen-man.sh),
# so that `colbundle help COMMAND` and the manual say the same by construction.
MAN1 := $(B)/man/colbundle.1
$(MAN1): $(TOOL) src/pkg/man/colbundle.1.in src/pkg/gen-man.sh
	@mkdir -p $(dir $@)
	sh src/pkg/gen-man.sh $(TOOL) $(VERSION) src/pkg/man/colbundle.1.in > $@.tmp && mv $@.tmp $@

man: $(MAN1)

# colbundle.pc paths are relative to ${prefix} when they lie under PREFIX, so
# that `pkg-config --define-variable=prefix=...` can relocate a staged install.
pc_rel = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(call pc_rel,$(LIBDIR))|g' \
	     -e 's|@INCLUDEDIR@|$(call pc_rel,$(INCLUDEDIR))|g' -e 's|@VERSION@|$(VERSION)|g'

$(B)/colbundle.pc: src/pkg/colbundle.pc.in Makefile
	@mkdir -p $(dir $@)
	$(PC_SED) src/pkg/colbundle.pc.in > $@

# The installed layout (tests/sh/test_install.sh and test_deb.sh check it):
#   BINDIR          colbundle
#   LIBDIR          libcolbundle.so.1, libcolbundle.so, libcolbundle.a,
#                   libdcap_quoteprov.so.1, libdcap_quoteprov.so, pkgconfig/colbundle.pc
#   INCLUDEDIR      colbundle.h
#   MANDIR          man1/colbundle.1, man3/libcolbundle.3, man5/colbundle.conf.5
#   DOCDIR          colbundle.conf.example, colbundle-serve.service (when samples/ has it)
#   BASHCOMPDIR     colbundle
#   SYSCONFDIR      colbundle/colbundle.conf, never overwritten
#   UNITDIR         colbundle-serve.service
# The quote provider library and the server read /etc/colbundle/colbundle.conf,
# so the configuration and the systemd unit are installed outside DOCDIR only
# for PREFIX=/usr (packages) or when SYSCONFDIR / UNITDIR are given; any other
# PREFIX gets the example and the unit in DOCDIR alone.
DATADIR      ?= $(PREFIX)/share
MANDIR       ?= $(DATADIR)/man
DOCDIR       ?= $(DATADIR)/doc/colbundle
BASHCOMPDIR  ?= $(DATADIR)/bash-completion/completions
SYSCONFDIR   ?= $(if $(filter /usr,$(PREFIX)),/etc)
UNITDIR      ?= $(if $(filter /usr,$(PREFIX)),$(PREFIX)/lib/systemd/system)
SERVE_UNIT   := $(wildcard samples/colbundle-serve.service)
CONF_FILE     = $(DESTDIR)$(SYSCONFDIR)/colbundle/colbundle.conf
# The unit runs the colbundle this install puts in BINDIR.
UNIT_SED      = sed -E 's|^ExecStart=[^ ]*/colbundle |ExecStart=$(BINDIR)/colbundle |'

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(TOOL) $(DESTDIR)$(BINDIR)/colbundle
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libcolbundle.a
	install -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libcolbundle.so.$(SOVERSION)
	ln -sf libcolbundle.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libcolbundle.so
	if [ -f $(QPL_SO) ]; then \
	    install -m 0755 $(QPL_SO) $(DESTDIR)$(LIBDIR)/libdcap_quoteprov.so.1 && \
	    ln -sf libdcap_quoteprov.so.1 $(DESTDIR)$(LIBDIR)/libdcap_quoteprov.so; fi
	install -m 0644 src/include/colbundle.h $(DESTDIR)$(INCLUDEDIR)/colbundle.h
	$(PC_SED) src/pkg/colbundle.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/colbundle.pc
	chmod 0644 $(DESTDIR)$(LIBDIR)/pkgconfig/colbundle.pc
	install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/colbundle.1
	install -m 0644 src/pkg/man/libcolbundle.3 $(DESTDIR)$(MANDIR)/man3/libcolbundle.3
	install -m 0644 src/pkg/man/colbundle.conf.5 $(DESTDIR)$(MANDIR)/man5/colbundle.conf.5
	install -m 0644 samples/colbundle.conf $(DESTDIR)$(DOCDIR)/colbundle.conf.example
	install -m 0644 src/pkg/colbundle.bash $(DESTDIR)$(BASHCOMPDIR)/colbundle
	$(if $(SERVE_UNIT),$(UNIT_SED) $(SERVE_UNIT) > $(DESTDIR)$(DOCDIR)/colbundle-serve.service && \
	    chmod 0644 $(DESTDIR)$(DOCDIR)/colbundle-serve.service)
	$(if $(and $(SERVE_UNIT),$(UNITDIR)),install -d $(DESTDIR)$(UNITDIR) && \
	    install -m 0644 $(DESTDIR)$(DOCDIR)/colbundle-serve.service $(DESTDIR)$(UNITDIR)/colbundle-serve.service)
	$(if $(SYSCONFDIR),install -d $(DESTDIR)$(SYSCONFDIR)/colbundle && \
	    { [ -e $(CONF_FILE) ] || install -m 0644 samples/colbundle.conf $(CONF_FILE); })

# Removes what install put, and the directories only colbundle uses when they
# are left empty. The configuration is removed only while it is still the
# shipped one: a site's edited configuration is never lost.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/colbundle $(DESTDIR)$(LIBDIR)/libcolbundle.a \
	    $(DESTDIR)$(LIBDIR)/libcolbundle.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libcolbundle.so \
	    $(DESTDIR)$(LIBDIR)/libdcap_quoteprov.so.1 $(DESTDIR)$(LIBDIR)/libdcap_quoteprov.so \
	    $(DESTDIR)$(INCLUDEDIR)/colbundle.h $(DESTDIR)$(LIBDIR)/pkgconfig/colbundle.pc \
	    $(DESTDIR)$(MANDIR)/man1/colbundle.1 $(DESTDIR)$(MANDIR)/man3/libcolbundle.3 \
	    $(DESTDIR)$(MANDIR)/man5/colbundle.conf.5 $(DESTDIR)$(DOCDIR)/colbundle.conf.example \
	    $(DESTDIR)$(DOCDIR)/colbundle-serve.service $(DESTDIR)$(BASHCOMPDIR)/colbundle
	$(if $(UNITDIR),rm -f $(DESTDIR)$(UNITDIR)/colbundle-serve.service)
	$(if $(SYSCONFDIR),if [ -f $(CONF_FILE) ] && cmp -s samples/colbundle.conf $(CONF_FILE); then \
	    rm -f $(CONF_FILE); fi; rmdir $(DESTDIR)$(SYSCONFDIR)/colbundle 2>/dev/null || true)
	rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true

# A Debian package of the same layout, PREFIX=/usr (src/pkg/deb.sh):
# $(B)/colbundle_$(VERSION)_ARCH.deb
deb: all
	sh src/pkg/deb.sh $(B) $(VERSION)

clean:
	rm -rf build build-san

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
