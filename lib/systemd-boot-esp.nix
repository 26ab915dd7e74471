# The ESP tree (make-esp-tree.nix) of an evaluated configuration: systemd-boot
# and generation 1 as the configuration's own boot.loader.systemd-boot
# settings describe them. Used by the Asahi image and the raw-efi format.
{
  config,
  mkEspTree,
  name,
  # "aa64" or "x64": systemd-boot<efiArch>.efi, BOOT<EFIARCH>.EFI
  efiArch,
  epoch,
}:
let
  helpers = import ./helpers;
  sdb = config.boot.loader.systemd-boot;
in
mkEspTree {
  inherit name efiArch epoch;
  kernel = "${config.boot.kernelPackages.kernel}/${config.system.boot.loader.kernelFile}";
  initrd = "${config.system.build.initialRamdisk}/${config.system.boot.loader.initrdFile}";
  toplevel = config.system.build.toplevel;
  inherit (config.boot) kernelParams;
  systemdBootEfi = "${config.systemd.package}/lib/systemd/boot/efi/systemd-boot${efiArch}.efi";
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
  # Every file marked in EFI/nixos/.extra-files is one the installed
  # system's systemd-boot installer copies again after deleting the marked
  # ones (the Asahi module adds nixosAsahi.extraEspFiles here).
  extraFiles = sdb.extraFiles;
  inherit (sdb) extraEntries;
  # As systemd-boot.nix puts it in the bootspec (org.nixos.systemd-boot).
  devicetree =
    if sdb.installDeviceTree or false then
      "${config.hardware.deviceTree.package}/${config.hardware.deviceTree.name}"
    else
      null;
}
