# Sourced by .ci/run (as root on Debian): installs Chromium from Debian's
# packages for the browser tests of broker/web and tells them where it is.
if [ ! -x /usr/bin/chromium ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export FOLKEKOMMUNE_CHROMIUM=/usr/bin/chromium
