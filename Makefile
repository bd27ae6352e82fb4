# ksm-bpf: the one entry point. `make help` lists the targets.
#
# Everything built lands in build/ (ignored); kernels, libbpf/bpftool, ccache and
# the Python virtualenv are cached under $(KSM_CACHE) so a fresh clone reuses them.

SHELL := /bin/bash
VARIANT ?= patched
KSM_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ksm-bpf
export KSM_CACHE

B := build
SELFTESTS := $(B)/selftests

CC := gcc
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iselftests/lib

# BPF: clang-16 against the committed vmlinux.h; libbpf and bpftool from the tree.
CLANG := clang-16
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
	-Ivmlinux-btf -Iinclude -I$(B)/tools/include
BPFTOOL := $(B)/tools/bin/bpftool
LIBBPF := $(B)/tools/lib/libbpf.a
BPF_LDLIBS := $(LIBBPF) -lelf -lz

TEST_LIB := selftests/lib/ksm_util.c
GUEST_LIB := $(TEST_LIB) selftests/lib/worker.c
GUEST_LIB_H := $(wildcard selftests/lib/*.h)
GUEST_TESTS := ksm_merge ksm_cow ksm_unmerge ksm_prctl ksm_policy ksm_policy_stress ksm_trace
GUEST_BINS := $(addprefix $(SELFTESTS)/guest/,$(GUEST_TESTS) ksm-workload)
UNIT_TESTS := $(patsubst selftests/unit/%.c,$(SELFTESTS)/unit/%,$(wildcard selftests/unit/test_*.c))

.SECONDARY:
.PHONY: help setup kernel kernel-tree kernel-patches checkpatch tools vmlinux-btf \
	check-vmlinux-btf selftests test unit-test guest-test vm run bench bench-converge bench-throughput policies ksmctl \
	fuzz fresh-machine clean torture reproduce

help:
	@echo "make setup              install Debian packages and virtme-ng (idempotent)"
	@echo "make run                the demo: boot the kernel, show KSM merging"
	@echo "make test               every test; ends with 'N passed, M failed'"
	@echo "make kernel [VARIANT=patched|baseline|debug|baseline-debug|patched-jump-label|baseline-jump-label]   build or reuse a kernel"
	@echo "make kernel-tree        build/linux: the source as a git tree with the series"
	@echo "make kernel-patches     regenerate kernel/patches from build/linux"
	@echo "make checkpatch         checkpatch.pl --strict over the series"
	@echo "make tools              libbpf and bpftool from the same source"
	@echo "make vmlinux-btf        regenerate vmlinux-btf/vmlinux.h"
	@echo "make vm CMD='...'       run a command in the guest (exit status and output)"
	@echo "make unit-test | guest-test [TESTS='ksm_merge ...']"
	@echo "make ksmctl             build/ksmctl and the shipped policies (build/bpf/*.bpf.o)"
	@echo "make fuzz [FUZZ_SECONDS=300]   libFuzzer over ksmctl's parsers for that long"
	@echo "make bench [BENCH_ARGS=--smoke]   ksmd CPU per visited page, convergence, throughput, patched vs unpatched (docs/benchmarks.md)"
	@echo "make bench-converge [CONVERGE_ARGS=--smoke]   pages and CPU to converge, per configuration"
	@echo "make bench-throughput [THROUGHPUT_ARGS=--smoke]   upstream ksm_tests MiB/s, per policy"
	@echo "make torture [DURATION=600]   R1-R4 (docs/reliability.md): R2 on the debug kernel"
	@echo "make reproduce          the upstream bug 0001 fixes: reported unpatched, not patched"
	@echo "make fresh-machine      make run + make test from a clone with an empty cache (30-45 min)"

# The stamp is only a fast path: setup.sh itself checks everything.
$(B)/.setup: setup/debian-packages.txt setup/requirements.txt kernel/source-version scripts/setup.sh
	@bash scripts/setup.sh
	@mkdir -p $(B) && touch $@

setup:
	@bash scripts/setup.sh
	@mkdir -p $(B) && touch $(B)/.setup

kernel: $(B)/.setup
	@bash scripts/kernel.sh build $(VARIANT) >/dev/null

kernel-tree: $(B)/.setup
	@bash scripts/kernel.sh tree

kernel-patches:
	@bash scripts/kernel.sh patches
	@bash scripts/kernel.sh checkpatch

checkpatch: $(B)/.setup
	@bash scripts/kernel.sh checkpatch

tools: $(B)/.setup
	@bash scripts/kernel.sh tools >/dev/null


# vmlinux.h of the patched kernel; committed so BPF code builds without a kernel.
vmlinux-btf: kernel tools
	@$(BPFTOOL) btf dump file $(B)/kernel-patched/vmlinux format c >vmlinux-btf/vmlinux.h.tmp
	@mv vmlinux-btf/vmlinux.h.tmp vmlinux-btf/vmlinux.h
	@echo "vmlinux-btf/vmlinux.h: $$(wc -l <vmlinux-btf/vmlinux.h) lines"

# Not a byte comparison (BTF of two builds differs in pahole's '___2' copies): the
# types and kfunc prototypes the BPF sources use must match the kernel just built.
BPF_SOURCES := $(wildcard bpf/*.bpf.c include/*.bpf.h include/*.h selftests/bpf/*.c selftests/bpf/*.h \
	bench/*.bpf.c bench/*.h)
check-vmlinux-btf: tools
	@bash scripts/kernel.sh build patched >/dev/null
	@python3 scripts/check_vmlinux_btf.py $(BPFTOOL) $(B)/kernel-patched/vmlinux \
		vmlinux-btf/vmlinux.h $(sort $(BPF_SOURCES))

# --- BPF: shipped policies and the statistics programs ---
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(B)/bpf/%.bpf.o,$(wildcard bpf/*.bpf.c))

$(B)/bpf/%.bpf.o: bpf/%.bpf.c vmlinux-btf/vmlinux.h $(wildcard include/*.h bpf/lib/*.h) | tools
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

policies: $(BPF_OBJS)

# --- ksmctl ---
KSMCTL := $(B)/ksmctl
CTL_SRCS := $(wildcard ctl/*.c)
CTL_LIB_SRCS := $(filter-out ctl/main.c,$(CTL_SRCS))
CTL_SKELS := $(B)/ctl/ksm_stats.bpf.skel.h $(B)/ctl/ksm_estimate.bpf.skel.h
CTL_DEPS := $(CTL_SRCS) $(wildcard ctl/*.h) include/ksm_stats.h include/ksm_estimate.h $(CTL_SKELS)
CTL_CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-Ictl -Iinclude -I$(B)/ctl -I$(B)/tools/include
CTL_LDLIBS := $(BPF_LDLIBS) -ljson-c -lcap

# BPF objects built into ksmctl.
$(B)/ctl/%.bpf.skel.h: $(B)/bpf/%.bpf.o
	@mkdir -p $(@D)
	$(BPFTOOL) gen skeleton $< name $*_bpf >$@

$(KSMCTL): $(CTL_DEPS) | tools
	$(CC) $(CTL_CFLAGS) -o $@ $(CTL_SRCS) $(CTL_LDLIBS)

ksmctl: $(KSMCTL) policies

# libFuzzer over ksmctl's parsers (selftests/fuzz/): clang-16 with ASan and UBSan.
FUZZER := $(SELFTESTS)/fuzz/fuzz_ksmctl
FUZZ_SECONDS ?= 300
# make test runs it this long; make unit-test replays the corpus only.
FUZZ_CI_SECONDS ?= 60
FUZZ_CFLAGS := $(filter-out -O2,$(CTL_CFLAGS)) -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all
$(FUZZER): selftests/fuzz/fuzz_ksmctl.c $(CTL_DEPS) | tools
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(CTL_LIB_SRCS) $(CTL_LDLIBS)

fuzz: $(FUZZER)
	@bash selftests/fuzz/run.sh $(FUZZER) $(FUZZ_SECONDS)

# --- Userspace test programs ---
$(SELFTESTS)/unit/test_%: selftests/unit/test_%.c $(TEST_LIB) $(GUEST_LIB_H) | $(B)/.setup
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(TEST_LIB) -lcriterion

# ksmctl's unit tests link everything of ksmctl but main().
CTL_UNIT_TESTS := $(addprefix $(SELFTESTS)/unit/,test_args test_ksmctl test_metrics test_sharing \
	test_estimate)
$(CTL_UNIT_TESTS): $(SELFTESTS)/unit/test_%: \
		selftests/unit/test_%.c $(CTL_DEPS) selftests/lib/fake_files.h | tools
	@mkdir -p $(@D)
	$(CC) $(CTL_CFLAGS) -Iselftests/lib -o $@ $< $(CTL_LIB_SRCS) $(CTL_LDLIBS) -lcriterion

# The harness's self-checks run this Criterion program (selftests/harness/run_tests.py).
$(SELFTESTS)/harness/criterion_selfcheck: selftests/harness/criterion_selfcheck.c | $(B)/.setup
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< -lcriterion

$(SELFTESTS)/guest/ksm-workload: selftests/guest/ksm_workload.c $(TEST_LIB) $(GUEST_LIB_H)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(TEST_LIB)

$(SELFTESTS)/bpf/%.bpf.o: selftests/bpf/%.bpf.c vmlinux-btf/vmlinux.h include/ksm_policy.bpf.h | tools
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Bad input for ksmctl (ksm_bad_input): a policy for the other byte order.
$(SELFTESTS)/bpf/default-bpfeb.bpf.o: bpf/default.bpf.c vmlinux-btf/vmlinux.h $(wildcard include/*.h) | tools
	@mkdir -p $(@D)
	$(CLANG) $(subst -target bpf,-target bpfeb,$(BPF_CFLAGS)) -c $< -o $@

BAD_BPF_OBJS := $(addprefix $(SELFTESTS)/bpf/,bad_verifier.bpf.o bad_wrong_ops.bpf.o bad_flags.bpf.o \
	default-bpfeb.bpf.o)

$(SELFTESTS)/bpf/%.skel.h: $(SELFTESTS)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* >$@

# Guest tests that load BPF policies through skeletons
BPF_GUEST_TESTS := $(addprefix $(SELFTESTS)/guest/,ksm_policy ksm_policy_stress ksm_trace)
$(BPF_GUEST_TESTS): $(SELFTESTS)/guest/%: selftests/guest/%.c \
		$(SELFTESTS)/bpf/test_policies.skel.h selftests/bpf/test_policies.h $(GUEST_LIB) $(GUEST_LIB_H)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(B)/tools/include -I$(SELFTESTS)/bpf -Iselftests/bpf -o $@ $< $(GUEST_LIB) \
		$(BPF_LDLIBS) -lpthread

$(SELFTESTS)/guest/%: selftests/guest/%.c $(GUEST_LIB) $(GUEST_LIB_H)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(GUEST_LIB) -lpthread

# ksmctl end to end: Python tests driving the real binary.
PY_GUEST_TESTS := $(addprefix $(SELFTESTS)/guest/,ksm_ksmctl ksm_cgroup ksm_shipped_policies \
	ksm_stats ksm_sharing ksm_cgroup_policy ksm_estimate ksm_docs ksm_upstream ksm_bad_input \
	ksm_torture ksm_series_kselftests ksm_series_bpf_selftests)
$(PY_GUEST_TESTS): $(SELFTESTS)/guest/%: selftests/guest/%.py $(SELFTESTS)/lib/ksm_guest.py \
		$(KSMCTL) $(BPF_OBJS) $(SELFTESTS)/bpf/test_policies.bpf.o
	@mkdir -p $(@D)
	install -m 755 $< $@

$(SELFTESTS)/lib/%.py: selftests/lib/%.py
	@mkdir -p $(@D)
	install -m 644 $< $@

# The torture (docs/reliability.md): R1's program and R3's tenant, the drivers
# of R1-R4 (Python, run by `make torture` and by the guest test ksm_torture)
# and R3's misbehaving policies.
TORTURE_BINS := $(addprefix $(SELFTESTS)/torture/,ksm-cow-torture ksm-mmap-latency)
TORTURE_PY := $(patsubst selftests/torture/%,$(SELFTESTS)/torture/%,$(wildcard selftests/torture/*.py))
TORTURE := $(TORTURE_BINS) $(TORTURE_PY) $(SELFTESTS)/lib/ksm_torture.py \
	$(SELFTESTS)/bpf/torture_policies.bpf.o

$(TORTURE_BINS): $(SELFTESTS)/torture/ksm-%: selftests/torture/%.c $(TEST_LIB) $(GUEST_LIB_H)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(TEST_LIB) -lpthread

$(SELFTESTS)/torture/%.py: selftests/torture/%.py
	@mkdir -p $(@D)
	install -m 755 $< $@

$(SELFTESTS)/guest/ksm_torture: $(TORTURE)

# Reproductions of the upstream bugs the series fixes (docs/reliability.md).
REPRO := $(SELFTESTS)/repro/ksm-remap-race

$(REPRO): $(SELFTESTS)/repro/ksm-%: selftests/repro/%.c $(TEST_LIB) $(GUEST_LIB_H)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(TEST_LIB) -lpthread

# The kernel's own KSM selftests (tools/testing/selftests/mm of the same source, with
# the fixes in selftests/upstream/), built out of tree as the kernel's Makefile would;
# the guest test ksm_upstream runs them under each shipped policy. The selftests the
# series adds (KSELFTEST_SERIES_FILES in scripts/kernel.sh, taken from kernel/patches)
# build the same way into $(SELFTESTS)/series; the guest test ksm_series_kselftests
# runs them.
KSELFTEST_SRC := $(B)/kselftests/src
KSELFTEST_MM := $(KSELFTEST_SRC)/tools/testing/selftests/mm
KSELFTEST_CFLAGS := -O2 -g -Wall -Wno-maybe-uninitialized \
	-isystem $(KSELFTEST_SRC)/tools/include/uapi -I$(KSELFTEST_SRC)
KSELFTESTS := $(addprefix $(SELFTESTS)/upstream/,ksm_functional_tests ksm_tests)
KSELFTESTS_SERIES := $(SELFTESTS)/series/ksm_cgroup_tests

$(KSELFTEST_SRC)/.stamp: kernel/source-version $(wildcard selftests/upstream/*.patch) \
		$(wildcard kernel/patches/*.patch) scripts/kernel.sh | $(B)/.setup
	@bash scripts/kernel.sh kselftests >/dev/null

$(SELFTESTS)/upstream/ksm_functional_tests: $(KSELFTEST_SRC)/.stamp
	@mkdir -p $(@D)
	$(CC) $(KSELFTEST_CFLAGS) -o $@ $(KSELFTEST_MM)/ksm_functional_tests.c \
		$(KSELFTEST_MM)/vm_util.c

$(SELFTESTS)/upstream/ksm_tests: $(KSELFTEST_SRC)/.stamp
	@mkdir -p $(@D)
	$(CC) $(KSELFTEST_CFLAGS) -o $@ $(KSELFTEST_MM)/ksm_tests.c $(KSELFTEST_MM)/vm_util.c \
		$(KSELFTEST_MM)/thp_settings.c -lnuma

$(SELFTESTS)/series/ksm_cgroup_tests: $(KSELFTEST_SRC)/.stamp
	@mkdir -p $(@D)
	$(CC) $(KSELFTEST_CFLAGS) -o $@ $(KSELFTEST_MM)/ksm_cgroup_tests.c $(KSELFTEST_MM)/vm_util.c

# The BPF selftest the series adds (tools/testing/selftests/bpf/prog_tests/ksm_policy.c
# and its progs/, BPF_KSELFTEST_SERIES_FILES in scripts/kernel.sh) in the kernel's own
# runner: test_progs.c, its helpers and this one test, compiled with the flags of the
# selftests' Makefile, whose full build (every test, bpf_testmod.ko) would take long on
# this machine and needs a newer clang. BPF side: clang-16 against vmlinux-btf/vmlinux.h
# (the patched kernel's BTF), skeletons by bpftool; libbpf of the same tree. The guest
# test ksm_series_bpf_selftests runs it.
BPF_KSELFTEST_SRC := $(B)/bpf-kselftests/src
BPF_KSELFTEST_DIR := $(BPF_KSELFTEST_SRC)/tools/testing/selftests/bpf
BPF_KSELFTEST_OBJ := $(B)/bpf-kselftests/obj
BPF_KSELFTEST_TESTS := ksm_policy
BPF_KSELFTEST_PROGS := ksm_policy ksm_policy_tcp_ca
BPF_KSELFTEST_HELPERS := test_progs testing_helpers cgroup_helpers trace_helpers \
	network_helpers json_writer
TEST_PROGS := $(SELFTESTS)/series/test_progs
BPF_KSELFTEST_CFLAGS := -g -O0 -rdynamic -Wall -Werror -fno-omit-frame-pointer \
	-I$(BPF_KSELFTEST_OBJ) -I$(BPF_KSELFTEST_DIR) -I$(B)/tools/include \
	-I$(BPF_KSELFTEST_SRC)/tools/lib -I$(BPF_KSELFTEST_SRC)/tools/include \
	-I$(BPF_KSELFTEST_SRC)/tools/arch/x86/include -I$(BPF_KSELFTEST_SRC)/tools/include/uapi
BPF_KSELFTEST_BPF_CFLAGS = -g -O2 --target=bpf -mcpu=v3 -D__TARGET_ARCH_x86 -mlittle-endian \
	-Wall -Werror -Wno-compare-distinct-pointer-types -Ivmlinux-btf -I$(B)/tools/include \
	-I$(BPF_KSELFTEST_DIR) -I$(BPF_KSELFTEST_SRC)/tools/include/uapi \
	$(shell $(CLANG) -v -E - </dev/null 2>&1 | \
		sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

$(BPF_KSELFTEST_SRC)/.stamp: kernel/source-version $(wildcard selftests/upstream/bpf/*.patch) \
		$(wildcard kernel/patches/*.patch) scripts/kernel.sh | $(B)/.setup
	@bash scripts/kernel.sh bpf-kselftests >/dev/null

$(BPF_KSELFTEST_OBJ)/%.bpf.o: $(BPF_KSELFTEST_SRC)/.stamp vmlinux-btf/vmlinux.h | tools
	@mkdir -p $(@D)
	$(CLANG) $(BPF_KSELFTEST_BPF_CFLAGS) -c $(BPF_KSELFTEST_DIR)/progs/$*.c -o $@

# Statically linked first, as the selftests' Makefile does.
$(BPF_KSELFTEST_OBJ)/%.skel.h: $(BPF_KSELFTEST_OBJ)/%.bpf.o
	$(BPFTOOL) gen object $(@:.skel.h=.linked.o) $<
	$(BPFTOOL) gen skeleton $(@:.skel.h=.linked.o) name $* >$@

# The runner's list of tests: this one only.
$(BPF_KSELFTEST_OBJ)/prog_tests/tests.h: $(BPF_KSELFTEST_SRC)/.stamp
	@mkdir -p $(@D)
	{ echo '/* Generated header, do not edit */'; \
	  sed -n -E 's/^void (serial_)?test_([a-zA-Z0-9_]+)\((void)?\).*/DEFINE_TEST(\2)/p' \
		$(addprefix $(BPF_KSELFTEST_DIR)/prog_tests/,$(addsuffix .c,$(BPF_KSELFTEST_TESTS))) | \
		sort; } >$@

$(TEST_PROGS): $(BPF_KSELFTEST_OBJ)/prog_tests/tests.h \
		$(patsubst %,$(BPF_KSELFTEST_OBJ)/%.skel.h,$(BPF_KSELFTEST_PROGS)) | tools
	@mkdir -p $(@D)
	$(CC) $(BPF_KSELFTEST_CFLAGS) -o $@ \
		$(patsubst %,$(BPF_KSELFTEST_DIR)/%.c,$(BPF_KSELFTEST_HELPERS)) \
		$(patsubst %,$(BPF_KSELFTEST_DIR)/prog_tests/%.c,$(BPF_KSELFTEST_TESTS)) \
		$(LIBBPF) -lelf -lz -lrt -lpthread

$(SELFTESTS)/guest/ksm_upstream: $(KSELFTESTS)
$(SELFTESTS)/guest/ksm_series_kselftests: $(KSELFTESTS_SERIES)
$(SELFTESTS)/guest/ksm_series_bpf_selftests: $(TEST_PROGS)
$(SELFTESTS)/guest/ksm_bad_input: $(BAD_BPF_OBJS)

selftests: tools $(UNIT_TESTS) $(GUEST_BINS) $(PY_GUEST_TESTS) $(KSELFTESTS) \
	$(KSELFTESTS_SERIES) $(TEST_PROGS) $(TORTURE) $(REPRO) \
	$(SELFTESTS)/harness/criterion_selfcheck $(FUZZER)

# The benchmark's pass recorder (bench/ksm_pass_cost.bpf.c), built into ksm-scan-cost.
$(B)/bench/ksm_pass_cost.bpf.o: bench/ksm_pass_cost.bpf.c bench/ksm_pass_cost.h \
		vmlinux-btf/vmlinux.h | tools
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -Ibench -c $< -o $@

$(B)/bench/ksm_pass_cost.skel.h: $(B)/bench/ksm_pass_cost.bpf.o
	$(BPFTOOL) gen skeleton $< name ksm_pass_cost_bpf >$@

# What both benchmark programs share: reading the recorder, their workload processes.
BENCH_LIB := bench/ksm_pass_reader.c bench/bench_process.c $(TEST_LIB)
BENCH_LIB_DEPS := $(BENCH_LIB) bench/ksm_pass_reader.h bench/bench_process.h bench/ksm_pass_cost.h \
	$(B)/bench/ksm_pass_cost.skel.h $(GUEST_LIB_H)

$(B)/bench/ksm-scan-cost: bench/ksm_scan_cost.c $(BENCH_LIB_DEPS) | tools
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Ibench -I$(B)/bench -I$(B)/tools/include -o $@ $< $(BENCH_LIB) $(BPF_LDLIBS)

$(B)/bench/ksm-converge: bench/ksm_converge.c bench/w2_layout.h $(BENCH_LIB_DEPS) | tools
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Ibench -I$(B)/bench -I$(B)/tools/include -o $@ $< $(BENCH_LIB) \
		$(BPF_LDLIBS) -lpthread

# The convergence benchmark's own policies, not shipped: a bound told w2's
# layout, and an experiment that learns it.
BENCH_POLICY_OBJS := $(B)/bench/w2_bound.bpf.o $(B)/bench/learn_offsets.bpf.o

$(BENCH_POLICY_OBJS): $(B)/bench/%.bpf.o: bench/%.bpf.c vmlinux-btf/vmlinux.h \
		include/ksm_policy.bpf.h | tools
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -Ibench -c $< -o $@

$(B)/bench/w2_bound.bpf.o: bench/w2_layout.h

# P4's variant of ksm_tests: timed to the expected sharing, ksmd out of the
# windows; bench/ksm_merge_clock.bpf.c stamps the last merge.
$(B)/bench/ksm_merge_clock.bpf.o: bench/ksm_merge_clock.bpf.c vmlinux-btf/vmlinux.h | tools
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/bench/ksm_merge_clock.skel.h: $(B)/bench/ksm_merge_clock.bpf.o
	$(BPFTOOL) gen skeleton $< name ksm_merge_clock_bpf >$@

$(B)/bench/ksm-sharing-time: bench/ksm_sharing_time.c $(B)/bench/ksm_merge_clock.skel.h \
		$(TEST_LIB) $(GUEST_LIB_H) | tools
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(B)/bench -I$(B)/tools/include -o $@ $< $(TEST_LIB) $(BPF_LDLIBS)

# --- Tests ---
# The whole suite: checks that need no VM, unit tests, then guest tests in one boot.
test: kernel tools selftests check-vmlinux-btf checkpatch $(B)/bench/ksm-scan-cost \
		$(B)/bpf/default.bpf.o $(B)/bench/ksm-converge $(BENCH_POLICY_OBJS) \
		$(B)/bench/ksm-sharing-time ksmctl
	@test "$(VARIANT)" != patched || bash scripts/kernel.sh build baseline >/dev/null
	@python3 selftests/harness/run_tests.py --variant $(VARIANT) --fuzz-seconds $(FUZZ_CI_SECONDS)

unit-test: selftests
	@python3 selftests/harness/run_tests.py --unit-only

guest-test: kernel selftests
	@python3 selftests/harness/run_tests.py --guest-only --variant $(VARIANT) $(TESTS)

vm: kernel
	@test -n "$(CMD)" || { echo "usage: make vm CMD='command to run in the guest'" >&2; exit 2; }
	@python3 scripts/vm.py --variant $(VARIANT) -- sh -c '$(CMD)'

# The main job: boot the kernel and watch KSM merge identical memory.
run: kernel selftests ksmctl
	@python3 scripts/vm.py --variant $(VARIANT) -- bash scripts/demo.sh \
		$(SELFTESTS)/guest/ksm-workload $(KSMCTL) $(B)/bpf

# Benchmarks: both kernels in one run, reported as ratios (build/bench/results.json);
# BENCH_ARGS=--smoke checks the pipeline in a minute, without the targets (docs/benchmarks.md).
# The three benchmarks (cost, convergence, throughput), one after the other even
# if one misses a target; the status is the worst. BENCH_ARGS=--smoke makes each
# check its pipeline only; --jump-label measures the kernels built with
# CONFIG_JUMP_LABEL (their files in build/bench/jump-label/).
CONVERGE_ARGS ?= $(filter --smoke --jump-label,$(BENCH_ARGS))
THROUGHPUT_ARGS ?= $(filter --smoke --jump-label,$(BENCH_ARGS))
# The kernels a benchmark with arguments $(1) boots.
bench_kernels = $(if $(filter --jump-label,$(1)),baseline-jump-label patched-jump-label,baseline patched)
bench: $(B)/bench/ksm-scan-cost $(B)/bpf/default.bpf.o $(B)/bench/ksm-converge \
		$(BENCH_POLICY_OBJS) $(B)/bench/ksm-sharing-time ksmctl selftests
	@for v in $(call bench_kernels,$(BENCH_ARGS)); do \
		bash scripts/kernel.sh build $$v >/dev/null || exit 1; done
	@status=0; python3 scripts/bench.py $(BENCH_ARGS) || status=$$?; \
	python3 scripts/bench_converge.py $(CONVERGE_ARGS) || status=$$?; \
	python3 scripts/bench_throughput.py $(THROUGHPUT_ARGS) || status=$$?; exit $$status

# Convergence against upstream (issue 13, P2/P3) alone: both kernels, every
# configuration, build/bench/converge.json and PNG plots; CONVERGE_ARGS=--smoke
# checks the pipeline.
bench-converge: $(B)/bench/ksm-converge $(BENCH_POLICY_OBJS) ksmctl
	@for v in $(call bench_kernels,$(CONVERGE_ARGS)); do \
		bash scripts/kernel.sh build $$v >/dev/null || exit 1; done
	@python3 scripts/bench_converge.py $(CONVERGE_ARGS)

# Throughput against upstream (issue 13, P4) alone: ksm_tests -P, -H, -D, -C on
# both kernels, each shipped policy; build/bench/throughput.json.
# THROUGHPUT_ARGS=--smoke checks the pipeline.
bench-throughput: $(B)/bench/ksm-sharing-time ksmctl selftests
	@for v in $(call bench_kernels,$(THROUGHPUT_ARGS)); do \
		bash scripts/kernel.sh build $$v >/dev/null || exit 1; done
	@python3 scripts/bench_throughput.py $(THROUGHPUT_ARGS)

# R1-R4 for DURATION seconds in all (docs/reliability.md): R1, R3 and R4 on the
# patched kernel, R2 on the debug kernel; a summary, figures in build/torture/.
DURATION ?= 600
torture: kernel selftests
	@bash scripts/kernel.sh build debug >/dev/null
	@python3 scripts/torture.py --duration $(DURATION)

# Each on the unpatched KASAN kernel (must report) and on the debug kernel (must not).
reproduce: kernel selftests
	@bash scripts/kernel.sh build baseline-debug >/dev/null
	@bash scripts/kernel.sh build debug >/dev/null
	@python3 selftests/repro/reproduce.py $(REPRO_ARGS)

# What a new user does: a clone of HEAD, an empty cache, a plain environment.
fresh-machine:
	@bash scripts/fresh-machine.sh

clean:
	rm -rf $(SELFTESTS) $(B)/kselftests $(B)/bpf-kselftests $(B)/bpf $(B)/bench $(B)/ctl $(KSMCTL) $(B)/obj-* $(B)/logs $(B)/vm-*
