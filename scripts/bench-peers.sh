#!/usr/bin/env bash
# Optional peer benchmark (issue #6; not part of `make test` or CI): times `bucketward sweep`,
# Prowler (its S3 public-access checks) and Cloud Custodian (a public-bucket policy) on the same
# emulator state, side by side, and prints buckets/s and what each tool reports as public.
#
#   scripts/bench-peers.sh [N ...]        e.g. scripts/bench-peers.sh 200 1000
#
# Each N (default 1000; also BENCH_PEERS_N, comma- or space-separated) gets a fresh emulator state
# seeded by scripts/bench_peers_seed.py with the mix of `make bench` (tests/src/bin/bench_sweep.rs):
# i%20==0 public by policy, ==1 public by legacy ACL, ==2 no Block Public Access, else all four
# BPA flags on. Every tool then runs BENCH_PEERS_RUNS times (default 3), interleaved, and the
# table shows the median wall time (process start included) and every run.
#
# Env: BENCH_PEERS_PORT       moto's port (default 5077; its own moto, PID file and log in a temp dir)
#      BENCH_PEERS_RUNS       runs per tool (default 3)
#      BENCH_PEERS_CONCURRENCY  bucketward sweep --concurrency (default 16, as `make bench`)
#      BENCH_PEERS_TOOLS      default "bucketward prowler custodian"; add custodian-all for Custodian
#                             with its default augment-keys (ten sub-documents fetched per bucket)
#      BENCH_PEERS_KEEP=1     keep the outputs in the temp dir (they are kept anyway on failure)
# Needs: target/release/bucketward (cargo build --release -p bucketward-cli), python3 (3.11),
#        PyPI. Tools go into .venv-peers/ (prowler and c7n need separate venvs: their pins of
#        boto3/botocore conflict); moto is taken from the project's .venv if `make setup` made it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# ---- pins ------------------------------------------------------------------------------------
PROWLER_VERSION=5.46.0
C7N_VERSION=0.9.53
MOTO_PIN='moto[server]==5.2.5'

PORT="${BENCH_PEERS_PORT:-5077}"
RUNS="${BENCH_PEERS_RUNS:-3}"
CONCURRENCY="${BENCH_PEERS_CONCURRENCY:-16}"
TOOLS="${BENCH_PEERS_TOOLS:-bucketward prowler custodian}"
if (($# > 0)); then SIZES="$*"; else SIZES="${BENCH_PEERS_N:-1000}"; fi
SIZES="${SIZES//,/ }"
PYTHON="${PYTHON:-python3}"
PEERS=.venv-peers
BIN=target/release/bucketward
URL="http://127.0.0.1:$PORT"

# Prowler's S3 public-access checks (prowler aws --list-checks, 5.46.0). The first four decide
# "public"; the others are the Block Public Access posture checks around them.
PROWLER_PUBLIC_CHECKS="s3_bucket_public_access s3_bucket_policy_public_write_access s3_bucket_public_list_acl s3_bucket_public_write_acl"
PROWLER_CHECKS="$PROWLER_PUBLIC_CHECKS s3_bucket_level_public_access_block s3_account_level_public_access_blocks s3_access_point_public_access_block s3_multi_region_access_point_public_access_block"
POLICY=scripts/custodian-public-buckets.yml

log() { echo "bench-peers: $*" >&2; }
die() {
  log "$*"
  exit 1
}
wanted() { [[ " $TOOLS " == *" $1 "* ]]; }

[[ -x "$BIN" ]] || die "$BIN not found: build it with 'cargo build --release -p bucketward-cli'"
for n in $SIZES; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "not a bucket count: $n"; done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_PEERS_RUNS must be a positive integer"

# ---- tools -----------------------------------------------------------------------------------
venv() { # venv DIR STAMP-TEXT PACKAGE...
  local dir="$1" want="$2"
  shift 2
  if [[ -x "$dir/bin/python" && "$(cat "$dir/.stamp" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  log "installing $* into $dir (first run: a minute or two)"
  [[ -x "$dir/bin/python" ]] || "$PYTHON" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  echo "$want" >"$dir/.stamp"
}
mkdir -p "$PEERS"
# Like the venvs Python 3.13 creates: the tools' directory ignores itself (2+ GB, not for git).
[[ -f "$PEERS/.gitignore" ]] || echo '*' >"$PEERS/.gitignore"
! wanted prowler || venv "$PEERS/prowler" "prowler==$PROWLER_VERSION" "prowler==$PROWLER_VERSION"
# c7n's venv also provides boto3 for the seeding script.
venv "$PEERS/c7n" "c7n==$C7N_VERSION" "c7n==$C7N_VERSION"
if [[ -x .venv/bin/moto_server ]]; then
  MOTO_VENV=.venv
else
  venv "$PEERS/moto" "$MOTO_PIN" "$MOTO_PIN"
  MOTO_VENV="$PEERS/moto"
fi
SEED_PY="$PEERS/c7n/bin/python"

# ---- emulator --------------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/bench-peers.XXXXXX")"
emulator() { EMULATOR_DIR="$WORK/emulator" EMULATOR_PORT="$PORT" VENV="$MOTO_VENV" scripts/emulator.sh "$@"; }
cleanup() {
  local rc=$?
  emulator down || true
  if [[ "${BENCH_PEERS_KEEP:-}" == 1 || $rc -ne 0 ]]; then
    log "outputs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
emulator up

# Same credentials, region and endpoint for every tool; nothing from the user's AWS config.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="$URL"
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN BUCKETWARD_ACCOUNT_ID \
  HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY http_proxy https_proxy all_proxy no_proxy || true

# Prowler only: S3 Control calls go to {AccountId}.<endpoint host>; botocore prepends the account
# id to whatever AWS_ENDPOINT_URL names (http://123456789012.127.0.0.1:5077/... cannot be resolved)
# and inject_host_prefix cannot be turned off from the environment. So S3 Control gets a host
# that only exists behind a proxy, and the proxy is moto itself: moto's server routes the
# absolute-form request by its /v20180820/ path to its S3 Control backend. Everything else goes
# straight to moto (NO_PROXY). The account-level BPA, access point and MRAP checks then read
# moto's real state instead of failing with EndpointConnectionError.
prowler_env=(
  AWS_ENDPOINT_URL_S3_CONTROL="http://s3-control.emulator.invalid:$PORT"
  HTTP_PROXY="$URL" http_proxy="$URL" NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
)

BW_VERSION="$("$BIN" --version 2>/dev/null | awk '{print $NF}')"
PROWLER_V="$("$PEERS/prowler/bin/pip" show prowler 2>/dev/null | awk '/^Version:/ {print $2}')"
C7N_V="$("$PEERS/c7n/bin/pip" show c7n 2>/dev/null | awk '/^Version:/ {print $2}')"
MOTO_PID="$(cat "$WORK/emulator/moto.pid")"
MOTO_LOG="$WORK/emulator/moto.log"

# One JSON line per run: the runner's metrics plus what the tool reported.
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"

timed() { # OUT-DIR CMD... : runs CMD under scripts/peers/run_timed.py; OUT/stdout.log, OUT/stderr.log
  local out="$1" rc=0
  shift
  "$PYTHON" scripts/peers/run_timed.py --metrics "$out/metrics.json" --moto-pid "$MOTO_PID" \
    --moto-log "$MOTO_LOG" --stdout "$out/stdout.log" --stderr "$out/stderr.log" -- "$@" || rc=$?
  if ((rc != 0)); then
    tail -n 30 "$out/stdout.log" "$out/stderr.log" >&2
    die "$(basename "$out") failed (exit $rc); outputs kept in $out"
  fi
}

run_bucketward() { # N RUN
  local out="$WORK/n$1/bucketward-$2"
  mkdir -p "$out"
  timed "$out" "$BIN" sweep --mode dry-run --output json --concurrency "$CONCURRENCY" \
    --state-dir "$out/state"
  "$PYTHON" - "$1" "$2" "$out" >>"$RESULTS" <<'EOF'
import json, sys
n, run, out = sys.argv[1:]
s = json.load(open(f"{out}/stdout.log"))
m = json.load(open(f"{out}/metrics.json"))
m.update(n=int(n), tool="bucketward", run=int(run), in_tool=s["duration_ms"] / 1000, seen=s["seen"],
         public=s["public"], detail=f"errors={s['errors']}, complete={s['complete']}, "
         f"its own calls/bucket={s['calls_per_bucket']}")
print(json.dumps(m))
EOF
}

run_prowler() { # N RUN
  local out="$WORK/n$1/prowler-$2"
  mkdir -p "$out"
  # shellcheck disable=SC2086 # the check list is meant to split
  timed "$out" env "${prowler_env[@]}" "$PEERS/prowler/bin/prowler" aws --checks $PROWLER_CHECKS \
    --filter-region us-east-1 --output-formats csv --output-directory "$out/report" \
    --no-banner --log-level ERROR --ignore-exit-code-3
  "$PYTHON" - "$1" "$2" "$out" "$PROWLER_PUBLIC_CHECKS" >>"$RESULTS" <<'EOF'
import collections, csv, glob, json, re, sys
n, run, out, public_checks = sys.argv[1:]
public_checks = public_checks.split()
rows = []
for path in glob.glob(f"{out}/report/*.csv"):
    with open(path, newline="") as f:
        rows += list(csv.DictReader(f, delimiter=";"))
fails = collections.Counter(r["CHECK_ID"] for r in rows if r["STATUS"] == "FAIL")
public = {r["RESOURCE_UID"] for r in rows if r["STATUS"] == "FAIL" and r["CHECK_ID"] in public_checks}
seen = {r["RESOURCE_UID"] for r in rows if r["CHECK_ID"] == "s3_bucket_level_public_access_block"}
log = "".join(open(f"{out}/{f}", errors="replace").read() for f in ("stdout.log", "stderr.log"))
log = re.sub(r"\x1b\[[0-9;]*m", "", log)
# alive-progress: "Scan completed! |...| 8/8 [100%] in 52.3s" (or "in 1:02.3" past a minute)
t = re.search(r"Scan completed!.*? in (?:(\d+):)?(\d+(?:\.\d+)?)", log)
errors = [line for line in log.splitlines() if " ERROR: " in line]
sse = [line for line in errors if "ServerSideEncryptionConfigurationNotFound" in line]
m = json.load(open(f"{out}/metrics.json"))
m.update(n=int(n), tool="prowler", run=int(run),
         in_tool=int(t.group(1) or 0) * 60 + float(t.group(2)) if t else float("nan"),
         seen=len(seen), public=len(public),
         detail="FAIL per check: " + ", ".join(f"{k}={v}" for k, v in sorted(fails.items()))
         + f"; ERROR log lines {len(errors)}, of which {len(sse)} GetBucketEncryption not-found"
         + ("; other: " + errors[0][:200] if len(errors) > len(sse) else ""))
print(json.dumps(m))
EOF
}

run_custodian() { # N RUN [TOOL-NAME POLICY-FILE]
  local tool="${3:-custodian}" policy="${4:-$POLICY}"
  local out="$WORK/n$1/$tool-$2"
  mkdir -p "$out"
  # --cache-period 0: no resource cache between runs (the default caches for 15 minutes).
  timed "$out" "$PEERS/c7n/bin/custodian" run --cache-period 0 --region us-east-1 \
    --output-dir "$out/report" "$policy"
  "$PYTHON" - "$1" "$2" "$out" "$tool" >>"$RESULTS" <<'EOF'
import json, sys
n, run, out, tool = sys.argv[1:]
d = f"{out}/report/s3-public-buckets"
resources = json.load(open(f"{d}/resources.json"))
meta = json.load(open(f"{d}/metadata.json"))
api = meta.get("api-stats", {})
m = json.load(open(f"{out}/metrics.json"))
m.update(n=int(n), tool=tool, run=int(run),
         in_tool=meta.get("execution", {}).get("duration", float("nan")),
         # Custodian augments every listed bucket with its location first: one call per bucket.
         seen=api.get("s3.GetBucketLocation", 0), public=len(resources),
         detail="api-stats: " + ", ".join(f"{k.split('.')[-1]}={v}" for k, v in api.items()))
print(json.dumps(m))
EOF
}

# The same policy without its `query: augment-keys` block: Custodian's default ('all').
run_custodian_all() { # N RUN
  local policy="$WORK/custodian-public-buckets-all.yml"
  [[ -f "$policy" ]] || sed '/^    query:$/,/augment-keys/d' "$POLICY" >"$policy"
  ! grep -q "^ *- augment-keys" "$policy" || die "could not strip augment-keys from $POLICY"
  run_custodian "$1" "$2" custodian-all "$policy"
}

for n in $SIZES; do
  curl -fsS -X POST "$URL/moto-api/reset" >/dev/null
  log "N=$n: seeding"
  seeded="$("$SEED_PY" scripts/bench_peers_seed.py "$n" --endpoint-url "$URL")"
  log "N=$n: seeded $seeded"
  echo "$seeded" >"$WORK/seed-$n.json"
  for ((r = 1; r <= RUNS; r++)); do
    for tool in bucketward prowler custodian custodian-all; do
      wanted "$tool" || continue
      log "N=$n run $r/$RUNS: $tool"
      "run_${tool//-/_}" "$n" "$r"
    done
  done
done

# ---- report ----------------------------------------------------------------------------------
"$PYTHON" - "$RESULTS" "$WORK" "$BW_VERSION" "$PROWLER_V" "$C7N_V" "$CONCURRENCY" "$(nproc)" <<'EOF'
import json, statistics, sys
from collections import defaultdict

results, work, bw_v, pr_v, c7_v, conc, cores = sys.argv[1:]
versions = {"bucketward": bw_v, "prowler": pr_v, "custodian": c7_v, "custodian-all": c7_v}
tools = ("bucketward", "prowler", "custodian", "custodian-all")
rows = defaultdict(list)
for line in open(results):
    r = json.loads(line)
    rows[(r["n"], r["tool"])].append(r)

def med(rs, key):
    return statistics.median(r[key] for r in rs)

loads = []
for n in sorted({k[0] for k in rows}):
    seed = json.load(open(f"{work}/seed-{n}.json"))
    k = seed["kinds"]
    print(f"\n== {n} buckets: expected public {seed['expected_public']} ({k['policy']} by policy, {k['acl']} by ACL); "
          f"{k['no-bpa']} private without BPA, {k['bpa']} private with BPA")
    head = (f"{'tool':<14}{'version':>8}{'wall s':>9}{'buckets/s':>11}{'bucketward x':>14}{'in-tool s':>11}"
            f"{'x in-tool':>11}{'req/bucket':>12}{'tool CPU s':>12}{'x CPU':>7}{'moto CPU s':>12}{'public':>8}  runs: wall s")
    print(head)
    print("-" * len(head))
    base = rows.get((n, "bucketward"))
    for tool in tools:
        rs = rows.get((n, tool))
        if not rs:
            continue
        loads += [r["loadavg"] for r in rs]
        wall, it = med(rs, "wall"), med(rs, "in_tool")
        ratio = ratio_it = ratio_cpu = "-"
        if tool != "bucketward" and base:
            ratio = f"{wall / med(base, 'wall'):.1f}x"
            ratio_it = f"{it / med(base, 'in_tool'):.1f}x"
            ratio_cpu = f"{med(rs, 'cpu') / med(base, 'cpu'):.1f}x"
        publics = "/".join(str(p) for p in sorted({r["public"] for r in rs}))
        print(f"{tool:<14}{versions[tool]:>8}{wall:>9.2f}{n / wall:>11.1f}{ratio:>14}{it:>11.2f}{ratio_it:>11}"
              f"{med(rs, 'requests') / n:>12.2f}{med(rs, 'cpu'):>12.2f}{ratio_cpu:>7}{med(rs, 'moto_cpu'):>12.2f}{publics:>8}  "
              + ", ".join(f"{r['wall']:.2f}" for r in rs))
    for tool in tools:
        for r in rows.get((n, tool), [])[:1]:
            print(f"  {tool} (run 1): buckets evaluated {r['seen']}; {r['detail']}")

print(f"""
wall: start to exit of the process, median of the runs (start-up included); buckets/s = N / wall.
bucketward x: bucketward's buckets/s divided by the tool's (wall); x in-tool: the same with each
  tool's own timing (bucketward duration_ms, Prowler's 'Scan completed in', Custodian's
  metadata duration), which leaves out interpreter start-up, imports and config loading.
req/bucket: HTTP requests moto logged during the run, per bucket. tool/moto CPU s: CPU seconds of
  the tool's process tree and of moto during the run (tool and moto share the machine's {cores} cores);
  x CPU: the tool's CPU seconds over bucketward's (client-side work, whatever the emulator's speed).
bucketward --concurrency {conc}; one moto, state unchanged between runs; runs interleaved per round.
1-minute load average before the runs: {min(loads):.2f} to {max(loads):.2f} on {cores} cores.""")
EOF
