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
}
