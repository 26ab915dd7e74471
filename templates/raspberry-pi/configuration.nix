# A Raspberry Pi 4 booting through U-Boot and extlinux.conf, as nixpkgs'
# sd-image-aarch64.nix sets it up; the FIRMWARE partition holds the Pi's
# firmware, config.txt and U-Boot.
{ pkgs, ... }:
{
  imports = [ ./image.nix ];

  nixpkgs.hostPlatform = "aarch64-linux";
  networking.hostName = "pi";
  services.openssh.enable = true;
  # Put your key here: the image has no password, and first boot asks for
  # root's on the console.
  users.users.root.openssh.authorizedKeys.keys = [ ];
  nix.settings.experimental-features = [
    "nix-command"
    "flakes"
  ];
  # As sd-image-aarch64.nix: serial consoles and the screen.
  boot.kernelParams = [
    "console=ttyS0,115200n8"
    "console=ttyAMA0,115200n8"
    "console=tty0"
  ];
  # The SD card (emmc2), and USB behind PCIe for a USB root or keyboard.
  boot.initrd.availableKernelModules = [
    "mmc_block"
    "sdhci_iproc"
    "pcie_brcmstb"
    "reset-raspberrypi"
    "usbhid"
    "usb_storage"
  ];
  system.stateVersion = "26.05";
}
