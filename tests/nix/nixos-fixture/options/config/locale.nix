# From nixpkgs nixos/modules/config/locale.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. time.timeZone and time.hardwareClockInLocalTime.
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.time = {
    timeZone = mkOption {
      default = null;
      type = types.nullOr (types.addCheck types.str (str: !(lib.hasInfix " " str)));
      example = "America/New_York";
      description = "The time zone used when displaying times and dates.";
    };

    hardwareClockInLocalTime = mkOption {
      default = false;
      type = types.bool;
      description = "If set, keep the hardware clock in local time instead of UTC.";
    };
  };
}
