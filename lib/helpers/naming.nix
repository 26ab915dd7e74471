# Names and identifiers every builder agrees on: the package's base name,
# zip and installer-data names, the ESP volume id (Rust derives the same,
# gen-installer-data --volume-id), the root label, shared constants.
let
  inherit (builtins)
    hashString
    replaceStrings
    substring
    match
    elem
    ;
  toUpperHex = replaceStrings [ "a" "b" "c" "d" "e" "f" ] [ "A" "B" "C" "D" "E" "F" ];
in
rec {
  fsTypes = [
    "btrfs"
    "ext4"
  ];

  checkFs =
    fs: if elem fs fsTypes then fs else throw "nixos-image-tools: fsType must be btrfs or ext4, not ${fs}";

  # 1980-01-01T00:00:00Z, the earliest time FAT and zip can store: the
  # default timestamp of everything in an image.
  dosEpoch = 315532800;

  # Present in the image until first boot has finished (modules/first-boot.nix).
  firstBootMarker = "/var/lib/nixos-asahi/first-boot";

  # "nixos-asahi-0.2.0-btrfs": names the zip, seeds identifiers, derives the volume id.
  packageBaseName =
    {
      name,
      version,
      fs,
    }:
    "${name}-${version}-${checkFs fs}";

  zipName = args: "${packageBaseName args}.zip";

  installerDataName = { version, fs, ... }: "installer_data-${version}-${checkFs fs}.json";

  # The FAT serial of the ESP the installer formats: per build, never a constant.
  volumeId = args: "0x" + substring 0 8 (hashString "sha256" (packageBaseName args));

  # "0x12cea600" -> "12CE-A600", as /dev/disk/by-uuid names a FAT volume.
  espUuidOf =
    vid:
    let
      hex = if match "0x[0-9a-f]{8}" vid != null then substring 2 8 vid else throw "nixos-image-tools: volume id ${vid} is not 0x followed by 8 lowercase hex digits";
    in
    toUpperHex (substring 0 4 hex) + "-" + toUpperHex (substring 4 4 hex);

  espUuid = args: espUuidOf (volumeId args);

  rootLabel = "nixos";

  # The Cargo.toml version, so the image version follows releases.
  crateVersion = src: (builtins.fromTOML (builtins.readFile (src + "/Cargo.toml"))).package.version;
}
