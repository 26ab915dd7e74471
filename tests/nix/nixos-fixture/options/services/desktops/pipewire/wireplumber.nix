# From nixpkgs nixos/modules/services/desktops/pipewire/wireplumber.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. enable, package, configPackages.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
in
{
  options.services.pipewire.wireplumber = {
    enable = mkOption {
      type = types.bool;
      default = config.services.pipewire.enable;
      defaultText = lib.literalExpression "config.services.pipewire.enable";
      description = "Whether to enable WirePlumber, a modular session / policy manager for PipeWire";
    };

    package = lib.mkPackageOption pkgs "wireplumber" { };

    configPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      description = "List of packages that provide WirePlumber configuration, in the form of `share/wireplumber/*/*.conf` files.";
    };
  };
}
