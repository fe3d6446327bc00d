#!/usr/bin/env bash
# Fails when a printf format that newlib (as Debian and many vendors build it for arm-none-eabi)
# does not know appears in the portable code: include/ and lib/, which also run on microcontrollers.
#
#   %zu %zd %jd %td %Lf %hhu ...  C99 length modifiers z, j, t, L, hh: printed as letters, argument skipped
#   %lld %llu                     not in newlib-nano
#   PRId64 PRIu32 SCNd64 ...      <cinttypes> macros expand to the above (or depend on include order)
#
# Print sizes with %lu and static_cast<unsigned long>, 64-bit values as %s of a tether::Decimal
# (include/tether/decimal.hpp). Comment lines are not checked.
#
# Usage: scripts/check-portable-formats.sh [DIR ...]   (default: include lib)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${root}"
[[ $# -gt 0 ]] || set -- include lib

# A conversion: '%' not escaped by a '%' before it, flags, width, precision, then a C99 length
# modifier; or an <inttypes.h> macro.
pattern='(?<!%)(?:%%)*%[-+ #0]*(?:[0-9]+|\*)?(?:\.(?:[0-9]+|\*))?(?:hh|ll|[zjtL])|\b(?:PRI|SCN)[diouxX](?:8|16|32|64|MAX|PTR|LEAST|FAST)'

found=$(grep -rnP --include='*.hpp' --include='*.h' --include='*.cpp' --include='*.c' "${pattern}" "$@" \
          | grep -vP '^[^:]+:[0-9]+:\s*(//|/\*|\*)' || true)
if [[ -n ${found} ]]; then
  echo "${found}" >&2
  echo "check-portable-formats: FAILED: printf formats above are not portable to newlib (see $0)" >&2
  exit 1
fi
echo "check-portable-formats: no C99-only printf formats in $*"
