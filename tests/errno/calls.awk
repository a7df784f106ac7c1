# calls.awk: from an strace log of one tool run, the system calls the tool
# itself made (those after its first umask(2), which mq_tool_init makes
# before anything else: the dynamic loader's calls come before it), one
# line each: SYSCALL WHEN CREAT DESCRIPTION.  WHEN counts every call of
# that name from the start, as strace's inject=...:when= does.  The
# description names the object: "openat q/config", "fsync new",
# "renameat2 tmp/ID" (gen.sh turns ids into ID before this).
function obj(fd,   s) {
	s = (fd in name) ? name[fd] : (fd == "0" ? "stdin" : fd == "1" ? \
	    "stdout" : fd == "2" ? "stderr" : "fd")
	return s
}
{
	sys = $0
	sub(/\(.*/, "", sys)
	if (sys !~ /^[a-z0-9_]+$/)
		next
	n[sys]++
}
/^umask\(/ { on = 1 }
!on { next }
{
	args = $0
	sub(/^[a-z0-9_]+\(/, "", args)
	first = args
	sub(/[,)].*/, "", first)
	str = ""
	if (match(args, /"[^"]*"/))
		str = substr(args, RSTART + 1, RLENGTH - 2)
	gsub(/\.\.\.$/, "", str)
	if (str != "" && sys != "read" && sys != "write") {
		d = (first == "AT_FDCWD" || !(first in name)) ? "" : name[first] "/"
		desc = d str
	} else
		desc = obj(first)
	creat = index(args, "O_CREAT") ? 1 : 0
	print sys, n[sys], creat, sys " " desc
	if ((sys == "openat" || sys == "open") && match($0, /= [0-9]+$/))
		name[substr($0, RSTART + 2)] = desc
}
