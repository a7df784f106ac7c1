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

TOOLS = $(patsubst src/%.c,%,$(wildcard src/mq*.c))
BINS = $(TOOLS:%=bin/%)
LIBSRC = $(wildcard src/lib/*.c)
LIBOBJ = $(LIBSRC:.c=.o)
MAN = $(wildcard man/*.[1-8])

all: $(BINS)

bin/%: src/%.o src/lib/libmq.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) src/lib/libmq.a $(LDLIBS)

# mqreap's three jobs, a file each (reap.h).
REAPOBJ = src/reap-follow.o src/reap-kick.o
bin/mqreap: $(REAPOBJ)
$(REAPOBJ) src/mqreap.o: src/reap.h

src/lib/libmq.a: $(LIBOBJ)
	$(AR) rcs $@ $(LIBOBJ)

%.o: %.c src/lib/mq.h src/lib/mq-internal.h
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

demo: deps all
	sh tests/demo.sh

# The bench also measures python3-dirq, a peer (bench/pydirq.py).
BENCHDEPS = python3-dirq e2fsprogs
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
.SECONDARY: $(TOOLS:%=src/%.o)
