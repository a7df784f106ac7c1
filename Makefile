# mq: a message queue made of small Unix tools.  See README.md.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d

CC ?= cc
CFLAGS ?= -O2 -g
# libbsd's overlay (what pkg-config --cflags libbsd-overlay prints), spelled
# out so that building needs no pkg-config.
MQ_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow \
	-isystem /usr/include/bsd -DLIBBSD_OVERLAY -Isrc/lib
# libbsd (and its libmd) linked statically: loading two more shared
# libraries made every one-shot tool start ~10% slower than /bin/true.
LDLIBS = -Wl,-Bstatic -lbsd -lmd -Wl,-Bdynamic
# Symbols bound at start (and the relocations made read-only): a consumer
# that waits with mqget -w did ~40 µs of lazy binding between its wake and
# its claim, and no tool's start got slower by it.
MQ_LDFLAGS = -Wl,-z,relro -Wl,-z,now

TOOLS = $(patsubst src/%.c,%,$(wildcard src/mq*.c))
BINS = $(TOOLS:%=bin/%)
LIBSRC = $(wildcard src/lib/*.c)
LIBOBJ = $(LIBSRC:.c=.o)
MAN = $(wildcard man/*.[1-8])

all: $(BINS)

# The tool layer (src/tool.c: exit statuses, messages) is linked into each
# tool, not into libmq.a: the library never prints and never exits.
bin/%: src/%.o src/tool.o src/lib/libmq.a
	@mkdir -p bin
	$(CC) $(MQ_LDFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) src/lib/libmq.a $(LDLIBS)

# mqreap's three jobs, a file each, and the pass they share (reap.h).
REAPOBJ = src/reap-follow.o src/reap-kick.o src/reap-pass.o
bin/mqreap: $(REAPOBJ)
$(REAPOBJ) src/mqreap.o: src/reap.h

# Made afresh: ar would keep the member of a source file since removed.
src/lib/libmq.a: $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $(LIBOBJ)

%.o: %.c src/lib/mq.h src/lib/mq-internal.h src/tool.h
	$(CC) $(MQ_CFLAGS) $(CFLAGS) -c -o $@ $<

# Debian packages the build, the tests and the demo need; installed when
# missing and we are root (a fresh machine), else named.
DEPS = gcc make libbsd-dev bats inotify-tools mandoc strace faketime \
	util-linux procps bash-completion zsh fish
deps:
	@sh tests/deps.sh $(DEPS)

check: deps all
	mandoc -Tlint -W warning $(MAN)
	$(MAKE) -C tests/unit
	prove -e bats tests/*.bats
	CLUSTER_FS=cephfs prove -e bats $(CLUSTER_BATS)

demo: deps all
	sh tests/demo.sh

# The bench also measures python3-dirq, a peer (bench/pydirq.py), and a
# consumer waiting on redis and on beanstalkd (bench/waitlat.c).
BENCHDEPS = python3-dirq e2fsprogs redis-server beanstalkd
bench: deps all
	@sh tests/deps.sh $(BENCHDEPS)
	sh bench/run.sh

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
		$(DESTDIR)$(FISHCOMPDIR)
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	for m in $(MAN); do \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}; done
	for t in $(TOOLS); do \
		install -m 644 completions/bash/$$t $(DESTDIR)$(BASHCOMPDIR)/$$t; \
		install -m 644 completions/zsh/_$$t $(DESTDIR)$(ZSHCOMPDIR)/_$$t; \
		install -m 644 completions/fish/$$t.fish $(DESTDIR)$(FISHCOMPDIR); \
	done

format:
	clang-format -i src/*.c src/*.h src/lib/*.c src/lib/*.h tests/unit/*.c

clean:
	rm -f bin/mq* src/*.o src/lib/*.o src/lib/libmq.a
	$(MAKE) -C tests/unit clean

.PHONY: all deps check demo bench install format clean
.SECONDARY: $(TOOLS:%=src/%.o) src/tool.o

# Issue 13: every fault accounted for.  check-asan: the whole bats suite on
# tools built with AddressSanitizer and UndefinedBehaviorSanitizer, in their
# own directory (make all never sees these objects); any report fails it.
# valgrind: memcheck with fd tracking on a long mqwatch run.
# clang, not gcc: gcc's UBSan runtime ignores log_path and its reports
# would only reach the tests' stderr.
ASAN_CC = clang
ASAN_DIR = build-asan
ASAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
ASAN_LIBOBJ = $(LIBSRC:%.c=$(ASAN_DIR)/%.o)
ASAN_BINS = $(TOOLS:%=$(ASAN_DIR)/bin/%)
VALGRIND_N ?= 100000

$(ASAN_DIR)/%.o: %.c src/lib/mq.h src/lib/mq-internal.h src/reap.h src/tool.h
	@mkdir -p $(@D)
	$(ASAN_CC) $(MQ_CFLAGS) $(ASAN_FLAGS) -c -o $@ $<

$(ASAN_DIR)/bin/%: $(ASAN_DIR)/src/%.o $(ASAN_DIR)/src/tool.o $(ASAN_LIBOBJ)
	@mkdir -p $(@D)
	$(ASAN_CC) $(ASAN_FLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)
$(ASAN_DIR)/bin/mqreap: $(REAPOBJ:%=$(ASAN_DIR)/%)

asan: $(ASAN_BINS)

# all: tests/asan.sh runs the plain build of bin/ under faketime.
check-asan: deps all
	sh tests/deps.sh clang libclang-rt-14-dev
	$(MAKE) asan
	sh tests/asan.sh $(ASAN_DIR)

valgrind: deps all
	sh tests/deps.sh valgrind
	MQ_VALGRIND_N=$(VALGRIND_N) sh tests/valgrind.sh

clean: clean-fault
clean-fault:
	rm -rf $(ASAN_DIR)

.PHONY: asan check-asan valgrind clean-fault
.SECONDARY: $(ASAN_LIBOBJ) $(TOOLS:%=$(ASAN_DIR)/src/%.o) \
	$(REAPOBJ:%=$(ASAN_DIR)/%) $(ASAN_DIR)/src/tool.o

# Issue 13: libFuzzer targets (clang) for the name parser, the settings,
# durations and sizes, and claim paths given to mqack; seeds in
# tests/fuzz/seeds/, the growing corpus and any crash in build-fuzz/.
FUZZ_SECONDS ?= 600
FUZZ_CC = clang
FUZZ_DIR = build-fuzz
FUZZ_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
FUZZ_TARGETS = $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIBOBJ = $(LIBSRC:%.c=$(FUZZ_DIR)/%.o)

$(FUZZ_DIR)/%.o: %.c src/lib/mq.h src/lib/mq-internal.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(MQ_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIBOBJ)
	$(FUZZ_CC) $(MQ_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_LIBOBJ) $(LDLIBS)

fuzz-build: $(FUZZ_TARGETS)

fuzz: deps
	sh tests/deps.sh clang libclang-rt-14-dev
	$(MAKE) fuzz-build
	sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# Issue 13: the errno table.  Every call of every tool's ordinary job made
# to fail with each plausible errno (strace inject); doc/ERRNO.md is the
# generated table, tests/errno.bats a sample of it in make check.
errno: deps all
	bash tests/errno/gen.sh -o doc/ERRNO.md
.PHONY: errno

# Issue 13: kill rounds.  KILL_N messages while random producers,
# consumers, mqwatch workers and mqreap are SIGKILLed, at least KILLS
# times; Jepsen-style counters, 0 lost (tests/stresskill.bats: a sample).
KILL_N ?= 100000
KILLS ?= 100
stress-kill: deps all
	nice bash tests/stresskill.sh $(KILL_N) $(KILLS)
.PHONY: stress-kill

clean-fault: clean-fuzz
clean-fuzz:
	rm -rf $(FUZZ_DIR)

.PHONY: fuzz fuzz-build clean-fuzz
.SECONDARY: $(FUZZ_LIBOBJ)

# Issue 9: many machines on one queue.  A shared file system on this
# machine mounted twice, two "hosts" (tests/cluster/); make check runs a
# quick sample (tests/cluster.bats, 60 messages a host), this the long one.
# Issue 25: once on each file system (CLUSTER_FS: GlusterFS, CephFS);
# make check runs them on GlusterFS with the rest, then on CephFS.  A
# cluster test file is one whose setup calls fs_up (tests/cluster/fs.sh).
# Issue 21: tests/liveness.bats, hosts' heartbeats and storage faults,
# three rounds of the crash and of the brick faults (GlusterFS's).
CLUSTER_N ?= 500
LIVENESS_ROUNDS ?= 3
CLUSTER_FSES ?= glusterfs cephfs
CLUSTER_BATS = $(shell grep -l '^[[:space:]]*fs_up ' tests/*.bats)
check-cluster: deps all
	for fs in $(CLUSTER_FSES); do \
		CLUSTER_FS=$$fs CLUSTER_N=$(CLUSTER_N) \
		LIVENESS_ROUNDS=$(LIVENESS_ROUNDS) \
		    prove -v -e bats $(CLUSTER_BATS) || exit 1; done

.PHONY: check-cluster

# issue 11: systemd units (their @BINDIR@ set here), the user and the spool
# they need (sysusers.d, tmpfiles.d), installed by make install.
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
UNITS = $(wildcard systemd/*.service systemd/*.timer systemd/*.path)
install: install-systemd
install-systemd:
	mkdir -p $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(TMPFILESDIR)
	for u in $(UNITS); do \
		sed 's|@BINDIR@|$(BINDIR)|g' $$u >$(DESTDIR)$(UNITDIR)/$${u##*/} && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; done
	install -m 644 systemd/mq.sysusers $(DESTDIR)$(SYSUSERSDIR)/mq.conf
	install -m 644 systemd/mq.tmpfiles $(DESTDIR)$(TMPFILESDIR)/mq.conf
.PHONY: install-systemd

# Issue 23: the cases of the source documents, each a script of examples/
# that narrates and ends with its verdict (SCENARIO name: ok); make check
# runs them at SCALE=20 (tests/scenarios.bats).
SCENARIOS = surge orders uploads likes live crash retention
scenarios: deps all
	@sh examples/run.sh $(SCENARIOS:%=examples/%.sh)

.PHONY: scenarios
