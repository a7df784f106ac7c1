#!/usr/bin/env bats
# The libFuzzer targets of tests/fuzz/ (names, settings, durations and
# sizes, claim paths), 30 s each here (issue 13: two minutes for the
# four); `make fuzz` runs each for FUZZ_SECONDS (default 600).  Any crash
# or sanitizer report fails; its input is kept in build-fuzz/.

load test_helper

setup_file() {
	sh "$MQ_ROOT/tests/deps.sh" clang libclang-rt-14-dev 2>/dev/null || true
	command -v clang >/dev/null ||
		skip "no clang here (Debian: clang libclang-rt-14-dev)"
	printf 'int LLVMFuzzerTestOneInput(const char *d, long n)\n{ return 0; }\n' \
		>"$BATS_FILE_TMPDIR/t.c"
	clang -fsanitize=fuzzer -o "$BATS_FILE_TMPDIR/t" "$BATS_FILE_TMPDIR/t.c" \
		2>/dev/null ||
		skip "clang cannot link libFuzzer here (libclang-rt-14-dev)"
	make -s -C "$MQ_ROOT" fuzz-build >/dev/null
}

fuzz() {
	run -0 sh "$MQ_ROOT/tests/fuzz/run.sh" 30 "$1"
	echo "# $output" >&3
	[[ "$output" == "fuzz_$1: ok: "* ]]
}

@test "fuzz the name parser and the fate of every name: 30 s, no crash" {
	fuzz name
}

@test "fuzz the settings parser: 30 s, no crash" {
	fuzz config
}

@test "fuzz durations and sizes: 30 s, no crash" {
	fuzz units
}

@test "fuzz claim paths given to mqack: 30 s, no crash" {
	fuzz path
}
