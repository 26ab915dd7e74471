# From nixpkgs nixos/modules/services/hardware/udev.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. services.udev.{packages,extraRules,extraHwdb}
# and hardware.firmware (with its buildEnv apply; firmware compression is
# not modelled). The generated rules/hwdb are not modelled.
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
    services.udev = {
      packages = mkOption {
        type = types.listOf types.path;
        default = [ ];
        description = "List of packages containing {command}`udev` rules.";
        apply = map lib.getBin;
      };

      extraRules = mkOption {
        default = "";
        type = types.lines;
        description = "Additional {command}`udev` rules.";
      };

      extraHwdb = mkOption {
        default = "";
        type = types.lines;
        description = "Additional {command}`hwdb` files.";
      };
    };

    hardware.firmware = mkOption {
      type = types.listOf types.package;
      default = [ ];
      description = "List of packages containing firmware files.";
      apply =
        list:
        pkgs.buildEnv {
          name = "firmware";
          paths = list;
          pathsToLink = [ "/lib/firmware" ];
          ignoreCollisions = true;
        };
    };
  };
}
