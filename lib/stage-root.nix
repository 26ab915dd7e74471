# How to stage the root filesystem tree: the system closure copied with
# deterministic-copy, the Nix database registration, /etc/nixos and the
# first-boot marker. For btrfs the tree holds one directory per subvolume
# (@, @home, @nix).
#
# Not a derivation: a shell script fragment and the attributes it reads, so
# that a builder can stage the tree itself. make-disk-image.nix (stageRoot)
# stages it in its own build directory, so that the tree mkimage reads was
# created by the build user: in the Nix sandbox another derivation's output
# belongs to root outside the build's user namespace and shows as
# 65534:65534, which mkimage refuses (it maps only the caller to 0:0), and
# the tree need not become a store path of its own. make-root-tree.nix runs
# the same fragment into $out, for inspection and tests.
#
# Returns { nativeBuildInputs, env, passAsFile, script }: the builder adds
# nativeBuildInputs, env and passAsFile to its own, sets the shell variable
# rootDir to the directory to create (it must not exist yet), then runs
# script (with `set -eu`). The script works in the current directory and
# leaves nothing there but rootDir.
{
  writeText,
  closureInfo,
  nixos-image-tools,
}:

{
  fs,
  # config.system.build.toplevel
  toplevel,
  # More store paths to register and copy (e.g. build-time sources).
  extraStorePaths ? [ ],
  # A directory copied as /etc/nixos (e.g. a flake's own source), or null.
  etcNixosSource ? null,
  # { "flake.nix" = text; ... } written to /etc/nixos (over etcNixosSource)
  etcNixos ? { },
  # Directories whose contents are merged into / (after the skeleton).
  extraTrees ? [ ],
  epoch ? (import ./helpers).dosEpoch,
}:

let
  helpers = import ./helpers;
  closure = closureInfo { rootPaths = [ toplevel ] ++ extraStorePaths; };
  etcFiles = builtins.listToAttrs (
    map (f: {
      name = f;
      value = writeText f etcNixos.${f};
    }) (builtins.attrNames etcNixos)
  );
in
assert builtins.elem fs [
  "btrfs"
  "ext4"
];
{
  nativeBuildInputs = [ nixos-image-tools ];
  env = {
    rootFs = fs;
    rootEpoch = epoch;
    rootClosureInfo = closure;
    rootExtraTrees = builtins.concatStringsSep " " (map (t: "${t}") extraTrees);
    rootEtcFilesList = helpers.fileListText etcFiles;
    rootEtcNixosSource = if etcNixosSource == null then "" else "${etcNixosSource}";
    # "<subvolume> <mount point>" lines, / first (helpers.btrfsSubvolumes).
    rootSubvolumes = builtins.concatStringsSep "\n" (
      map (s: "${s.path} ${s.mountPoint}") helpers.btrfsSubvolumes
    );
    rootFirstBootMarker = helpers.firstBootMarker;
  };
  passAsFile = [ "rootEtcFilesList" ];
  script = ''
    skel=$PWD/root-skeleton
    # deterministic-copy normalises modes to 0644/0755, so /tmp (1777) and
    # /root (0700) are left to stage 2 and the activation script to create.
    mkdir -p "$skel"/{etc/nixos,boot,home,nix/var/nix/profiles} "$skel$(dirname "$rootFirstBootMarker")"
    : > "$skel/etc/NIXOS"
    # Loaded by `nix-store --load-db` on first boot (then deleted).
    cp "$rootClosureInfo/registration" "$skel/nix-path-registration"
    # Tells the first boot to ask for a password, grow / and fetch firmware.
    : > "$skel$rootFirstBootMarker"

    if [ -n "$rootEtcNixosSource" ]; then
      # Symlinks stay symlinks; modes are normalised below and by
      # deterministic-copy.
      cp -R "$rootEtcNixosSource"/. "$skel/etc/nixos/"
      chmod -R u+w "$skel/etc/nixos"
    fi
    while IFS="$(printf '\t')" read -r f src; do
      [ -n "$f" ] || continue
      case "$f" in */*|.*) echo "root: /etc/nixos file name '$f' must be a plain name" >&2; exit 1;; esac
      cp "$src" "$skel/etc/nixos/$f"
    done < "$rootEtcFilesListPath"
    chmod -R u+w,go-w "$skel"

    if [ "$rootFs" = btrfs ]; then
      top=''${rootSubvolumes%% *}
      dest=$rootDir/$top
    else
      dest=$rootDir
    fi
    mkdir -p "$(dirname "$dest")"
    # shellcheck disable=SC2086 # rootExtraTrees is a list of store paths
    deterministic-copy --paths-from "$rootClosureInfo/store-paths" --mtime "$rootEpoch" \
      "$skel" $rootExtraTrees "$dest"
    rm -rf "$skel"

    if [ "$rootFs" = btrfs ]; then
      # Every other subvolume takes its mount point's contents out of the
      # top one (or starts empty), which keeps the empty mount point.
      while read -r sub mnt; do
        [ "$mnt" != / ] || continue
        chmod u+w "$dest" "$(dirname "$dest$mnt")"
        if [ -e "$dest$mnt" ]; then
          mv "$dest$mnt" "$rootDir/$sub"
        else
          mkdir "$rootDir/$sub"
        fi
        mkdir "$dest$mnt"
        touch -h -d "@$rootEpoch" "$rootDir/$sub" "$dest$mnt" "$(dirname "$dest$mnt")"
      done <<<"$rootSubvolumes"
      touch -h -d "@$rootEpoch" "$dest"
    fi
  '';
}
