#!/bin/sh
# make check-asan: the whole bats suite on the sanitized tools in DIR/bin
# (test_helper.bash puts $MQ_BIN first on PATH).  Every report, from any
# tool run by any test (even one whose failure a test expected), is written
# to DIR/log/; one there fails the run, whatever the tests said.
set -u
dir=$(cd "${1:-build-asan}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$dir/log"
mkdir -p "$dir/log"
MQ_BIN=$dir/bin
ASAN_OPTIONS=log_path=$dir/log/asan:log_exe_name=1:color=never:detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1
UBSAN_OPTIONS=log_path=$dir/log/ubsan:log_exe_name=1:color=never:print_stacktrace=1:halt_on_error=1
# LeakSanitizer cannot work under ptrace: a tool run under strace (the
# crash and errno tests) is checked for everything but leaks.
mkdir -p "$dir/wrap"
cat >"$dir/wrap/strace" <<WRAP
#!/bin/sh
ASAN_OPTIONS="\$ASAN_OPTIONS:detect_leaks=0" exec $(command -v strace) "\$@"
WRAP
chmod +x "$dir/wrap/strace"
# libfaketime's constructor calls dlsym, which mallocs while ASan's
# allocator starts: the process can hang for ever (a futex, one thread).
# So a tool run under faketime is the plain build of bin/; every other
# run is the sanitized one.
cat >"$dir/wrap/faketime" <<WRAP
#!/bin/bash
args=()
for a in "\$@"; do
	if [ -x "$top/bin/\$a" ] && [ "\${#args[@]}" -gt 0 ] &&
	    [[ \$a == mq* ]]; then
		a=$top/bin/\$a
	fi
	args+=("\$a")
done
exec $(command -v faketime) "\${args[@]}"
WRAP
chmod +x "$dir/wrap/faketime"
PATH=$dir/wrap:$PATH
export MQ_BIN ASAN_OPTIONS UBSAN_OPTIONS PATH
rc=0
prove -e bats tests/*.bats || rc=$?
reports=$(find "$dir/log" -type f | wc -l)
for f in $(find "$dir/log" -type f); do
	echo "== $f"
	cat "$f"
done
echo "check-asan: bats exit $rc, $reports sanitizer report(s)"
[ "$rc" = 0 ] && [ "$reports" = 0 ]
