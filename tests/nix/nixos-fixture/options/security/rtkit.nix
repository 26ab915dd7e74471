# From nixpkgs nixos/modules/security/rtkit.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. The option only.
{ lib, ... }:
{
  options.security.rtkit = {
    enable = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Whether to enable the RealtimeKit system service.";
    };
  };
}
