#!/usr/bin/env bash
# Installs and starts what the end-to-end tests need from the system: Debian's
# postfix (for the real-Postfix test and the relay benchmark's smtp-source and
# smtp-sink), Debian's chromium (the review app's browser tests drive it with
# Playwright; Playwright's own browser download does not work here), Debian's
# prometheus (promtool for the alert rules' unit tests, and a real Prometheus
# scraping the gateway), systemd (systemd-analyze verify for the unit file)
# and the local PostgreSQL server. Without root (or apt), it says
# what is missing and the tests that need it skip (they fail under CI=true).
set -u

have_root_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

if ! command -v /usr/sbin/postfix >/dev/null 2>&1; then
  if have_root_apt; then
    echo "system-deps: installing postfix"
    apt-get update -qq >/dev/null
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
  else
    echo "system-deps: postfix is not installed and cannot be (needs root and apt-get); its tests will skip"
  fi
fi

if [ ! -x /usr/bin/chromium ]; then
  if have_root_apt; then
    echo "system-deps: installing chromium"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "system-deps: chromium is not installed and cannot be (needs root and apt-get); the browser tests will skip"
  fi
fi

for tool in prometheus:prometheus promtool:prometheus systemd-analyze:systemd; do
  if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
    if have_root_apt; then
      echo "system-deps: installing ${tool#*:}"
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${tool#*:}" >/dev/null
    else
      echo "system-deps: ${tool%%:*} is not installed and cannot be (needs root and apt-get); its tests will skip"
    fi
  fi
done

# The store-fault tests start a private cluster of their own (initdb, pg_ctl).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if have_root_apt; then
    echo "system-deps: installing postgresql"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "system-deps: PostgreSQL server binaries missing and cannot be installed; the store-fault tests will skip"
  fi
fi

if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "system-deps: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
fi
exit 0
