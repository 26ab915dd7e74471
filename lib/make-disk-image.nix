# A whole disk image from a layout (helpers.nix diskLayout): mkimage writes the
# GPT, the FAT32 ESP and the ext4/btrfs root without a VM, root or loop
# devices. $out/disk.img, $out/report.json (sizes, measured at build time),
# $out/layout.json.
#
# passthru.inBuild builds the same image in another derivation's build
# directory (make-installer-package.nix): a package then puts no multi-GiB
# image into the store, nor NAR-hashes and uploads one.
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
  attrs = staging.env // {
    nativeBuildInputs = [
      nixos-image-tools
      e2fsprogs
      btrfs-progs
    ]
    ++ staging.nativeBuildInputs;
    layoutJSON = builtins.toJSON layout;
    passAsFile = [ "layoutJSON" ] ++ staging.passAsFile;
    SOURCE_DATE_EPOCH = toString epoch;
  };
  # Writes disk.img, report.json and layout.json into dir (a shell word).
  script = dir: ''
    mkdir -p ${dir}
    ${stageScript}
    # In the build directory, named relatively: relative sources resolve
    # against it, and the report (an output) names no build directory.
    cp "$layoutJSONPath" layout.json
    mkimage --layout layout.json --output ${dir}/disk.img --report ${dir}/report.json
    cp layout.json ${dir}/layout.json
  '';
in
runCommand name
  (
    attrs
    // {
      passthru = {
        inherit layout stageRoot;
        inBuild = { inherit attrs script; };
      };
    }
  )
  ''
    set -eu
    ${script ''"$out"''}
  ''
