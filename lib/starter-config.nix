# /etc/nixos on the installed Mac: a flake that imports this project's module
# with the same name/version/fsType, so `nixos-rebuild switch` keeps mounting
# the ESP by the volume id the installer gave it. Pure: returns file texts.
{
  name,
  version,
  fs,
  # Flake reference of this project, as the installed system should fetch it.
  toolsFlakeUrl ? "github:nix-community/nixos-image-tools",
  nixpkgsUrl ? "github:NixOS/nixpkgs/nixos-unstable",
  hostName ? "nixos",
  stateVersion,
}:
{
  "flake.nix" = ''
    {
      description = "NixOS on this Mac (installed from ${name}-${version}-${fs})";

      inputs = {
        nixpkgs.url = "${nixpkgsUrl}";
        nixos-image-tools.url = "${toolsFlakeUrl}";
        nixos-image-tools.inputs.nixpkgs.follows = "nixpkgs";
      };

      outputs =
        { nixpkgs, nixos-image-tools, ... }:
        {
          nixosConfigurations.${hostName} = nixpkgs.lib.nixosSystem {
            system = "aarch64-linux";
            modules = [
              # Apple Silicon support and the image's boot/mount layout.
              nixos-image-tools.nixosModules.default
              ./configuration.nix
            ];
          };
        };
    }
  '';

  "configuration.nix" = ''
    { ... }:
    let
      haveFirmware = builtins.pathExists ./firmware/firmware.cpio;
    in
    {
      hardware.asahi.enable = true;

      # These identify the installed system: the ESP was formatted with the
      # volume id derived from "${name}-${version}-${fs}" and / is labelled
      # "nixos". Keep them as they are, or /boot will not be found.
      nixosAsahi = {
        enable = true;
        name = "${name}";
        version = "${version}";
        fsType = "${fs}";
      };

      # The first boot copied the Mac's firmware (the installer's
      # vendorfw/firmware.cpio on the ESP) here; building it into the system
      # makes Wi-Fi and the other peripherals work from the first generation on.
      hardware.asahi.peripheralFirmwareDirectory = if haveFirmware then ./firmware else null;
      hardware.asahi.extractPeripheralFirmware = haveFirmware;

      networking.hostName = "${hostName}";
      networking.networkmanager.enable = true;
      networking.networkmanager.wifi.backend = "iwd";

      # Add your user here, e.g.
      # users.users.alice = { isNormalUser = true; extraGroups = [ "wheel" "networkmanager" ]; };

      nix.settings.experimental-features = [ "nix-command" "flakes" ];

      system.stateVersion = "${stateVersion}";
    }
  '';
}
