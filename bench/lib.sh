# bench/lib.sh: what the bench scripts share (sourced, not run).
#
#	now			the clock, ns
#	median			of the numbers on stdin, one a line
#	mkq Q SYNC		a fresh empty queue; SYNC yes or no
#	body N			N lines of 100 bytes
#	fig CASE WHO COUNT NS...
#				the median of NS in seconds, as the line
#				"$FIG_PREFIX.CASE WHO COUNT SECONDS", printed
#				and appended to $FIG_FILE

now() { date +%s%N; }

median() {
	sort -g | awk '{ a[NR] = $1 } END {
		if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

mkq() {
	rm -rf "$1"
	mqput -c -q "$1" </dev/null
	rm -f "$1"/new/*
	[ "$2" = yes ] || sed -i 's/^sync = yes/sync = no/' "$1/config"
}

body() {
	awk -v n="$1" 'BEGIN { s = sprintf("%099d", 0); gsub(/0/, "x", s)
		for (i = 0; i < n; i++) print s }'
}

fig() {
	_c=$1 _w=$2 _n=$3
	shift 3
	_m=$(for x in "$@"; do echo "$x"; done | median)
	echo "$FIG_PREFIX.$_c $_w $_n $(awk -v ns="$_m" 'BEGIN { printf "%.3f", ns / 1e9 }')" |
	    tee -a "$FIG_FILE"
}
