# From nixpkgs nixos/modules/config/shells-environment.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. environment.variables with its type and apply.
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.environment.variables = mkOption {
    default = { };
    example = {
      EDITOR = "nvim";
      VISUAL = "nvim";
    };
    description = "A set of environment variables used in the global environment.";
    type =
      with types;
      attrsOf (oneOf [
        (listOf (oneOf [
          int
          str
          path
        ]))
        int
        str
        path
      ]);
    apply =
      let
        toStr = v: if lib.isPath v then "${v}" else toString v;
      in
      lib.mapAttrs (n: v: if lib.isList v then lib.concatMapStringsSep ":" toStr v else toStr v);
  };
}
