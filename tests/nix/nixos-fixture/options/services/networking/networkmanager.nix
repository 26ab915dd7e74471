# From nixpkgs nixos/modules/services/networking/networkmanager.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. enable, package, wifi.backend,
# wifi.powersave; the daemon and its configuration are not modelled.
{ lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.networking.networkmanager = {
    enable = mkOption {
      type = types.bool;
      default = false;
      description = "Whether to use NetworkManager to obtain an IP address and other configuration for all network interfaces that are not manually configured.";
    };

    package = lib.mkPackageOption pkgs "networkmanager" { };

    wifi = {
      backend = mkOption {
        type = types.enum [
          "wpa_supplicant"
          "iwd"
        ];
        default = "wpa_supplicant";
        description = "Specify the Wi-Fi backend used for the device.";
      };

      powersave = mkOption {
        type = types.nullOr types.bool;
        default = null;
        description = "Whether to enable Wi-Fi power saving.";
      };
    };
  };
}
