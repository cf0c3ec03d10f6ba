#!/bin/sh
# Measures the managed broker's persistence settings (docs/ingest.md, "The managed broker's
# durability"): for each setting, QoS 1 throughput through Mosquitto to doppel, with Doppel keeping
# up ("live": publish to applied) and with a backlog (Doppel stopped while the broker queues
# the stream; the publisher's rate). What a SIGKILL loses is tested, not measured here:
# tests/api/mqtt_api_test.cpp, ManagedBrokerKilledMidStreamKeepsWhatItSaved.
# Usage: tools/broker_durability.sh [BUILD_DIR] [MESSAGES]   (from the source folder;
# SETTINGS="a;b|c" measures other settings, ';' between lines, '|' between settings)
set -eu
build=${1:-build}
n=${2:-20000}
doppel=$build/bin/doppel
load=$build/bin/doppel-loadgen

metric() { # NAME: its value in /metrics, 0 when missing
  curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$http/metrics" |
    awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'
}
wait_metric() { # NAME VALUE: until NAME >= VALUE (at most 120 s)
  i=0
  while [ "$(metric "$1")" -lt "$2" ] && [ $i -lt 12000 ]; do sleep 0.01; i=$((i + 1)); done
}
now() { date +%s.%N; }
broker_pid() { pgrep -P "$pid" mosquitto; }

printf '%-48s %14s %14s\n' "setting" "live msg/s" "backlog msg/s"
port=21883
settings=${SETTINGS:-"autosave_interval 60|autosave_interval 1|autosave_on_changes true;autosave_interval 1000|autosave_on_changes true;autosave_interval 100"}
echo "$settings" | tr '|' '\n' | while read -r setting; do
  port=$((port + 1))
  http=$((port + 1000))
  tmp=$(mktemp -d)
  cp -r examples/pump-station "$tmp/project"
  token=$("$doppel" token create "$tmp/project" --role admin --name bench | tail -1)
  password=$("$doppel" device add "$tmp/project" --name fleet | tail -1)
  "$doppel" serve "$tmp/project" --listen "127.0.0.1:$http" --mqtt managed \
    --mqtt-listen "127.0.0.1:$port" >"$tmp/serve.log" 2>&1 &
  pid=$!
  wait_metric doppel_mqtt_connects_total 1
  # The generated configuration with this setting instead of its own; the supervisor starts
  # the broker again with it, and Doppel reconnects.
  conf=$tmp/project/.doppel/mosquitto/mosquitto.conf
  grep -v '^autosave' "$conf" >"$conf.new"
  echo "$setting" | tr ';' '\n' >>"$conf.new"
  mv "$conf.new" "$conf"
  kill -TERM "$(broker_pid)"
  wait_metric doppel_mqtt_connects_total 2
  # Live: Doppel consumes while the publisher publishes.
  start=$(now)
  "$load" --port "$port" --twins 1 --first 2 --messages "$n" --qos 1 -u fleet -P "$password" >/dev/null
  wait_metric doppel_mqtt_acks_total "$n"
  live=$(echo "$n / ($(now) - $start)" | bc -l)
  # Backlog: Doppel stopped, the broker queues everything for its session (and saves it).
  kill -STOP "$pid"
  start=$(now)
  "$load" --port "$port" --twins 1 --first 1 --messages "$n" --qos 1 -u fleet -P "$password" >/dev/null
  backlog=$(echo "$n / ($(now) - $start)" | bc -l)
  kill -CONT "$pid"
  wait_metric doppel_mqtt_acks_total $((2 * n))
  printf '%-48s %14.0f %14.0f\n' "$(echo "$setting" | tr ';' ' ')" "$live" "$backlog"
  kill -TERM "$pid"
  wait "$pid" || true
  rm -rf "$tmp"
done
