# The root filesystem tree: the system closure staged with deterministic-copy,
# the Nix database registration, /etc/nixos and the first-boot marker. For
# btrfs the tree holds one directory per subvolume (@, @home, @nix).
{
  runCommand,
  writeText,
  closureInfo,
  nixos-image-tools,
}:

{
  name ? "nixos-root",
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
  epoch ? 315532800,
}:

let
  pure = import ./pure.nix;
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
runCommand name
  {
    nativeBuildInputs = [ nixos-image-tools ];
    inherit fs epoch;
    closureInfo = closure;
    extraTrees = builtins.concatStringsSep " " (map (t: "${t}") extraTrees);
    etcFilesList = pure.fileListText etcFiles;
    etcNixosSource = if etcNixosSource == null then "" else "${etcNixosSource}";
    passAsFile = [ "etcFilesList" ];
  }
  ''
    set -eu
    skel=$PWD/skel
    # deterministic-copy normalises modes to 0644/0755, so /tmp (1777) and
    # /root (0700) are left to stage 2 and the activation script to create.
    mkdir -p "$skel"/{etc/nixos,boot,home,var/lib/nixos-asahi,nix/var/nix/profiles}
    : > "$skel/etc/NIXOS"
    # Loaded by `nix-store --load-db` on first boot (then deleted).
    cp "$closureInfo/registration" "$skel/nix-path-registration"
    # Tells the first boot to ask for a password, grow / and fetch firmware.
    : > "$skel/var/lib/nixos-asahi/first-boot"

    if [ -n "$etcNixosSource" ]; then
      # Symlinks stay symlinks; modes are normalised below and by
      # deterministic-copy.
      cp -R "$etcNixosSource"/. "$skel/etc/nixos/"
      chmod -R u+w "$skel/etc/nixos"
    fi
    while IFS="$(printf '\t')" read -r f src; do
      [ -n "$f" ] || continue
      case "$f" in */*|.*) echo "root: /etc/nixos file name '$f' must be a plain name" >&2; exit 1;; esac
      cp "$src" "$skel/etc/nixos/$f"
    done < "$etcFilesListPath"
    chmod -R u+w,go-w "$skel"

    if [ "$fs" = btrfs ]; then
      dest=$out/@
    else
      dest=$out
    fi
    mkdir -p "$(dirname "$dest")"
    # shellcheck disable=SC2086 # extraTrees is a list of store paths
    deterministic-copy --paths-from "$closureInfo/store-paths" --mtime "$epoch" \
      "$skel" $extraTrees "$dest"

    if [ "$fs" = btrfs ]; then
      # /nix and /home are their own subvolumes; @ keeps empty mount points.
      chmod u+w "$out/@" "$out/@/nix"
      mv "$out/@/nix" "$out/@nix"
      mkdir "$out/@/nix" "$out/@home"
      touch -h -d "@$epoch" "$out/@" "$out/@/nix" "$out/@home" "$out/@nix"
    fi
  ''
