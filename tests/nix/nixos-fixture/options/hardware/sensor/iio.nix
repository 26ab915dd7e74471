# From nixpkgs nixos/modules/hardware/sensor/iio.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. The option only (iio-sensor-proxy is not modelled).
{ lib, ... }:
{
  options = {
    hardware.sensor.iio = {
      enable = lib.mkOption {
        description = ''
          Enable this option to support IIO sensors with iio-sensor-proxy.
        '';
        type = lib.types.bool;
        default = false;
      };
    };
  };
}
