#!/usr/bin/env bash
# Run the timing-sensitive tests N times in a row (default 20) while a CPU load keeps every core
# busy; stop at the first failure. Bounded: each pass has a timeout, and so does the whole run.
#
#   tests/stress/run_timing_tests_under_load.sh [passes] [log-dir] [pytest selection...]
#
# Without a selection it runs the TESTS list below.
#
# The load is `stress-ng --cpu <cores>` (Debian: apt-get install stress-ng), or, where stress-ng
# is missing, one Python busy-loop process per core. Run from the repository root with the package
# importable (pip install -e ".[test]", or PYTHONPATH=$PWD).
set -euo pipefail
cd "$(dirname "$0")/../.."

passes="${1:-20}"
logs="${2:-$(mktemp -d /tmp/omnieval-stress.XXXXXX)}"
mkdir -p "$logs"
cores="$(nproc)"
pass_timeout=900      # seconds for one pass of the selection
total_timeout=$((passes * pass_timeout))

# Every test that waits on another thread, process or server, or that used to wait on a clock.
TESTS=(
  tests/test_serve.py
  tests/test_serve_batching.py
  tests/test_crash_resume.py
  tests/test_pool.py
  "tests/test_asr.py::test_openai_engine_times_out_and_reports_unreachable_servers"
  "tests/test_asr.py::test_concurrent_transcriptions_of_one_file_run_the_engine_once"
  "tests/test_gemini_provider.py::test_timeouts_and_refused_connections_are_transient"
  "tests/test_hf_provider.py::test_torch_runs_on_one_worker_thread_and_the_loop_stays_free"
  "tests/test_transport.py::test_media_preparation_runs_in_a_worker_thread_and_the_loop_stays_free"
  "tests/test_media.py::test_cache_store_is_atomic_under_concurrent_writes"
  "tests/test_media.py::test_cache_concurrent_threads_and_processes"
  "tests/test_cli.py::test_serve_command_answers_health"
  tests/test_openai_provider.py
  tests/test_serve_documented.py
  "tests/test_documented_runs.py::test_a_second_run_on_a_locked_run_directory_is_refused"
)
if [ $# -gt 2 ]; then
  TESTS=("${@:3}")
fi

load_pids=()
stop_load() {
  for pid in "${load_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${load_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_load EXIT

if command -v stress-ng >/dev/null 2>&1; then
  stress-ng --cpu "$cores" --timeout "${total_timeout}s" --quiet &
  load_pids+=($!)
  echo "load: stress-ng --cpu $cores (pid ${load_pids[0]})"
else
  for _ in $(seq "$cores"); do
    timeout "${total_timeout}" python -c "while True: pass" &
    load_pids+=($!)
  done
  echo "load: $cores Python busy loops (stress-ng not found)"
fi
sleep 1

started=$(date +%s)
for i in $(seq "$passes"); do
  t0=$(date +%s)
  if timeout "$pass_timeout" python -m pytest -q -p no:cacheprovider "${TESTS[@]}" \
      >"$logs/pass-$i.log" 2>&1; then
    echo "pass $i/$passes: ok in $(( $(date +%s) - t0 )) s ($(grep -Eo '[0-9]+ passed' "$logs/pass-$i.log" | tail -1))"
  else
    echo "pass $i/$passes: FAILED after $(( $(date +%s) - t0 )) s; log: $logs/pass-$i.log"
    tail -40 "$logs/pass-$i.log"
    exit 1
  fi
done
echo "all $passes passes ok under load in $(( $(date +%s) - started )) s; logs in $logs"
