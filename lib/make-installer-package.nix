# Turn a disk image (make-disk-image.nix output) into what the Asahi Linux
# installer downloads: $out/<name>-<version>-<fs>.zip and
# $out/installer_data-<version>-<fs>.json (plus the carve manifest). Sizes come
# from the manifest at build time, never from an evaluation-time import.
#
# A make-disk-image.nix image is built here, in the build directory, from the
# same inputs (its passthru.inBuild), not taken from its store path: only the
# package becomes a store path, and no multi-GiB image is written to the
# store, NAR-hashed or pushed to a binary cache on the way to it.
{
  runCommand,
  nixos-image-tools,
}:

{
  # A make-disk-image.nix output, or any directory holding disk.img.
  image,
  name,
  version,
  fs,
  packageUrlBase ? null,
  displayName ? null,
  # The entry's default OS name, supported_fw (a list) and icon; null:
  # gen-installer-data's defaults.
  defaultOsName ? null,
  supportedFirmware ? null,
  icon ? null,
  # The root partition: index, GPT name or type alias.
  rootSelector ? (import ./helpers).rootLabel,
  # Paths left out of the ESP's files (carve-partitions --exclude).
  exclude ? [ ],
  # false: package the image's store path (two derivations).
  buildImageHere ? true,
}:

let
  helpers = import ./helpers;
  ids = { inherit name version fs; };
  base = helpers.packageBaseName ids;
  zip = helpers.zipName ids;
  data = helpers.installerDataName ids;
  entryArgs = helpers.installerEntryArgs {
    inherit
      name
      version
      fs
      packageUrlBase
      displayName
      defaultOsName
      supportedFirmware
      icon
      ;
    manifest = "$out/${base}.manifest.json";
    output = "entry.json";
  };
  # $out must expand, the rest is literal.
  quote = a: if builtins.substring 0 5 a == "$out/" then ''"${a}"'' else helpers.shellEscape a;
  inBuild = if buildImageHere && builtins.isAttrs image then image.inBuild or null else null;
  imageAttrs = if inBuild == null then { } else inBuild.attrs;
in
runCommand "${base}-package"
  (
    imageAttrs
    // {
      nativeBuildInputs = [ nixos-image-tools ] ++ imageAttrs.nativeBuildInputs or [ ];
      passthru = {
        inherit zip;
        installerData = data;
        volumeId = helpers.volumeId ids;
      };
    }
  )
  ''
    set -eu
    ${if inBuild == null then "" else inBuild.script "image"}
    mkdir -p "$out"
    carve-partitions asahi-package ${if inBuild == null then image else "image"}/disk.img \
      --esp esp --root ${helpers.shellEscape rootSelector} \
      --output "$out/${zip}" --manifest "$out/${base}.manifest.json" \
      ${builtins.concatStringsSep " " (map (p: "--exclude ${helpers.shellEscape p}") exclude)}
    gen-installer-data ${builtins.concatStringsSep " " (map quote entryArgs)}
    gen-installer-data merge --into "$out/${data}" entry.json
    gen-installer-data check "$out/${data}" --package "$out/${zip}"
  ''
