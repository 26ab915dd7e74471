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

  sdb = config.boot.loader.systemd-boot;

  espTree = b.mkEspTree {
    name = "${helpers.packageBaseName ids}-esp";
    kernel = "${config.boot.kernelPackages.kernel}/${config.system.boot.loader.kernelFile}";
    initrd = "${config.system.build.initialRamdisk}/${config.system.boot.loader.initrdFile}";
    toplevel = config.system.build.toplevel;
    inherit (config.boot) kernelParams;
    systemdBootEfi = "${config.systemd.package}/lib/systemd/boot/efi/systemd-boot${cfg.efiArch}.efi";
    inherit (cfg) efiArch epoch;
    inherit (config.system.nixos) distroName;
    label = helpers.bootLabel {
      inherit (config.system.nixos) distroName codeName label;
      kernelModDirVersion = config.boot.kernelPackages.kernel.modDirVersion;
    };
    inherit (sdb) sortKey;
    loaderConf = helpers.loaderConf {
      inherit (config.boot.loader) timeout;
      inherit (sdb) editor consoleMode;
    };
    # Includes nixosAsahi.extraEspFiles (the module adds them), so every file
    # marked in EFI/nixos/.extra-files is one the installed system's
    # systemd-boot installer copies again after deleting the marked ones.
    extraFiles = sdb.extraFiles;
    inherit (sdb) extraEntries;
    # As systemd-boot.nix puts it in the bootspec (org.nixos.systemd-boot).
    devicetree =
      if sdb.installDeviceTree or false then
        "${config.hardware.deviceTree.package}/${config.hardware.deviceTree.name}"
      else
        null;
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
