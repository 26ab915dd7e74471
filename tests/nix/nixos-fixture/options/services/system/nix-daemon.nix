# From nixpkgs nixos/modules/services/system/nix-daemon.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. nix.enable and nix.package.
{ lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.nix = {
    enable = mkOption {
      type = types.bool;
      default = true;
      description = "Whether to enable Nix.";
    };

    package = mkOption {
      type = types.package;
      default = pkgs.nix;
      defaultText = lib.literalExpression "pkgs.nix";
      description = "This option specifies the Nix package instance to use throughout the system.";
    };
  };
}
