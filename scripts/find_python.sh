#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter (with venv), or explain and fail.
# Order: $PYTHON, python3.13/python3.12/python3 on PATH, then pyenv's installed versions.
set -u
ok() { "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
for name in python3.13 python3.12 python3; do
  p=$(command -v "$name" 2>/dev/null) && candidates+=("$p")
done
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
if [ -d "$root/versions" ]; then
  while IFS= read -r p; do candidates+=("$p"); done < <(ls -d "$root"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V -r)
fi
for c in "${candidates[@]}"; do
  if ok "$c"; then
    "$c" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
echo "bayes_mfg needs Python >= 3.12 (with venv); none found on PATH or under pyenv ($root/versions)." >&2
echo "Install one (e.g. 'pyenv install 3.12') or set PYTHON=/path/to/python3.12." >&2
exit 1
