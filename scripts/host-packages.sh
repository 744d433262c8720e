# Sourced by scripts/test and launch/vireo: installs the Debian packages Vireo uses at run time when they are missing.
# Usage: vireo_need_packages PACKAGE...   (each checked with dpkg; installed with apt-get when running as root)
vireo_need_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "vireo: missing Debian packages: ${missing[*]} (install them with apt-get; tests that need them will skip)" >&2
    return 0
  fi
  echo "vireo: installing ${missing[*]} ..." >&2
  if ! apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1 || true
    apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || echo "vireo: could not install ${missing[*]}; tests that need them will skip" >&2
  fi
}
