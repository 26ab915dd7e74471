# raw-efi: a GPT disk any UEFI firmware boots: FAT32 ESP with systemd-boot as
# the removable-media loader (BOOTX64.EFI / BOOTAA64.EFI), ext4 or btrfs
# root; 512-byte sectors unless told. The Asahi image's layout, on its own.
let
  helpers = import ../helpers;
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
      volumeId ? "0x" + builtins.substring 0 8 (builtins.hashString "sha256" seed),
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
}
