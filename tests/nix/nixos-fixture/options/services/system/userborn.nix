# From nixpkgs nixos/modules/services/system/userborn.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. Only services.userborn.enable (read by the
# nixos-init assertions).
{ lib, ... }:
{
  options.services.userborn.enable = lib.mkEnableOption "userborn";
}
