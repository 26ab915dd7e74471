# A server on any UEFI machine or VM: systemd-boot, ext4 root (or set
# nixosImage.fsType = "btrfs"; and nixosImage.sectorSize = 4096; for
# 4Kn disks).
{ ... }:
{
  nixpkgs.hostPlatform = "x86_64-linux";
  networking.hostName = "server";
  services.openssh.enable = true;
  # Put your key here: deploy with `nixos-rebuild switch --target-host
  # root@server` from then on.
  users.users.root.openssh.authorizedKeys.keys = [ ];
  boot.initrd.availableKernelModules = [
    "nvme"
    "virtio_pci"
    "virtio_blk"
    "ahci"
    "sd_mod"
  ];
  nix.settings.experimental-features = [
    "nix-command"
    "flakes"
  ];
  system.stateVersion = "26.05";
}
