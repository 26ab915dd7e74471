# A whole disk image from a layout (helpers.nix diskLayout): mkimage writes the
# GPT, the FAT32 ESP and the ext4/btrfs root without a VM, root or loop
# devices. $out/disk.img, $out/report.json (sizes, measured at build time),
# $out/layout.json.
#
# With stageRoot (a stage-root.nix result), the root tree is staged here, in
# the build directory as ./root, and the layout must name it by the relative
# source "root" (mkimage resolves it against the layout file's directory).
# In the Nix sandbox the build user owns only what it creates: a root tree
# from another derivation belongs to root outside the build's user namespace,
# shows as 65534:65534 and is refused by mkimage, which maps just the caller
# to 0:0 so the image's files belong to 0:0. Staging here also spares a store
# path as large as the system and its NAR hashing. Without stageRoot, the
# layout's sources are used as given (they must belong to the build user).
{
  runCommand,
  nixos-image-tools,
  e2fsprogs,
  btrfs-progs,
}:

{
  name ? "nixos-disk-image",
  layout,
  stageRoot ? null,
  epoch ? (import ./helpers).dosEpoch,
}:

let
  staged = stageRoot != null;
  sources = map (p: p.content.source or null) layout.partitions;
  staging =
    if !staged then
      {
        nativeBuildInputs = [ ];
        env = { };
        passAsFile = [ ];
        script = "";
      }
    else if builtins.elem "root" sources then
      stageRoot
    else
      throw "nixos-image-tools: mkDiskImage: stageRoot is given, but no partition of the layout has the source \"root\" it stages";
  # Stages ./root in the build directory (the cwd).
  stageScript = if staged then "rootDir=root\n" + staging.script else "";
in
runCommand name
  (
    staging.env
    // {
      nativeBuildInputs = [
        nixos-image-tools
        e2fsprogs
        btrfs-progs
      ]
      ++ staging.nativeBuildInputs;
      layoutJSON = builtins.toJSON layout;
      passAsFile = [ "layoutJSON" ] ++ staging.passAsFile;
      SOURCE_DATE_EPOCH = toString epoch;
      passthru = { inherit layout stageRoot; };
    }
  )
  ''
    set -eu
    mkdir -p "$out"
    ${stageScript}
    # In the build directory, named relatively: relative sources resolve
    # against it, and the report (an output) names no build directory.
    cp "$layoutJSONPath" layout.json
    mkimage --layout layout.json --output "$out/disk.img" --report "$out/report.json"
    cp layout.json "$out/layout.json"
  ''
