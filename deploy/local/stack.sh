#!/usr/bin/env bash
# Meterkeep local infrastructure stack, without containers.
#
#   stack.sh up            start whatever is not running (idempotent; a no-op when all is up)
#   stack.sh down          stop what `up` started (Kafka, S3Proxy); never the machine's PostgreSQL/Redis
#   stack.sh status        one line per component, up/down (exit 0 when all are up, 3 otherwise)
#   stack.sh env           `export VAR=value` lines for shells and test harnesses
#   stack.sh stop-kafka    stop only the Kafka broker
#   stack.sh start-kafka   start only the Kafka broker and wait until it answers
#
# PostgreSQL and Redis are the machine's own servers (127.0.0.1:5432, 127.0.0.1:6379); Kafka 4 (KRaft)
# and S3Proxy come from Maven Central (see kafka/pom.xml, s3proxy/pom.xml) and run from the state dir
# ${METERKEEP_STACK_DIR:-<repo>/.local-stack}. See README.md beside this file.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
STATE_DIR=${METERKEEP_STACK_DIR:-$REPO_ROOT/.local-stack}

# The machine's PostgreSQL and Redis serve every checkout on it; each checkout (state dir) gets its own
# database and Redis database, so what they hold always matches its own Kafka and its own secrets.
STACK_ID=$( (command -v sha256sum >/dev/null && printf '%s' "$STATE_DIR" | sha256sum || printf '%s' "$STATE_DIR" | shasum -a 256) | cut -c1-8)
PG_DB=${METERKEEP_PG_DB:-meterkeep_$STACK_ID}
REDIS_DB=${METERKEEP_REDIS_DB:-$(( 16#${STACK_ID:0:4} % 10 + 1 ))}
PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
S3_PORT=${S3_PORT:-19000}
S3_REGION=us-east-1
WAIT_SECONDS=${STACK_WAIT_SECONDS:-90}

KAFKA_POM=$SCRIPT_DIR/kafka/pom.xml
KAFKA_LOG4J=$SCRIPT_DIR/kafka/log4j2.properties
KAFKA_DIR=$STATE_DIR/kafka
KAFKA_LIB=$KAFKA_DIR/lib
KAFKA_DATA=$KAFKA_DIR/data
KAFKA_LOGS=$KAFKA_DIR/logs
KAFKA_PIDFILE=$KAFKA_DIR/kafka.pid
KAFKA_MARKER="-Dmeterkeep.stack=kafka:$STATE_DIR"

S3_POM=$SCRIPT_DIR/s3proxy/pom.xml
S3_DIR=$STATE_DIR/s3proxy
S3_LIB=$S3_DIR/lib
S3_DATA=$S3_DIR/data
S3_LOG=$S3_DIR/s3proxy.log
S3_PIDFILE=$S3_DIR/s3proxy.pid
S3_CREDS=$S3_DIR/credentials.env
S3_CONF=$S3_DIR/s3proxy.properties
S3_MARKER="-Dmeterkeep.stack=s3proxy:$STATE_DIR"

JAVA=

die() { echo "stack.sh: error: $*" >&2; exit 1; }
say() { echo "stack.sh: $*" >&2; }
now_ms() {
  if [[ -n ${EPOCHREALTIME:-} ]]; then local t=${EPOCHREALTIME/[.,]/}; echo $(( 10#$t / 1000 ))
  else echo $(( $(date +%s) * 1000 )); fi
}
sha256_of() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

T_START=$(now_ms)

# ---------------------------------------------------------------- prerequisites

require_java() {
  [[ -n $JAVA ]] && return 0
  local bin ver major
  if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then bin=$JAVA_HOME/bin/java
  elif bin=$(command -v java); then :
  else die "java not found: Kafka and S3Proxy need Java 17 or newer (install a JDK 17+ or set JAVA_HOME)"; fi
  ver=$("$bin" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | sed -n 1p)
  major=${ver%%.*}
  [[ $major == 1 ]] && { major=${ver#1.}; major=${major%%.*}; }
  [[ $major =~ ^[0-9]+$ ]] || die "could not read the Java version from '$bin -version'"
  (( major >= 17 )) || die "$bin is Java $ver; Kafka 4 and S3Proxy need Java 17 or newer (set JAVA_HOME)"
  JAVA=$bin
}

# fetch_libs NAME POM LIBDIR: copy the pom's runtime dependencies into LIBDIR once. The pom's hash is
# kept in LIBDIR, so a changed pom (e.g. a new pinned version) fetches again and nothing else does.
fetch_libs() {
  local name=$1 pom=$2 lib=$3 want
  want=$(sha256_of "$pom")
  if [[ -f $lib/.pom.sha256 && $(<"$lib/.pom.sha256") == "$want" ]]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found: Maven 3.8+ is needed once to fetch $name from Maven Central"
  say "fetching $name from Maven Central (once) ..."
  rm -rf "$lib.tmp"
  mkdir -p "$lib.tmp"
  if ! mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -Dstack.libDir="$lib.tmp" \
      >"$STATE_DIR/mvn-$name.log" 2>&1; then
    die "fetching $name with Maven failed; see $STATE_DIR/mvn-$name.log"
  fi
  echo "$want" >"$lib.tmp/.pom.sha256"
  rm -rf "$lib"
  mv "$lib.tmp" "$lib"
}

# ---------------------------------------------------------------- processes and ports

cmdline_of() {
  if [[ -r /proc/$1/cmdline ]]; then tr '\0' ' ' <"/proc/$1/cmdline"
  else ps -ww -o args= -p "$1" 2>/dev/null; fi
}

# is_ours PID MARKER: the process is alive and is the server this script started for this state dir.
is_ours() {
  local cmd
  kill -0 "$1" 2>/dev/null || return 1
  cmd=$(cmdline_of "$1") || return 1
  [[ $cmd == *"$2 "* || $cmd == *"$2" ]]
}

# running_pid PIDFILE MARKER: print the pid when our server is running.
running_pid() {
  local pid
  [[ -f $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  is_ours "$pid" "$2" || return 1
  echo "$pid"
}

port_listening() {
  if command -v ss >/dev/null; then
    local out
    out=$(ss -Hltn "sport = :$1" 2>/dev/null) || out=
    [[ -n $out ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# port_owner PORT: pid of the process listening on PORT, when ss can tell.
port_owner() {
  command -v ss >/dev/null || return 1
  local out
  out=$(ss -Hltnp "sport = :$1" 2>/dev/null) || return 1
  [[ $out =~ pid=([0-9]+) ]] || return 1
  echo "${BASH_REMATCH[1]}"
}

# require_port_free PORT VARNAME MARKER PIDFILE: our server is not running (per its pid file); the port
# must be free. If the listener is our own server whose pid file was lost, adopt it (return 2).
require_port_free() {
  local port=$1 var=$2 marker=$3 pidfile=$4 owner
  port_listening "$port" || return 0
  if owner=$(port_owner "$port") && is_ours "$owner" "$marker"; then
    echo "$owner" >"$pidfile"
    return 2
  fi
  die "port $port is in use by another process; set $var to a free port"
}

# launch NAME PIDFILE LOGFILE CMD...: start CMD detached (own session, nohup); the child records its pid.
launch() {
  local name=$1 pidfile=$2 logfile=$3 i
  shift 3
  rm -f "$pidfile"
  if command -v setsid >/dev/null; then
    setsid sh -c 'echo $$ >"$1"; shift; exec nohup "$@"' sh "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
  else
    sh -c 'echo $$ >"$1"; shift; exec nohup "$@"' sh "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
  fi
  for i in $(seq 50); do [[ -s $pidfile ]] && return 0; sleep 0.1; done
  die "could not start $name (no pid recorded); see $logfile"
}

# stop_server NAME PIDFILE MARKER
stop_server() {
  local name=$1 pidfile=$2 marker=$3 pid i
  if ! pid=$(running_pid "$pidfile" "$marker"); then
    rm -f "$pidfile"
    say "$name is not running"
    return 0
  fi
  say "stopping $name (pid $pid) ..."
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 600); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name did not exit within 60 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
  say "$name stopped"
}

# wait_ready NAME PROBE LOGFILE [PIDFILE MARKER]
wait_ready() {
  local name=$1 probe=$2 logfile=$3 pidfile=${4:-} marker=${5:-} deadline=$((SECONDS + WAIT_SECONDS))
  until "$probe"; do
    if [[ -n $pidfile ]] && ! running_pid "$pidfile" "$marker" >/dev/null; then
      die "$name exited during start-up; see $logfile"
    fi
    (( SECONDS < deadline )) || die "$name did not answer within ${WAIT_SECONDS}s; see $logfile"
    sleep 0.3
  done
}

# ---------------------------------------------------------------- PostgreSQL

pg_probe() {
  [[ $(psql -X -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tAc 'SELECT 1' 2>/dev/null) == 1 ]]
}

pg_up() {
  command -v psql >/dev/null || die "psql not found (PostgreSQL client is needed)"
  if ! pg_probe; then
    command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]] ||
      die "PostgreSQL is not answering on $PG_HOST:$PG_PORT and pg_ctlcluster is not available to start it; start PostgreSQL 15 yourself"
    say "starting PostgreSQL ..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start ||
      die "could not start PostgreSQL with pg_ctlcluster; see /var/log/postgresql/"
    wait_ready postgresql pg_probe /var/log/postgresql/
  fi
  psql -X -q -v ON_ERROR_STOP=1 -v db="$PG_DB" -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres >/dev/null <<'SQL' ||
SELECT 'CREATE ROLE meterkeep LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'meterkeep')\gexec
SELECT format('CREATE DATABASE %I OWNER meterkeep', :'db') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
SQL
    die "could not create role meterkeep / database $PG_DB (psql -h $PG_HOST -U postgres)"
  [[ $(psql -X -h "$PG_HOST" -p "$PG_PORT" -U meterkeep -d "$PG_DB" -tAc 'SELECT 1' 2>/dev/null) == 1 ]] ||
    die "SELECT 1 as meterkeep on database $PG_DB failed"
}

# ---------------------------------------------------------------- Redis

redis_probe() {
  local reply
  if command -v redis-cli >/dev/null; then
    reply=$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) || return 1
  else
    reply=$( { exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT" && printf 'PING\r\n' >&3 && timeout 3 head -c 7 <&3; } 2>/dev/null) || return 1
    reply=${reply#+}; reply=${reply%$'\r'*}
  fi
  [[ $reply == PONG ]]
}

redis_up() {
  redis_probe && return 0
  command -v redis-server >/dev/null ||
    die "Redis is not answering on $REDIS_HOST:$REDIS_PORT and redis-server is not installed; start Redis yourself"
  say "starting Redis ..."
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || die "could not start redis-server; see /var/log/redis/ci.log"
  wait_ready redis redis_probe /var/log/redis/ci.log
}

# ---------------------------------------------------------------- Kafka

# A real Metadata request (v4, all topics) over /dev/tcp; ready when the reply lists at least one broker.
kafka_probe() {
  local out b n
  out=$( { exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT" &&
           printf '\x00\x00\x00\x17\x00\x03\x00\x04\x00\x00\x00\x2a\x00\x08mk-probe\xff\xff\xff\xff\x00' >&3 &&
           timeout 5 head -c 16 <&3 | od -An -v -tu1; } 2>/dev/null) || return 1
  read -ra b <<<"$out"
  (( ${#b[@]} == 16 )) || return 1
  (( b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] == 42 )) || return 1
  n=$(( (b[12] << 24) | (b[13] << 16) | (b[14] << 8) | b[15] ))
  (( n >= 1 && n < 1000 ))
}

kafka_jvm_opts() {
  local heap
  read -ra heap <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
  KAFKA_OPTS_ARR=("${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=$KAFKA_LOG4J" "-Dkafka.logs.dir=$KAFKA_LOGS")
}

write_kafka_config() {
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Generated by deploy/local/stack.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=false
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=10
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
EOF
}

kafka_start() {
  local pid id rc t0
  mkdir -p "$KAFKA_DIR"
  if pid=$(running_pid "$KAFKA_PIDFILE" "$KAFKA_MARKER"); then
    grep -q "^listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT\$" \
      "$KAFKA_DIR/server.properties" 2>/dev/null ||
      die "kafka (pid $pid) is running with other ports than KAFKA_PORT=$KAFKA_PORT/KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT; run '$0 stop-kafka' first"
    wait_ready kafka kafka_probe "$KAFKA_LOGS/server.log" "$KAFKA_PIDFILE" "$KAFKA_MARKER"
    return 0
  fi
  rm -f "$KAFKA_PIDFILE"
  rc=0; require_port_free "$KAFKA_PORT" KAFKA_PORT "$KAFKA_MARKER" "$KAFKA_PIDFILE" || rc=$?
  if (( rc == 0 )); then
    require_port_free "$KAFKA_CONTROLLER_PORT" KAFKA_CONTROLLER_PORT "$KAFKA_MARKER" "$KAFKA_PIDFILE" || rc=$?
  fi
  if (( rc == 2 )); then
    say "kafka already running (pid $(<"$KAFKA_PIDFILE")); pid file restored"
    wait_ready kafka kafka_probe "$KAFKA_LOGS/server.log" "$KAFKA_PIDFILE" "$KAFKA_MARKER"
    return 0
  fi
  require_java
  fetch_libs kafka "$KAFKA_POM" "$KAFKA_LIB"
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
  kafka_jvm_opts
  write_kafka_config

  if [[ -f $KAFKA_DATA/meta.properties ]]; then
    # Already formatted: never format again; keep the recorded cluster id in step.
    id=$(sed -n 's/^cluster\.id=//p' "$KAFKA_DATA/meta.properties")
    [[ -s $KAFKA_DIR/cluster-id ]] || echo "$id" >"$KAFKA_DIR/cluster-id"
  else
    if [[ ! -s $KAFKA_DIR/cluster-id ]]; then
      # 16 random bytes, base64url without padding (Kafka's Uuid form); not starting with '-'.
      id=-
      while [[ $id == -* ]]; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
      done
      echo "$id" >"$KAFKA_DIR/cluster-id"
    fi
    id=$(<"$KAFKA_DIR/cluster-id")
    say "formatting Kafka storage (cluster id $id) ..."
    # Static quorum (controller.quorum.voters), so no --standalone.
    "$JAVA" "${KAFKA_OPTS_ARR[@]}" -cp "$KAFKA_LIB/*" kafka.tools.StorageTool format \
      --cluster-id "$id" --config "$KAFKA_DIR/server.properties" --ignore-formatted \
      >>"$KAFKA_LOGS/format.log" 2>&1 9>&- || die "formatting Kafka storage failed; see $KAFKA_LOGS/format.log"
  fi

  say "starting Kafka on 127.0.0.1:$KAFKA_PORT ..."
  t0=$(now_ms)
  launch kafka "$KAFKA_PIDFILE" "$KAFKA_LOGS/stdout.log" \
    "$JAVA" "${KAFKA_OPTS_ARR[@]}" "$KAFKA_MARKER" -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_DIR/server.properties"
  wait_ready kafka kafka_probe "$KAFKA_LOGS/server.log" "$KAFKA_PIDFILE" "$KAFKA_MARKER"
  say "kafka answers $(( $(now_ms) - t0 )) ms after its start ($(( $(now_ms) - T_START )) ms after stack.sh began)"
}

kafka_stop() { stop_server kafka "$KAFKA_PIDFILE" "$KAFKA_MARKER"; }

# ---------------------------------------------------------------- S3Proxy

load_s3_creds() {
  [[ -s $S3_CREDS ]] || return 1
  S3_ACCESS_KEY_ID=$(sed -n 's/^S3_ACCESS_KEY_ID=//p' "$S3_CREDS")
  S3_SECRET_ACCESS_KEY=$(sed -n 's/^S3_SECRET_ACCESS_KEY=//p' "$S3_CREDS")
  [[ -n $S3_ACCESS_KEY_ID && -n $S3_SECRET_ACCESS_KEY ]]
}

ensure_s3_creds() {
  mkdir -p "$S3_DIR"
  if ! load_s3_creds; then
    (
      umask 077
      printf 'S3_ACCESS_KEY_ID=MK%s\nS3_SECRET_ACCESS_KEY=%s\n' \
        "$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n' | tr 'a-f' 'A-F')" \
        "$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')" >"$S3_CREDS"
    )
    load_s3_creds || die "could not write $S3_CREDS"
  fi
  chmod 600 "$S3_CREDS"
}

# S3 ListBuckets signed with SigV4; the credentials go to curl on stdin, not on its command line.
# curl (7.88) does not add x-amz-content-sha256 itself, and S3 servers require it: send the hash of
# the empty body (curl signs x-amz-* headers it is given).
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3_probe() {
  load_s3_creds || return 1
  printf 'user = "%s:%s"\n' "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY" |
    curl -fsS -o /dev/null --max-time 5 --aws-sigv4 "aws:amz:$S3_REGION:s3" -K - \
      -H "x-amz-content-sha256: $EMPTY_SHA256" "http://127.0.0.1:$S3_PORT/" 2>/dev/null
}

s3_start() {
  local pid rc jar t0
  command -v curl >/dev/null || die "curl not found (needed to probe S3Proxy)"
  mkdir -p "$S3_DIR"
  ensure_s3_creds
  if pid=$(running_pid "$S3_PIDFILE" "$S3_MARKER"); then
    grep -q "^s3proxy.endpoint=http://127.0.0.1:$S3_PORT\$" "$S3_CONF" 2>/dev/null ||
      die "s3proxy (pid $pid) is running on another port than S3_PORT=$S3_PORT; run '$0 down' first"
    wait_ready s3proxy s3_probe "$S3_LOG" "$S3_PIDFILE" "$S3_MARKER"
    return 0
  fi
  rm -f "$S3_PIDFILE"
  rc=0; require_port_free "$S3_PORT" S3_PORT "$S3_MARKER" "$S3_PIDFILE" || rc=$?
  if (( rc == 2 )); then
    say "s3proxy already running (pid $(<"$S3_PIDFILE")); pid file restored"
    wait_ready s3proxy s3_probe "$S3_LOG" "$S3_PIDFILE" "$S3_MARKER"
    return 0
  fi
  require_java
  fetch_libs s3proxy "$S3_POM" "$S3_LIB"
  jar=$(ls "$S3_LIB"/s3proxy-*-jar-with-dependencies.jar 2>/dev/null | sed -n 1p)
  [[ -n $jar ]] || die "no s3proxy jar in $S3_LIB; delete that directory and run up again"
  mkdir -p "$S3_DATA"
  (
    umask 077
    cat >"$S3_CONF" <<EOF
# Generated by deploy/local/stack.sh on every start (contains the credential: keep 0600, never commit).
s3proxy.endpoint=http://127.0.0.1:$S3_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$S3_ACCESS_KEY_ID
s3proxy.credential=$S3_SECRET_ACCESS_KEY
jclouds.provider=filesystem
jclouds.filesystem.basedir=$S3_DATA
EOF
  )
  say "starting S3Proxy on 127.0.0.1:$S3_PORT ..."
  t0=$(now_ms)
  launch s3proxy "$S3_PIDFILE" "$S3_LOG" \
    "$JAVA" -Xms64m -Xmx256m -XX:+ExitOnOutOfMemoryError "$S3_MARKER" -jar "$jar" --properties "$S3_CONF"
  wait_ready s3proxy s3_probe "$S3_LOG" "$S3_PIDFILE" "$S3_MARKER"
  say "s3proxy answers $(( $(now_ms) - t0 )) ms after its start"
}

s3_stop() { stop_server s3proxy "$S3_PIDFILE" "$S3_MARKER"; }

# ---------------------------------------------------------------- commands

lock_state() {
  mkdir -p "$STATE_DIR"
  if command -v flock >/dev/null; then
    exec 9>"$STATE_DIR/.lock"
    flock -w 300 9 || die "another stack.sh is still running on $STATE_DIR (lock $STATE_DIR/.lock)"
  fi
}

print_endpoints() {
  cat <<EOF
postgres  postgres://meterkeep@$PG_HOST:$PG_PORT/$PG_DB
redis     redis://$REDIS_HOST:$REDIS_PORT/$REDIS_DB
kafka     127.0.0.1:$KAFKA_PORT   (log $KAFKA_LOGS/server.log)
s3        http://127.0.0.1:$S3_PORT   (path-style, region $S3_REGION, log $S3_LOG)
credentials and exports: $0 env
EOF
}

cmd_up() {
  lock_state
  pg_up
  redis_up
  kafka_start
  s3_start
  say "stack is up ($(( $(now_ms) - T_START )) ms)"
  print_endpoints
}

cmd_down() {
  lock_state
  s3_stop
  kafka_stop
  say "PostgreSQL and Redis are the machine's own servers and were left running"
}

cmd_status() {
  local all=0 pid
  if command -v psql >/dev/null && pg_probe; then echo "postgres  up    $PG_HOST:$PG_PORT"
  else echo "postgres  down  $PG_HOST:$PG_PORT"; all=3; fi
  if redis_probe; then echo "redis     up    $REDIS_HOST:$REDIS_PORT"
  else echo "redis     down  $REDIS_HOST:$REDIS_PORT"; all=3; fi
  if pid=$(running_pid "$KAFKA_PIDFILE" "$KAFKA_MARKER") && kafka_probe; then
    echo "kafka     up    127.0.0.1:$KAFKA_PORT (pid $pid)"
  elif [[ -n ${pid:-} ]]; then echo "kafka     down  127.0.0.1:$KAFKA_PORT (pid $pid running, not answering)"; all=3
  else echo "kafka     down  127.0.0.1:$KAFKA_PORT"; all=3; fi
  pid=
  if pid=$(running_pid "$S3_PIDFILE" "$S3_MARKER") && s3_probe; then
    echo "s3proxy   up    http://127.0.0.1:$S3_PORT (pid $pid)"
  elif [[ -n ${pid:-} ]]; then echo "s3proxy   down  http://127.0.0.1:$S3_PORT (pid $pid running, not answering)"; all=3
  else echo "s3proxy   down  http://127.0.0.1:$S3_PORT"; all=3; fi
  return "$all"
}

cmd_env() {
  load_s3_creds || die "no S3 credentials yet in $S3_CREDS; run '$0 up' first"
  cat <<EOF
export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export DATABASE_URL=postgres://meterkeep@$PG_HOST:$PG_PORT/$PG_DB
export REDIS_URL=redis://$REDIS_HOST:$REDIS_PORT/$REDIS_DB
export S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export S3_REGION=$S3_REGION
export S3_ACCESS_KEY_ID=$S3_ACCESS_KEY_ID
export S3_SECRET_ACCESS_KEY=$S3_SECRET_ACCESS_KEY
export S3_FORCE_PATH_STYLE=true
EOF
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  start-kafka) lock_state; kafka_start ;;
  stop-kafka) lock_state; kafka_stop ;;
  -h|--help|help) usage ;;
  *) usage ;;
esac
