# From nixpkgs nixos/modules/misc/extra-arguments.nix (the `utils` module argument)
# TEST FIXTURE -- NOT NIXPKGS: utils is the fixture's subset of nixos/lib/utils.nix.
{ lib, config, pkgs, ... }:
{
  _module.args = {
    utils = import ../../lib/utils.nix { inherit lib config pkgs; };
  };
}
