# The system this flake's own images carry: the same starting point as the
# /etc/nixos the image installs (lib/starter-config.nix), so the first
# `nixos-rebuild switch` on the Mac changes little.
{ config, ... }:
{
  hardware.asahi.enable = true;
  networking.hostName = "nixos";
  networking.networkmanager.enable = true;
  networking.networkmanager.wifi.backend = "iwd";
  nix.settings.experimental-features = [
    "nix-command"
    "flakes"
  ];
  # Every image is a fresh installation of the release it is built from
  # (the starter /etc/nixos copies this value).
  system.stateVersion = config.system.nixos.release;
}
