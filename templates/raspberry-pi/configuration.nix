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
  boot.kernelParams = [ "console=ttyS1,115200n8" ];
  system.stateVersion = "26.05";
}
