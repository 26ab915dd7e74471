# raw-efi: a GPT disk any UEFI firmware boots: FAT32 ESP with systemd-boot as
# the removable-media loader (BOOTX64.EFI / BOOTAA64.EFI), ext4 or btrfs
# root; 512-byte sectors unless told. The Asahi image's layout, on its own.
let
  helpers = import ../helpers;
  # The ESP's FAT volume id (/boot is mounted by it): from the seed.
  volumeIdOf = seed: "0x" + builtins.substring 0 8 (builtins.hashString "sha256" seed);
in
{
  # builtins only (tests/boot/run.sh evaluates it with nix-instantiate).
  layout =
    {
      seed,
      espSource,
      rootSource,
      fs ? "ext4",
      sectorSize ? 512,
      espSize ? "512MiB",
      volumeId ? volumeIdOf seed,
      label ? helpers.rootLabel,
      size ? "auto",
    }:
    helpers.diskLayout {
      inherit
        fs
        seed
        espSource
        rootSource
        volumeId
        sectorSize
        espSize
        label
        size
        ;
    };

  module =
    { config, lib, ... }:
    let
      cfg = config.nixosImage;
    in
    {
      config = lib.mkIf (builtins.elem "raw-efi" cfg.formats) {
        fileSystems = helpers.efiMounts {
          fs = cfg.fsType;
          rootDevice = "/dev/disk/by-label/${helpers.rootLabel}";
          espDevice = "/dev/disk/by-uuid/${helpers.espUuidOf (volumeIdOf cfg.seed)}";
          # With boot.growPartition (modules/image.nix): systemd-growfs.
          autoResize = true;
        };
        boot.loader.systemd-boot.enable = true;
        # A disk for any machine: systemd-boot is the removable-media loader.
        boot.loader.efi.canTouchEfiVariables = lib.mkDefault false;
        boot.loader.grub.enable = lib.mkDefault false;
        boot.supportedFilesystems = [
          cfg.fsType
          "vfat"
        ];
      };
    };

  build =
    {
      config,
      pkgs,
      common,
      ...
    }:
    let
      cfg = config.nixosImage;
      espTree = import ../systemd-boot-esp.nix {
        inherit config;
        inherit (common.b) mkEspTree;
        inherit (common) epoch;
        efiArch = pkgs.stdenv.hostPlatform.efiArch;
        name = "${common.baseName}-esp";
      };
    in
    common.b.mkDiskImage {
      name = "${common.baseName}-image";
      inherit (common) epoch;
      stageRoot = common.b.mkRootStaging common.rootArgs;
      layout = (import ./raw-efi.nix).layout {
        inherit (cfg) seed sectorSize espSize;
        fs = cfg.fsType;
        espSource = espTree;
        rootSource = "root";
      };
    }
    // {
      inherit espTree;
    };
}
