# From nixpkgs nixos/modules/system/boot/systemd/user.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. Only systemd.user.services (the same
# service submodule as systemd.services).
{ lib, ... }:
let
  unitOptions = import ../../../../lib/systemd-unit-options.nix { inherit lib; };
in
{
  options.systemd.user = {
    services = lib.mkOption {
      default = { };
      type = lib.types.attrsOf unitOptions.serviceType;
      description = "Definition of systemd per-user service units.";
    };
  };
}
