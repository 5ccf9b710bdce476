#!/usr/bin/env bash
# Installs the pinned Node tools of hack/node (wrangler, typescript, @cloudflare/containers,
# @cloudflare/workers-types) with `npm ci` into $TOOLS_DIR/node-<sha256 of package-lock.json,
# 16 hex>/ and prints that directory; callers run <dir>/node_modules/.bin/wrangler and
# <dir>/node_modules/.bin/tsc. Idempotent: a warm run only hashes the lock file.
# Installs into a temporary sibling directory and renames it into place, so the cache
# directory is either complete or absent, also with concurrent runs.
source "$(dirname "$0")/lib.sh"
src="$HACK_DIR/node"
sha="$(sha256sum "$src/package-lock.json")"
out="$TOOLS_DIR/node-${sha:0:16}"
[[ -d "$out/node_modules" ]] && { echo "$out"; exit 0; }

command -v node >/dev/null && command -v npm >/dev/null \
  || { log "node and npm are required (Node >= 20.3 for wrangler)"; exit 1; }
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 3) ? 0 : 1)' \
  || { log "Node $(node --version) is too old; wrangler needs >= 20.3"; exit 1; }

# Same filesystem as $out, so the final mv is an atomic rename(2).
tmp="$(mktemp -d "$TOOLS_DIR/.node-${sha:0:16}.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
chmod 755 "$tmp"  # mktemp -d makes it 0700
cp "$src/package.json" "$src/package-lock.json" "$tmp/"
log "installing pinned Node tools into $out (npm ci, ~10 s)"
# --ignore-scripts: none of the tools needs its install script (esbuild, workerd and
# typescript find their native binaries through optional dependencies); package.json
# records the same decision under allowScripts for npm >= 11.
(
  cd "$tmp"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn \
    --include=optional >&2
)
for tool in wrangler tsc esbuild; do
  [[ -x "$tmp/node_modules/.bin/$tool" ]] || { log "npm ci did not install $tool"; exit 1; }
done
# The native binaries come from platform-specific optional packages; fail here, not later.
"$tmp/node_modules/.bin/tsc" --version >/dev/null \
  || { log "typescript's native compiler is missing for this platform"; exit 1; }
"$tmp/node_modules/.bin/esbuild" --version >/dev/null \
  || { log "esbuild's native binary is missing for this platform"; exit 1; }

if ! mv -T "$tmp" "$out" 2>/dev/null; then
  # Another run finished first (the target then is a complete install) or a stale,
  # incomplete directory is in the way (only possible after manual tampering).
  if [[ ! -d "$out/node_modules" ]]; then
    rm -rf "$out"
    mv -T "$tmp" "$out"
  fi
fi
echo "$out"
