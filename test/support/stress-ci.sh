#!/bin/sh
# Runs the test suite as the README does (`npm test`) while two busy processes keep the CPUs
# occupied, as on a loaded CI machine: the suite must pass whatever the scheduling. Prints the
# elapsed time and exits with the suite's status. Arguments go to jest, e.g. a test path to stress
# one suite: test/support/stress-ci.sh test/controllers
set -u
cd "$(dirname "$0")/../.." || exit 2

busy=""
stop_busy() {
  for pid in $busy; do kill "$pid" 2>/dev/null; done
}
trap stop_busy EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in 1 2; do
  sh -c 'while :; do :; done' &
  busy="$busy $!"
done
echo "stress-ci: busy processes$busy; running npm test $*"

start=$(date +%s)
if [ $# -gt 0 ]; then npm test -- "$@"; else npm test; fi
status=$?
elapsed=$(($(date +%s) - start))

echo "stress-ci: npm test exited $status after $((elapsed / 60)) min $((elapsed % 60)) s ($elapsed s) beside two busy processes"
exit "$status"
