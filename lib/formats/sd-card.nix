# sd-card: the layout of nixpkgs' sd-image.nix. MBR; an 8 MiB gap (room for
# a board's U-Boot SPL); FAT partition FIRMWARE (type 0x0b) with the
# configuration's firmware files; ext4 root NIXOS_SD with the active flag,
# where U-Boot's distro boot looks for /boot/extlinux/extlinux.conf.
# The FAT volume id and MBR signature are sd-image's 0x2178694e.
# FIRMWARE is 34 MiB where sd-image's is 30: mkimage writes FAT32 only, and
# FAT32 needs 65,525 clusters (sd-image's 30 MiB mkfs.vfat is FAT16).
{
  # builtins only (tests/boot/run.sh evaluates it with nix-instantiate).
  layout =
    {
      seed,
      firmwareSource,
      rootSource,
      gap ? "8MiB",
      firmwareSize ? "34MiB",
      firmwareLabel ? "FIRMWARE",
      rootLabel ? "NIXOS_SD",
      firmwareId ? "0x2178694e",
      rootUuid ? null,
      size ? "auto",
      rootSize ? "auto",
    }:
    {
      table = "mbr";
      sectorSize = 512;
      mbrSignature = firmwareId;
      inherit seed size;
      partitions = [
        {
          name = firmwareLabel;
          type = "fat32-chs";
          start = gap;
          size = firmwareSize;
          content = {
            fs = "vfat";
            source = "${firmwareSource}";
            label = firmwareLabel;
            volumeId = firmwareId;
          };
        }
        {
          name = rootLabel;
          type = "linux";
          bootable = true;
          size = rootSize;
          content = {
            fs = "ext4";
            source = "${rootSource}";
            label = rootLabel;
          }
          // (if rootUuid == null then { } else { uuid = rootUuid; });
        }
      ];
    };

  module =
    { config, lib, ... }:
    let
      cfg = config.nixosImage;
    in
    {
      options.nixosImage.sdCard = {
        populateFirmwareCommands = lib.mkOption {
          type = lib.types.lines;
          default = "";
          example = lib.literalExpression "(import <nixpkgs/nixos/modules/installer/sd-card/sd-image-aarch64.nix> { inherit config lib pkgs; }).sdImage.populateFirmwareCommands";
          description = "Shell commands that fill ./firmware with the files of the FIRMWARE partition (sd-image's sdImage.populateFirmwareCommands), e.g. a Raspberry Pi's firmware, config.txt and U-Boot.";
        };
        firmwareSize = lib.mkOption {
          type = lib.types.str;
          default = "34MiB";
          description = "Size of the FIRMWARE partition (FAT32: at least 34MiB).";
        };
      };

      config = lib.mkIf (builtins.elem "sd-card" cfg.formats) {
        assertions = [
          {
            assertion = cfg.fsType == "ext4";
            message = "nixosImage: the sd-card format has an ext4 root (as sd-image): set nixosImage.fsType = \"ext4\".";
          }
        ];
        fileSystems = {
          "/" = {
            device = "/dev/disk/by-label/NIXOS_SD";
            fsType = "ext4";
            # With boot.growPartition (modules/image.nix): systemd-growfs.
            autoResize = true;
          };
          # Firmware only; as sd-image, not mounted unless asked for.
          "/boot/firmware" = {
            device = "/dev/disk/by-label/FIRMWARE";
            fsType = "vfat";
            options = [
              "nofail"
              "noauto"
            ];
          };
        };
        boot.loader.grub.enable = lib.mkDefault false;
        boot.loader.generic-extlinux-compatible.enable = lib.mkDefault true;
        nixosImage.compress = lib.mkDefault true;
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
      inherit (pkgs.buildPackages) runCommand;
      # /boot as the configuration's own extlinux builder writes it.
      bootTree = runCommand "${common.baseName}-extlinux" { } ''
        mkdir -p "$out/boot"
        ${config.boot.loader.generic-extlinux-compatible.populateCmd} -c ${config.system.build.toplevel} -d "$out/boot"
      '';
      firmwareTree = runCommand "${common.baseName}-firmware" { } ''
        mkdir firmware
        ${cfg.sdCard.populateFirmwareCommands}
        cp -r firmware "$out"
      '';
      image = common.b.mkDiskImage {
        name = "${common.baseName}-image";
        inherit (common) epoch;
        stageRoot = common.b.mkRootStaging (common.rootArgs // { extraTrees = [ bootTree ]; });
        layout = (import ./sd-card.nix).layout {
          inherit (cfg) seed;
          inherit (cfg.sdCard) firmwareSize;
          firmwareSource = firmwareTree;
          rootSource = "root";
        };
      };
    in
    (
      if cfg.compress then
        runCommand "${common.baseName}-zst" { } ''
          mkdir "$out"
          ${common.zstd} -q -T1 ${image}/disk.img -o "$out/disk.img.zst"
          cp ${image}/report.json ${image}/layout.json "$out/"
        ''
      else
        image
    )
    // {
      inherit image bootTree firmwareTree;
    };
}
