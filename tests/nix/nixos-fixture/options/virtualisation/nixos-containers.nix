# From nixpkgs nixos/modules/virtualisation/nixos-containers.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. Only boot.isContainer (read by the boot,
# initrd and grub modules).
{ lib, ... }:
{
  options.boot.isContainer = lib.mkOption {
    type = lib.types.bool;
    default = false;
    description = "Whether this NixOS machine is a lightweight container running in another NixOS system.";
  };
}
