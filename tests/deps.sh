#!/bin/sh
# Install the Debian packages named as arguments that are missing.  Only
# root can; anyone else is told what to install.
missing=
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "mq: missing Debian packages:$missing (apt-get install$missing)" >&2
	exit 1
fi
echo "mq: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >&2
