# From nixpkgs nixos/modules/tasks/cpu-freq.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. The option only.
{ lib, ... }:
{
  options.powerManagement = {
    cpuFreqGovernor = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "ondemand";
      description = "Configure the governor used to regulate the frequency of the available CPUs.";
    };
  };
}
