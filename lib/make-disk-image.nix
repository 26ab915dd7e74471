# A whole disk image from a layout (pure.nix diskLayout): mkimage writes the
# GPT, the FAT32 ESP and the ext4/btrfs root without a VM, root or loop
# devices. $out/disk.img, $out/report.json (sizes, measured at build time),
# $out/layout.json.
{
  runCommand,
  nixos-image-tools,
  e2fsprogs,
  btrfs-progs,
}:

{
  name ? "nixos-disk-image",
  layout,
  epoch ? 315532800,
}:

runCommand name
  {
    nativeBuildInputs = [
      nixos-image-tools
      e2fsprogs
      btrfs-progs
    ];
    layoutJSON = builtins.toJSON layout;
    passAsFile = [ "layoutJSON" ];
    SOURCE_DATE_EPOCH = toString epoch;
    passthru = { inherit layout; };
  }
  ''
    set -eu
    mkdir -p "$out"
    cp "$layoutJSONPath" "$out/layout.json"
    mkimage --layout "$out/layout.json" --output "$out/disk.img" --report "$out/report.json"
  ''
