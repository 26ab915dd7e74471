# What the Asahi installer's entry is made from: `gen-installer-data entry`
# arguments and the firmware versions it knows.
let
  inherit (builtins)
    concatStringsSep
    ;
  inherit (import ./naming.nix) checkFs zipName volumeId;
in
rec {
  # The firmware versions the Asahi installer knows (its supported_fw
  # values; gen-installer-data refuses others).
  installerFirmware = [
    "12.3"
    "12.3.1"
    "13.5"
    "14.8.3"
  ];

  # Arguments of `gen-installer-data entry`, in order.
  installerEntryArgs =
    {
      name,
      version,
      fs,
      manifest,
      output,
      packageUrlBase ? null,
      displayName ? null,
      defaultOsName ? null,
      supportedFirmware ? null,
      icon ? null,
    }:
    let
      zip = zipName { inherit name version fs; };
      opt = flag: v: if v == null then [ ] else [ flag v ];
      url = if packageUrlBase == null then zip else "${packageUrlBase}/${zip}";
    in
    [
      "entry"
      "--manifest"
      manifest
      "--name"
      name
      "--version"
      version
      "--fs"
      (checkFs fs)
      "--package-url"
      url
      "--volume-id"
      (volumeId { inherit name version fs; })
    ]
    ++ opt "--display-name" displayName
    ++ opt "--default-os-name" defaultOsName
    ++ opt "--supported-fw" (if supportedFirmware == null then null else concatStringsSep "," supportedFirmware)
    ++ opt "--icon" icon
    ++ [
      "--output"
      output
    ];
}
