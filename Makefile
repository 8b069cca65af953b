# ibuild / ireg / ipush / ipull
#
#   make            build the four programs into build/bin/
#   make test       install missing test packages (as root), build, run every test
#   make asan       the same suite built with ASan+UBSan (into build-asan/)
#   make fuzz       build the libFuzzer harnesses (clang) into build-fuzz/
#   make demo       build the example image in testdata/example with ibuild
#   make format     clang-format every C file
#
# Modules are layered (DESIGN.md); every .c under a module goes into that
# module's archive, so adding a file needs no Makefile change.

BUILD ?= build
CC ?= gcc
PREFIX ?= /usr/local

PKGS := libcurl libarchive openssl jansson libzstd zlib libmicrohttpd gnutls expat libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcrypt -lpthread

WARN := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wformat-nonliteral -Wvla \
	-Werror=shadow -Werror=missing-prototypes -Werror=format-nonliteral -Werror=vla \
	-Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -I. $(WARN) $(PKG_CFLAGS) \
	$(CFLAGS) $(EXTRA_CFLAGS) -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) $(EXTRA_LDFLAGS)

# Lowest first.  A module may use only those before it.
MODULES := common digest oci registry builder
mod_srcs = $(sort $(shell find $(1) -name '*.c' 2>/dev/null))
mod_objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(call mod_srcs,$(1)))
mod_lib = $(BUILD)/lib/lib$(1).a

LIB_common := $(call mod_lib,common)
LIB_digest := $(call mod_lib,digest) $(LIB_common)
LIB_oci := $(call mod_lib,oci) $(LIB_digest)
LIB_registry := $(call mod_lib,registry) $(LIB_oci)
LIB_builder := $(call mod_lib,builder) $(LIB_registry)
ALL_LIBS := $(LIB_builder)

PROGRAMS := ibuild ireg ipush ipull
CMD_COMMON_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard cmd/common/*.c)))
prog_objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard cmd/$(1)/*.c)))
BINS := $(addprefix $(BUILD)/bin/,$(PROGRAMS))

# Unit tests: tests/unit/<module>_<name>.c, linked with that module and below.
UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
unit_module = $(firstword $(subst _, ,$(notdir $(1))))

# Test tools: tests/tools/<name>.c, small programs that drive the library from
# bats tests; linked with every module, built into $(BUILD)/tools/.
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))

FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all tests test check asan fuzz fuzz-run demo format install clean deps
.DEFAULT_GOAL := all

all: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(foreach m,$(MODULES),$(eval $(call mod_lib,$(m)): $(call mod_objs,$(m))))
$(BUILD)/lib/%.a:
	@mkdir -p $(dir $@)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

define prog_rule
$(BUILD)/bin/$(1): $(call prog_objs,$(1)) $(CMD_COMMON_OBJS) $(ALL_LIBS)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(ALL_CFLAGS) $$(ALL_LDFLAGS) -o $$@ $(call prog_objs,$(1)) $(CMD_COMMON_OBJS) $(ALL_LIBS) $$(PKG_LIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call prog_rule,$(p))))

define unit_rule
$(BUILD)/tests/$(1): $(BUILD)/obj/tests/unit/$(1).o $(LIB_$(call unit_module,$(1)))
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(ALL_CFLAGS) $$(ALL_LDFLAGS) -o $$@ $$< $(LIB_$(call unit_module,$(1))) $$(PKG_LIBS) -lcmocka
endef
$(foreach t,$(patsubst tests/unit/%.c,%,$(UNIT_SRCS)),$(eval $(call unit_rule,$(t))))

$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(ALL_LIBS) $(PKG_LIBS)

tests: all $(UNIT_BINS) $(TOOL_BINS)

deps:
	@scripts/deps.sh build

test:
	@scripts/deps.sh test
	$(MAKE) tests
	$(MAKE) fuzz
	tests/run.sh $(BUILD) build-fuzz

check: test

asan:
	@scripts/deps.sh test
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		EXTRA_LDFLAGS="-fsanitize=address,undefined" tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/run.sh build-asan

# Fuzz harnesses: every module source rebuilt with clang and sanitizers.
FUZZ_BUILD := build-fuzz
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang CFLAGS="-O1 -g" \
		EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -Wno-unused-command-line-argument" \
		$(addprefix $(FUZZ_BUILD)/lib/lib,$(addsuffix .a,$(MODULES))) \
		$(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/fuzz/%,$(FUZZ_SRCS))

$(FUZZ_BUILD)/fuzz/%: tests/fuzz/%.c $(addprefix $(FUZZ_BUILD)/lib/lib,$(addsuffix .a,$(MODULES)))
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang -std=gnu11 -D_GNU_SOURCE -I. -O1 -g -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) \
		-o $@ $< $(foreach m,builder registry oci digest common,$(FUZZ_BUILD)/lib/lib$(m).a) $(PKG_LIBS)

# Dependencies first: on a fresh machine nothing builds before they are there.
demo:
	@scripts/deps.sh demo
	$(MAKE) all
	scripts/demo.sh $(BUILD)

format:
	clang-format -i $$(find common digest oci registry builder cmd tests bench -name '*.[ch]' 2>/dev/null)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
