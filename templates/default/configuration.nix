{ lib, pkgs, ... }:
let
  # The first boot copies the Mac's firmware (the installer's
  # vendorfw/firmware.cpio on the ESP) to /etc/nixos/firmware/.
  haveFirmware = builtins.pathExists ./firmware/firmware.cpio;
in
{
  # The first boot records the partitions this installation booted from in
  # /etc/nixos/installation.nix; with it, / and /boot are mounted by them
  # whatever name or version nixosAsahi carries.
  imports = lib.optional (builtins.pathExists ./installation.nix) ./installation.nix;

  nixpkgs.hostPlatform = "aarch64-linux";
  hardware.asahi.enable = true;
  # Build it into the system once it is there (the image itself loads it at
  # boot). With /etc/nixos in git, `git add firmware` for the flake to see it.
  hardware.asahi.peripheralFirmwareDirectory = if haveFirmware then ./firmware else null;
  hardware.asahi.extractPeripheralFirmware = haveFirmware;

  # The installer package. name, version and fsType also derive the ESP's
  # volume id, which /boot is mounted by until first boot has recorded the
  # installation's partitions.
  nixosAsahi = {
    enable = true;
    name = "my-nixos";
    version = "1.0.0";
    fsType = "btrfs";
    # Where you will upload the zip (an immutable URL per version).
    packageUrlBase = "https://example.org/asahi/os";
  };

  networking.hostName = "mac";
  networking.networkmanager.enable = true;
  networking.networkmanager.wifi.backend = "iwd";

  # No password is set here: on first boot the Mac asks for root's password
  # on the console (nixosAsahi.firstBootPassword). Add your user, then log in
  # as root once to give it a password with `passwd alice`.
  users.users.alice = {
    isNormalUser = true;
    extraGroups = [
      "wheel"
      "networkmanager"
    ];
  };

  environment.systemPackages = [ pkgs.git ];
  nix.settings.experimental-features = [
    "nix-command"
    "flakes"
  ];

  system.stateVersion = "26.05";
}
