# /etc/nixos on the installed Mac: a flake that imports this project's module
# with the same name/version/fsType, so `nixos-rebuild switch` keeps mounting
# the ESP by the volume id the installer gave it, and a flake.lock pinning
# its inputs to what the image was built from, so the first rebuild on the
# Mac changes nothing it need not (no newer nixpkgs, no linux-asahi build).
# Pure: returns file texts.
{
  name,
  version,
  fs,
  # Flake references, as the installed system should fetch them.
  nixpkgsUrl ? "github:NixOS/nixpkgs/nixos-unstable",
  appleSiliconUrl ? "github:nix-community/nixos-apple-silicon",
  toolsFlakeUrl ? "github:nix-community/nixos-image-tools",
  # What flake.lock pins them to: { nixpkgs, nixos-apple-silicon,
  # nixos-image-tools } -> null or helpers.inputLock of a flake input. Missing
  # or null ones (and URLs other than github:) are locked by Nix on first use.
  locks ? { },
  hostName ? "nixos",
  stateVersion,
}:
let
  helpers = import ./helpers;
  inputs = [
    {
      name = "nixpkgs";
      url = nixpkgsUrl;
    }
    {
      name = "nixos-apple-silicon";
      url = appleSiliconUrl;
      follows.nixpkgs = "nixpkgs";
    }
    {
      name = "nixos-image-tools";
      url = toolsFlakeUrl;
      follows = {
        nixpkgs = "nixpkgs";
        nixos-apple-silicon = "nixos-apple-silicon";
      };
    }
  ];
  lock = helpers.flakeLockFor (map (i: i // { lock = locks.${i.name} or null; }) inputs);
in
{
  "flake.nix" = ''
    {
      description = "NixOS on this Mac (installed from ${name}-${version}-${fs})";

      # flake.lock pins these to what the image was built from;
      # `nix flake update` moves them.
      inputs = {
        nixpkgs.url = "${nixpkgsUrl}";
        nixos-apple-silicon.url = "${appleSiliconUrl}";
        nixos-apple-silicon.inputs.nixpkgs.follows = "nixpkgs";
        nixos-image-tools.url = "${toolsFlakeUrl}";
        nixos-image-tools.inputs.nixpkgs.follows = "nixpkgs";
        nixos-image-tools.inputs.nixos-apple-silicon.follows = "nixos-apple-silicon";
      };

      outputs =
        { nixpkgs, nixos-image-tools, ... }:
        {
          nixosConfigurations.${hostName} = nixpkgs.lib.nixosSystem {
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
    { lib, ... }:
    let
      haveFirmware = builtins.pathExists ./firmware/firmware.cpio;
    in
    {
      # First boot records the partitions this installation booted from
      # here; / and /boot are then mounted by them.
      imports = lib.optional (builtins.pathExists ./installation.nix) ./installation.nix;

      nixpkgs.hostPlatform = "aarch64-linux";
      hardware.asahi.enable = true;

      # The package this system was installed from. Until first boot has
      # recorded the partitions (installation.nix), the ESP is found by the
      # volume id derived from "${name}-${version}-${fs}".
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
// (
  if lock.nodes.root.inputs == { } then
    { }
  else
    {
      # Nix rewrites it in its own layout when it next updates the lock.
      "flake.lock" = builtins.toJSON lock + "\n";
    }
)
