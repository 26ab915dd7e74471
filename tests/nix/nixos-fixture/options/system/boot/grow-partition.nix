# From nixpkgs nixos/modules/system/boot/grow-partition.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. The option only (the growpart service is not modelled).
{ lib, ... }:
{
  options = {
    boot.growPartition = lib.mkEnableOption "growing the root partition on boot";
  };
}
