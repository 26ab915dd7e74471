# Build the ESP tree, root tree, disk image and installer package of an
# evaluated NixOS configuration that uses modules/nixos-asahi-image.nix.
# Called by that module for its system.build attributes.
{
  config,
  # The package set the builders run in (the build platform's).
  buildPackages,
  nixos-image-tools,
}:

let
  helpers = import ./helpers;
  cfg = config.nixosAsahi;
  b = import ./builders.nix {
    pkgs = buildPackages;
    inherit nixos-image-tools;
  };
  ids = {
    inherit (cfg) name version;
    fs = cfg.fsType;
  };

  espTree = import ./systemd-boot-esp.nix {
    inherit config;
    inherit (b) mkEspTree;
    name = "${helpers.packageBaseName ids}-esp";
    inherit (cfg) efiArch epoch;
  };

  rootArgs = {
    fs = cfg.fsType;
    toplevel = config.system.build.toplevel;
    inherit (cfg) etcNixos etcNixosSource;
    inherit (cfg) extraStorePaths epoch;
  };

  # The image stages the root tree in its own build directory (see
  # make-disk-image.nix: in the sandbox, mkimage must read a tree the build
  # user created). rootTree is the same tree as a store path of its own, for
  # inspection (system.build.asahiRootTree); the image does not depend on it.
  rootTree = b.mkRootTree (rootArgs // { name = "${helpers.packageBaseName ids}-root"; });

  image = b.mkDiskImage {
    name = "${helpers.packageBaseName ids}-image";
    inherit (cfg) epoch;
    stageRoot = b.mkRootStaging rootArgs;
    layout = helpers.diskLayout {
      fs = cfg.fsType;
      inherit (cfg) seed sectorSize espSize;
      volumeId = helpers.volumeId ids;
      espSource = espTree;
      rootSource = "root";
    };
  };

  package = b.mkInstallerPackage {
    inherit image;
    inherit (cfg)
      name
      version
      packageUrlBase
      displayName
      defaultOsName
      supportedFirmware
      icon
      ;
    fs = cfg.fsType;
  };
in
{
  inherit
    espTree
    rootTree
    image
    package
    ;
}
