# The root filesystem tree as a store path of its own: stage-root.nix run
# into $out. For inspection and tests (system.build.asahiRootTree); the disk
# image does not use it but stages the same tree in its own build directory
# (make-disk-image.nix, stageRoot), see stage-root.nix for why.
{
  runCommand,
  writeText,
  closureInfo,
  nixos-image-tools,
}:

{
  name ? "nixos-root",
  # The arguments of stage-root.nix: fs, toplevel, extraStorePaths,
  # etcNixosSource, etcNixos, extraTrees, epoch.
  ...
}@args:

let
  mkRootStaging = import ./stage-root.nix { inherit writeText closureInfo nixos-image-tools; };
  staging = mkRootStaging (builtins.removeAttrs args [ "name" ]);
in
runCommand name
  (
    staging.env
    // {
      inherit (staging) nativeBuildInputs passAsFile;
      passthru = { inherit staging; };
    }
  )
  ''
    set -eu
    rootDir=$out
    ${staging.script}
  ''
