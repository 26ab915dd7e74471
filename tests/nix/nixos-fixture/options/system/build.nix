# From nixpkgs nixos/modules/system/build.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS.
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options = {
    system.build = mkOption {
      default = { };
      description = ''
        Attribute set of derivations used to set up the system.
      '';
      type = types.submoduleWith {
        modules = [
          {
            freeformType = with types; lazyAttrsOf (uniq unspecified);
          }
        ];
      };
    };
  };
}
