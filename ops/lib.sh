# shellcheck shell=bash
# Shared helpers for the ops/ scripts. Sourced, never executed.
# Everything here logs to stderr so that callers' stdout stays machine-readable
# (ops/pg start prints only the connection string on stdout).

# Repo root = parent of the directory holding this file, wherever it is cloned
# (physical: a symlink to ops/, as in ops/docs-test's work dirs, still finds the repo).
AETHERRA_ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

is_root() { [[ $(id -u) -eq 0 ]]; }

# 32 random bytes, base64, no newline: master keys and throwaway test keys.
random_key() { head -c 32 /dev/urandom | base64 -w0; }

# --- PostgreSQL binaries ------------------------------------------------------

# Debian keeps initdb/pg_ctl/postgres out of PATH, in /usr/lib/postgresql/<ver>/bin.
# Pick the newest installed major; PATH and /usr/local are deliberately ignored so
# a stray client-only install cannot shadow the server.
pg_find_bindir() {
  local d
  # shellcheck disable=SC2012 # fixed Debian layout, version-sorted names
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  [[ -n $d && -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]] && printf '%s\n' "$d"
}

# A fresh machine may lack PostgreSQL: the project must install what it needs.
pg_ensure_installed() {
  if [[ -n $(pg_find_bindir) ]] && { ! is_root || id postgres >/dev/null 2>&1; }; then
    return 0
  fi
  is_root || die "PostgreSQL server binaries are missing; as root run: apt-get install -y postgresql"
  log "PostgreSQL server binaries missing: installing the Debian 'postgresql' package"
  export DEBIAN_FRONTEND=noninteractive
  # stdout of apt goes to stderr: callers capture our stdout.
  apt-get update >&2
  apt-get install -y --no-install-recommends postgresql >&2
  [[ -n $(pg_find_bindir) ]] || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb found"
}

# bindir for an existing cluster: prefer the major that created it (PG_VERSION),
# so an extra newer install does not refuse to start an older data directory.
pg_bindir_for() {
  local dir=$1 v
  if [[ -f $dir/PG_VERSION ]]; then
    v=$(<"$dir/PG_VERSION")
    if [[ -x /usr/lib/postgresql/$v/bin/pg_ctl ]]; then
      printf '%s\n' "/usr/lib/postgresql/$v/bin"; return 0
    fi
  fi
  pg_find_bindir
}

# initdb/pg_ctl/postgres refuse to run as root: run them as 'postgres' then.
# cd / first, so a cwd postgres cannot enter (e.g. /root) causes no warnings.
as_pg() {
  if is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# As root, the postgres user must be able to traverse every ancestor of DIR
# (a repo can be cloned under /root or a 0700 mktemp dir). Add o+x only where
# it is missing, and say so, since it changes permissions outside the cluster.
pg_ensure_traversable() {
  is_root || return 0
  local target=$1 path="" part
  local IFS=/
  for part in ${target#/}; do
    path="$path/$part"
    [[ $path == "$target" ]] && break
    if ! runuser -u postgres -- test -x "$path" 2>/dev/null; then
      log "chmod o+x $path (postgres must traverse it to reach $target)"
      chmod o+x "$path"
    fi
  done
}

# First free TCP port on 127.0.0.1 at or above $1: connect() fails => nobody listens.
free_port() {
  local p=${1:-55432}
  while (( p < 65535 )); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      printf '%s\n' "$p"; return 0
    fi
    p=$((p + 1))
  done
  die "no free port found from $1"
}

# --- throwaway cluster (ops/test, ops/codegen) -----------------------------------

# Starts a private cluster in a fresh temp dir; sets TMP_PG_ROOT and PG_CONN.
# Caller must arrange tmp_pg_cleanup on EXIT. Retries a few ports in case another
# process grabs the probed one between probe and start.
tmp_pg_start() {
  TMP_PG_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/aetherra-pg.XXXXXX")
  # postgres writes pg.log next to the cluster, so it must own the temp root.
  if is_root; then
    pg_ensure_installed
    chown postgres: "$TMP_PG_ROOT"
  fi
  local port=55432 try
  for try in 1 2 3; do
    port=$(free_port "$port")
    if PG_CONN=$("$AETHERRA_ROOT/ops/pg" start "$TMP_PG_ROOT/pg" "$port" | tail -n1) && [[ -n $PG_CONN ]]; then
      return 0
    fi
    log "could not start PostgreSQL on port $port (try $try)"
    "$AETHERRA_ROOT/ops/pg" stop "$TMP_PG_ROOT/pg" >/dev/null 2>&1 || true
    rm -rf "${TMP_PG_ROOT:?}/pg"
    port=$((port + 1))
  done
  return 1
}

# Idempotent: safe from an EXIT trap and explicitly before the final summary line.
tmp_pg_cleanup() {
  [[ -n ${TMP_PG_ROOT:-} && -d $TMP_PG_ROOT ]] || return 0
  "$AETHERRA_ROOT/ops/pg" stop "$TMP_PG_ROOT/pg" >&2 || true
  rm -rf "$TMP_PG_ROOT"
  TMP_PG_ROOT=""
}

# --- Wolverine generated code ------------------------------------------------------

API_PROJECT_DIR="$AETHERRA_ROOT/src/Api"
API_PROJECT="$API_PROJECT_DIR/Aetherra.Api.csproj"
# shellcheck disable=SC2034 # used by ops/test, which sources this file
GENERATED_DIR="$API_PROJECT_DIR/Internal/Generated"

# Runs `codegen write` on the already built Release API. cwd = project dir because
# Wolverine writes Internal/Generated under the host's content root (= cwd), so
# this is what puts the files in src/Api/Internal/Generated.
run_codegen_write() {
  local conn=$1
  (cd "$API_PROJECT_DIR" &&
    AETHERRA_DB="$conn" AETHERRA_MASTER_KEY="$(random_key)" \
      dotnet run --project "$API_PROJECT" -c Release --no-build --no-launch-profile -- codegen write)
}

# --help text = the script's leading comment block (single source of truth).
usage_from_header() {
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$1"
}

# --- client tools (ops/backup, ops/restore) -----------------------------------------------

# pg_dump/pg_restore/psql of the newest installed major (a newer pg_dump reads an older server).
pg_client_bindir() {
  pg_ensure_installed
  pg_find_bindir
}

# Exports PGHOST/PGPORT/PGDATABASE/PGUSER/PGPASSWORD from an Npgsql connection string
# (Host=...;Port=...;Database=...;Username=...;Password=...), so libpq tools reach the same database.
pg_libpq_env() {
  local part key value
  local IFS=';'
  for part in $1; do
    [[ $part == *=* ]] || continue
    key=${part%%=*}; value=${part#*=}
    key=$(tr -d ' ' <<<"${key,,}")
    case $key in
      host|server) export PGHOST=$value ;;
      port) export PGPORT=$value ;;
      database|db) export PGDATABASE=$value ;;
      username|userid|user) export PGUSER=$value ;;
      password) export PGPASSWORD=$value ;;
    esac
  done
}

# One line of JSON about the store, as ops/backup writes it into backup.json and ops/restore checks it:
# the highest event sequence, the Merkle tree's size and root from its stored nodes (RFC 9162: the perfect
# subtrees of the binary decomposition of the size, folded from the right with SHA-256(0x01 || l || r)),
# the latest signed checkpoint and the number of live subject keys.
store_figures_sql() {
  tr '\n' ' ' <<'SQL'
with recursive
  t as (select coalesce(max(leaf_index) + 1, 0) as n, coalesce(max(sequence), 0) as last from aetherra.audit_leaves),
  cover as (
    select row_number() over (order by b) as k,
      case when b = 0 then (select leaf_hash from aetherra.audit_leaves where leaf_index = t.n - 1)
           else (select hash from aetherra.audit_nodes where level = b and node_index = ((t.n >> (b + 1)) << (b + 1)) >> b) end as h
    from t, generate_series(0, 62) b where (t.n >> b) & 1 = 1),
  fold as (select k, h as r from cover where k = 1
           union all select c.k, sha256('\x01'::bytea || c.h || f.r) from fold f join cover c on c.k = f.k + 1),
  cp as (select tree_size, root_hash from aetherra.audit_checkpoints order by tree_size desc limit 1)
select json_build_object(
  'sequence', (select coalesce(max(seq_id), 0) from aetherra.mt_events),
  'events', (select count(*) from aetherra.mt_events),
  'treeSize', t.n,
  'lastLeafSequence', t.last,
  'rootHash', coalesce((select encode(r, 'base64') from fold order by k desc limit 1), encode(sha256(''::bytea), 'base64')),
  'checkpoint', (select json_build_object('treeSize', tree_size, 'rootHash', encode(root_hash, 'base64')) from cp),
  'subjectKeys', (select count(*) from aetherra.subject_keys),
  'postgres', current_setting('server_version'))
from t;
SQL
}
