# From nixpkgs nixos/modules/system/boot/systemd/sysusers.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. Only systemd.sysusers.enable (read by the
# nixos-init assertions).
{ lib, ... }:
{
  options.systemd.sysusers.enable = lib.mkEnableOption "systemd-sysusers" // {
    description = "If enabled, users are created with systemd-sysusers instead of with the custom `update-users-groups.pl` script.";
  };
}
