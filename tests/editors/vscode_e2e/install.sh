#!/usr/bin/env bash
# Installs code-server (VS Code in the browser, same extension host) and playwright-core into a
# cache directory keyed by their versions, from the npm registry only: the packages' own install
# scripts would download ripgrep and prebuilt binaries from elsewhere, so they are skipped and the
# native modules are rebuilt from source instead (about 6 minutes on 2 cores, once per version).
# Needs the Debian packages libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config
# ripgrep (and chromium for the tests). Prints the install directory on its last line.
# Idempotent: a finished install leaves a stamp file and later runs return at once.
# --cached-only: print the folder if the install is finished, else fail without installing.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
PLAYWRIGHT_VERSION=1.65.2
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
if [ "$NODE_MAJOR" != 20 ]; then
  echo "code-server $CODE_SERVER_VERSION needs Node 20 (found $(node --version))" >&2
  exit 1
fi
CACHE_ROOT=${AO_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentic-optimizer-e2e}
DIR="$CACHE_ROOT/code-server-$CODE_SERVER_VERSION-node$NODE_MAJOR-playwright-$PLAYWRIGHT_VERSION"
STAMP="$DIR/.complete"
if [ -f "$STAMP" ]; then
  echo "$DIR"
  exit 0
fi
if [ "${1:-}" = --cached-only ]; then
  echo "not installed yet: run $0 (about 6 minutes)" >&2
  exit 1
fi
# node-gyp compiles the native modules against Node's headers; without a nodedir it would
# download them from nodejs.org, which is not reachable here. The installed Node's own headers
# serve (Debian's and NodeSource's packages ship them under /usr/include/node).
if [ -z "${npm_config_nodedir:-}" ] && [ "$(npm config get nodedir 2>/dev/null)" = undefined ] \
    && [ -f /usr/include/node/node.h ]; then
  export npm_config_nodedir=/usr
fi
for tool in rg pkg-config; do
  command -v "$tool" >/dev/null || {
    echo "missing $tool: apt-get install -y libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config ripgrep chromium" >&2
    exit 1
  }
done

# A half-finished earlier attempt is discarded rather than patched.
rm -rf "$DIR"
mkdir -p "$DIR"
cd "$DIR"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
echo '{"name":"ao-e2e-tools","private":true}' > package.json
npm install --ignore-scripts --no-save "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_VERSION" >&2

(
  cd node_modules/code-server/lib/vscode
  npm install --omit=dev --ignore-scripts >&2
  mkdir -p node_modules/@vscode/ripgrep/bin
  cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
  # node-pty runs node-gyp through npx, which asks before installing unless told yes.
  npm_config_yes=true nice npm rebuild >&2
)
(
  cd node_modules/code-server
  # postinstall.sh checks that it runs under npm, as root-capable, on Node 20.
  npm_config_unsafe_perm=true npm_config_yes=true \
    npm_config_user_agent="npm/$(npm --version) node/$(node --version) linux x64" \
    nice bash postinstall.sh >&2
)
nice npm rebuild argon2 >&2
test -x node_modules/.bin/code-server
touch "$STAMP"
echo "$DIR"
