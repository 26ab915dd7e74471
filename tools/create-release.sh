#!/usr/bin/env bash
# create-release [patch|minor|major|X.Y.Z]: from a clean, checked-out main,
# bump the crate version (Cargo.toml and Cargo.lock; the images take their
# version from it), commit "Release vX.Y.Z" and tag vX.Y.Z. Pushing is left
# to you (the command is printed).
set -euo pipefail

die() {
  echo "create-release: error: $*" >&2
  exit 1
}

bump=${1:-patch}
cd "$(git rev-parse --show-toplevel)" || die "not inside a git repository; run it from the project's checkout"

branch=$(git rev-parse --abbrev-ref HEAD)
[ "$branch" = main ] || die "on branch '$branch'; check out main first"
[ -z "$(git status --porcelain)" ] || die "the working tree has changes; commit or stash them first"

current=$(sed -n 's/^version = "\([0-9][0-9.]*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$current" ] || die "no version = \"X.Y.Z\" line in Cargo.toml"
IFS=. read -r major minor patch <<<"$current"
case "$bump" in
  patch) next="$major.$minor.$((patch + 1))" ;;
  minor) next="$major.$((minor + 1)).0" ;;
  major) next="$((major + 1)).0.0" ;;
  [0-9]*.[0-9]*.[0-9]*) next=$bump ;;
  *) die "unknown bump '$bump': use patch, minor, major or X.Y.Z" ;;
esac
[ "$next" != "$current" ] || die "version is already $current"
if git rev-parse -q --verify "refs/tags/v$next" >/dev/null; then
  die "tag v$next already exists"
fi

# First version line of Cargo.toml is [package]'s.
sed -i "0,/^version = \"$current\"\$/s//version = \"$next\"/" Cargo.toml
# The crate's own entry in Cargo.lock.
sed -i "/^name = \"nixos-image-tools\"\$/{n;s/^version = \"$current\"\$/version = \"$next\"/}" Cargo.lock
grep -q "^version = \"$next\"\$" Cargo.toml || die "could not update Cargo.toml"
grep -A1 '^name = "nixos-image-tools"$' Cargo.lock | grep -q "^version = \"$next\"\$" ||
  die "could not update Cargo.lock"

git commit -q -m "Release v$next" Cargo.toml Cargo.lock
git tag -a "v$next" -m "nixos-image-tools v$next"
echo "Released v$next (was $current). Publish with: git push origin main v$next"
