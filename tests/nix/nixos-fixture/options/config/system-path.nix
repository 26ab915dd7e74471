# From nixpkgs nixos/modules/config/system-path.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. environment.systemPackages and system.path
# (buildEnv "system-path" as there, a fixture derivation); the default
# packages are not added.
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
  options = {
    environment.systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      example = lib.literalExpression "[ pkgs.firefox pkgs.thunderbird ]";
      description = "The set of packages that appear in /run/current-system/sw.";
    };

    environment.pathsToLink = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "/" ];
      description = "List of directories to be symlinked in {file}`/run/current-system/sw`.";
    };

    system.path = mkOption {
      internal = true;
      description = "The packages you want in the boot environment.";
    };
  };

  config = {
    system.path = pkgs.buildEnv {
      name = "system-path";
      paths = config.environment.systemPackages;
      inherit (config.environment) pathsToLink;
      ignoreCollisions = true;
    };
  };
}
